"""The least privileges the bot needs on the platform's MariaDB/MySQL database.

One declaration serves three readers: `referent-bot db grants` prints the GRANT statements
(deploy/grants.sql is its output for the default names), `referent-bot doctor` compares it with
`SHOW GRANTS` (what is missing, what is more than needed), and the MariaDB test runs the whole
bot as a user holding only these grants.

Why table by table: the platform's database holds passwords, payments and messages the bot has
no business reading; a database-wide SELECT would give it all. The bot's own tables cannot be
named by a pattern in MariaDB's grants, so each is granted by name (a grant naming a table that
does not exist yet is accepted when it includes CREATE).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from storage.bot_models import BotBase
from storage.models import PlatformBase
from storage.schema import VERSION_TABLE

#: What `db upgrade` and the bot do to their own tables.
BOT_TABLE_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "INDEX", "REFERENCES"}
)

#: The platform tables the bot writes, and how; every other mapped platform table is only read.
#: Each entry names the bot's function that writes, so that docs/platform.md can cite it.
PLATFORM_WRITES: Mapping[str, frozenset[str]] = {
    # settings, name and descriptions (storage.memberships.touch_community); deletion
    # (handlers.community.admin.delete_community), whose foreign keys cascade on their own
    "community": frozenset({"UPDATE", "DELETE"}),
    # decisions and status changes (storage.memberships.change_status), adding a member
    # (handlers.community.admin.add_member), removing one (handlers.community.members.remove_member)
    "community_user": frozenset({"INSERT", "UPDATE", "DELETE"}),
    # identifier files of secured communities: replaced on upload, removed on leaving secured
    "community_security": frozenset({"INSERT", "DELETE"}),
    # ROLE_COMMUNITY_MANAGER_PUBLIC of moderators, added as the platform does (never removed:
    # the platform removes it only when an admin changes a community's referrer)
    "user_auth_assignment": frozenset({"INSERT"}),
    # a deleted community's ad links (storage.community_admin.delete_community_rows deletes
    # them itself: not every embedded database enforces the platform's cascades)
    "proposal_community": frozenset({"DELETE"}),
    # the community's address goes with it (orphanRemoval in the platform's entity)
    "address": frozenset({"DELETE"}),
    # the platform's record of each e-mail sent to a member about a decision
    "notified": frozenset({"INSERT"}),
}

_GRANT = re.compile(
    r"^GRANT\s+(?P<privileges>.+?)\s+ON\s+(?:(?:TABLE|FUNCTION|PROCEDURE)\s+)?"
    r"(?P<object>\S+)\s+TO\s+",
    re.IGNORECASE | re.DOTALL,
)
_ALL = "ALL PRIVILEGES"


def bot_tables() -> list[str]:
    return sorted([t.name for t in BotBase.metadata.sorted_tables] + [VERSION_TABLE])


def platform_tables() -> list[str]:
    return sorted(t.name for t in PlatformBase.metadata.sorted_tables)


#: Platform tables the bot only appends to and never reads: no SELECT there.
WRITE_ONLY = frozenset({"notified"})


def _column_reads() -> dict[str, frozenset[str]]:
    """Unmapped tables whose rows go with a deleted community: the deletion's summary counts
    them (storage.community_admin.deletion_summary), which needs their community_id only."""
    from storage.community_admin import OTHER_REFERENCES

    return {
        table: frozenset({"SELECT (community_id)"})
        for table, on_delete in OTHER_REFERENCES.items()
        if on_delete == "cascade"
    }


def required() -> dict[str, frozenset[str]]:
    """Table -> the privileges the bot needs on it."""
    needed: dict[str, frozenset[str]] = {}
    for table in platform_tables():
        reads = frozenset() if table in WRITE_ONLY else frozenset({"SELECT"})
        needed[table] = reads | PLATFORM_WRITES.get(table, frozenset())
    for table, columns in _column_reads().items():
        needed[table] = needed.get(table, frozenset()) | columns
    for table in bot_tables():
        needed[table] = BOT_TABLE_PRIVILEGES
    return needed


def grant_statements(database: str, user: str = "'referent_bot'@'%'") -> list[str]:
    """The GRANT statements for `user` on `database`, one per table, in a stable order."""
    statements = []
    for table, privileges in sorted(required().items()):
        listed = ", ".join(_quoted(p) for p in sorted(privileges))
        statements.append(f"GRANT {listed} ON `{database}`.`{table}` TO {user};")
    return statements


def grants_script(database: str = "mobicoop", user: str = "'referent_bot'@'%'") -> str:
    """deploy/grants.sql: what an operator runs once, as an administrator of the server."""
    head = [
        "-- The least privileges referent-bot needs on the platform's MariaDB/MySQL database.",
        "-- Generated by `referent-bot db grants` (storage/grants.py): regenerate it rather than",
        "-- editing it. Replace the database name and the account before running it as an",
        "-- administrator; `referent-bot doctor` then says what is missing or more than needed.",
        f"-- CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '...';",
        "",
    ]
    return "\n".join(head + grant_statements(database, user)) + "\n"


@dataclass(frozen=True)
class GrantReport:
    #: table -> privileges the bot needs there and the account lacks.
    missing: dict[str, frozenset[str]]
    #: What the account may do beyond the bot's needs, in words ("SELECT on every table of
    #: `mobicoop`", "DROP on `mobicoop`.`user`").
    extra: list[str]


def _quoted(privilege: str) -> str:
    """'SELECT (community_id)' -> 'SELECT (`community_id`)' for a GRANT statement."""
    name, _, column = privilege.partition(" (")
    return f"{name} (`{column.rstrip(')')}`)" if column else privilege


def _unquote(name: str) -> str:
    return name.strip().strip("`\"'")


def _privileges(text: str) -> set[str]:
    """The privileges of a GRANT clause; a column-level one reads 'SELECT (community_id)'."""
    found = set()
    for part in re.findall(r"[A-Za-z ]+(?:\([^)]*\))?", text):
        name, _, columns = part.partition("(")
        name = re.sub(r"\s+", " ", name.strip().upper())
        if not name:
            continue
        name = _ALL if name in ("ALL", _ALL) else name
        if columns:
            found |= {f"{name} ({_unquote(c)})" for c in columns.rstrip(")").split(",")}
        else:
            found.add(name)
    return found


def _covers(held: set[str], privilege: str) -> bool:
    """A table-level privilege covers each of its columns."""
    return _ALL in held or privilege in held or privilege.partition(" (")[0] in held


def compare(grant_rows: Iterable[str], database: str) -> GrantReport:
    """Compare `SHOW GRANTS` lines with what the bot needs on `database`."""
    everywhere: set[str] = set()
    on_database: set[str] = set()
    on_table: dict[str, set[str]] = {}
    for row in grant_rows:
        match = _GRANT.match(row.strip())
        if not match:
            continue  # GRANT role TO user, PROXY, ...
        privileges = _privileges(match["privileges"])
        privileges.discard("USAGE")
        if not privileges:
            continue
        schema, _, table = match["object"].partition(".")
        schema, table = _unquote(schema), _unquote(table)
        if schema == "*":
            everywhere |= privileges
        elif _matches(schema, database):
            if table == "*":
                on_database |= privileges
            else:
                on_table.setdefault(table, set()).update(privileges)
    needed = required()
    missing = {}
    for table, wanted in needed.items():
        held = everywhere | on_database | on_table.get(table, set())
        lacking = frozenset(p for p in wanted if not _covers(held, p))
        if lacking:
            missing[table] = lacking
    extra = []
    if everywhere:
        extra.append(f"{_words(everywhere)} on every database of the server")
    if on_database:
        extra.append(f"{_words(on_database)} on every table of `{database}`")
    for table, privileges in sorted(on_table.items()):
        allowed = needed.get(table, frozenset())
        beyond = (
            {p for p in privileges if not _covers(set(allowed), p)}
            if _ALL not in privileges
            else {_ALL}
        )
        if beyond:
            extra.append(f"{_words(beyond)} on `{database}`.`{table}`")
    return GrantReport(missing=missing, extra=extra)


def _matches(pattern: str, database: str) -> bool:
    """A database name in a grant may be a LIKE pattern (`mobi%`, `mobicoop\\_prod`)."""
    if "%" not in pattern and "_" not in pattern:
        return pattern == database
    regex = ""
    escaped = False
    for char in pattern:
        if escaped:
            regex += re.escape(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            regex += ".*"
        elif char == "_":
            regex += "."
        else:
            regex += re.escape(char)
    return re.fullmatch(regex, database) is not None


def _words(privileges: Iterable[str]) -> str:
    return ", ".join(sorted(privileges))
