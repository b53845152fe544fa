"""Parsing what a referent types (domains) or sends (identifier files) for validation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.validation_input import is_domain, parse_domains, parse_identifiers

# --- Domains ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "domains"),
    [
        ("arcfrance.fr", ("arcfrance.fr",)),
        ("@arcfrance.fr; arc-intl.com", ("arcfrance.fr", "arc-intl.com")),
        ("ARCFRANCE.FR", ("arcfrance.fr",)),
        ("arcfrance.fr, arc-intl.com  gsk.com", ("arcfrance.fr", "arc-intl.com", "gsk.com")),
        ("arcfrance.fr;\narcfrance.fr;@ARCFRANCE.fr", ("arcfrance.fr",)),  # duplicates once
        ("arcfrance.fr.", ("arcfrance.fr",)),  # a trailing dot is the same name
        ("mail.sub.arcfrance.fr", ("mail.sub.arcfrance.fr",)),
        ("café.fr", ("xn--caf-dma.fr",)),
        ("xn--caf-dma.fr", ("xn--caf-dma.fr",)),
        ("a1.b2.fr", ("a1.b2.fr",)),
        ("", ()),
        (" ;;, ", ()),
    ],
)
def test_valid_domains(text, domains):
    parsed = parse_domains(text)

    assert parsed.domains == domains
    assert parsed.invalid == ()
    assert parsed.column == ";".join(domains)


@pytest.mark.parametrize(
    ("text", "invalid"),
    [
        ("not a domain", ("not", "a", "domain")),
        ("exa mple", ("exa", "mple")),
        ("-bad.fr", ("-bad.fr",)),
        ("bad-.fr", ("bad-.fr",)),
        ("arcfrance", ("arcfrance",)),
        ("arcfrance.f", ("arcfrance.f",)),
        ("arcfrance.123", ("arcfrance.123",)),
        ("a..fr", ("a..fr",)),
        ("ex_ample.fr", ("ex_ample.fr",)),
        ("user@arcfrance.fr", ("user@arcfrance.fr",)),
        ("x" * 64 + ".fr", ("x" * 64 + ".fr",)),
        (".".join(["a" * 60] * 5) + ".fr", (".".join(["a" * 60] * 5) + ".fr",)),  # > 253
    ],
)
def test_invalid_domains_are_named_as_typed(text, invalid):
    parsed = parse_domains(text)

    assert parsed.invalid == invalid


def test_valid_and_invalid_together():
    parsed = parse_domains("arcfrance.fr; -bad.fr; arc-intl.com")

    assert parsed.domains == ("arcfrance.fr", "arc-intl.com")
    assert parsed.invalid == ("-bad.fr",)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("arcfrance.fr", True),
        ("a.b.co", True),
        ("xn--caf-dma.fr", True),
        ("fr", False),
        ("arcfrance.f", False),
        ("arcfrance.fr1", False),
        ("-a.fr", False),
        ("a-.fr", False),
        ("a" * 63 + ".fr", True),
        ("a" * 64 + ".fr", False),
        ("ARCFRANCE.FR", False),  # is_domain expects the lower-case form parse_domains makes
        ("arcfrance.fr\n", False),  # `$` alone would accept a final newline
        ("arc\nfrance.fr", False),
    ],
)
def test_is_domain(name, ok):
    assert is_domain(name) is ok


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_domains_never_raises_and_returns_only_domains(text):
    parsed = parse_domains(text)

    assert all(is_domain(d) for d in parsed.domains)
    assert len(set(parsed.domains)) == len(parsed.domains)
    assert ";" not in "".join(parsed.domains)


DOMAIN_LIKE = st.from_regex(r"\A@?[A-Za-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,12}){0,2}\.[a-z]{2,6}\Z")


@settings(max_examples=200, deadline=None)
@given(st.lists(DOMAIN_LIKE, max_size=6), st.sampled_from([";", "; ", ",", " ", "\n"]))
def test_every_item_typed_is_either_kept_or_named_invalid(items, separator):
    parsed = parse_domains(separator.join(items))

    kept = {i.lstrip("@").lower() for i in items if is_domain(i.lstrip("@").lower())}
    assert set(parsed.domains) == kept
    assert len(parsed.invalid) == len([i for i in items if i.lstrip("@").lower() not in kept])


# --- Identifier files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "pairs", "bad"),
    [
        (b"A1;B1\nA2;B2\n", 2, ()),
        (b"A1;B1\r\nA2;B2", 2, ()),  # Windows line ends, no final newline
        (b"A1;B1\rA2;B2\r", 2, ()),  # old Mac line ends
        (b"\n\nA1;B1\n   \n\t\nA2;B2\n\n", 2, ()),  # blank lines are ignored
        (b"A1;B1\na;b;c\n", 1, ((2, "a;b;c"),)),
        (b"a;\n", 0, ((1, "a;"),)),
        (b";b\n", 0, ((1, ";b"),)),
        (b"   ;b\n", 0, ((1, "   ;b"),)),  # a column of spaces only is empty
        (b"a;   \n", 0, ((1, "a;   "),)),
        (b"seul\n", 0, ((1, "seul"),)),
        (b"\n\nA;B\nmauvaise\n\nA;B\nx;y;z\n", 2, ((4, "mauvaise"), (7, "x;y;z"))),
        (b" E1 ; 01/02/1980 \n", 1, ()),  # spaces around values are allowed
    ],
)
def test_identifier_lines(content, pairs, bad):
    parsed = parse_identifiers(content)

    assert parsed.pairs == pairs
    assert parsed.bad_lines == bad


def test_a_utf8_file_with_a_byte_order_mark():
    parsed = parse_identifiers("\ufeffDupré;Amélie\nBœuf;Hélène\n".encode())

    assert (parsed.pairs, parsed.bad_lines, parsed.encoding) == (2, (), "utf-8-sig")


def test_the_byte_order_mark_is_not_part_of_a_bad_line():
    parsed = parse_identifiers("\ufeffseul\n".encode())

    assert parsed.bad_lines == ((1, "seul"),)


def test_a_cp1252_file_from_excel():
    parsed = parse_identifiers("Dupré;Amélie\r\nBœuf;Hélène\r\nmauvaisé\r\n".encode("cp1252"))

    assert parsed.encoding == "cp1252"
    assert parsed.pairs == 2
    assert parsed.bad_lines == ((3, "mauvaisé"),)


def test_bytes_no_code_page_knows_are_still_read():
    parsed = parse_identifiers(b"A\x81;B\x8d\n")

    assert parsed.encoding == "latin-1"
    assert parsed.pairs == 1


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028"])
def test_only_real_line_ends_split_lines(separator):
    """Line numbers are those the referent's editor shows: control characters and Unicode
    separators inside a line do not start a new one."""
    content = f"A1;B1\nA2{separator}x;B2\nmauvaise\n".encode()

    parsed = parse_identifiers(content)

    assert parsed.pairs == 2
    assert parsed.bad_lines == ((3, "mauvaise"),)


def physical_lines(text: str) -> list[str]:
    """Lines as a text editor (and Python's universal newlines) splits them."""
    return re.split(r"\r\n|\r|\n", text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_parse_identifiers_never_raises_and_accounts_for_every_line(content):
    parsed = parse_identifiers(content)

    text = content.decode(parsed.encoding)
    non_blank = [n for n, line in enumerate(physical_lines(text), start=1) if line.strip()]
    assert parsed.pairs + len(parsed.bad_lines) == len(non_blank)
    numbers = [n for n, _ in parsed.bad_lines]
    assert numbers == sorted(set(numbers))
    assert set(numbers) <= set(non_blank)


LINE = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\ufeff"), max_size=20
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=15), st.sampled_from(["\n", "\r\n"]))
def test_bad_line_numbers_point_at_the_lines_sent(lines, newline):
    parsed = parse_identifiers(newline.join(lines).encode())

    for number, line in parsed.bad_lines:
        assert lines[number - 1] == line
        columns = line.split(";")
        assert len(columns) != 2 or not all(c.strip() for c in columns)
    good = [
        line
        for line in lines
        if len(line.split(";")) == 2 and all(c.strip() for c in line.split(";"))
    ]
    assert parsed.pairs == len(good)
