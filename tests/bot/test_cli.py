"""The `referent-bot` command, run as a user runs it (a real process, the installed entry point)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from storage import schema
from storage.bot_models import AuditEntry, ChatIdentity, LinkCode
from storage.codes import MembershipStatus
from storage.engine import make_engine, make_sessionmaker
from storage.models import CommunityUser
from tests.support.world import build_world


def cli(*args: str, env: dict[str, str], stdin: str = "", timeout: int = 120):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.fixture
def home(tmp_path) -> dict[str, str]:
    """An empty embedded default: no configuration, a fresh XDG data folder."""
    return {"XDG_DATA_HOME": str(tmp_path / "data"), "REFERENT_BOT_CONFIG": ""}


@pytest.fixture
def configured(tmp_path) -> tuple[dict[str, str], str]:
    """A configured SQLite database holding the test world."""
    db = tmp_path / "world.sqlite3"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    from storage import schema

    schema.prepare(engine)
    world = build_world(engine)
    engine.dispose()
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[telegram]\nbot_username = "PassPassReferentBot"\n', "utf-8"
    )
    return {"REFERENT_BOT_CONFIG": str(config), "XDG_DATA_HOME": str(tmp_path / "x")}, url, world


def test_db_upgrade_then_status_on_an_empty_embedded_database(home):
    result = cli("db", "upgrade", env=home)
    assert result.returncode == 0, result.stderr
    assert "created the platform tables the bot uses (empty database)" in result.stdout
    head = schema.head_revision()  # the newest migration, whatever its name
    assert f"bot tables at revision {head}" in result.stdout
    status = cli("db", "status", env=home)
    assert status.returncode == 0
    assert "platform tables: all present" in status.stdout
    assert f"revision {head}, latest {head} (up to date)" in status.stdout
    again = cli("db", "upgrade", env=home)
    assert "created the platform tables" not in again.stdout


def test_link_prints_a_code_and_the_deep_link_and_stores_only_its_hash(configured):
    env, url, world = configured
    result = cli("link", "Emilie.Fournier@arcfrance.fr", env=env)
    assert result.returncode == 0, result.stderr
    code = re.search(r"Link code: ([A-Z0-9]{10})", result.stdout).group(1)
    assert f"Telegram: https://t.me/PassPassReferentBot?start={code}" in result.stdout
    assert f"Slack: /passpass link {code}" in result.stdout
    quiet = cli("link", "emilie.fournier@arcfrance.fr", "--quiet", env=env)
    assert re.fullmatch(r"[A-Z0-9]{10}\n", quiet.stdout)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        rows = list(session.scalars(select(LinkCode)))
    engine.dispose()
    assert len(rows) == 2
    assert {r.user_id for r in rows} == {world.users["emilie"]}
    assert hashlib.sha256(code.encode()).hexdigest() in {r.code_hash for r in rows}
    assert all(code not in (r.code_hash or "") for r in rows)
    assert all((r.expires_at - r.created_at).total_seconds() == 15 * 60 for r in rows)


def test_link_unknown_email(configured):
    env, _, _ = configured
    result = cli("link", "nobody@example.org", env=env)
    assert result.returncode == 1
    assert "No Pass Pass covoiturage account has the address “nobody@example.org”." in result.stderr


def test_console_as_a_user_approves_a_pending_member(configured):
    env, url, world = configured
    result = cli(
        "console", "--as", "jean-marc.morel@arcfrance.fr", env=env, stdin="1\n1\n1\nquitter\n"
    )
    assert result.returncode == 0, result.stderr
    # The list is printed again: what is left, then the decision.
    assert "Demandes en attente : Arc France (2)" in result.stdout
    assert "✅ Pierre L. : acceptée par Jean-Marc M. le " in result.stdout
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        row = session.get(CommunityUser, world.membership("arc", "pierre"))
    engine.dispose()
    assert row.status == MembershipStatus.MEMBER
    assert row.admin_id == world.users["jeanmarc"]


def test_run_says_there_is_nothing_to_run(configured):
    env, _, _ = configured
    run = cli("run", env=env)
    assert run.returncode == 2
    assert "nothing to run: enable [telegram] or [slack]" in run.stderr


def test_chart_writes_the_png_and_the_csv(configured, tmp_path):
    """Arc France's accepted members (Jean-Marc, Emilie, Marion) registered in September 2022."""
    env, _, world = configured
    out, numbers = tmp_path / "users.png", tmp_path / "users.csv"
    chart = cli("chart", "--indicator", "users", "--period", "month", "--from", "2022-01-01",
                "--to", "2022-12-31", "--community", str(world.communities["arc"]),
                "--out", str(out), "--csv", str(numbers), env=env)  # fmt: skip
    assert chart.returncode == 0, chart.stderr
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Utilisateurs — Arc France, du 01/01/2022 au 31/12/2022 : 3 utilisateurs" in chart.stdout
    lines = numbers.read_text("utf-8").splitlines()
    assert lines[0] == "period,series,value"
    assert "2022-09,par mois,3" in lines and "2022-12,total,3" in lines
    nothing = cli("chart", "--indicator", "co2", "--out", str(tmp_path / "none.png"), env=env)
    assert nothing.returncode == 1
    assert "Aucune donnée pour « CO₂ économisé » (Toute la plateforme)" in nothing.stderr
    assert not (tmp_path / "none.png").exists()
    bad = cli("chart", "--indicator", "co2", "--out", "x.png", "--years", "20x3", env=env)
    assert bad.returncode == 2 and "not a list of years" in bad.stderr


