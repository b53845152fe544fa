"""Message catalogs (TOML in handlers/locales) and how referents read dates and numbers."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Any

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


def t(language: str, key: str, **params: object) -> str:
    """The message `key` in `language`, falling back to French, then to the key itself.

    Text parameters are escaped (`handlers.core.markup.escape`): what people typed or are called
    shows as typed and never as the catalog's `**bold**` (escaping is idempotent, so a
    parameter that is itself a message keeps its data escaped once)."""
    messages = catalog(normalize_language(language))
    template = messages.get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    if not params:
        return template
    return template.format(
        **{name: escape(v) if isinstance(v, str) else v for name, v in params.items()}
    )


def number(value: int | float, decimals: int = 0) -> str:
    """14581 -> '14 581'; 30.5 with decimals=1 -> '30,5' (French separators in both languages'
    chat messages, as the web admin shows them)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",")


def date(value: dt.date | dt.datetime | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def datetime(value: dt.datetime | None, language: str = DEFAULT_LANGUAGE) -> str:
    if not value:
        return "—"
    return t(language, "format.datetime", date=date(value), time=value.strftime("%H:%M"))
