"""Alembic revision files, oldest first; keep ``migrate.REVISIONS`` in step."""
