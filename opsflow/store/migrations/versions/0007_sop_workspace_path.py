"""Where a pinned SOP is inside its workspace (``sops.workspace_path``), so that a
workspace can move: ``status`` finds the file (and its includes) under the
workspace's current folder.

Revision ID: 0007_sop_workspace_path
Revises: 0006_tokens
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_sop_workspace_path"
down_revision = "0006_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sops") as batch:
        batch.add_column(sa.Column("workspace_path", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sops") as batch:
        batch.drop_column("workspace_path")
