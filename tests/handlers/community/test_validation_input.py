"""Parsing what a referent types (domains) or sends (identifier files) for validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.community.validation_input import (
    domain_accepts,
    is_domain,
    parse_domains,
    parse_identifiers,
    to_ascii,
)

# --- Domains ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "domains"),
    [
        ("arcfrance.fr", ("arcfrance.fr",)),
        ("@arcfrance.fr; arc-intl.com", ("arcfrance.fr", "arc-intl.com")),
        # kept as typed: the platform compares case-sensitively (CommunityManager::canJoin)
        ("ARCFRANCE.FR", ("ARCFRANCE.FR",)),
        ("arcfrance.fr, arc-intl.com  gsk.com", ("arcfrance.fr", "arc-intl.com", "gsk.com")),
        ("arcfrance.fr;\narcfrance.fr;@arcfrance.fr", ("arcfrance.fr",)),  # duplicates once
        ("mail.sub.arcfrance.fr", ("mail.sub.arcfrance.fr",)),
        ("café.fr", ("café.fr",)),  # not punycode: e-mails on the platform are not either
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
        ("arcfrance.fr.", ("arcfrance.fr.",)),  # the platform would compare the dot too
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

    assert all(is_domain(to_ascii(d.lower()) or "") for d in parsed.domains)
    assert len(set(parsed.domains)) == len(parsed.domains)
    assert ";" not in "".join(parsed.domains)


DOMAIN_LIKE = st.from_regex(r"\A@?[A-Za-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,12}){0,2}\.[a-z]{2,6}\Z")


@settings(max_examples=200, deadline=None)
@given(st.lists(DOMAIN_LIKE, max_size=6), st.sampled_from([";", "; ", ",", " ", "\n"]))
def test_every_item_typed_is_either_kept_or_named_invalid(items, separator):
    parsed = parse_domains(separator.join(items))

    kept = {i.lstrip("@") for i in items if is_domain(i.lstrip("@").lower())}
    assert set(parsed.domains) == kept
    assert len(parsed.invalid) == len([i for i in items if i.lstrip("@") not in kept])


# --- The platform's domain check (CommunityManager::canJoin) --------------------------------


@pytest.mark.parametrize(
    ("column", "email", "accepted"),
    [
        ("arcfrance.fr", "jean@arcfrance.fr", True),
        ("@arcfrance.fr", "jean@arcfrance.fr", True),  # every @ of the column is removed
        (" arcfrance.fr ; gsk.com", "jean@gsk.com", True),  # each part trimmed
        ("arcfrance.fr", "jean@ARCFRANCE.FR", False),  # case-sensitive
        ("ARCFRANCE.FR", "jean@arcfrance.fr", False),
        ("arcfrance.fr", "jean@mail.arcfrance.fr", False),  # no subdomains
        ("arcfrance.fr", "jean@arcfrance.fr.", False),
        ("xn--caf-dma.fr", "jean@café.fr", False),  # no punycode either
        ("arcfrance.fr", "jean@arcfrance.fr@x", True),  # explode('@')[1]
        ("arcfrance.fr;", "jean", False),
    ],
)
def test_domain_accepts_as_the_platform(column, email, accepted):
    assert domain_accepts(column, email) is accepted


# --- Identifier files -------------------------------------------------------------------------


# Expected values checked against PHP 8.2's fgetcsv (tests/platform/test_security.py compares
# with a real PHP when one is installed).


def _bad(parsed):
    return tuple((b.number, b.reason, b.line) for b in parsed.bad_lines)


@pytest.mark.parametrize(
    ("content", "pairs", "bad"),
    [
        (b"A1;B1\nA2;B2\n", 2, ()),
        (b"A1;B1\r\nA2;B2", 2, ()),  # Windows line ends, no final newline
        (b"A1;B1\rA2;B2\r", 0, ((1, "columns_cr", "A1;B1␍A2;B2"),)),  # CR only: one line
        (b"A1;B1\n\nA2;B2\n", 2, ((2, "blank", ""),)),  # fgetcsv: [null], 1 column
        (b"A1;B1\n   \n", 1, ((2, "columns", "   "),)),
        (b"A1;B1\na;b;c\n", 1, ((2, "columns", "a;b;c"),)),
        (b"a;\n", 0, ((1, "second_empty", "a;"),)),
        (b";b\n", 0, ((1, "first_empty", ";b"),)),
        (b"   ;b\n", 0, ((1, "first_empty", "   ;b"),)),  # trim() leaves nothing
        (b"seul\n", 0, ((1, "columns", "seul"),)),
        (b" E1 ; 01/02/1980 \n", 1, ()),  # kept as they are: members must type the spaces
        (b'"a;b";c\n', 1, ()),  # a quoted field may hold the delimiter
        (b'a;"b\nc";d\n', 0, ((1, "columns", 'a;"b'),)),  # a quoted line end joins lines
        (b'a;"b\nc"\nx;y\n', 2, ()),
        (b"a;" + b"b" * 4094 + b"\n", 0, ((1, "too_long", "a;" + "b" * 4094),)),
        (b"a;" + b"b" * 4093 + b"\n", 1, ()),  # 4 096 bytes with the line end: read whole
    ],
)
def test_identifier_lines(content, pairs, bad):
    parsed = parse_identifiers(content)

    assert parsed.pairs == pairs
    assert _bad(parsed) == bad


def test_a_byte_order_mark_is_dropped_from_the_stored_content():
    parsed = parse_identifiers(b"\xef\xbb\xbfE1;01/02/1980\n")

    assert parsed.pairs == 1 and parsed.content == b"E1;01/02/1980\n"


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (b"E1;01/02/1980\n", "text/plain"),
        (b"", "application/x-empty"),
        (b"\x00\x01\x02binary\x00;x\n", "application/octet-stream"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    ],
)
def test_the_mime_type_is_read_from_the_content(content, mime):
    assert parse_identifiers(content).mime_type == mime


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_parse_identifiers_never_raises_and_accounts_for_every_record(content):
    parsed = parse_identifiers(content)

    assert parsed.pairs >= 0
    lines = content.count(b"\n") + 1
    assert all(1 <= b.number <= lines for b in parsed.bad_lines)
