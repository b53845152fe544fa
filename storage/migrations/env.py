"""Alembic environment for the bot's own tables only.

Run through `storage.schema.upgrade()` (or `referent-bot db upgrade`), which hands over a live
connection. Only tables named `bot_*` are ever compared or touched: the platform's tables, which
share the database, are invisible to the migrations.
"""

from alembic import context
from sqlalchemy.schema import SchemaItem

from storage.bot_models import BotBase

VERSION_TABLE = "bot_alembic_version"


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    if type_ == "table":
        return name is not None and name.startswith("bot_")
    table = getattr(obj, "table", None)
    return table is None or table.name.startswith("bot_")


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=BotBase.metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; use `referent-bot db upgrade`")
run_migrations_online()
