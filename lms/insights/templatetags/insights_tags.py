from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from lms.insights.suppression import WITHHELD, Figure

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def figure(value: Figure) -> SafeString:
    """A published figure; hidden ones say why on hover. A filter, not an include: tables have hundreds."""
    if not value.hidden:
        return format_html("{}", value.text)
    why = (
        _("Withheld: too few learners in the base") if value.status == WITHHELD else _("Hidden to protect small groups")
    )
    return format_html('<span class="suppressed" title="{}">{}</span>', why, value.text)
