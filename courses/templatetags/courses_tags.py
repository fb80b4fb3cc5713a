"""Template tags for the site frame: the language switcher and language names."""

from typing import Any

from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language

from courses import selectors

register = template.Library()


@register.inclusion_tag("includes/language_switcher.html", takes_context=True)
def language_switcher(context: dict[str, Any]) -> dict[str, Any]:
    current = get_language() or settings.LANGUAGE_CODE
    request = context.get("request")
    page = context.get("page")
    if page is not None and getattr(page, "translation_key", None):
        links = selectors.language_links(page=page, current=current)
    else:
        path = request.get_full_path() if request else "/"
        links = [
            selectors.LanguageLink(code, name, translate_url(path, code), code == current, True)
            for code, name in settings.LANGUAGES
        ]
    current_name = dict(settings.LANGUAGES).get(current, current)
    return {"links": links, "current_name": current_name, "current": current}


@register.simple_tag
def language_name(code: str) -> str:
    return dict(settings.LANGUAGES).get(code, code)


@register.filter
def is_rtl(code: str) -> bool:
    return code in settings.LANGUAGES_BIDI
