"""Facts about the database itself (``marks``): e.g. a movable test clock wrote to it.

A run's event times are evidence only when they come from a trusted clock
(the PostgreSQL server's, or the system clock on SQLite). An engine driven by
a clock that tests move records ``movable-clock`` here on its first write;
``opsflow verify`` then says that the database's times are not evidence.

Revision ID: 0004_marks
Revises: 0003_sop_version_text
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsflow.store.coltypes import UTCDateTime

revision = "0004_marks"
down_revision = "0003_sop_version_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marks",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("marks")
