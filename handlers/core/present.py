"""How people and codes are shown to referents, as the web admin shows them."""

from __future__ import annotations

from typing import Protocol

from storage.codes import MembershipStatus, ValidationType


class Named(Protocol):
    """A User, or a row of its name columns (what the identity lookup reads)."""

    @property
    def given_name(self) -> str | None: ...

    @property
    def family_name(self) -> str | None: ...

    @property
    def email(self) -> str | None: ...


def short_name(user: Named | None) -> str:
    """'Emilie F.': given name and the family name's initial, as the web admin lists members."""
    if user is None:
        return "?"
    given = (user.given_name or "").strip()
    family = (user.family_name or "").strip()
    if given and family:
        return f"{given} {family[0].upper()}."
    return given or family or email_domain(user.email) or "?"


def email_domain(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    return email.rsplit("@", 1)[1].strip().lower()


def status_key(status: int) -> str:
    return "status." + MembershipStatus(status).name.lower()


def validation_key(validation_type: int) -> str:
    return "validation." + ValidationType(validation_type).name.lower()


def validation_label(lang: str, validation_type: int, secured: bool) -> str:
    """The validation a member meets, as the platform applies it: a community is secured while
    it has community_security rows, whatever validation_type says (CommunityManager::canJoin);
    after the identifiers, a manual or domain validation_type still applies."""
    from handlers.core.i18n import t

    kind = ValidationType(validation_type)
    if not secured:
        key = "validation.secured_without_file" if kind == ValidationType.SECURED else None
        return t(lang, key or validation_key(kind))
    if kind in (ValidationType.MANUAL, ValidationType.DOMAIN):
        return t(lang, "validation.secured_and", validation=t(lang, validation_key(kind)))
    return t(lang, "validation.secured")


def clip(text: str, limit: int = 80) -> str:
    """What a person typed, quoted back in a message: at most `limit` characters, so that an
    oversized input is never echoed whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
