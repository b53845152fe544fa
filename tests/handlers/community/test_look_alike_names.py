"""Look-alike community names (issue 18, point 3): a name that would display as another
community's is refused, saying which one it looks like; nothing changes on refusal."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import update

from handlers.chat import commands
from handlers.chat.actions import Press, press
from handlers.community.names import look_alike_key, refused_character, skeleton
from storage.codes import ValidationType
from storage.models import Community
from tests.bot.test_console import run_console
from tests.handlers.community.helpers import assert_refused_full, full_snapshot
from tests.handlers.helpers import actor, community

ZWSP = "\u200b"
RLO, PDF = "\u202e", "\u202c"


def run(ctx, who, text: str):
    name, args = commands.parse(text)
    return commands.run_command(ctx, who, name, args)


def rename(ctx, world, person: str, key: str, name: str):
    """Through the card's button, as every front sends a typed answer (no command parsing)."""
    return press(ctx, actor(ctx, world, person), Press("edit_name", str(world.communities[key]),
                                                       text=name))  # fmt: skip


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("Arc Franc\u0435", ["ressemble à « Arc France » (n° {arc})", "une autre communauté"]),
        ("\u0410rc France", ["ressemble à « Arc France » (n° {arc})"]),  # Cyrillic А
        ("Arc Fr\u0430nce", ["ressemble à « Arc France » (n° {arc})"]),  # Cyrillic а
        ("Arc  France", ["ressemble à « Arc France » (n° {arc})"]),  # two spaces
        # Fullwidth F: MariaDB's collation already calls it "Arc France" (the platform's rule).
        ("Arc Ｆrance", ["(n° {arc})"]),
        ("ARC FRANCE", ["« ARC FRANCE » est déjà celui d'une autre communauté", "(n° {arc})"]),
        (f"Arc{ZWSP}France", ["caractère invisible", "U+200B zero width space"]),
        (f"Arc {ZWSP}France", ["U+200B zero width space"]),
        (f"{RLO}ecnarF crA{PDF}", ["U+202E right-to-left override"]),  # shows "Arc France"
        ("Arc France\u2066", ["U+2066 left-to-right isolate"]),
        ("Arc\u00adFrance", ["U+00AD soft hyphen"]),
        ("Arc\u2060France", ["U+2060 word joiner"]),
        ("\ufeffArc France", ["U+FEFF zero width no-break space"]),
        ("Arc\u200dFrance", ["U+200D zero width joiner"]),
        ("Arc\u200cFrance", ["U+200C zero width non-joiner"]),
        ("Arc\u200eFrance", ["U+200E left-to-right mark"]),
        ("Arc\u061cFrance", ["U+061C arabic letter mark"]),
        ("Arc\u3164France", ["U+3164 hangul filler"]),
        ("Arc\u0007France", ["U+0007"]),
        ("Arc France\nDeux", ["U+000A"]),
    ],
)
def test_a_name_that_would_display_as_another_community_s_is_refused(ctx, world, name,
                                                                      fragments):  # fmt: skip
    before = full_snapshot(ctx)

    reply = rename(ctx, world, "eddy", "lenord", name)

    arc = world.communities["arc"]
    expected = [f.format(arc=arc) for f in fragments] + ["Rien n'a été modifié."]
    assert_refused_full(ctx, reply, before, *expected)
    assert community(ctx, world.communities["lenord"]).name == "LeNord covoiture"


def test_in_english_it_says_which_community_the_name_looks_like(ctx, world):
    run(ctx, actor(ctx, world, "eddy"), "langue en")
    eddy = actor(ctx, world, "eddy")
    lenord, arc = world.communities["lenord"], world.communities["arc"]
    before = full_snapshot(ctx)

    reply = run(ctx, eddy, f"rename {lenord} Arc Franc\u0435")

    assert_refused_full(ctx, reply, before, f'looks like "Arc France" (no. {arc})',
                        "Nothing was changed.")  # fmt: skip
    reply = run(ctx, eddy, f"rename {lenord} Arc{ZWSP}France")
    assert_refused_full(ctx, reply, before, "invisible, control or text-direction character",
                        "U+200B zero width space", "Nothing was changed.")  # fmt: skip


