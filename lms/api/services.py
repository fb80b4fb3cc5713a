"""Writes to API tokens."""

import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from lms.api.models import ApiToken, token_hash

MAX_TOKENS_PER_USER = 10
# Marks a learner API token, so secret scanners and people can recognise one; not a secret itself.
TOKEN_PREFIX = "ocl_"  # noqa: S105


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown once and never stored."""
    name = name.strip()[:100]
    if not name:
        raise ValidationError(_("Give the token a name, e.g. the computer or script that will use it."))
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise ValidationError(
            _("You already have %(count)d tokens; revoke one first.") % {"count": MAX_TOKENS_PER_USER}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=token_hash(raw), prefix=raw[:10])
    return token, raw


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Delete one of the user's own tokens; False when there is no such token of theirs."""
    deleted, _detail = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)
