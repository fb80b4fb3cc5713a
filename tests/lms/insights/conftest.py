"""Builders for insights tests: learners with a profile and activity, and staff with two-factor on."""

import itertools
import uuid
from datetime import datetime, timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.utils import timezone

from courses.models import Exercise, ExerciseFormat
from lms.accounts.models import Profile, Role
from lms.accounts.services import role_assign
from lms.progress.models import Certificate, Enrollment, LessonCompletion, Submission

_serial = itertools.count(1)


def make_learner(
    *,
    country: str = "RW",
    language: str = "en",
    centre=None,
    gender: str = "",
    age_band: str = "",
    joined: datetime | None = None,
) -> User:
    n = next(_serial)
    user = User.objects.create_user(username=f"learner{n}", email=f"learner{n}@example.org")
    if joined is not None:
        User.objects.filter(pk=user.pk).update(date_joined=joined)
    consent = bool(gender or age_band)
    Profile.objects.create(
        user=user,
        country=country,
        preferred_language=language,
        centre=centre,
        consents_to_statistics=consent,
        gender=gender,
        age_band=age_band,
    )
    return user


def enroll(user: User, course_key: uuid.UUID, *, at: datetime, completed_at: datetime | None = None, visited=None):
    return Enrollment.objects.create(
        user=user, course_key=course_key, enrolled_at=at, completed_at=completed_at, last_visited_at=visited
    )


def complete_lesson(user: User, course_key: uuid.UUID, *, at: datetime):
    return LessonCompletion.objects.create(user=user, course_key=course_key, lesson_key=uuid.uuid4(), completed_at=at)


def make_exercise(slug: str = "ex-1") -> Exercise:
    return Exercise.objects.create(title=slug, slug=slug, notebook={}, format=ExerciseFormat.NATIVE, max_score=10)


def submit(
    user: User,
    exercise: Exercise,
    *,
    score: float | None,
    at: datetime,
    status=Submission.Status.GRADED,
    kind=Submission.Kind.SUBMIT,
):
    submission = Submission.objects.create(
        user=user, exercise=exercise, notebook={}, status=status, score=score, max_score=10, queued_at=at, kind=kind
    )
    Submission.objects.filter(pk=submission.pk).update(created_at=at)
    return submission


def certify(user: User, course_key: uuid.UUID, *, at: datetime, revoked_at: datetime | None = None) -> Certificate:
    return Certificate.objects.create(
        user=user,
        course_key=course_key,
        code=f"T{next(_serial):08d}",
        learner_name="A Learner",
        course_title="A course",
        language="en",
        issued_at=at,
        revoked_at=revoked_at,
    )


def make_staff(role: Role, *, countries: tuple[str, ...] = (), email: str | None = None) -> User:
    n = next(_serial)
    user = User.objects.create_user(username=f"staff{n}", email=email or f"staff{n}@example.org")
    Profile.objects.create(user=user, country=countries[0] if countries else "")
    role_assign(user=user, role=role, analyst_countries=countries)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return user


@pytest.fixture
def now():
    return timezone.now()


def days_ago(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)
