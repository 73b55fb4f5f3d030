"""Passwords of the web app's local accounts (``passwords``): an Argon2id hash per
person of the directory (see :mod:`opsflow.web.accounts`).

Revision ID: 0008_passwords
Revises: 0007_sop_workspace_path
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsflow.store.coltypes import UTCDateTime

revision = "0008_passwords"
down_revision = "0007_sop_workspace_path"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passwords",
        sa.Column("person", sa.Text(), primary_key=True),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("passwords")