@pytest.mark.asyncio
async def test_run_serves_telegram_until_sigterm(configured, tmp_path):
    """`referent-bot run` as a real process, [telegram] enabled against the fake Bot API:
    it links a user with /start CODE, logs no secret even at DEBUG, and exits 0 on SIGTERM."""
    import asyncio
    import signal

    from tests.bot.telegram.fake_bot_api import TOKEN, FakeBotApi

    env, url, world = configured
    api = FakeBotApi()
    await api.start()
    config = tmp_path / "run.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[telegram]\nenabled = true\n'
        f'bot_username = "PassPassReferentBot"\napi_base_url = "{api.base_url}"\n',
        "utf-8",
    )
    env = {**os.environ, **env, "REFERENT_BOT_CONFIG": str(config),
           "REFERENT_BOT_TELEGRAM_TOKEN": TOKEN}  # fmt: skip
    code = cli("link", "emilie.fournier@arcfrance.fr", "--quiet", env=env).stdout.strip()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--log-level", "DEBUG", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        await api.wait_for(lambda c: c.method == "setMyCommands", timeout=30, count=3)
        api.send_text({"id": 1001, "first_name": "Emilie", "language_code": "fr"}, f"/start {code}")
        linked = await api.wait_for(lambda c: c.method == "sendMessage", timeout=30)
        assert linked[0].text.startswith("Compte relié : vous êtes maintenant Emilie F.")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await api.stop()
    logs = stderr.decode()
    assert process.returncode == 0, logs[-3000:]
    assert "telegram front started" in logs
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs
    assert code not in logs
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        identity = session.scalars(select(ChatIdentity)).one()
    engine.dispose()
    assert (identity.external_id, identity.user_id) == ("1001", world.users["emilie"])


def test_a_configured_database_without_the_bot_tables_is_not_touched(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "empty.sqlite3"}"\n', "utf-8")
    result = cli("console", "--as", "x@y.fr", env={"REFERENT_BOT_CONFIG": str(config)})
    assert result.returncode == 2
    assert "run `referent-bot db upgrade`" in result.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert inspect(engine).get_table_names() == []
    engine.dispose()


def test_bad_configuration_is_reported(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text("[bot]\nlanguage = 'de'\n", "utf-8")
    result = cli("db", "status", env={"REFERENT_BOT_CONFIG": str(config)})
    assert result.returncode == 2
    assert "configuration error: [bot] language must be one of fr, en" in result.stderr


def test_a_newcomer_approves_a_pending_member_on_the_embedded_default(home, tmp_path):
    """The README's first command: no configuration, demo data created, then 1, 1, 1, 1."""
    result = cli("console", env=home, stdin="1\n1\n1\n1\nquitter\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    db = tmp_path / "data" / "referent-bot" / "referent-bot.sqlite3"
    assert f"Base de démonstration créée : {db}" in out
    assert "Sous quel compte utiliser le bot ?" in out
    assert "[1] Arc France (6 en attente)" in out
    approved = re.search(r"\n✅ (.+?) : acceptée par Emilie F\. le ", out)
    assert approved, out
    assert "Demandes en attente : Arc France (5)" in out
    engine = make_engine(f"sqlite:///{db}")
    with make_sessionmaker(engine)() as session:
        entry = session.scalars(select(AuditEntry)).one()
        decided = session.get(CommunityUser, entry.membership_id)
    engine.dispose()
    assert (entry.action, entry.front) == ("approve", "console")
    assert decided.status == MembershipStatus.MEMBER
    assert decided.admin_id == entry.actor_user_id
    assert decided.accepted_date == decided.updated_date
    # Once created, the database is kept: a second start shows the same decision.
    again = cli("console", "--as", "emilie.fournier@arcfrance.fr", env=home, stdin="1\n6\n")
    assert "Base de démonstration créée" not in again.stdout
    assert f"a accepté {approved.group(1)}" in again.stdout


@pytest.mark.asyncio
async def test_run_serves_slack_over_http_until_sigterm(configured, tmp_path):
    """`referent-bot run` as a real process, [slack] enabled in HTTP mode on a free port against
    the fake Slack Web API: answers a signed slash command, logs no secret even at DEBUG, and
    exits 0 on SIGTERM."""
    import asyncio
    import signal
    import socket

    import aiohttp

    from handlers.chat import entry as chat
    from handlers.chat.bindings import ChatPlace
    from handlers.chat.linking import ChatAccount, issue_link_code
    from handlers.core.context import Context
    from tests.bot.slack.conftest import SIGNING_SECRET, command_payload, sign
    from tests.bot.slack.fake_slack_api import BOT_TOKEN, TEAM, FakeSlack

    env, url, world = configured
    engine = make_engine(url)
    ctx = Context(sessions=make_sessionmaker(engine))
    code = issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code
    account = ChatAccount("slack", "U0JEANMARC", team_id=TEAM)
    assert chat.on_command(ctx, account, ChatPlace("slack", "D0", TEAM), "link", [code]).ok
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake = FakeSlack()
    await fake.start()
    config = tmp_path / "slack.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[slack]\nenabled = true\nport = {port}\n'
        f'api_base_url = "{fake.api_url}"\n',
        "utf-8",
    )
    env = {**os.environ, **env, "REFERENT_BOT_CONFIG": str(config),
           "REFERENT_BOT_SLACK_BOT_TOKEN": BOT_TOKEN,
           "REFERENT_BOT_SLACK_SIGNING_SECRET": SIGNING_SECRET}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--log-level", "DEBUG", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}/slack/events"
    try:
        import urllib.parse

        body = urllib.parse.urlencode(command_payload("jeanmarc", "attente", "C0ARC", fake.url))
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with aiohttp.ClientSession() as session:
            for _ in range(300):  # the process starts: wait for its port
                try:
                    async with session.post(
                        endpoint, data=body, headers={**headers, **sign(body)}
                    ) as response:
                        status = response.status
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert status == 200
        # The reply; the notifier may push Jean-Marc's pending requests before it.
        listing = "*Demandes en attente : Arc France* (3)"
        for _ in range(300):
            if any(text.startswith(listing) for text in fake.texts("chat.postMessage")):
                break
            await asyncio.sleep(0.1)
        replies = [t for t in fake.texts("chat.postMessage") if t.startswith(listing)]
        assert len(replies) == 1, fake.texts("chat.postMessage")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()
    logs = stderr.decode()
    assert process.returncode == 0, logs[-3000:]
    assert "slack front started" in logs and "chat.postMessage" in logs
    for secret in (BOT_TOKEN, SIGNING_SECRET, code):
        assert secret not in logs


@pytest.mark.parametrize(
    "command",
    [
        ("run",),
        ("console", "--as", "x@y.fr"),
        ("demo",),
        ("db", "upgrade"),
        ("link", "x@y.fr"),
        ("chart", "--indicator", "co2", "--out", "x.png"),
    ],
)
def test_a_time_zone_that_does_not_exist_stops_every_command_at_start(tmp_path, command):
    """[platform] timezone is checked before anything runs: exit 2, the key named, nothing
    created (the embedded database would otherwise be written in a wrong zone)."""
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n[platform]\ntimezone = "Europe/Lile"\n',
        "utf-8",
    )
    result = cli(*command, env={"REFERENT_BOT_CONFIG": str(config)})
    assert result.returncode == 2, result.stderr
    assert (
        "referent-bot: configuration error: [platform] timezone: 'Europe/Lile' is not a time "
        "zone name (e.g. Europe/Paris, UTC)"
    ) in result.stderr
    assert not (tmp_path / "data").exists()


def test_the_configured_zone_dates_what_the_bot_writes(configured):
    """A link code expires [bot] link_code_minutes after now in [platform] timezone: the
    command prints the expiry and stores it in that zone (storage.clock, set at start)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    env, url, _ = configured
    config = Path(env["REFERENT_BOT_CONFIG"])
    config.write_text(
        config.read_text("utf-8") + '[platform]\ntimezone = "Pacific/Kiritimati"\n', "utf-8"
    )
    before = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(tzinfo=None)
    result = cli("link", "marion.hennebert@arcfrance.fr", env=env)
    after = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(tzinfo=None)
    assert result.returncode == 0, result.stderr
    printed = re.search(r"until (\d\d/\d\d/\d{4} \d\d:\d\d)", result.stdout).group(1)
    expires = dt.datetime.strptime(printed, "%d/%m/%Y %H:%M")
    low = (before + dt.timedelta(minutes=15)).replace(second=0, microsecond=0)
    assert low <= expires <= after + dt.timedelta(minutes=15)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        stored = session.scalar(select(LinkCode.expires_at))
    engine.dispose()
    assert stored.replace(second=0) == expires


def test_db_moderator_roles_lists_then_gives_the_missing_role(home):
    """The repair of moderators written without ROLE_COMMUNITY_MANAGER_PUBLIC, on the demo."""
    import sqlite3

    env = home
    assert cli("demo", env=env).returncode == 0
    assert cli("db", "moderator-roles", env=env).stdout.startswith("every moderator holds")
    path = Path(home["XDG_DATA_HOME"]) / "referent-bot" / "referent-bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM user_auth_assignment WHERE auth_item_id = 8")
        moderators = db.execute(
            "SELECT COUNT(DISTINCT user_id) FROM community_user WHERE status = 2"
        ).fetchone()[0]
    listed = cli("db", "moderator-roles", env=env)
    assert listed.returncode == 1
    assert f"{moderators} moderator(s) lack ROLE_COMMUNITY_MANAGER_PUBLIC" in listed.stdout
    applied = cli("db", "moderator-roles", "--apply", env=env)
    assert applied.returncode == 0
    assert f"gave ROLE_COMMUNITY_MANAGER_PUBLIC to {moderators} moderator(s)" in applied.stdout
    with sqlite3.connect(path) as db:
        held = db.execute(
            "SELECT COUNT(DISTINCT user_id) FROM user_auth_assignment WHERE auth_item_id = 8"
        ).fetchone()[0]
    assert held >= moderators
    assert cli("db", "moderator-roles", env=env).returncode == 0


def test_version_prints_the_installed_packages_version(home):
    from importlib.metadata import version

    result = cli("--version", env=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"referent-bot {version('referent-bot')}\n"
    assert not (Path(home["XDG_DATA_HOME"]) / "referent-bot").exists()  # nothing else ran


def test_an_unknown_log_level_is_a_usage_error_listing_the_levels(home):
    result = cli("--log-level", "foo", "db", "status", env=home)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: referent-bot")
    assert (
        "referent-bot: error: argument --log-level: invalid choice: 'FOO' "
        "(choose from 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')"
    ) in result.stderr
    assert not (Path(home["XDG_DATA_HOME"]) / "referent-bot").exists()


def test_a_log_level_in_any_case_is_accepted(home):
    result = cli("--log-level", "error", "db", "upgrade", env=home)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # nothing under ERROR is logged


@pytest.mark.parametrize("section", ["[logging]\nlevel", "[bot]\nlog_level"])
def test_an_unknown_log_level_in_the_configuration_is_a_configuration_error(tmp_path, section):
    config = tmp_path / "bot.toml"
    config.write_text(f'{section} = "verbose"\n', "utf-8")
    result = cli("db", "status", env={"REFERENT_BOT_CONFIG": str(config)})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    key = section.replace("\n", " ")
    assert result.stderr == (
        f"referent-bot: configuration error: {key} must be one of "
        "DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
    )


def test_demo_and_indicators_report_their_progress_line_by_line_in_a_log(home):
    """Not on a terminal (a log, CI): a line per tenth of each phase on stderr, with the time
    left; stdout keeps the result alone."""
    demo = cli("demo", "--scale", "1", env=home)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.startswith("demo data: 10,231 users") and demo.stdout.count("\n") == 1
    lines = demo.stderr.splitlines()
    assert lines[0] == "demo: sample..."
    for phase, total in (("users", "10,000"), ("ads", "5,000"), ("carpool items", "20,000")):
        assert f"demo: {phase} 0/{total} (0 %)" in lines
        assert any(
            re.fullmatch(rf"demo: {phase} {total}/{total} \(100 %\) in [\d.]+ s", line)
            for line in lines
        ), lines
    assert any(re.search(r"elapsed, about [\d.]+ s left$", line) for line in lines), lines
    assert lines[-2:] == ["demo: roles...", "demo: statistics..."]
    assert "\r" not in demo.stderr

    built = cli("db", "indicators", env=home)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("indicator aggregate built: ")
    lines = built.stderr.splitlines()
    assert lines[0] == "indicators: grouped queries 0/18 (0 %)"
    assert re.fullmatch(r"indicators: grouped queries 18/18 \(100 %\) in [\d.]+ s", lines[10])
    rows = re.search(r"built: ([\d,]+) rows", built.stdout)[1]
    assert re.fullmatch(rf"indicators: rows written {rows}/{rows} \(100 %\) in [\d.]+ s", lines[-1])
