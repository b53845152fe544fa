"""`referent-bot doctor` against the fake Bot API and Slack Web API, a real SMTP server and the
real databases: a healthy installation passes; each broken part is named, with its fix, and
makes the exit code 1; no secret is ever printed."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import text

from bot.doctor import run_doctor
from storage import schema
from storage.engine import make_engine
from tests.bot.slack.fake_slack_api import BOT_TOKEN, FakeSlack
from tests.bot.telegram.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi
from tests.ops.support import free_port, url_of, write_config
from tests.support.smtp import SmtpServer

SMTP_PASSWORD = "smtp-Secret-Passw0rd"
APP_TOKEN = "xapp-1-A0PASSPASS-0000-SECRETAPPTOKEN"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def doctor(config: Path, environ: dict[str, str] | None = None) -> tuple[int, list[str]]:
    lines: list[str] = []
    env = {"XDG_DATA_HOME": str(config.parent / "xdg"), **(environ or {})}
    code = run_doctor(str(config), timeout=3, environ=env, out=lines.append)
    return code, lines


def find(lines: list[str], start: str) -> list[str]:
    return [line for line in lines if line.startswith(start)]


def no_secret(lines: list[str]) -> None:
    for secret in (TOKEN, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, SMTP_PASSWORD):
        assert not any(secret in line for line in lines), secret


@pytest_asyncio.fixture
async def fakes():
    telegram, slack = FakeBotApi(), FakeSlack()
    await telegram.start()
    await slack.start()
    yield telegram, slack
    await telegram.stop()
    await slack.stop()


def full_config(tmp_path: Path, url: str, fake_telegram: FakeBotApi, fake_slack: FakeSlack,
                **changes):  # fmt: skip
    folder = tmp_path / "api" / "public" / "upload" / "communities" / "security"
    folder.mkdir(parents=True, exist_ok=True)
    sections = {
        "database": {"url": url},
        # the platform's COMMUNITY_SECURITY_PATH, which must exist on the platform's database
        "platform": {"community_security_dir": str(folder)},
        "bot": {"operators": ["operateur@hautsdefrance-mobilites.fr"]},
        "telegram": {"enabled": True, "token": TOKEN, "api_base_url": fake_telegram.base_url,
                     "bot_username": BOT_USERNAME},
        "slack": {"enabled": True, "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET,
                  "api_base_url": fake_slack.api_url},
    }  # fmt: skip
    for section, values in changes.items():
        sections[section] = {**sections.get(section, {}), **values}
    return write_config(tmp_path / "bot.toml", **sections)


@pytest.mark.asyncio
async def test_a_healthy_installation_passes_on_each_database(engine, tmp_path, fakes):
    telegram, slack = fakes
    config = full_config(tmp_path, url_of(engine), telegram, slack)
    code, lines = await asyncio.to_thread(doctor, config)
    assert code == 0, "\n".join(lines)
    assert not find(lines, "error"), lines
    assert find(lines, "ok       database: reachable: ")
    assert find(lines, "ok       platform tables: the ")  # on MariaDB: the platform's real schema
    assert find(lines, f"ok       bot tables: up to date (revision {schema.head_revision()})")
    assert find(lines, f"ok       telegram: token accepted by getMe: the bot is @{BOT_USERNAME}")
    assert find(lines, "ok       slack: bot token accepted by auth.test: bot user passpass")
    assert find(lines, "ok       identifier files: ")
    assert lines[-1].startswith("doctor: ready to run")
    assert [c.method for c in telegram.calls] == ["getMe"]
    no_secret(lines)


@pytest.mark.asyncio
async def test_migrations_behind_are_named_with_the_command_that_fixes_them(
    engine, tmp_path, fakes
):
    telegram, slack = fakes
    cfg = schema.alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0001")
    try:
        config = full_config(tmp_path, url_of(engine), telegram, slack)
        code, lines = await asyncio.to_thread(doctor, config)
    finally:
        schema.upgrade(engine)
    assert code == 1
    assert (
        f"error    bot tables: migrations are behind (revision 0001, latest "
        f"{schema.head_revision()}): run `referent-bot db upgrade`"
    ) in lines
    assert lines[-1].startswith("doctor: 1 error, ")


@pytest.mark.asyncio
async def test_a_wrong_telegram_token_and_a_refused_slack_token(tmp_path, fakes, sqlite_template):
    telegram, slack = fakes
    wrong = "987654321:AAWrongTokenWrongTokenWrongToken12"
    slack.fail("auth.test", "invalid_auth")
    config = full_config(tmp_path, f"sqlite:///{sqlite_template}", telegram, slack,
                         telegram={"token": wrong})  # fmt: skip
    code, lines = await asyncio.to_thread(doctor, config)
    assert code == 1
    assert (
        "error    telegram: token refused by getMe (401): check REFERENT_BOT_TELEGRAM_TOKEN "
        "(or [telegram] token); @BotFather gives it"
    ) in lines
    assert (
        "error    slack: bot token refused by auth.test (invalid_auth): check "
        "REFERENT_BOT_SLACK_BOT_TOKEN (or [slack] bot_token)"
    ) in lines
    assert not any(wrong in line for line in lines)
    no_secret(lines)


@pytest.mark.asyncio
async def test_unreachable_servers_are_named(tmp_path, fakes):
    telegram, slack = fakes
    closed = free_port()
    url = f"postgresql+psycopg://bot:db-Passw0rd-x@127.0.0.1:{closed}/referent_bot"
    config = full_config(
        tmp_path, url, telegram, slack,
        telegram={"api_base_url": f"http://127.0.0.1:{closed}/bot"},
        slack={"api_base_url": f"http://127.0.0.1:{closed}/api/"},
        email={"host": "127.0.0.1", "port": closed, "security": "none",
               "sender": "bot@passpasscovoiturage.fr", "user": "bot"},
    )  # fmt: skip
    code, lines = await asyncio.to_thread(doctor, config, {"REFERENT_BOT_SMTP_PASSWORD":
                                                           SMTP_PASSWORD})  # fmt: skip
    assert code == 1
    [database] = find(lines, "error    database: cannot connect to ")
    assert f"postgresql+psycopg://bot:***@127.0.0.1:{closed}/referent_bot" in database
    assert "check [database] url (or REFERENT_BOT_DATABASE_URL)" in database
    assert "db-Passw0rd-x" not in "\n".join(lines)
    assert find(lines, f"error    telegram: cannot reach the Bot API at http://127.0.0.1:{closed}")
    assert find(lines, f"error    slack: cannot reach the Web API at http://127.0.0.1:{closed}")
    [mail] = find(lines, "error    e-mail: on, none to 127.0.0.1")
    assert "cannot connect (ConnectionRefusedError" in mail
    assert lines[-1].startswith("doctor: 4 errors")
    no_secret(lines)


def test_a_platform_table_lacking_a_column_the_bot_uses(tmp_path):
    path = tmp_path / "broken.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    schema.prepare(engine)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE community DROP COLUMN full_description"))
    engine.dispose()
    config = write_config(tmp_path / "bot.toml", database={"url": f"sqlite:///{path}"})
    code, lines = doctor(config)
    assert code == 1
    [line] = find(lines, "error    platform tables: community lacks full_description: ")
    assert "not the Mobicoop schema the bot was written for" in line


def test_a_database_without_the_bot_tables(tmp_path):
    path = tmp_path / "platform-only.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    schema.ensure_platform_tables(engine)
    engine.dispose()
    config = write_config(tmp_path / "bot.toml", database={"url": f"sqlite:///{path}"})
    code, lines = doctor(config)
    assert code == 1
    assert "error    bot tables: not created yet: run `referent-bot db upgrade`" in lines


def test_smtp_reached_and_login_checked(tmp_path, sqlite_template):
    server = SmtpServer()
    server.start()
    try:
        config = write_config(
            tmp_path / "bot.toml",
            database={"url": f"sqlite:///{sqlite_template}"},
            email={"host": "127.0.0.1", "port": server.port, "security": "none",
                   "sender": "bot@passpasscovoiturage.fr"},
        )  # fmt: skip
        code, lines = doctor(config)
    finally:
        server.stop()
    assert code == 0, lines
    assert (
        f"ok       e-mail: on, none to 127.0.0.1:{server.port}, from bot@passpasscovoiturage.fr;"
        " the server accepted the connection"
    ) in lines


def test_the_command_says_what_is_wrong_in_the_configuration_and_exits_1(tmp_path):
    """A real process: a front enabled without its secret, then a file that is not TOML."""
    config = write_config(tmp_path / "bot.toml", telegram={"enabled": True})
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "REFERENT_BOT_CONFIG": ""}
    env.pop("REFERENT_BOT_TELEGRAM_TOKEN", None)
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "doctor"], env=env,
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert run.stdout.splitlines()[0] == (
        "error    configuration: [telegram] is enabled but has no token: set token or "
        "REFERENT_BOT_TELEGRAM_TOKEN"
    )
    config.write_text("[bot\nlanguage = 'fr'\n", "utf-8")
    code, lines = doctor(config)
    assert code == 1
    assert lines[0].startswith(f"error    configuration: {config} is not valid TOML: ")


def test_the_embedded_default_before_its_first_use(tmp_path):
    lines: list[str] = []
    code = run_doctor(None, environ={"XDG_DATA_HOME": str(tmp_path)}, out=lines.append)
    assert code == 0
    database = tmp_path / "referent-bot" / "referent-bot.sqlite3"
    assert (
        f"warning  database: the embedded database {database} does not exist yet: "
        "`referent-bot db upgrade` (or `run`, `console`) creates it"
    ) in lines
    assert not database.exists()  # the doctor looks, it does not create
    assert (
        "warning  configuration: no chat front enabled: `referent-bot run` has nothing to "
        "start; set enabled = true in [telegram] or [slack]" in lines
    )


def test_a_cpu_this_machine_lacks(tmp_path):
    from bot.affinity import usable

    cpus = usable()
    if not cpus or len(cpus) < 2:
        pytest.skip("pinning needs Linux and at least two usable CPUs")
    config = write_config(tmp_path / "bot.toml", bot={"cpu": "999"})
    code, lines = doctor(config)
    assert code == 1
    assert find(lines, "error    cpu: ") == [
        f"error    cpu: [bot] cpu = 999: this process may only use CPUs {sorted(cpus)}: set "
        f'[bot] cpu to one of them, or to "auto"'
    ]
    config = write_config(tmp_path / "bot.toml", bot={"cpu": "auto"})
    code, lines = doctor(config)
    assert find(lines, "ok       cpu: ") == [
        "ok       cpu: `run` keeps its event loop and use-case threads on the CPU it starts on"
    ]


# --- Identifier files (docs/platform.md: the platform's COMMUNITY_SECURITY_PATH) ------------


def test_the_identifier_folder_must_hold_the_files_the_rows_name(tmp_path, sqlite_template):
    folder = tmp_path / "api" / "public" / "upload" / "communities" / "security"
    folder.mkdir(parents=True)
    database = tmp_path / "bot.sqlite3"  # a copy: the template is shared by every test
    shutil.copyfile(sqlite_template, database)
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO community (id, name, validation_type, members_hidden, proposals_hidden,"
            " description, full_description, created_date)"
            " VALUES (5, 'Arc', 3, 0, 0, 'd', 'd', '2024-01-01')"
        ))  # fmt: skip
        connection.execute(text(
            "INSERT INTO community_security (community_id, filename, original_name)"
            " VALUES (5, '1700000000-5.csv', 'ids.csv')"
        ))  # fmt: skip
    engine.dispose()
    config = write_config(
        tmp_path / "bot.toml",
        database={"url": f"sqlite:///{database}"},
        platform={"community_security_dir": str(folder)},
    )
    code, lines = doctor(config)
    assert code == 1
    [line] = find(lines, "error    identifier files: 1 of the 1 files named in community_security")
    assert "(e.g. 1700000000-5.csv): those communities cannot be joined" in line

    (folder / "1700000000-5.csv").write_bytes(b"E1;E2\n")
    code, lines = doctor(config)
    assert (
        f"ok       identifier files: {folder} is writable and holds the 1 file(s) named in "
        "community_security (1 named like the platform's)"
    ) in lines


def test_an_identifier_folder_that_is_not_the_platforms(tmp_path, sqlite_template):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    config = write_config(
        tmp_path / "bot.toml",
        database={"url": f"sqlite:///{sqlite_template}"},
        bot={"community_security_dir": str(folder)},
    )
    code, lines = doctor(config)
    assert find(lines, f"warning  identifier files: {folder} does not end with upload/communities/")
    assert find(lines, "warning  configuration: [bot] community_security_dir is deprecated")


def _platform_user_written_at(engine, written: dt.datetime) -> None:
    """A user row as the platform inserts it: created_date is its PHP server's local time."""
    from sqlalchemy.orm import Session

    from storage.codes import Gender, PhoneDisplay, UserStatus
    from storage.models import User

    with Session(engine) as session, session.begin():
        session.add(User(email=f"u{written:%H%M%S%f}@ex.fr", gender=int(Gender.OTHER),
                         status=int(UserStatus.ACTIVE), created_date=written,
                         phone_display=int(PhoneDisplay.RESTRICTED)))  # fmt: skip


