"""`referent-bot doctor`: is this installation ready to run, and if not, what to fix.

Each check prints one line: ok, warning or error, in plain words, with the fix. The exit code
is 1 when any check is an error. No secret is ever printed: every line is masked against the
configured tokens, secrets and passwords before it is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from bot.config import Config, ConfigError, load_config

OK, WARNING, ERROR = "ok", "warning", "error"
MASK = "[secret]"
DIALECTS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}


@dataclass(frozen=True)
class Check:
    level: str
    subject: str
    text: str

    def line(self) -> str:
        return f"{self.level:<8} {self.subject}: {self.text}"


def run_doctor(
    path: str | None,
    timeout: float = 10.0,
    environ: dict[str, str] | None = None,
    out: Callable[[str], None] = print,
) -> int:
    try:
        config = load_config(path, environ)
    except ConfigError as error:
        out(Check(ERROR, "configuration", f"{error}").line())
        out("doctor: 1 error: fix the configuration, then run `referent-bot doctor` again")
        return 1
    from storage import clock

    clock.set_zone(config.platform.timezone)
    checks = diagnose(config, timeout)
    secrets = config_secrets(config)
    for check in checks:
        out(mask(check.line(), secrets))
    errors = sum(c.level == ERROR for c in checks)
    warned = sum(c.level == WARNING for c in checks)
    if errors:
        out(
            f"doctor: {_plural(errors, 'error')}, {_plural(warned, 'warning')}: fix the errors "
            "above, then run `referent-bot doctor` again"
        )
        return 1
    out(f"doctor: ready to run ({_plural(warned, 'warning')})")
    return 0


def diagnose(config: Config, timeout: float = 10.0) -> list[Check]:
    checks = check_config(config)
    checks += check_database(config, timeout)
    if config.telegram.enabled:
        checks += check_telegram(config, timeout)
    if config.slack.enabled:
        checks += check_slack(config, timeout)
    checks += check_email(config, timeout)
    checks += check_security_folder(config)
    return checks


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def config_secrets(config: Config) -> list[str]:
    found = [
        config.telegram.token,
        config.telegram.webhook_secret,
        config.slack.bot_token,
        config.slack.signing_secret,
        config.slack.app_token,
        config.email.password,
    ]
    if config.database.url:
        found.append(make_url(config.database.url).password or "")
    return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


def mask(line: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        line = line.replace(secret, MASK)
    return line


# --- Configuration ---------------------------------------------------------------------------


def check_config(config: Config) -> list[Check]:
    where = (
        f"read from {config.source}"
        if config.source
        else f"no file: the embedded default (SQLite in {config.data_dir})"
    )
    checks = [Check(OK, "configuration", where)]
    if not (config.telegram.enabled or config.slack.enabled):
        checks.append(
            Check(
                WARNING,
                "configuration",
                "no chat front enabled: `referent-bot run` "
                "has nothing to start; set enabled = true in [telegram] or [slack]",
            )
        )
    if not config.bot.operators:
        checks.append(
            Check(
                WARNING,
                "configuration",
                "[bot] operators is empty: nobody "
                "administers every community or sees the platform's dashboard",
            )
        )
    telegram, slack = config.telegram, config.slack
    if (
        telegram.enabled
        and telegram.mode == "webhook"
        and not telegram.webhook_url.startswith("https://")
    ):
        checks.append(
            Check(
                ERROR,
                "configuration",
                "[telegram] webhook_url must be an https:// "
                "address: Telegram posts to nothing else",
            )
        )
    if slack.enabled and not slack.bot_token.startswith("xoxb-"):
        checks.append(
            Check(
                WARNING,
                "configuration",
                "[slack] bot_token does not look like a bot "
                "token (xoxb-...): check REFERENT_BOT_SLACK_BOT_TOKEN",
            )
        )
    if slack.enabled and slack.socket_mode and not slack.app_token.startswith("xapp-"):
        checks.append(
            Check(
                ERROR,
                "configuration",
                "[slack] app_token is not an app-level token "
                "(xapp-...): Socket Mode needs one with connections:write",
            )
        )
    if config.bot.community_security_dir:
        checks.append(
            Check(
                WARNING,
                "configuration",
                "[bot] community_security_dir is deprecated: move it to [platform] "
                "community_security_dir",
            )
        )
    checks.append(_check_cpu(config.bot.cpu))
    metrics = config.metrics
    if metrics.enabled:
        checks.append(
            Check(
                OK,
                "metrics",
                f"/healthz, /readyz and /metrics on http://{metrics.host}:{metrics.port}",
            )
        )
    else:
        checks.append(
            Check(
                OK,
                "metrics",
                "off (set [metrics] enabled = true for /healthz, /readyz and /metrics)",
            )
        )
    return checks


def _check_cpu(setting: str) -> Check:
    from bot import affinity

    try:
        cpu = affinity.cpu_for(setting)
    except ConfigError as error:
        return Check(ERROR, "cpu", f'{error}: set [bot] cpu to one of them, or to "auto"')
    if cpu is None:
        return Check(OK, "cpu", "the OS places the bot's threads ([bot] cpu)")
    how = "the CPU it starts on" if setting == "auto" else f"CPU {cpu}"
    return Check(OK, "cpu", f"`run` keeps its event loop and use-case threads on {how}")


# --- Identifier files of secured communities -------------------------------------------------

#: The platform's folder (vich_uploader.yaml, communitySecurityFile; COMMUNITY_SECURITY_PATH).
PLATFORM_SECURITY_TAIL = ("upload", "communities", "security")
#: The platform's stored names: time()-communityId, plus the original extension.
PLATFORM_FILE_NAME = re.compile(r"^\d+-(\d+)(?:\.[^/]*)?$")


def check_security_folder(config: Config) -> list[Check]:
    """The folder the bot writes identifier files to must be the one the platform's join check
    reads (COMMUNITY_SECURITY_PATH), and writable: elsewhere, a secured community cannot be
    joined. On the platform's database, the files named by community_security must be there."""
    folder = config.security_folder
    subject = "identifier files"
    fix = (
        "set [platform] community_security_dir to the platform API's COMMUNITY_SECURITY_PATH "
        "(<api>/public/upload/communities/security/)"
    )
    if not folder.is_dir():
        # Only on the platform's own database (MariaDB/MySQL) must it be there already.
        if make_url(config.database_url).get_backend_name() != "mysql":
            return [Check(OK, subject, f"{folder} will be created by the first upload")]
        return [Check(ERROR, subject, f"{folder} does not exist: {fix}")]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            Check(
                ERROR,
                subject,
                f"{folder} is not writable by this user: give the bot's user write access "
                "(e.g. the PHP user's group), or the uploads of identifier files fail",
            )
        ]
    checks = []
    if folder.resolve().parts[-3:] != PLATFORM_SECURITY_TAIL:
        checks.append(
            Check(
                WARNING, subject, f"{folder} does not end with upload/communities/security: {fix}"
            )
        )
    names = _security_rows(config)
    if names is None:
        checks.append(Check(OK, subject, f"{folder} exists and is writable"))
        return checks
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        checks.append(
            Check(
                ERROR,
                subject,
                f"{len(missing)} of the {len(names)} files named in community_security are not in "
                f"{folder} (e.g. {missing[0]}): those communities cannot be joined; {fix}",
            )
        )
        return checks
    present = [p.name for p in folder.iterdir() if PLATFORM_FILE_NAME.match(p.name)]
    checks.append(
        Check(
            OK,
            subject,
            f"{folder} is writable and holds the {len(names)} file(s) named in "
            f"community_security ({len(present)} named like the platform's)",
        )
    )
    return checks


