"""Parsing what a referent types or sends for validation: domain lists and identifier files,
read exactly as the platform reads them (docs/platform.md, "Validation and secured communities").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import threading
from dataclasses import dataclass
from typing import Literal

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
    """Domains separated by `;`, `,` or spaces; a leading `@` is dropped (the platform drops
    every `@`; one inside a name, as in a pasted e-mail address, makes it invalid).

    Stored as typed (no lower-casing, no punycode): the platform compares each domain exactly
    with the part of a member's e-mail after `@` (Community/Service/CommunityManager.php,
    canJoin), so only the form its members' addresses use can match.
    """
    domains: list[str] = []
    invalid: list[str] = []
    for raw in re.split(r"[;,\s]+", text or ""):
        item = raw.strip().lstrip("@").strip()
        if not item:
            continue
        ascii_name = to_ascii(item.lower())
        if ascii_name is None or not is_domain(ascii_name) or "@" in item:
            invalid.append(raw.strip())
        elif item not in domains:
            domains.append(item)
    return DomainList(tuple(domains), tuple(invalid))


#: PHP's trim() characters.
PHP_TRIM = " \t\n\r\x00\x0b"


def platform_domains(column: str | None) -> list[str]:
    """`explode(';', str_replace('@', '', $community->getDomain()))`, each part trimmed
    (CommunityManager::canJoin); empty parts, which match no e-mail, left out."""
    parts = (part.strip(PHP_TRIM) for part in (column or "").replace("@", "").split(";"))
    return [part for part in parts if part]


def platform_email_domain(email: str | None) -> str | None:
    """`explode('@', $user->getEmail())[1]`: what follows the first `@`, up to a second one."""
    parts = (email or "").split("@")
    return parts[1] if len(parts) > 1 else None


def domain_accepts(column: str | None, email: str | None) -> bool:
    """Whether the platform's domain validation would let this e-mail join: exact,
    case-sensitive, no subdomains (CommunityManager::canJoin, `trim($d) == $userDomain`)."""
    user_domain = platform_email_domain(email)
    return user_domain is not None and user_domain in platform_domains(column)


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


# --- Identifier files, read as the platform reads them ---------------------------------------
#
# The platform (api/src/Community/Admin/Service/CommunitySecurityManager.php,
# __validateSecurityFile) accepts an uploaded file when its MIME type, as libmagic sees the
# content (Symfony File::getMimeType), is text/plain or text/csv, and every record
# `fgetcsv($file, 0, ';')` returns has exactly 2 columns, each non-empty once trimmed. A member
# later joins when the pair typed equals a record exactly (Community/Service/CommunityManager.php,
# checkSecurity: `fgetcsv($file, 4096, ';')`, `$tab[0] === $login && $tab[1] === $password`).
# `_php_records` below is PHP's fgetcsv (ext/standard/file.c, php_fgetcsv) for delimiter `;`,
# enclosure `"` and escape `\`, on the bytes, with `\n` as the only line end
# (auto_detect_line_endings is off by default, and deprecated since PHP 8.1).

#: The platform's accepted MIME types (CommunitySecurityManager::MIME_TYPES).
PLATFORM_MIME_TYPES = ("text/plain", "text/csv")
#: checkSecurity reads records with fgetcsv(..., 4096, ...): a longer line is cut in pieces.
PLATFORM_JOIN_LINE_BYTES = 4096
UTF8_BOM = b"\xef\xbb\xbf"
#: PHP's trim() characters, and C's isspace() (the leading blanks fgetcsv skips before a quote).
PHP_TRIM_BYTES = PHP_TRIM.encode()
C_SPACE = b" \t\n\r\x0b\x0c"
DELIMITER, ENCLOSURE, ESCAPE = ord(";"), ord('"'), ord("\\")


@dataclass(frozen=True)
class BadLine:
    number: int  # the line (as a text editor numbers them) where the record starts
    line: str  # that line, decoded for display
    reason: str  # a key of the validation.reason.* messages
    columns: int = 0


@dataclass(frozen=True)
class IdentifierFile:
    pairs: int
    bad_lines: tuple[BadLine, ...]
    mime_type: str
    #: What is stored: the bytes received, without a leading UTF-8 byte order mark.
    content: bytes

    @property
    def accepted(self) -> bool:
        return self.mime_type in PLATFORM_MIME_TYPES and not self.bad_lines and self.pairs > 0


def parse_identifiers(content: bytes) -> IdentifierFile:
    """Read a file of identifier pairs as the platform's upload and join check read it.

    One deliberate difference: a leading UTF-8 byte order mark is dropped before storing (PHP
    keeps it in the first identifier, so that member could never join). And a line longer than
    the platform's join check reads (4 096 bytes) is refused: its pair could never be used.
    """
    if content.startswith(UTF8_BOM):
        content = content[len(UTF8_BOM) :]
    mime = mime_type(content)
    pairs = 0
    bad: list[BadLine] = []
    for number, first_line, record in _php_records(content):
        reason = _record_problem(record, first_line)
        if reason:
            bad.append(BadLine(number, _display(first_line), reason, len(record)))
        else:
            pairs += 1
    return IdentifierFile(pairs, tuple(bad), mime, content)


def _record_problem(record: list[bytes | None], first_line: bytes) -> str:
    """CommunitySecurityManager::__validate_line, plus the join check's line length."""
    if len(record) != 2:
        if record == [None]:
            return "blank"
        if b"\r" in first_line.rstrip(b"\r\n"):
            return "columns_cr"
        return "columns"
    if not (record[0] or b"").strip(PHP_TRIM_BYTES):
        return "first_empty"
    if not (record[1] or b"").strip(PHP_TRIM_BYTES):
        return "second_empty"
    if len(first_line) > PLATFORM_JOIN_LINE_BYTES:
        return "too_long"
    return ""


