"""`referent-bot`: run the bot, try it in a terminal, manage its database, issue link codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from bot.config import LOG_LEVELS, Config, ConfigError, load_config
from bot.logs import setup_logging
from bot.wiring import NotReady, Runtime, open_runtime
from handlers.core.errors import Refusal
from handlers.core.i18n import t
from handlers.core.markup import plain
from storage import clock, schema
from storage.engine import make_engine
from storage.indicators import Indicator, Period

log = logging.getLogger("referent_bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="referent-bot",
        description="Chat-ops bot for the referents of Pass Pass covoiturage communities.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="TOML configuration (default: $REFERENT_BOT_CONFIG, else the embedded SQLite file)",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)}, in any case (default: the configuration's, else INFO)",
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the version of referent-bot and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the enabled fronts (Telegram, Slack) and the notifier")

    doctor = sub.add_parser(
        "doctor",
        help="check the configuration, the database, Telegram, Slack and e-mail, and say what "
        "to fix (exit code 1 on any error)",
    )
    doctor.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="for each network check (default 10)")  # fmt: skip

    console = sub.add_parser("console", help="use the bot in this terminal")
    console.add_argument("--as", dest="email", metavar="EMAIL", help="act as this platform user")

    db = sub.add_parser("db", help="the bot's database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser(
        "upgrade",
        help="create or upgrade the bot's bot_ tables (and, on an empty SQLite or "
        "PostgreSQL database, the platform tables it uses)",
    )
    db_sub.add_parser("status", help="show the schema revision and the tables found")
    roles = db_sub.add_parser(
        "moderator-roles",
        help="list the moderators lacking the platform's ROLE_COMMUNITY_MANAGER_PUBLIC "
        "(written by an earlier version); --apply gives it to them as the platform would",
    )
    roles.add_argument("--apply", action="store_true", help="write the missing rows")
    grants = db_sub.add_parser(
        "grants",
        help="print the least GRANT statements the bot needs on the platform's MariaDB/MySQL "
        "database (deploy/grants.sql)",
    )
    grants.add_argument("--database", help="default: the configured database's name, else mobicoop")
    grants.add_argument("--user", default="'referent_bot'@'%'", help="the bot's account")
    indicators = db_sub.add_parser(
        "indicators", help="build or refresh the dashboard's daily aggregate (`run` keeps it fresh)"
    )
    indicators.add_argument(
        "--window", action="store_true", help="recompute the last 31 days only (default: all)"
    )

    demo = sub.add_parser("demo", help="fill an empty database with demo data")
    demo.add_argument("--scale", type=int, default=0, choices=range(0, 4), metavar="N",
                      help="0: small realistic data (default); 1-3: large data for benchmarks "
                      "(3: over 1,000,000 users)")  # fmt: skip
    demo.add_argument("--seed", type=int, default=2024)

    link = sub.add_parser("link", help="issue a one-time code linking a chat account to a user")
    link.add_argument("email")
    link.add_argument("--quiet", action="store_true", help="print the code alone")

    chart = sub.add_parser("chart", help="render an indicator chart to a PNG file")
    chart.add_argument(
        "--indicator", required=True, choices=[indicator.value for indicator in Indicator]
    )
    chart.add_argument("--period", default="month", choices=[period.value for period in Period])
    chart.add_argument(
        "--from",
        dest="start",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="first day (default: 12 months, or 31 days, before --to)",
    )
    chart.add_argument(
        "--to", dest="end", type=_iso_date, metavar="YYYY-MM-DD", help="last day (default: today)"
    )
    chart.add_argument(
        "--years", type=_years, metavar="2023,2024", help="year against year: one series per year"
    )
    where = chart.add_mutually_exclusive_group()
    where.add_argument("--community", type=int, metavar="ID", help="one community's data")
    where.add_argument("--territory", type=int, metavar="ID", help="one territory's data")
    chart.add_argument("--out", required=True, metavar="FILE.png")
    chart.add_argument("--csv", metavar="FILE", help="also write the numbers (period,series,value)")
    chart.add_argument("--language", default=None, choices=["fr", "en"])
    return parser


class _Version(argparse.Action):
    """`--version`, reading the installed package's metadata only when asked (argparse's
    own action wants the text when the parser is built, at every start)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("referent-bot")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed)"
        print(f"{parser.prog} {number}")
        parser.exit()


