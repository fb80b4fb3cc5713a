import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def token_hash(raw: str) -> str:
    # The token is 256 random bits: a plain SHA-256 is enough, and lets a lookup use the index.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A learner's personal token for /api/v1/. Only its hash is stored; the learner sees it once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learner_api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so the learner can tell their tokens apart; not enough to use one.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"
