"""Catalogs and formats: French by default, English complete, dates and numbers as read."""

from __future__ import annotations

import datetime as dt
import re
import string
import tomllib
from importlib import resources

import pytest

from handlers.core.errors import Refusal
from handlers.core.i18n import (
    LANGUAGES,
    PLURAL_FORMS,
    Num,
    catalog,
    date,
    datetime,
    is_plural,
    join_list,
    normalize_language,
    number,
    plural_form,
    t,
)
from handlers.core.limits import check

NNBSP = "\u202f"  # the French thousands separator, narrow no-break space


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_message_with_the_same_placeholders():
    french = catalog("fr")
    for language in LANGUAGES:
        other = catalog(language)
        assert set(other) == set(french), f"{language}: {set(other) ^ set(french)}"
        for key, template in french.items():
            assert placeholders(other[key]) == placeholders(template), key


def test_every_plural_message_has_exactly_its_forms_in_both_languages():
    """A plural message is a TOML table of forms; each form keeps `{count}` (French reads 0 with
    the singular form, so even "one" shows the number) and the placeholders of the others."""
    plurals = set()
    for language in LANGUAGES:
        folder = resources.files("handlers").joinpath("locales", language)
        for entry in folder.iterdir():
            if entry.name.endswith(".toml"):
                plurals |= {(language, key) for key in _plural_tables(
                    tomllib.loads(entry.read_text("utf-8")))}  # fmt: skip
    assert plurals, "no plural message left: the test reads the wrong tables"
    french = {key for language, key in plurals if language == "fr"}
    assert french == {key for language, key in plurals if language == "en"}
    for key in french:
        assert is_plural(key)
        forms = [catalog(language)[f"{key}.{form}"] for language in LANGUAGES
                 for form in PLURAL_FORMS]  # fmt: skip
        assert all("{count}" in form for form in forms), key
        assert len({frozenset(placeholders(form)) for form in forms}) == 1, key
        assert "(s)" not in "".join(forms), key


def _plural_tables(tree: dict, prefix: str = "") -> set[str]:
    found = set()
    for name, value in tree.items():
        if isinstance(value, dict):
            if set(value) & set(PLURAL_FORMS):
                assert set(value) == set(PLURAL_FORMS), f"{prefix}{name}: {set(value)}"
                found.add(f"{prefix}{name}")
            else:
                found |= _plural_tables(value, f"{prefix}{name}.")
    return found


def test_no_message_says_s_in_brackets():
    """No "1 membre(s)": every count picks its form instead."""
    for language in LANGUAGES:
        for key, template in catalog(language).items():
            if "{" in template:
                assert not re.search(r"\w\(s\)", template), f"{language} {key}"


def test_the_count_picks_the_form_french_0_and_1_singular_english_only_1():
    assert [plural_form("fr", n) for n in (0, 1, 2, 1000)] == ["one", "one", "other", "other"]
    assert [plural_form("en", n) for n in (0, 1, 2, 1000)] == ["other", "one", "other", "other"]
    assert t("fr", "admin.delete_members", count=0) == "0 membre"
    assert t("fr", "admin.delete_members", count=1) == "1 membre"
    assert t("fr", "admin.delete_members", count=2) == "2 membres"
    assert t("en", "admin.delete_members", count=0) == "0 members"
    assert t("en", "admin.delete_members", count=1) == "1 member"
    assert t("en", "admin.delete_members", count=14581) == "14,581 members"
    assert t("fr", "admin.delete_members", count=14581) == f"14{NNBSP}581 membres"
    line = t("en", "communities.line", name="Lille", id=3, count=1, pending=0)
    assert line == "• Lille (#3): 1 member, 0 pending"
    assert t("fr", "communities.line", name="Lille", id=3, count=0, pending=0) == (
        "• Lille (n° 3) : 0 membre, 0 en attente"
    )


def test_a_plural_message_without_a_whole_count_is_a_programming_error():
    with pytest.raises(TypeError, match="plural"):
        t("fr", "admin.delete_members")
    with pytest.raises(TypeError, match="plural"):
        t("fr", "admin.delete_members", count="3")


def test_a_refusal_number_is_written_in_the_reader_language():
    with pytest.raises(Refusal) as refused:
        check("x" * 5000, 4096)
    assert t("fr", refused.value.key, **refused.value.params) == (
        f"Texte trop long : 5{NNBSP}000 caractères pour 4{NNBSP}096 au plus. Rien n'a été modifié."
    )
    assert t("en", refused.value.key, **refused.value.params).startswith(
        "Text too long: 5,000 characters, 4,096 at most."
    )
    assert t("en", "error.too_long", length=Num(1234.5, 1), limit=Num(10)).startswith(
        "Text too long: 1,234.5 characters, 10 at most."
    )


def test_numbers_as_read_in_each_language():
    # French: a narrow no-break space between thousands, never a plain (breakable) space
    assert number("fr", 14581) == f"14{NNBSP}581"
    assert number("fr", 1000000) == f"1{NNBSP}000{NNBSP}000"
    assert number("fr", 30.46, 1) == "30,5"
    assert number("fr", -1234.5, 1) == f"-1{NNBSP}234,5"
    assert " " not in number("fr", 123456789)
    assert number("en", 14581) == "14,581"
    assert number("en", 1000000) == "1,000,000"
    assert number("en", 30.46, 1) == "30.5"
    assert number("en-GB", 999) == "999"


def test_numbers_and_dates_as_the_web_admin_shows_them():
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


def test_lists_are_separated_as_each_language_does():
    assert join_list("fr", ["2025 : 2,8 t", "2026 : 14,0 t"]) == "2025 : 2,8 t ; 2026 : 14,0 t"
    assert join_list("en", ["a", "b", "c"]) == "a; b; c"
    assert join_list("fr", ["seul"]) == "seul" and join_list("fr", []) == ""
