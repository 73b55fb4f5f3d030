"""Fingerprint a run's assignments apart from its work items.

A phase change rewrites a run's work items but rarely its assignments;
with a separate fingerprint an update rewrites only what changed. Existing
runs get an empty fingerprint, so their next update rewrites the
assignments once (same rows) and records the fingerprint.

Revision ID: 0002_assignments_digest
Revises: 0001_initial
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_assignments_digest"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "runs",
        sa.Column("assignments_digest", sa.String(64), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("assignments_digest")
