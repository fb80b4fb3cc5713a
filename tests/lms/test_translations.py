"""Every interface string is translated into the five other UN languages, with matching placeholders."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE_DIR = Path(settings.BASE_DIR) / "lms" / "locale"
LANGUAGES = ["ar", "es", "fr", "ru", "zh_Hans"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete(language):
    catalog = polib.pofile(str(LOCALE_DIR / language / "LC_MESSAGES" / "django.po"))
    assert catalog.untranslated_entries() == [], [entry.msgid for entry in catalog.untranslated_entries()][:10]
    assert catalog.fuzzy_entries() == [], [entry.msgid for entry in catalog.fuzzy_entries()][:10]
    for entry in catalog.translated_entries():
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        for text in [entry.msgstr] if not entry.msgid_plural else [entry.msgstr_plural[0]]:
            assert sorted(PLACEHOLDER.findall(text)) == wanted or not wanted, (entry.msgid, text)


def test_every_language_has_a_compiled_catalog():
    for language in LANGUAGES:
        assert (LOCALE_DIR / language / "LC_MESSAGES" / "django.mo").exists()