def _display(line: bytes) -> str:
    text, _ = decode(line.rstrip(b"\r\n"))
    return text.replace("\r", "␍")


def _php_records(data: bytes):
    """(line number, first physical line, fields or None) of each fgetcsv call, to the end."""
    position, number = 0, 1
    while position < len(data):
        first_line = data[position : _line_end(data, position)]
        record, end = _php_fgetcsv(data, position)
        yield number, first_line, record
        number += data.count(b"\n", position, end)
        position = end


def _line_end(data: bytes, position: int) -> int:
    """php_stream_get_line: up to and including the next `\\n`, or to the end."""
    found = data.find(b"\n", position)
    return len(data) if found < 0 else found + 1


def _trailing_line_end(buf: bytes) -> int:
    """php_fgetcsv_lookup_trailing_spaces: where a trailing \\r\\n, \\n or \\r starts."""
    if buf.endswith(b"\r\n"):
        return len(buf) - 2
    if buf.endswith((b"\n", b"\r")):
        return len(buf) - 1
    return len(buf)


def _php_fgetcsv(data: bytes, position: int) -> tuple[list[bytes | None], int]:
    """One call of PHP 8's php_fgetcsv at `position`: (fields, next position).

    A transcription, quirks included: the character after an opening quote is read even when
    it is the line end (`"` alone at the end of a line keeps that line end twice), an
    unterminated quote takes the rest of the file, text after a closing quote is kept.
    """
    end = _line_end(data, position)
    buf = data[position:end]
    position = end
    limit = _trailing_line_end(buf)
    line_end = buf[limit:]
    fields: list[bytes | None] = []
    b = 0
    first = True
    while True:
        field = bytearray()
        inc = 1 if b < limit else 0
        if inc:
            t = b
            while t < len(buf) and buf[t] != DELIMITER and buf[t] in C_SPACE:
                t += 1
            if t < limit and buf[t] == ENCLOSURE:
                b = t
        if first and b == limit:
            fields.append(None)  # a blank line: [null]
            break
        first = False
        if inc and buf[b] == ENCLOSURE:
            bufz = buf + b"\0"  # C strings: the byte after the line is a NUL
            b += 1
            hunk = b
            state = 0
            while True:  # `inc` is still 1 here, as in PHP, even when b is at the limit
                if not inc:
                    if state == 2:
                        field += bufz[hunk : b - 1]
                        hunk = b
                        break
                    if state == 1:
                        field += bufz[hunk:b]
                        hunk = b
                    if hunk != limit:
                        field += bufz[hunk:b]
                        hunk = b
                    field += line_end
                    if position >= len(data):  # unterminated quote: the rest is the field
                        break
                    end = _line_end(data, position)
                    buf = data[position:end]
                    bufz = buf + b"\0"
                    position = end
                    b = hunk = 0
                    limit = _trailing_line_end(buf)
                    line_end = buf[limit:]
                    state = 0
                else:
                    c = bufz[b]
                    if state == 1:
                        b += 1
                        state = 0
                    elif state == 2:
                        if c != ENCLOSURE:
                            field += bufz[hunk : b - 1]
                            hunk = b
                            break
                        field += bufz[hunk:b]
                        b += 1
                        hunk = b
                        state = 0
                    else:
                        if c == ENCLOSURE:
                            state = 2
                        elif c == ESCAPE:
                            state = 1
                        b += 1
                inc = 1 if b < limit else 0
            # after the closing quote, everything up to the delimiter belongs to the field
            while inc and bufz[b] != DELIMITER:
                b += 1
                inc = 1 if b < limit else 0
            field += bufz[hunk:b]
            b += inc
            fields.append(bytes(field))
        else:
            hunk = b
            while inc and buf[b] != DELIMITER:
                b += 1
                inc = 1 if b < limit else 0
            value = buf[hunk:b]
            fields.append(value[: _trailing_line_end(value)])
            if inc:
                b += 1
        if not inc:
            break
    return fields, position


