"""Alembic migrations of the clinical record (core revision ``0001_core``; domains branch from it)."""
