"""Failed web sign-ins (``signin_failures``), so that guessing a password is limited
across every process of the app (see :mod:`opsflow.web.accounts`).

Revision ID: 0009_signin_failures
Revises: 0008_passwords
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsflow.store.coltypes import UTCDateTime

revision = "0009_signin_failures"
down_revision = "0008_passwords"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_signin_failures_person_at", "signin_failures", ["person", "at"])


def downgrade() -> None:
    op.drop_index("ix_signin_failures_person_at", "signin_failures")
    op.drop_table("signin_failures")
