"""Every parser of what people type or send, with any input (hypothesis): command lines, button
data (Telegram callback data, Slack values and modal metadata), domain lists, identifier files
in any encoding and size, quiet hours, chart references, link codes, oversized messages.

The property everywhere: the input is either understood or answered with a clear message; no
exception escapes; and when the answer is a refusal, nothing changed in the database (nor on
disk, for identifier files)."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.chat import actions, commands, pending_input, preferences
from handlers.chat import entry as chat
from handlers.chat.actions import REGISTRY as ACTIONS
from handlers.chat.linking import (
    ALPHABET,
    CODE_LENGTH,
    ChatAccount,
    looks_like_code,
    redeem_link_code,
)
from handlers.community.settings import set_identifiers
from handlers.community.validation_input import (
    ENCODINGS,
    PLATFORM_MIME_TYPES,
    decode,
    domain_accepts,
    is_domain,
    parse_domains,
    parse_identifiers,
    to_ascii,
)
from handlers.core import limits
from handlers.core.actions import Press
from handlers.core.i18n import Num
from handlers.dashboard.request import ChartRequest, parse_scope
from storage.bot_models import PendingInput
from tests.handlers.helpers import actor, snapshot
from tests.security.conftest import BOUNDED, PLACE, fr, full_snapshot

SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
#: Anything at all, control characters, NUL and lone surrogates included.
ANY_TEXT = st.text(st.characters(codec=None), max_size=80)
SQL = ["'; DROP TABLE community; --", "1 OR 1=1", "%", "_", "\\", "1;DELETE FROM user"]
#: References shaped like the real ones (ids, colons, filters), so that use cases get reached.
REFS = st.one_of(
    ANY_TEXT,
    st.from_regex(r"\A[0-9]{1,11}(:[0-9amoprx]{1,11}){0,3}\Z"),
    st.sampled_from(["", "0", "1", "2147483647", "2147483648", "1:2:3", "c1", "t1", "a"]),
)
WORDS = st.lists(st.one_of(ANY_TEXT, st.sampled_from(SQL), st.from_regex(r"\A[0-9]{1,4}\Z")),
                 max_size=4)  # fmt: skip


def refused_changes_nothing(reply, before: tuple, after: tuple) -> None:
    assert isinstance(reply.text, str) and reply.text
    if not reply.ok:
        assert after == before, reply.text


# --- Command lines ---------------------------------------------------------------------------


@BOUNDED
@given(ANY_TEXT)
@example("/attente@PassPassReferentBot 12")
@example("   ")
def test_a_command_line_always_parses(text):
    name, args = commands.parse(text)
    assert "/" not in name[:1] and "@" not in name
    assert args == text.split()[1:]
    assert name == (text.split()[0].lstrip("/").split("@", 1)[0].lower() if text.split() else "")


@SQLITE
@settings(BOUNDED, max_examples=120)
@given(name=st.one_of(st.sampled_from(sorted(commands.REGISTRY.words)),
                      ANY_TEXT), args=WORDS)  # fmt: skip
@example(name="renommer", args=["1", "x" * 100_000])  # oversized messages
@example(name="description", args=["1", "\x00"])
@example(name="presentation", args=["1", "\ud800"])
@example(name="membres", args=["1", "%"])
@example(name="ajouter", args=["1", "a" * 100_000 + "@exemple.fr"])
@example(name="x" * 100_000, args=[])
@example(name="domaines", args=["1", "y" * 100_000])
@example(name="silence", args=["99:99-00:00"])
def test_any_command_from_an_operator_is_understood_or_refused(ctx, world, name, args):
    operator = ChatAccount("telegram", "4242")
    if chat.who(ctx, operator) is None:
        from handlers.chat.linking import issue_link_code

        code = issue_link_code(ctx, "operateur@hautsdefrance-mobilites.fr").code
        assert redeem_link_code(ctx, operator, code, "fr").ok
    before = snapshot(ctx)

    reply = chat.on_command(ctx, operator, PLACE, name, args)

    refused_changes_nothing(reply, before, snapshot(ctx))
    assert len(reply.text) < 20_000  # an oversized input is not echoed back whole


# --- Button data -----------------------------------------------------------------------------


@BOUNDED
@given(ANY_TEXT)
def test_callback_data_always_decodes_and_round_trips(data):
    press = actions.parse_callback_data(data)
    assert f"{press.action}|{press.ref}" == data or ("|" not in data and press.ref == "")
    try:
        encoded = actions.callback_data(press.action, press.ref)
    except ValueError:
        assert len(f"{press.action}|{press.ref}".encode("utf-8", "surrogatepass")) > 64
    else:
        assert actions.parse_callback_data(encoded) == press


@SQLITE
@settings(BOUNDED, max_examples=120)
@given(action=st.one_of(st.sampled_from(sorted(ACTIONS.words)), ANY_TEXT), ref=REFS,
       text=st.one_of(st.none(), ANY_TEXT, st.sampled_from(SQL)))  # fmt: skip
@example(action="refuse", ref="1", text="x" * 100_000)
@example(action="members", ref="1:a:0:\x00", text=None)
@example(action="language", ref="\ud800", text=None)
def test_any_button_press_is_understood_or_refused(ctx, world, action, ref, text):
    """The operator administers everything: the strongest case for a forged press."""
    before = snapshot(ctx)

    reply = actions.press(ctx, actor(ctx, world, "operator"), Press(action, ref, text=text))

    refused_changes_nothing(reply, before, snapshot(ctx))


#: The actions that declare the input they ask for (pending_input parks them).
ASKING = [action.name for action in ACTIONS if action.input is not None]


@SQLITE
@BOUNDED
@given(action=st.one_of(st.sampled_from([*ASKING, "~trefuse", "~frename",
                                         pending_input.SKIP, pending_input.CANCEL]), ANY_TEXT),
       ref=REFS, label=st.one_of(st.none(), ANY_TEXT))  # fmt: skip
@example(action="refuse", ref="\x00", label=None)
@example(action="refuse", ref="\ud800", label=None)
@example(action="~t", ref="1", label=None)
def test_any_press_on_telegram_s_input_layer_is_understood_or_refused(ctx, world, action, ref,
                                                                      label):  # fmt: skip
    """pending_input parks presses that ask for text: a forged one must not break that."""
    account = ChatAccount("telegram", "5151")
    if chat.who(ctx, account) is None:
        from handlers.chat.linking import issue_link_code

        code = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
        assert redeem_link_code(ctx, account, code, "fr").ok
    before = snapshot(ctx)

    answer = pending_input.on_press(ctx, account, PLACE, Press(action, ref), "fr", "1:2", label)

    refused_changes_nothing(answer.reply, before, snapshot(ctx))
    followed = pending_input.on_text(ctx, account, PLACE, "une réponse", "fr")
    if followed is not None:
        refused_changes_nothing(followed.reply, before, snapshot(ctx))
    with ctx.sessions() as session:
        assert session.query(PendingInput).count() <= 1


# --- Domain lists ----------------------------------------------------------------------------


DOMAIN_LIKE = r"\A@?[a-zA-Zé0-9-]{1,12}(\.[a-zA-Z]{2,6}){1,2}\Z"


@BOUNDED
@given(st.one_of(ANY_TEXT, st.lists(st.from_regex(DOMAIN_LIKE), max_size=6).map(";".join)))
@example("arcfrance.fr ; @arc-intl.com,exemple.fr")
@example("société.fr")
@example("ArcFrance.FR;arcfrance.fr")
@example("-bad-.fr;a..b;" + "x" * 300 + ".fr")
def test_a_domain_list_always_parses(text):
    """Domains are kept as typed: the platform compares them exactly with the part of an
    e-mail after `@` (CommunityManager::canJoin), so what is stored must match that form."""
    parsed = parse_domains(text)
    for domain in parsed.domains:
        assert "@" not in domain and domain == domain.strip()
        assert domain in text  # as typed: no lower-casing, no punycode
        assert is_domain(to_ascii(domain.lower()) or "")
        assert domain_accepts(parsed.column, f"someone@{domain}")
        assert not domain_accepts(parsed.column, f"someone@sub.{domain}")
    assert len(set(parsed.domains)) == len(parsed.domains)
    assert parse_domains(parsed.column).domains == parsed.domains  # what is stored reads back
    assert all(item.strip() for item in parsed.invalid)


# --- Identifier files ------------------------------------------------------------------------


@BOUNDED
@given(st.binary(max_size=2000))
@example(b"\xef\xbb\xbfa;b\r\nc;d\re;f\n")
@example("é;à\n".encode("cp1252"))
@example(b"\x00\x00;\xff\xfe\n")
@example(b'"a;b";c\n"d\ne";f\n')
def test_an_identifier_file_of_any_bytes_parses(content):
    """Any bytes are read without an error: accepted, or refused with lines the file has."""
    parsed = parse_identifiers(content)
    assert decode(content)[1] in ENCODINGS  # shown to the referent whatever the bytes
    assert parsed.content == content.removeprefix(b"\xef\xbb\xbf")
    lines = content.count(b"\n") + 1
    assert all(1 <= bad.number <= lines for bad in parsed.bad_lines)
    if parsed.accepted:
        assert parsed.pairs > 0 and parsed.mime_type in PLATFORM_MIME_TYPES


TOKEN = st.from_regex(r"\A[A-Za-z0-9._-]{1,20}\Z")


@BOUNDED
@given(st.lists(st.tuples(TOKEN, TOKEN), min_size=1, max_size=50), st.booleans())
def test_a_file_of_plain_pairs_is_accepted_pair_for_pair(pairs, final_newline):
    """CommunitySecurityManager: one record per `\\n`-ended line, 2 non-empty columns each."""
    content = "\n".join(f"{a};{b}" for a, b in pairs).encode() + (b"\n" if final_newline else b"")
    parsed = parse_identifiers(content)
    assert parsed.accepted, parsed
    assert parsed.pairs == len(pairs)


@BOUNDED
@given(st.text(st.characters(codec="utf-8"), max_size=300),
       st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))  # fmt: skip
def test_an_identifier_file_in_any_encoding_is_read_as_written_or_refused(text, encoding):
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        return
    decoded, used = decode(content)
    if encoding == "utf-8" or encoding == "cp1252" and used == "cp1252":
        assert decoded == text
    parsed = parse_identifiers(content)  # never raises, whatever it reads
    # a UTF-8 byte order mark is not stored: PHP would keep it inside the first identifier
    assert not parsed.content.startswith(b"\xef\xbb\xbf") or content.startswith(
        b"\xef\xbb\xbf\xef\xbb\xbf"
    )


@SQLITE
@BOUNDED
@given(content=st.one_of(st.binary(max_size=3000),
                         st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass"))),
       name=st.one_of(st.sampled_from(["ids.csv", "ids.txt", "ids.exe", "", "../../x.csv",
                                       "a\x00.csv", "\ud800.csv"]), ANY_TEXT))  # fmt: skip
@example(content=b"a;b\n" * 700, name="gros.csv")  # over the 2 KB limit set below
def test_any_identifier_file_is_accepted_or_refused_with_nothing_changed(ctx, world, content, name):
    import dataclasses

    small = dataclasses.replace(ctx, settings=dataclasses.replace(
        ctx.settings, max_identifiers_file_bytes=2048))  # fmt: skip
    folder = small.settings.security_folder
    before, files = snapshot(small), set(folder.glob("*")) if folder.exists() else set()

    reply = set_identifiers(small, actor(small, world, "emilie"), world.communities["arc"],
                            name, content)  # fmt: skip

    after = set(folder.glob("*")) if folder.exists() else set()
    if reply.ok:
        assert len(after) == 1 and after != files  # the new file replaces the previous ones
        assert all(p.parent == folder for p in after)
    else:
        assert (snapshot(small), after) == (before, files), reply.text
    if len(content) > 2048:
        assert reply.text == fr("validation.file_too_big", limit="2")


# --- Quiet hours, chart references, link codes --------------------------------------------------


@SQLITE
@BOUNDED
@given(WORDS)
@example(["22:00-07:00"])
@example(["25h-7h"])
@example(["22h30 - 7h"])
@example(["07:00-07:00"])
def test_quiet_hours_parse_or_are_refused(ctx, world, words):
    emilie = actor(ctx, world, "emilie")
    before = full_snapshot(ctx)

    reply = preferences.set_quiet_hours(ctx, emilie, words)

    if not reply.ok:
        typed = " ".join(words).strip()
        too_long = fr("error.too_long", length=Num(len(typed)), limit=Num(limits.QUIET_HOURS))
        assert reply.text in (fr("quiet.usage"), fr("error.bad_text"), too_long)
        assert full_snapshot(ctx) == before


@BOUNDED
@given(st.one_of(ANY_TEXT, st.from_regex(r"\A[a-z]{2,12}:[dmx]:[ryz]:[act]?[0-9]{0,12}\Z")))
@example("co2:m:r:c12")
@example("users:d:y:t2147483648")
def test_chart_references_parse_or_are_refused(ref):
    try:
        request = ChartRequest.from_ref(ref)
    except ValueError:
        return
    assert request.ref() == ref
    kind, value = parse_scope(request.scope)
    assert kind in ("a", "c", "t") and (value is None or 0 < value <= 2**31 - 1)


@BOUNDED
@given(st.one_of(ANY_TEXT, st.text(st.sampled_from(ALPHABET + ALPHABET.lower() + "01OIL "),
                                   min_size=8, max_size=12)))  # fmt: skip
def test_a_link_code_is_recognised_only_in_its_alphabet(text):
    assert looks_like_code(text) == (
        len(text.strip()) == CODE_LENGTH and all(c in ALPHABET for c in text.strip().upper())
    )


@SQLITE
@BOUNDED
@given(st.one_of(ANY_TEXT, st.text(st.sampled_from(string.ascii_uppercase + "23456789"),
                                   min_size=10, max_size=10)))  # fmt: skip
@example("\ud800" * 10)
@example("AAAAAAAAA\x00")
def test_any_link_code_is_redeemed_or_refused(ctx, world, code):
    account = ChatAccount("slack", "U0GUESS", team_id="T0")
    before = full_snapshot(ctx, skip=("bot_link_attempt",))

    reply = redeem_link_code(ctx, account, code, "fr")

    assert reply.ok is False
    assert reply.text in (fr("link.bad_code"), fr("link.too_many_attempts", minutes=15))
    assert full_snapshot(ctx, skip=("bot_link_attempt",)) == before


@SQLITE
def test_an_identifier_file_over_the_default_limit_is_refused_with_a_message(ctx, world):
    limit = ctx.settings.max_identifiers_file_bytes  # 5 MiB unless [bot] max_identifiers_file_kb
    before = full_snapshot(ctx)

    reply = set_identifiers(ctx, actor(ctx, world, "emilie"), world.communities["arc"],
                            "gros.csv", b"12345;01/02/1980\n" * (limit // 17 + 1))  # fmt: skip

    refused = "Fichier trop volumineux (5\u202f120 Ko au plus). Rien n'a été modifié."
    assert (reply.ok, reply.text) == (False, refused)
    assert full_snapshot(ctx) == before
    assert not ctx.settings.security_folder.exists()


@BOUNDED
@given(origin=st.one_of(st.none(), ANY_TEXT), channel=ANY_TEXT)
@example(origin="C1:1700000000.000100", channel="C1")
@example(origin="C2:1700000000.000100", channel="C1")
def test_a_slack_message_reference_parses(origin, channel):
    from bot.slack.front import _origin_ts

    ts = _origin_ts(origin, channel)
    assert ts is None or (origin == f"{channel}:{ts}" and ts)
