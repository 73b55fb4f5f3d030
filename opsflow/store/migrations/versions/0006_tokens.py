"""Personal tokens (``tokens``): who a command acts as on a shared database.

Only a hash of each token is kept (see :mod:`opsflow.identity`); a revoked token
keeps its row, with when it was revoked.

Revision ID: 0006_tokens
Revises: 0005_people
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsflow.store.coltypes import UTCDateTime

revision = "0006_tokens"
down_revision = "0005_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("person", sa.Text(), nullable=False, index=True),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tokens")