def _security_rows(config: Config) -> list[str] | None:
    """The file names in community_security; None when the database cannot say."""
    from sqlalchemy import select

    from storage.engine import make_engine
    from storage.models import CommunitySecurity

    url = make_url(config.database_url)
    if config.embedded and not Path(url.database or "").exists():
        return None
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(CommunitySecurity.filename)))
    except Exception:  # reported by the database checks
        return None
    finally:
        engine.dispose()


# --- Database --------------------------------------------------------------------------------


def check_database(config: Config, timeout: float = 10.0) -> list[Check]:
    from storage.engine import make_engine

    url = make_url(config.database_url)
    shown = url.render_as_string(hide_password=True)
    if config.embedded and not Path(url.database or "").exists():
        return [
            Check(
                WARNING,
                "database",
                f"the embedded database {url.database} does not exist "
                "yet: `referent-bot db upgrade` (or `run`, `console`) creates it",
            )
        ]
    kwargs = {}
    if url.get_backend_name() in ("postgresql", "mysql"):
        kwargs["connect_args"] = {"connect_timeout": max(1, int(timeout))}
    engine = make_engine(config.database_url, **kwargs)
    try:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            first = str(getattr(error, "orig", None) or error).strip().splitlines()
            reason = first[0][:200] if first else type(error).__name__
            return [
                Check(
                    ERROR,
                    "database",
                    f"cannot connect to {shown} ({reason}): check "
                    "[database] url (or REFERENT_BOT_DATABASE_URL) and that the server "
                    "runs and accepts this user",
                )
            ]
        version = ".".join(str(p) for p in (engine.dialect.server_version_info or ())[:3])
        kind = DIALECTS.get(engine.dialect.name, engine.dialect.name)
        checks = [Check(OK, "database", f"reachable: {kind} {version} at {shown}".strip())]
        checks += check_platform_tables(engine)
        if checks[-1].level == OK:
            checks += check_timezone(engine, config.platform.timezone)
        checks += check_bot_tables(engine)
        if engine.dialect.name == "mysql":
            checks += check_grants(engine)
        return checks
    finally:
        engine.dispose()


