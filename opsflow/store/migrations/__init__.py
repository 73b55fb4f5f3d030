"""Alembic migrations of the opsflow schema (run through :mod:`opsflow.store.migrate`)."""
