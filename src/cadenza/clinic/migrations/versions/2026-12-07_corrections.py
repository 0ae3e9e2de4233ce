"""Correct anything, with history: removable sessions, goals and measurements, and record_change
(see cadenza.clinic.corrections).

``therapy_session``, ``goal`` and ``measurement`` gain ``removed_at``, ``removed_by_id`` and
``removed_reason`` (existing rows are not removed). As in ``0011_session_notes`` the columns are added
with plain ALTER TABLE ... ADD COLUMN: SQLite's batch mode would rebuild the tables, and dropping
``therapy_session`` with foreign keys on would cascade into its measurements.
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_corrections"
down_revision = "0011_session_notes"

TABLES = ("therapy_session", "goal", "measurement")


def _remover_fk(table: str) -> str:
    return f"fk_{table}_removed_by_id_therapist"


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("removed_reason", sa.Text(), nullable=True))
        if op.get_context().dialect.name == "sqlite":
            # SQLite adds a foreign key only inline with its column.
            op.execute(f"ALTER TABLE {table} ADD COLUMN removed_by_id INTEGER "
                       f"CONSTRAINT {_remover_fk(table)} REFERENCES therapist (id)")
        else:
            op.add_column(table, sa.Column("removed_by_id", sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(_remover_fk(table)), table, "therapist", ["removed_by_id"], ["id"])
    op.create_table(
        "record_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes_json", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(op.f("ix_record_change_client_id"), "record_change", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_record_change_client_id"), table_name="record_change")
    op.drop_table("record_change")
    for table in TABLES:
        if op.get_context().dialect.name != "sqlite":
            op.drop_constraint(op.f(_remover_fk(table)), table, type_="foreignkey")
        for column in ("removed_by_id", "removed_reason", "removed_at"):
            op.drop_column(table, column)