def _iso_date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def _years(text: str) -> tuple[int, ...]:
    try:
        years = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of years: {text!r}") from error
    if not years or not all(1970 <= year <= 2100 for year in years):
        raise argparse.ArgumentTypeError(f"not a list of years: {text!r}")
    return years


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor(args.config, timeout=args.timeout)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"referent-bot: configuration error: {error}", file=sys.stderr)
        return 2
    clock.set_zone(config.platform.timezone)  # every command writes and reads in that zone
    setup_logging(config.logging.format, args.log_level or config.log_level,
                  redact_personal=config.logging.redact_personal_data)  # fmt: skip
    if not args.log_level or args.log_level.upper() != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    handler = COMMANDS[args.command]
    try:
        return handler(config, args)
    except (NotReady, schema.SchemaError) as error:
        print(f"referent-bot: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:  # found only once running ([bot] cpu on this machine)
        print(f"referent-bot: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_console(config: Config, args) -> int:
    from bot.console import Console, pick_user

    runtime = open_runtime(config, auto_demo=True)
    language = runtime.ctx.settings.default_language
    if runtime.demo_created:
        print(
            t(language, "console.demo_created", path=config.database_url.removeprefix("sqlite:///"))
        )

    def ask(prompt: str) -> str | None:
        try:
            return input(prompt)
        except EOFError:
            return None

    user_id = pick_user(runtime.ctx, args.email, ask, print)
    if user_id is None:
        return 1
    Console(runtime.ctx, user_id).loop()
    return 0


def cmd_db(config: Config, args) -> int:
    if args.db_command == "grants":
        from sqlalchemy.engine import make_url

        from storage.grants import grants_script

        url = make_url(config.database_url)
        configured = url.database if url.get_backend_name() == "mysql" else None
        print(grants_script(args.database or configured or "mobicoop", args.user), end="")
        return 0
    engine = make_engine(config.database_url)
    if config.embedded:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    if args.db_command == "upgrade":
        before = schema.current_revision(engine) if _has_tables(engine) else None
        created = schema.prepare(engine)
        after = schema.current_revision(engine)
        if created:
            print("created the platform tables the bot uses (empty database)")
        print(f"bot tables at revision {after}" + (f" (was {before})" if before != after else ""))
        return 0
    if args.db_command == "moderator-roles":
        return _moderator_roles(engine, apply=args.apply)
    if args.db_command == "indicators":
        return _refresh_indicators(engine, full=not args.window)
    missing = schema.missing_platform_tables(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print("platform tables: " + ("all present" if not missing else "missing " + ", ".join(missing)))
    current, head = schema.current_revision(engine), schema.head_revision()
    state = "up to date" if current == head else "run `referent-bot db upgrade`"
    print(f"bot tables: revision {current or 'none'}, latest {head} ({state})")
    return 0 if current == head and not missing else 1


def _moderator_roles(engine, apply: bool) -> int:
    from sqlalchemy.orm import Session

    from storage.roles import moderators_without_role, repair_moderator_roles

    with Session(engine) as session, session.begin():
        users = repair_moderator_roles(session) if apply else moderators_without_role(session)
    if not users:
        print("every moderator holds ROLE_COMMUNITY_MANAGER_PUBLIC")
        return 0
    listed = ", ".join(str(u) for u in users)
    if apply:
        print(f"gave ROLE_COMMUNITY_MANAGER_PUBLIC to {len(users)} moderator(s): user {listed}")
        return 0
    print(
        f"{len(users)} moderator(s) lack ROLE_COMMUNITY_MANAGER_PUBLIC (user {listed}): "
        "run again with --apply to give it as the platform would"
    )
    return 1


def _refresh_indicators(engine, full: bool) -> int:
    from sqlalchemy.orm import Session

    from bot.progress import ProgressReport  # tqdm: only for the commands that show progress
    from storage.indicator_days import refresh

    started = time.perf_counter()
    with Session(engine) as session, ProgressReport("indicators") as progress:
        result = refresh(session, full=full, progress=progress)
    what = "built" if result.full else f"refreshed from {result.since:%d/%m/%Y}"
    took = time.perf_counter() - started
    print(f"indicator aggregate {what}: {result.rows:,} rows in {took:,.1f} s "
          f"(data as of {result.refreshed_at:%d/%m/%Y %H:%M})")  # fmt: skip
    return 0


def _has_tables(engine) -> bool:
    return bool(schema.bot_tables_present(engine))


def cmd_demo(config: Config, args) -> int:
    from bot.progress import ProgressReport
    from storage.demo import DemoError, fill_demo

    if config.embedded:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    schema.prepare(engine)
    try:
        with ProgressReport("demo") as progress:
            summary = fill_demo(
                engine,
                scale=args.scale,
                seed=args.seed,
                progress=progress,
                security_folder=config.security_folder,
            )
    except DemoError as error:
        print(f"referent-bot: {error}", file=sys.stderr)
        return 1
    print(
        f"demo data: {summary.users:,} users, {summary.communities:,} communities, "
        f"{summary.memberships:,} memberships, "
        f"{summary.ads:,} proposals (ads, their returns, searches), "
        f"{summary.carpool_items:,} carpool items, {summary.solidary_users:,} solidarity users"
    )
    return 0


def cmd_link(config: Config, args) -> int:
    from bot.telegram.links import deep_link
    from handlers.chat.linking import issue_link_code

    runtime: Runtime = open_runtime(config)
    try:
        issued = issue_link_code(runtime.ctx, args.email)
    except Refusal as refusal:
        print(plain(t("en", refusal.key, **refusal.params)), file=sys.stderr)
        return 1
    if args.quiet:
        print(issued.code)
        return 0
    print(f"Link code: {issued.code}")
    print(f"Valid once, until {issued.expires_at:%d/%m/%Y %H:%M}.")
    if config.telegram.bot_username:
        print(f"Telegram: {deep_link(config.telegram.bot_username, issued.code)}")
    else:
        print("Telegram: send /start " + issued.code + " to the bot "
              "(set [telegram] bot_username for a clickable link)")  # fmt: skip
    print(f"Slack: {config.slack.command} link {issued.code}")
    return 0


def cmd_run(config: Config, args) -> int:
    import asyncio

    from bot.runtime import FRONTS, enabled_fronts, load_factory, serve

    fronts = enabled_fronts(config)
    if not fronts:
        print(
            "referent-bot: nothing to run: enable [telegram] or [slack] in the configuration "
            "(see config.example.toml), or try `referent-bot console`.",
            file=sys.stderr,
        )
        return 2
    for name, _, factory in FRONTS:
        if name in fronts:
            try:
                load_factory(factory)
            except ImportError:
                print(
                    f"referent-bot: the {name} front is not part of this version yet; "
                    "`referent-bot console` gives every use case in a terminal meanwhile.",
                    file=sys.stderr,
                )
                return 2
    clean = asyncio.run(serve(config))
    if not clean:  # work was abandoned: say so, and do not wait for stuck threads
        logging.shutdown()
        os._exit(1)
    return 0


def cmd_chart(config: Config, args) -> int:
    """Draw one indicator as the platform's operator would see it, to a PNG (and a CSV)."""
    from pathlib import Path

    from handlers.chat.identity import operator_actor
    from handlers.dashboard import charts
    from handlers.dashboard.figures import csv_bytes, file_stem
    from handlers.dashboard.request import ChartRequest, parse_scope

    runtime = open_runtime(config)
    language = args.language or runtime.ctx.settings.default_language
    scope = "a"
    if args.community is not None:
        scope = f"c{args.community}"
    elif args.territory is not None:
        scope = f"t{args.territory}"
    request = ChartRequest(
        Indicator(args.indicator), Period(args.period), scope,
        start=args.start, end=args.end, years=args.years,
    )  # fmt: skip
    operator = operator_actor("cli", language)
    try:
        parse_scope(scope)
        figures, image = charts.render_chart(runtime.ctx, operator, request)
    except ValueError:
        print("referent-bot: invalid community or territory id", file=sys.stderr)
        return 2
    except Refusal as refusal:
        print(f"referent-bot: {plain(t(language, refusal.key, **refusal.params))}", file=sys.stderr)
        return 1
    if args.csv:
        Path(args.csv).write_bytes(csv_bytes(language, figures))
        print(f"{args.csv}: {file_stem(figures)} (period, series, value)")
    if image is None:
        print(plain(charts.no_data_text(language, figures)), file=sys.stderr)
        return 1
    Path(args.out).write_bytes(image.png)
    print(f"{args.out}: {plain(image.caption)}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "console": cmd_console,
    "db": cmd_db,
    "demo": cmd_demo,
    "link": cmd_link,
    "chart": cmd_chart,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