def test_the_zone_the_newest_platform_rows_fit(engine, tmp_path):
    """doctor compares the newest created_date of the platform's busy tables with the
    database's clock (storage.platform_zone): the platform writes naive dates in its PHP
    server's zone (Mobicoop's entities: `new \\DateTime()`), which nothing in its repository
    sets. On a database whose platform tables the bot created, its own dates are the only ones."""
    from zoneinfo import ZoneInfo

    def run(zone: str) -> list[str]:
        config = write_config(tmp_path / "bot.toml", database={"url": url_of(engine)},
                              platform={"timezone": zone})  # fmt: skip
        return doctor(config)[1]

    if engine.dialect.name != "mysql":
        assert (
            "ok       time zone: [platform] timezone Europe/Paris: the bot created the platform "
            "tables itself, so its own dates are the only ones"
        ) in run("Europe/Paris")
        return
    [line] = find(run("Europe/Paris"), "ok       time zone: ")
    assert line.startswith("ok       time zone: no platform rows to compare with yet ")
    # A platform whose PHP runs in UTC (its Dockerfile's TZ), a bot left at Europe/Paris
    written = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    _platform_user_written_at(engine, written)
    paris = format(dt.datetime.now(ZoneInfo("Europe/Paris")).utcoffset().seconds // 3600, "02d")
    [line] = find(run("Europe/Paris"), "warning  time zone: ")
    assert line.startswith(
        f"warning  time zone: the newest platform row (user row of {written:%d/%m/%Y %H:%M}) is "
    )
    assert (
        f"old in [platform] timezone Europe/Paris (UTC+{paris}:00 now), by the database's clock, "
        "zone SYSTEM"
    ) in line
    assert "the platform's dates are in UTC+00:00 (e.g. UTC), not Europe/Paris;" in line
    [line] = find(run("UTC"), "ok       time zone: ")
    assert line.startswith(
        "ok       time zone: the newest platform rows fit [platform] timezone UTC (UTC+00:00 "
        f"now): user row of {written:%d/%m/%Y %H:%M}, 0 min before the database's clock"
    )
    # The platform in Tokyo: its newest row is hours ahead of the clock read in UTC
    tokyo = dt.datetime.now(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None, microsecond=0)
    _platform_user_written_at(engine, tokyo)
    code, lines = doctor(write_config(tmp_path / "bot.toml", database={"url": url_of(engine)},
                                      platform={"timezone": "UTC"}))  # fmt: skip
    assert code == 1
    [line] = find(lines, "error    time zone: ")
    assert line.endswith(
        "read in [platform] timezone UTC (UTC+00:00 now): the platform writes its dates in "
        "UTC+09:00; set [platform] timezone to its PHP server's zone (date.timezone)"
    )