def table_problems(engine: Engine, tables) -> list[str]:
    """What the database lacks of these mapped tables: a table, or columns of one."""
    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    problems = []
    for table in tables:
        if table.name not in present:
            problems.append(f"{table.name} is missing")
            continue
        with warnings.catch_warnings():  # the platform's geometry types are not SQLAlchemy's
            warnings.simplefilter("ignore")
            real = {column["name"] for column in inspector.get_columns(table.name)}
        lacking = [c.name for c in table.columns if c.name not in real]
        if lacking:
            problems.append(f"{table.name} lacks {', '.join(lacking)}")
    return problems


def check_platform_tables(engine: Engine) -> list[Check]:
    """Every platform table and column the bot maps must exist (on MariaDB: in the platform's
    own schema, which the bot never changes)."""
    from storage import schema
    from storage.models import PlatformBase

    missing = schema.missing_platform_tables(engine)
    on_platform = engine.dialect.name not in schema.CREATES_PLATFORM_TABLES
    if missing:
        if on_platform:
            fix = (
                "is [database] url the platform's database? The bot never creates platform "
                "tables on MariaDB/MySQL"
            )
        else:
            fix = "run `referent-bot db upgrade` (it creates them on an empty database)"
        return [Check(ERROR, "platform tables", f"missing {', '.join(missing)}: {fix}")]
    problems = table_problems(engine, PlatformBase.metadata.sorted_tables)
    if problems:
        return [
            Check(
                ERROR,
                "platform tables",
                "; ".join(problems) + ": this schema is not the "
                "Mobicoop schema the bot was written for (see "
                "shared/reference/mobicoop); the bot cannot work on it",
            )
        ]
    count = len(PlatformBase.metadata.tables)
    return [
        Check(
            OK,
            "platform tables",
            f"the {count} tables the bot uses are there, with every column it reads or writes",
        )
    ]


