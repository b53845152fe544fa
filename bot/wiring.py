"""From a configuration to a ready Context: the engine, the schema check, the demo on first use,
and the audit listeners."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bot import metrics
from bot.config import Config
from handlers.core.audit import on_audit
from handlers.core.context import Context
from handlers.outbox import feed
from storage import schema
from storage.engine import make_engine, make_sessionmaker


class NotReady(RuntimeError):
    """The database is not ready for the bot; the message says which command fixes it."""


@dataclass(frozen=True)
class Runtime:
    config: Config
    engine: Engine
    ctx: Context
    #: True when this start created the embedded database and filled it with demo data.
    demo_created: bool = False


def register_audit_listeners() -> None:
    """What reacts to every audited change, in its transaction: the operators' change feed and
    the metrics (which count only when the transaction commits). Idempotent."""
    on_audit(feed.record_settings_change)
    on_audit(metrics.record_audit)


def open_runtime(config: Config, auto_demo: bool = False) -> Runtime:
    """Connect and check the schema.

    On the embedded default the bot prepares its own SQLite file (and, with `auto_demo`, fills
    an empty one with demo data), so that a newcomer needs no setup at all. On a configured
    database nothing is created implicitly: `referent-bot db upgrade` does that.
    """
    register_audit_listeners()
    if config.embedded:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    demo_created = False
    if config.embedded:
        created = schema.prepare(engine)
        if created and auto_demo:
            from storage.demo import fill_demo

            fill_demo(engine, security_folder=config.security_folder)
            demo_created = True
    else:
        missing = schema.missing_platform_tables(engine)
        if missing:
            raise NotReady(
                "the database lacks the platform tables "
                + ", ".join(missing)
                + ": on SQLite or PostgreSQL run `referent-bot db upgrade` to create them; "
                "on MariaDB point [database] url at the platform's database"
            )
        if schema.current_revision(engine) != schema.head_revision():
            raise NotReady("the bot's tables are not up to date: run `referent-bot db upgrade`")
    ctx = Context(sessions=make_sessionmaker(engine), settings=config.settings())
    return Runtime(config, engine, ctx, demo_created)
