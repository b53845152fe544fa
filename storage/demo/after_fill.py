"""After the fill: PostgreSQL's sequences moved past the explicit ids, fresh statistics."""

from __future__ import annotations

from sqlalchemy import Connection, text

from storage.demo.generator import _Generator
from storage.models import PlatformBase


class _AfterFill(_Generator):
    """What the databases need once the rows are in."""

    # ---- after the fill

    def reset_sequences(self) -> None:
        """PostgreSQL's serial sequences do not see explicit ids; move them past the max."""
        if self.dialect != "postgresql":
            return
        for table in self._id_tables():
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))'
                )
            )
        self.connection.commit()


def _analyze(connection: Connection) -> None:
    """Fresh statistics after a bulk load: without them the planners pick nested loops over
    millions of rows for the indicators' joins (minutes instead of seconds)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit=2000")
        connection.exec_driver_sql("ANALYZE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE")
    else:
        tables = ", ".join(f"`{t.name}`" for t in PlatformBase.metadata.sorted_tables)
        connection.exec_driver_sql(f"ANALYZE TABLE {tables}").all()
    connection.commit()