def check_timezone(engine: Engine, timezone: str) -> list[Check]:
    """Which UTC offset the platform's newest rows fit, against [platform] timezone: the
    platform writes naive dates in its PHP server's zone, which only the data tells."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from storage import schema
    from storage.platform_zone import FRESH, SKEW, format_offset, probe

    subject = "time zone"
    if schema.created_by_bot(engine):
        return [Check(OK, subject, f"[platform] timezone {timezone}: the bot created the "
                      "platform tables itself, so its own dates are the only ones")]  # fmt: skip
    try:
        found = probe(engine)
    except Exception as error:  # e.g. a database user without SELECT on one of them
        reason = "".join(str(getattr(error, "orig", None) or error).strip().splitlines()[:1])
        text = (
            f"cannot read the newest platform rows ({reason[:200]}): the zone they fit is "
            f"unknown; [platform] timezone is {timezone}"
        )
        return [Check(WARNING, subject, text)]
    zone = ZoneInfo(timezone)
    offset_now = found.utc_now.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset()
    if offset_now is None:  # never: the datetime is aware
        raise ValueError(f"no UTC offset for {timezone}")
    configured = format_offset(offset_now)
    named = f"{timezone} ({configured} now)"
    age, offset = found.age_in(zone), found.offset()  # None without a newest row
    if found.newest is None or age is None or offset is None:
        return [Check(OK, subject, f"no platform rows to compare with yet ([platform] timezone "
                      f"{named})")]  # fmt: skip
    fits = format_offset(offset)
    row = f"{found.table} row of {found.newest:%d/%m/%Y %H:%M}"
    clock = f"the database's clock, zone {found.database_zone}"
    if fits == "UTC+00:00":
        fits += " (e.g. UTC)"
    if age < -SKEW:
        return [Check(ERROR, subject, f"the newest platform row ({row}) is {_duration(-age)} "
                      f"ahead of {clock}, read in [platform] timezone {named}: the platform "
                      f"writes its dates in {fits}; set [platform] timezone to its PHP server's "
                      "zone (date.timezone)")]  # fmt: skip
    if age < FRESH - SKEW:  # an offset of whole hours: an hour old fits the next one
        return [Check(OK, subject, f"the newest platform rows fit [platform] timezone {named}: "
                      f"{row}, {_duration(max(age, dt.timedelta(0)))} before {clock}")]  # fmt: skip
    return [Check(WARNING, subject, f"the newest platform row ({row}) is {_duration(age)} old in "
                  f"[platform] timezone {named}, by {clock}: if it was written within the hour "
                  f"the platform's dates are in {fits}, not {timezone}; check the PHP server's "
                  "date.timezone and set [platform] timezone (or the platform has been quiet "
                  "since)")]  # fmt: skip


def _duration(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} days"


def check_bot_tables(engine: Engine) -> list[Check]:
    from alembic.script import ScriptDirectory

    from storage import schema
    from storage.bot_models import BotBase

    current, head = schema.current_revision(engine), schema.head_revision()
    known = {
        r.revision for r in ScriptDirectory.from_config(schema.alembic_config()).walk_revisions()
    }
    if current is None:
        return [Check(ERROR, "bot tables", "not created yet: run `referent-bot db upgrade`")]
    if current not in known:
        return [
            Check(
                ERROR,
                "bot tables",
                f"at revision {current}, which this version of the "
                f"bot does not know (latest {head}): a newer bot migrated this database; "
                "run that version, or upgrade this one",
            )
        ]
    if current != head:
        return [
            Check(
                ERROR,
                "bot tables",
                f"migrations are behind (revision {current}, latest "
                f"{head}): run `referent-bot db upgrade`",
            )
        ]
    problems = table_problems(engine, BotBase.metadata.sorted_tables)
    if problems:
        return [
            Check(
                ERROR,
                "bot tables",
                "; ".join(problems) + f" although the revision is "
                f"{current}: they were changed by hand; restore them from a backup or "
                "drop the bot_ tables and run `referent-bot db upgrade` (the bot's "
                "links and history would be lost)",
            )
        ]
    return [Check(OK, "bot tables", f"up to date (revision {current})")]


def check_grants(engine: Engine) -> list[Check]:
    """On the platform's MariaDB/MySQL: the account's grants against the least the bot needs
    (storage/grants.py; deploy/grants.sql gives them)."""
    from storage import grants

    with engine.connect() as connection:
        database = connection.execute(text("SELECT DATABASE()")).scalar_one()
        rows = [row[0] for row in connection.execute(text("SHOW GRANTS FOR CURRENT_USER()"))]
    report = grants.compare(rows, database)
    fix = "`referent-bot db grants` prints the statements (deploy/grants.sql)"
    checks = []
    if report.missing:
        lacking = "; ".join(
            f"{', '.join(sorted(privileges))} on {table}"
            for table, privileges in sorted(report.missing.items())
        )
        checks.append(Check(ERROR, "grants", f"this account lacks {lacking}: {fix}"))
    if report.extra:
        checks.append(
            Check(
                WARNING,
                "grants",
                f"this account may do more than the bot needs ({'; '.join(report.extra)}): "
                f"give it only the bot's grants, {fix}",
            )
        )
    if not checks:
        checks.append(Check(OK, "grants", "exactly what the bot needs, nothing more"))
    return checks


# --- Chat platforms --------------------------------------------------------------------------


def check_telegram(config: Config, timeout: float = 10.0) -> list[Check]:
    telegram = config.telegram
    base = telegram.api_base_url
    try:
        response = httpx.get(f"{base}{telegram.token}/getMe", timeout=timeout)
    except httpx.HTTPError as error:
        return [
            Check(
                ERROR,
                "telegram",
                f"cannot reach the Bot API at {base} "
                f"({type(error).__name__}): check the network, a proxy, or [telegram] "
                "api_base_url",
            )
        ]
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code in (401, 404):
        return [
            Check(
                ERROR,
                "telegram",
                f"token refused by getMe ({response.status_code}): "
                "check REFERENT_BOT_TELEGRAM_TOKEN (or [telegram] token); @BotFather "
                "gives it",
            )
        ]
    if response.status_code != 200 or not answer.get("ok"):
        description = str(answer.get("description") or "no description")[:200]
        return [
            Check(
                ERROR,
                "telegram",
                f"getMe answered HTTP {response.status_code} "
                f"({description}): check [telegram] api_base_url",
            )
        ]
    username = str((answer.get("result") or {}).get("username") or "")
    checks = [
        Check(OK, "telegram", f"token accepted by getMe: the bot is @{username} ({telegram.mode})")
    ]
    if username and telegram.bot_username.lower() != username.lower():
        checks.append(
            Check(
                WARNING,
                "telegram",
                f'set [telegram] bot_username = "{username}": '
                "`referent-bot link` prints deep links with it",
            )
        )
    return checks


def check_slack(config: Config, timeout: float = 10.0) -> list[Check]:
    slack = config.slack
    checks = [
        _slack_call(
            slack.api_base_url,
            "auth.test",
            slack.bot_token,
            timeout,
            "bot token",
            "REFERENT_BOT_SLACK_BOT_TOKEN (or [slack] bot_token)",
        )
    ]
    if slack.socket_mode and slack.app_token:
        checks.append(
            _slack_call(
                slack.api_base_url,
                "apps.connections.open",
                slack.app_token,
                timeout,
                "app token",
                "REFERENT_BOT_SLACK_APP_TOKEN (or [slack] app_token)",
            )
        )
    return checks


def _slack_call(base: str, method: str, token: str, timeout: float, what: str, fix: str) -> Check:
    try:
        response = httpx.post(
            f"{base}{method}", headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
        answer = response.json()
    except httpx.HTTPError as error:
        return Check(
            ERROR,
            "slack",
            f"cannot reach the Web API at {base} "
            f"({type(error).__name__}): check the network, a proxy, or [slack] "
            "api_base_url",
        )
    except ValueError:
        return Check(
            ERROR,
            "slack",
            f"{method} answered HTTP {response.status_code} with no "
            "JSON: check [slack] api_base_url",
        )
    if not answer.get("ok"):
        code = str(answer.get("error") or f"HTTP {response.status_code}")[:100]
        return Check(ERROR, "slack", f"{what} refused by {method} ({code}): check {fix}")
    if method == "auth.test":
        return Check(
            OK,
            "slack",
            f"{what} accepted by auth.test: bot user "
            f"{answer.get('user', '?')} in team {answer.get('team', '?')} "
            f"({answer.get('team_id', '?')})",
        )
    return Check(OK, "slack", f"{what} accepted by {method} (Socket Mode can connect)")


# --- E-mail ----------------------------------------------------------------------------------


def check_email(config: Config, timeout: float = 10.0) -> list[Check]:
    from dataclasses import replace

    from bot.email_sender import _describe, email_status, open_smtp

    status = email_status(config.email).removeprefix("e-mail: ")
    if not config.email.enabled:
        return [Check(OK, "e-mail", status)]
    email = replace(config.email, timeout_seconds=max(1, int(timeout)))
    try:
        client = open_smtp(email)
    except smtplib.SMTPAuthenticationError as error:
        return [
            Check(
                ERROR,
                "e-mail",
                f"{status}; login refused ({error.smtp_code}): check "
                "[email] user and REFERENT_BOT_SMTP_PASSWORD",
            )
        ]
    except (smtplib.SMTPException, OSError) as error:
        description, _ = _describe(error)
        return [
            Check(
                ERROR,
                "e-mail",
                f"{status}; cannot connect ({description}): check [email] host, port and security",
            )
        ]
    with contextlib.suppress(smtplib.SMTPException, OSError):
        client.quit()
    return [
        Check(
            OK,
            "e-mail",
            f"{status}; the server accepted the connection"
            + (" and the login" if email.user else ""),
        )
    ]
