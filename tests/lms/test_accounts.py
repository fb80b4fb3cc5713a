"""Sign-up with e-mail verification, the profile and its consent rule, roles and two-factor for staff."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.core import mail

from lms.accounts import services
from lms.accounts.models import Profile, Role

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-Passphrase-42"


def signup(client, email="amina@example.org", language="ar"):
    centre = services.training_centre_create(name="Kigali AI Centre", country="RW", city="Kigali")
    return client.post(
        f"/{language}/accounts/signup/",
        {
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "country": "RW",
            "preferred_language": language,
            "centre": centre.pk,
        },
    )


def test_signup_verifies_email_then_logs_in(client):
    response = signup(client)
    assert response.status_code == 302
    user = User.objects.get(email="amina@example.org")
    assert user.profile.country.code == "RW" and user.profile.preferred_language == "ar"
    assert user.profile.centre.city == "Kigali" and user.profile.role == Role.LEARNER
    assert not user.profile.consents_to_statistics  # never assumed
    # Unverified: logging in is refused until the e-mail link is used.
    assert client.get("/ar/learning/").status_code == 302
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[-1].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.post("/" + path)
    assert client.get("/ar/learning/").status_code == 200


def test_signup_with_bad_input_is_refused_and_creates_nothing(client):
    response = client.post(
        "/en/accounts/signup/", {"email": "not-an-email", "password1": "x", "password2": "y", "country": "ZZ"}
    )
    assert response.status_code == 200  # the form comes back with its errors
    assert not User.objects.exists()


def test_oversized_form_input_is_a_4xx(client):
    response = client.post("/en/accounts/login/", {"login": "a" * (3 * 1024 * 1024), "password": "x"})
    assert 400 <= response.status_code < 500


def make_user(django_user_model, email="learner@example.org", role=Role.LEARNER):
    user = django_user_model.objects.create_user(email.split("@")[0], email, PASSWORD)
    services.profile_create(user=user, country="SN")
    services.role_assign(user=user, role=role, analyst_countries=["SN"] if role == Role.MINISTRY_ANALYST else [])
    return user


def test_demographics_are_kept_only_with_consent(client, django_user_model):
    user = make_user(django_user_model)
    client.force_login(user)
    base = {"display_name": "Awa", "country": "SN", "preferred_language": "fr", "centre": ""}
    refused = client.post("/fr/accounts/profile/", {**base, "gender": "female", "age_band": "25-34"})
    assert refused.status_code == 400
    client.post(
        "/fr/accounts/profile/", {**base, "consents_to_statistics": "on", "gender": "female", "age_band": "25-34"}
    )
    profile = Profile.objects.get(user=user)
    assert (profile.gender, profile.age_band) == ("female", "25-34")
    services.profile_update(
        profile=profile,
        display_name="Awa",
        country="SN",
        preferred_language="fr",
        centre=None,
        consents_to_statistics=False,
        gender="female",
        age_band="25-34",
    )
    profile.refresh_from_db()
    assert (profile.gender, profile.age_band, profile.consents_to_statistics) == ("", "", False)


@pytest.mark.parametrize("role", [Role.INSTRUCTOR, Role.MINISTRY_ANALYST, Role.NETWORK_ADMIN])
def test_staff_roles_must_set_up_two_factor(client, django_user_model, role):
    user = make_user(django_user_model, role=role)
    client.force_login(user)
    response = client.get("/en/learning/")
    assert response.status_code == 302 and "/accounts/2fa/totp/activate" in response["Location"]
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert client.get("/en/learning/").status_code == 200


def test_learners_are_not_asked_for_two_factor(client, django_user_model):
    client.force_login(make_user(django_user_model))
    assert client.get("/en/learning/").status_code == 200


def test_roles_carry_their_permissions(django_user_model):
    instructor = make_user(django_user_model, "teacher@example.org", Role.INSTRUCTOR)
    analyst = make_user(django_user_model, "analyst@example.org", Role.MINISTRY_ANALYST)
    admin = make_user(django_user_model, "admin@example.org", Role.NETWORK_ADMIN)
    assert instructor.has_perm("wagtailadmin.access_admin") and not instructor.is_superuser
    assert [c.code for c in Profile.objects.get(user=analyst).analyst_countries] == ["SN"]
    assert not analyst.has_perm("wagtailadmin.access_admin")
    assert admin.is_superuser
    services.role_assign(user=instructor, role=Role.LEARNER)
    instructor = django_user_model.objects.get(pk=instructor.pk)
    assert not instructor.has_perm("wagtailadmin.access_admin")


def test_repeated_failed_logins_are_rate_limited(client, django_user_model):
    make_user(django_user_model, "target@example.org")
    for _ in range(5):
        client.post("/en/accounts/login/", {"login": "target@example.org", "password": "wrong-password"})
    response = client.post("/en/accounts/login/", {"login": "target@example.org", "password": PASSWORD})
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_network_admin_changing_a_role_in_the_admin_grants_its_permissions(client, django_user_model):
    admin = make_user(django_user_model, "admin@example.org", Role.NETWORK_ADMIN)
    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": "x"})
    teacher = make_user(django_user_model, "teacher@example.org")
    client.force_login(admin)
    profile = Profile.objects.get(user=teacher)
    response = client.post(
        f"/django-admin/accounts/profile/{profile.pk}/change/",
        {
            "user": teacher.pk,
            "display_name": "",
            "country": "SN",
            "preferred_language": "fr",
            "centre": "",
            "role": "instructor",
            "analyst_countries": [],
            "gender": "",
            "age_band": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert django_user_model.objects.get(pk=teacher.pk).has_perm("wagtailadmin.access_admin")


def test_password_reset_sends_a_link_that_sets_a_new_password(client, django_user_model):
    user = make_user(django_user_model, "forgetful@example.org")
    client.post("/en/accounts/password/reset/", {"email": "forgetful@example.org"})
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[-1].body).group(0)
    response = client.get("/" + link.split("://", 1)[1].split("/", 1)[1], follow=True)
    new_password = "another-long-Passphrase-7"
    client.post(response.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_only_instructors_and_admins_reach_the_wagtail_admin(client, django_user_model):
    learner = make_user(django_user_model, "learner2@example.org")
    instructor = make_user(django_user_model, "teacher2@example.org", Role.INSTRUCTOR)
    Authenticator.objects.create(user=instructor, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(learner)
    assert client.get("/cms/").status_code == 302  # sent to log in as someone allowed
    client.force_login(instructor)
    assert client.get("/cms/").status_code == 200


def test_after_login_a_learner_lands_in_their_preferred_language(client, django_user_model):
    from allauth.account.models import EmailAddress

    user = make_user(django_user_model, "nadia@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Profile.objects.filter(user=user).update(preferred_language="ru")
    response = client.post("/en/accounts/login/", {"login": "nadia@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/ru/learning/"
