"""Community names that cannot pass for another one.

Anyone can propose a name (a referent renaming their community), and every referent reads it in
lists and pushes, so two communities must never *look* the same. Two rules, on top of the
platform's own (unique whatever the case):

- no invisible, bidirectional or control character: they make a name display as another one
  (a zero-width space inside "Arc France", a right-to-left override that reverses the letters
  typed);
- no name whose confusable skeleton (Unicode TS #39, section 4) is that of another community,
  after NFKC and case folding: "Arc Francе" with a Cyrillic е is "Arc France".

The skeleton is computed from the Unicode confusables.txt data as shipped (in JSON) by the
`confusable-homoglyphs` package: that package maps each pair in both directions and has no
skeleton function of its own, so the prototype of each character is rebuilt here. Every class
of confusables.txt is a star around its prototype (checked by
tests/handlers/community/test_look_alike_names.py), so the prototype is the member linked to all
others, or the member of several code points; for a class of two single characters either one
serves, since only equality of skeletons matters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Invisible characters that are not format characters (category Cf) and would pass for a
#: space or for nothing: combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
#: Mongolian variation selectors and vowel separator, braille blank.
INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
)
#: Characters dropped from the comparison key only: variation selectors (text or emoji
#: presentation of the same character).
IGNORED_IN_KEY = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
#: Direction marks that confusables.txt's comments wrap around right-to-left characters.
DIRECTION_MARKS = "\u200e\u200f"
#: Bidirectional controls: marks, embeddings, overrides and isolates (format characters too,
#: named here so that the rule does not hang on a category).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def refused_character(name: str) -> str | None:
    """The first character a community name may not hold, as `U+XXXX NAME`, or None.

    Refused: bidirectional controls, every format character (Cf: zero-width space, joiners,
    word joiner, BOM, soft hyphen, tags...), control characters (Cc, line breaks included),
    line and paragraph separators, unassigned and private-use code points (nobody can tell
    how they display), and the invisible letters of `INVISIBLE`.
    """
    for char in name:
        category = unicodedata.category(char)
        if (
            char in BIDI_CONTROLS
            or char in INVISIBLE
            or category in ("Cf", "Cc", "Cs", "Co", "Cn", "Zl", "Zp")
        ):
            return f"U+{ord(char):04X} {unicodedata.name(char, '').lower()}".strip()
    return None


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Each confusable character -> its class's prototype (loaded once, about 0.1 s)."""
    from confusable_homoglyphs.confusables import confusables_data

    linked: dict[str, set[str]] = {}
    for source, entries in confusables_data.items():
        a = source.strip(DIRECTION_MARKS)
        for entry in entries:
            b = entry["c"].strip(DIRECTION_MARKS)
            linked.setdefault(a, set()).add(b)
            linked.setdefault(b, set()).add(a)
    prototypes: dict[str, str] = {}
    for char, others in linked.items():
        if char in prototypes:
            continue
        members = {char} | others
        for other in others:
            members |= linked[other]
        prototypes.update(dict.fromkeys(members, _prototype_of(members, linked)))
    return prototypes


def _prototype_of(members: set[str], linked: dict[str, set[str]]) -> str:
    """The centre of a star-shaped class; in a pair, the one of several code points or the one
    that NFD leaves unchanged (the other can never appear in NFD text)."""
    several = [m for m in members if len(m) > 1]
    if several:
        return several[0]
    if len(members) > 2:
        return next(m for m in members if len(linked[m]) == len(members) - 1)
    stable = sorted(m for m in members if unicodedata.normalize("NFD", m) == m)
    return (stable or sorted(members))[0]


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(char, char) for char in decomposed))


def look_alike_key(name: str) -> str:
    """What two names share when they look the same, whatever the case: the skeleton of the
    NFKC name, case-folded, skeletoned and folded again (the prototype of "0" is "O", of
    "I" is "l": folding first would miss "LeN0rd"), without variation selectors, its runs of
    spaces made one."""
    text = IGNORED_IN_KEY.sub("", unicodedata.normalize("NFKC", name))
    for _ in range(2):
        text = unicodedata.normalize("NFKC", skeleton(text)).casefold()
    return " ".join(skeleton(text).split())
