"""Parsing what a referent types or sends for validation: domain lists and identifier files."""

from __future__ import annotations

import re
from dataclasses import dataclass

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
#: community.domain is a VARCHAR(255).
DOMAIN_COLUMN_LENGTH = 255
#: Line ends as a text editor sees them (not str.splitlines, which also splits on form feeds,
#: other control characters and Unicode separators, and would shift the line numbers shown).
LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class DomainList:
    domains: tuple[str, ...]
    invalid: tuple[str, ...]

    @property
    def column(self) -> str:
        return ";".join(self.domains)


def parse_domains(text: str) -> DomainList:
    """Domains separated by `;`, `,` or spaces; a leading `@` is ignored, as the platform does.

    Internationalised names are accepted and stored in their ASCII (punycode) form.
    """
    domains: list[str] = []
    invalid: list[str] = []
    for raw in re.split(r"[;,\s]+", text or ""):
        item = raw.strip().lstrip("@").strip().rstrip(".").lower()
        if not item:
            continue
        ascii_name = to_ascii(item)
        if ascii_name is None or not is_domain(ascii_name):
            invalid.append(raw.strip())
        elif ascii_name not in domains:
            domains.append(ascii_name)
    return DomainList(tuple(domains), tuple(invalid))


def to_ascii(name: str) -> str | None:
    try:
        return name.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None


def is_domain(name: str) -> bool:
    if len(name) > 253:
        return False
    labels = name.split(".")
    if len(labels) < 2:
        return False
    return all(LABEL.fullmatch(label) for label in labels) and bool(TLD.fullmatch(labels[-1]))


@dataclass(frozen=True)
class IdentifierFile:
    pairs: int
    bad_lines: tuple[tuple[int, str], ...]  # (line number, the line as read)
    encoding: str


ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def parse_identifiers(content: bytes) -> IdentifierFile:
    """Every non-blank line must be exactly two non-empty columns separated by `;`."""
    text, encoding = decode(content)
    pairs = 0
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(LINE_END.split(text), start=1):
        if not line.strip():
            continue
        columns = line.split(";")
        if len(columns) == 2 and all(c.strip() for c in columns):
            pairs += 1
        else:
            bad.append((number, line))
    return IdentifierFile(pairs, tuple(bad), encoding)


def decode(content: bytes) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover
