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

from storage.bot_models import AuditEntry, LinkCode
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
    assert "bot tables at revision 0002" in result.stdout
    status = cli("db", "status", env=home)
    assert status.returncode == 0
    assert "platform tables: all present" in status.stdout
    assert "revision 0002, latest 0002 (up to date)" in status.stdout
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
    assert "✅ Pierre L. : demande acceptée dans Arc France par Jean-Marc M." in result.stdout
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        row = session.get(CommunityUser, world.membership("arc", "pierre"))
    engine.dispose()
    assert row.status == MembershipStatus.MEMBER
    assert row.admin_id == world.users["jeanmarc"]


def test_run_and_chart_say_they_come_later(configured):
    env, _, _ = configured
    run = cli("run", env=env)
    assert run.returncode == 2
    assert "nothing to run: enable [telegram] or [slack]" in run.stderr
    chart = cli("chart", env=env)
    assert chart.returncode == 2
    assert "not part of this version yet" in chart.stderr


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
    approved = re.search(r"✅ (.+?) : demande acceptée dans Arc France par Emilie F\.", out)
    assert approved, out
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