def test_an_honest_new_name_is_accepted(ctx, world):
    reply = rename(ctx, world, "eddy", "lenord", "Le Nord covoiture – Métropole 2024 🚗")

    assert reply.ok, reply.text
    assert (
        community(ctx, world.communities["lenord"]).name == "Le Nord covoiture – Métropole 2024 🚗"
    )


def test_a_community_may_take_a_look_alike_of_its_own_name(ctx, world):
    """Only *other* communities count: "LeNord covoiture" may become "LeNord Covoiture"."""
    reply = rename(ctx, world, "eddy", "lenord", "LeNord Covoiture")

    assert reply.ok, reply.text


def test_a_hidden_secured_community_is_not_named(ctx, world):
    """Secured communities are hidden from non-members on the platform: the refusal says a
    community looks like it, not which."""
    with ctx.sessions() as session, session.begin():
        session.execute(update(Community).where(Community.id == world.communities["gsk"])
                        .values(validation_type=int(ValidationType.SECURED)))  # fmt: skip
    before = full_snapshot(ctx)

    reply = rename(ctx, world, "eddy", "lenord", "GSK Saint Amand les Ea\u03c5x")  # Greek υ

    assert_refused_full(ctx, reply, before, "Ce nom ressemble à celui d'une autre communauté",
                        "Rien n'a été modifié.")  # fmt: skip
    assert "GSK" not in reply.text and str(world.communities["gsk"]) not in reply.text
    # Its own referent (a member of it) is told which.
    other = rename(ctx, world, "cyrielle", "gsk", "LeN0rd covoiture")
    assert "ressemble à « LeNord covoiture »" in other.text


def test_in_the_terminal_a_look_alike_name_is_refused_then_an_honest_one_accepted(ctx, world):
    lenord = world.communities["lenord"]
    out = run_console(ctx, world.users["eddy"],
                      [f"renommer {lenord} Arc Franc\u0435", f"renommer {lenord} Arc{ZWSP}France",
                       f"renommer {lenord} Nord Covoit", "quitter"])  # fmt: skip

    assert f"ressemble à « Arc France » (n° {world.communities['arc']})" in out
    assert "U+200B zero width space" in out
    assert "« LeNord covoiture » → « Nord Covoit »" in out
    assert community(ctx, lenord).name == "Nord Covoit"


# --- The rules themselves -------------------------------------------------------------------


def test_every_format_and_control_character_is_refused():
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) in ("Cf", "Cc", "Zl", "Zp"):
            assert refused_character(f"a{char}b") is not None, hex(code)
    assert refused_character("Communauté d'agglomération du Douaisis (CAD) – 59 🚗") is None


def test_the_skeleton_follows_unicode_ts_39():
    # The examples of UTS #39 and well-known confusables.
    assert skeleton("paypal") == skeleton("\u0440\u0430\u0443\u0440\u0430l")
    assert skeleton("rn") == skeleton("m")
    assert skeleton("l") == skeleton("1") == skeleton("I")
    assert skeleton("Arc France") != skeleton("Arc Francs")
    assert look_alike_key("LeN0rd") == look_alike_key("lenord")
    assert look_alike_key("ΑRC FRΑNCE") == look_alike_key("Arc France")  # Greek capital alphas
    assert look_alike_key("Arc France\ufe0f") == look_alike_key("Arc France")
    assert look_alike_key("Arc Francs") != look_alike_key("Arc France")


def test_the_confusables_data_is_made_of_stars_around_a_prototype():
    """What handlers.community.names relies on to rebuild each character's prototype."""
    from confusable_homoglyphs.confusables import confusables_data

    linked: dict[str, set[str]] = {}
    for source, entries in confusables_data.items():
        for entry in entries:
            a, b = source.strip("\u200e\u200f"), entry["c"].strip("\u200e\u200f")
            linked.setdefault(a, set()).add(b)
            linked.setdefault(b, set()).add(a)
    assert len(linked) > 6000
    for char, others in linked.items():
        if len(others) > 1:  # a prototype: each of its sources is linked to it alone
            assert all(linked[o] == {char} for o in others), char
