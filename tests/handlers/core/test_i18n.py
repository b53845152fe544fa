"""Catalogs and formats: French by default, English complete, dates and numbers as read."""

from __future__ import annotations

import datetime as dt
import re
import string

from handlers.core.i18n import LANGUAGES, catalog, date, datetime, normalize_language, number, t


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_message_with_the_same_placeholders():
    french = catalog("fr")
    for language in LANGUAGES:
        other = catalog(language)
        assert set(other) == set(french), f"{language}: {set(other) ^ set(french)}"
        for key, template in french.items():
            assert placeholders(other[key]) == placeholders(template), key


def test_numbers_and_dates_as_the_web_admin_shows_them():
    assert number(14581) == "14 581"
    assert number(1000000) == "1 000 000"
    assert number(30.46, 1) == "30,5"
    assert date(dt.date(2024, 1, 17)) == "17/01/2024"
    assert datetime(dt.datetime(2019, 12, 12, 14, 56)) == "12/12/2019 à 14:56"
    assert datetime(dt.datetime(2019, 12, 12, 14, 56), "en") == "12/12/2019 at 14:56"
    assert date(None) == "—"


def test_language_fallbacks():
    assert normalize_language("en-GB") == "en"
    assert normalize_language("de") == "fr"
    assert normalize_language(None) == "fr"
    assert t("de", "common.yes") == "oui"
    assert t("fr", "no.such.key") == "no.such.key"


def test_no_message_leaves_markup_unbalanced():
    for language in LANGUAGES:
        for key, template in catalog(language).items():
            assert template.count("**") % 2 == 0, f"{language} {key}"
            if not key.startswith("console."):  # prompts end with a space on purpose
                assert not re.search(r"\s$", template), f"{language} {key} ends with a space"
