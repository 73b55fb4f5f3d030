"""Store an SOP's version as written ("1.2", "2025-03"), not only its leading number.

``sops.version`` becomes text; existing values keep their number as text
(``3`` -> ``"3"``). On SQLite the table is rebuilt (Alembic batch mode: copy,
drop, rename); :func:`opsflow.store.migrate.upgrade` runs migrations with
foreign-key enforcement off and checks every foreign key before committing,
as SQLite's documentation prescribes for rebuilding a referenced table.
The downgrade keeps the leading number (``"1.2"`` -> ``1``, no number -> ``0``).

Revision ID: 0003_sop_version_text
Revises: 0002_assignments_digest
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sop_version_text"
down_revision = "0002_assignments_digest"
branch_labels = None
depends_on = None


def _alter_version(to: type[sa.Text | sa.Integer], using: str) -> None:
    old = sa.Integer if to is sa.Text else sa.Text
    with op.batch_alter_table("sops") as batch:
        batch.alter_column(
            "version",
            type_=to(),
            existing_type=old(),
            existing_nullable=False,
            postgresql_using=using,
        )


def upgrade() -> None:
    _alter_version(sa.Text, "version::text")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # CAST keeps the leading integer ("1.2" -> 1, "x" -> 0), as the INTEGER copy needs
        op.execute("UPDATE sops SET version = CAST(version AS INTEGER)")
    _alter_version(
        sa.Integer, "COALESCE(NULLIF(substring(version FROM '^[0-9]+'), ''), '0')::integer"
    )
