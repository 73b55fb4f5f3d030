"""Alembic environment for opsflow: runs migrations on the connection it is given.

:func:`opsflow.store.migrate.alembic_config` puts an open connection (already
inside a locked transaction) into ``config.attributes["connection"]``; this
file only hands it to Alembic. Running the ``alembic`` command line with a
``sqlalchemy.url`` option also works, for developers writing a new
migration (``render_as_batch`` makes autogenerate emit SQLite-safe ALTERs).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from opsflow.store.database import create_engine
from opsflow.store.schema import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if isinstance(given, Connection):
    run(given)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "").connect() as conn:
        run(conn)
        conn.commit()
