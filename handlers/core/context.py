"""What every use case is given: where the database is and the settings that shape the rules."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from handlers.core.i18n import DEFAULT_LANGUAGE

#: Pass Pass covoiturage's public address, the default of [platform] base_url.
PASS_PASS_BASE_URL = "https://www.passpasscovoiturage.fr"


@dataclass(frozen=True)
class Settings:
    #: E-mails of the platform's staff, who administer every community.
    operators: frozenset[str] = frozenset()
    default_language: str = DEFAULT_LANGUAGE
    #: Where identifier files of secured communities are stored, as the platform expects them.
    security_folder: Path = Path("var/community_security")
    max_identifiers_file_bytes: int = 5 * 1024 * 1024
    link_code_minutes: int = 15
    #: The platform's public address ([platform] base_url): community pages and widgets.
    platform_url: str = PASS_PASS_BASE_URL
    #: Deprecated override of the embeddable widget's URL, `{id}` standing for the
    #: community's id ([bot] widget_url); empty: derived from platform_url.
    widget_url: str = ""
    #: True when [email] is configured: decisions then queue e-mails to the members.
    email_enabled: bool = False
    #: (platform, team id, chat id) of the operators' chats: change feed, alerts, reminders.
    operator_chats: tuple[tuple[str, str, str], ...] = ()
    #: Pending for more than this many days: a daily reminder to the deciders...
    reminder_days: int = 3
    #: ... and past this many, to the operators too.
    operators_reminder_days: int = 7


@dataclass(frozen=True)
class Context:
    sessions: sessionmaker[Session]
    settings: Settings = field(default_factory=Settings)
    #: Where charts are drawn: the bot's process pool under `referent-bot run` (matplotlib
    #: never runs on the event loop nor holds the GIL of the use-case threads); None draws
    #: in-process (console, CLI, tests).
    chart_renderer: Executor | None = None


@dataclass(frozen=True)
class Actor:
    """Who acts: a platform user, seen through one front ('console', 'telegram', 'slack')."""

    user_id: int
    front: str
    language: str
    #: Administers every community: listed in [bot] operators, or a platform admin everywhere
    #: (ROLE_SUPER_ADMIN / ROLE_ADMIN in user_auth_assignment, storage.roles.admin_scope).
    is_operator: bool = False
    name: str = ""
    #: A territory-limited platform admin: also administers the communities whose address lies
    #: in one of these territories (address_territory). Read on every call, like the rest.
    territories: frozenset[int] = frozenset()
