"""Message catalogs (TOML in handlers/locales) and how referents read dates and numbers."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from handlers.core.markup import escape

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


@cache
def catalog(language: str) -> dict[str, str]:
    """All of handlers/locales/<language>/*.toml, one file per feature, merged.

    A key defined twice is an error: two features must not silently overwrite each other.
    """
    merged: dict[str, str] = {}
    folder = resources.files("handlers").joinpath("locales", language)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for key, value in _flatten(tomllib.loads(entry.read_text("utf-8"))).items():
            if key in merged:
                raise KeyError(f"message {key!r} is defined twice in locales/{language}/")
            merged[key] = value
    return merged


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def normalize_language(language: str | None) -> str:
    if language:
        short = language.strip().lower()[:2]
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE


#: The plural forms a catalog message may have: `key = { one = "...", other = "..." }`.
PLURAL_FORMS = ("one", "other")

#: Thousands separator in French: U+202F NARROW NO-BREAK SPACE, the French typographic rule
#: (and CLDR's `fr` since version 34). No-break, so a chat never wraps "14 581" in two lines;
#: Telegram HTML and Slack mrkdwn pass it as any character, and matplotlib's DejaVu Sans has
#: its glyph (tests/handlers/dashboard/test_render.py checks it is drawn).
FRENCH_THOUSANDS = "\u202f"


class Num(NamedTuple):
    """A number formatted by `t` in the reader's language: for a `Refusal`, raised before the
    language is known (`Refusal("error.too_long", length=Num(5000), ...)`)."""

    value: int | float
    decimals: int = 0


def plural_form(language: str, count: int) -> str:
    """CLDR's rule for whole numbers: French says "0 membre", "1 membre", English "0 members",
    "1 member"."""
    if normalize_language(language) == "fr":
        return "one" if count in (0, 1) else "other"
    return "one" if count == 1 else "other"


def is_plural(key: str) -> bool:
    """Whether `key` is a message with plural forms (`key.one`, `key.other`)."""
    return f"{key}.other" in catalog(DEFAULT_LANGUAGE)


def t(language: str, key: str, **params: object) -> str:
    """The message `key` in `language`, falling back to French, then to the key itself.

    Text parameters are escaped (`handlers.core.markup.escape`): what people typed or are called
    shows as typed and never as the catalog's `**bold**` (escaping is idempotent, so a
    parameter that is itself a message keeps its data escaped once).

    A whole-number `count` picks the plural form of a message that has them and is written as
    `number` writes it, like every `Num` parameter; a message with plural forms needs one."""
    language = normalize_language(language)
    count = params.get("count")
    if is_plural(key):
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError(f"message {key!r} has plural forms: t() needs a whole-number count")
        key = f"{key}.{plural_form(language, count)}"
    messages = catalog(language)
    template = messages.get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    if not params:
        return template
    return template.format(**{name: _param(language, name, v) for name, v in params.items()})


def _param(language: str, name: str, value: object) -> object:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, Num):
        return number(language, value.value, value.decimals)
    if name == "count" and isinstance(value, int) and not isinstance(value, bool):
        return number(language, value)
    return value


def number(language: str, value: int | float, decimals: int = 0) -> str:
    """As read in `language`: French 14581 -> '14\u202f581' (narrow no-break space, see
    FRENCH_THOUSANDS), 30.46 with decimals=1 -> '30,5'; English '14,581' and '30.5'."""
    text = f"{value:,.{decimals}f}"
    if normalize_language(language) == "en":
        return text
    return text.replace(",", FRENCH_THOUSANDS).replace(".", ",")


def date(value: dt.date | dt.datetime | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def join_list(language: str, parts: list[str]) -> str:
    """Items one after the other, as the language separates them: "a ; b" in French, "a; b"
    in English."""
    joined = parts[0] if parts else ""
    for part in parts[1:]:
        joined = t(language, "format.list", before=joined, item=part)
    return joined


def datetime(value: dt.datetime | None, language: str = DEFAULT_LANGUAGE) -> str:
    if not value:
        return "—"
    return t(language, "format.datetime", date=date(value), time=value.strftime("%H:%M"))