def decode(content: bytes) -> tuple[str, str]:
    """Text for display only: what is stored and compared are the bytes."""
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover


ENCODINGS = ("utf-8", "cp1252", "latin-1")

# --- The MIME type, as the platform's Symfony File::getMimeType sees it (libmagic) ------------

_MAGIC_MIME_TYPE = 0x10
_magic_lock = threading.Lock()
_magic: tuple[ctypes.CDLL, int] | None | Literal[False] = False  # False: not looked up yet


def _libmagic() -> tuple[ctypes.CDLL, int] | None:
    global _magic
    if _magic is False:
        _magic = None
        name = ctypes.util.find_library("magic")
        if name:
            try:
                lib = ctypes.CDLL(name)
                lib.magic_open.restype = ctypes.c_void_p
                lib.magic_open.argtypes = [ctypes.c_int]
                lib.magic_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
                lib.magic_buffer.restype = ctypes.c_char_p
                lib.magic_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
                cookie = lib.magic_open(_MAGIC_MIME_TYPE)
                if cookie and lib.magic_load(cookie, None) == 0:
                    _magic = (lib, cookie)
            except (OSError, AttributeError):
                _magic = None
    return _magic


def mime_type(content: bytes) -> str:
    """The content's MIME type by libmagic, which the platform's PHP (fileinfo) uses too.

    Without libmagic (libmagic1 not installed), a close approximation: empty and binary
    content (NUL or other control bytes) are not text; anything else is text/plain.
    """
    magic = _libmagic()
    if magic is not None:
        lib, cookie = magic
        with _magic_lock:  # a libmagic cookie is not thread-safe
            found = lib.magic_buffer(cookie, content, len(content))
        if found:
            return found.decode("ascii", "replace")
    if not content:
        return "application/x-empty"
    if re.search(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]", content):
        return "application/octet-stream"
    return "text/plain"
