"""Column shapes the migrations share (a revision's schema is still written out in full in its own file).

Only pure constructors live here; they must never change meaning, because every revision that imports
them must keep creating the schema it created when it was written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def timestamp(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column:
    """A timezone-aware ``DateTime`` column."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, index=index)


def foreign_key(table: str, column: str, referred: str, *, ondelete: str | None = "CASCADE",
                nullable: bool = False) -> sa.Column:
    """An integer column referring to ``referred.id``, its constraint named by the project's convention."""
    return sa.Column(column, sa.Integer(),
                     sa.ForeignKey(f"{referred}.id", ondelete=ondelete, name=op.f(f"fk_{table}_{column}_{referred}")),
                     nullable=nullable)
