"""The clinic day at a glance (issue 16): several interventions per session, planned sessions and note
templates.

* ``session_intervention``: each intervention of a session with its minutes. Every session stored
  before this revision gets one row, its ``intervention_code`` for the whole session, so old sessions
  read exactly as before (``therapy_session.intervention_code`` stays: the first intervention).
* ``planned_session``: a session booked for a date (today or later) that is not documented yet.
* ``note_template``: a therapist's own note templates (the SOAP/DAP/BIRP ones are built in, not stored).
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key, timestamp

revision = "0023_clinic_day"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "session_intervention",
        sa.Column("id", sa.Integer(), primary_key=True),
        foreign_key("session_intervention", "session_id", "therapy_session"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("intervention_code", sa.String(64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.UniqueConstraint("session_id", "position", name=op.f("uq_session_intervention_session_id_position")),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_session_intervention_minutes_positive")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_session_intervention_position_not_negative")),
    )
    op.create_index(op.f("ix_session_intervention_session_id"), "session_intervention", ["session_id"])
    # Old sessions: their one intervention, for the whole session.
    op.execute("INSERT INTO session_intervention (session_id, position, intervention_code, minutes) "
               "SELECT id, 0, intervention_code, minutes FROM therapy_session")

    op.create_table(
        "planned_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        foreign_key("planned_session", "client_id", "client"),
        foreign_key("planned_session", "therapist_id", "therapist", ondelete=None),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False, server_default=""),
        foreign_key("planned_session", "session_id", "therapy_session", ondelete="SET NULL", nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        timestamp("created_at"),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_planned_session_minutes_positive")),
    )
    op.create_index(op.f("ix_planned_session_client_id"), "planned_session", ["client_id"])
    op.create_index(op.f("ix_planned_session_planned_date"), "planned_session", ["planned_date"])

    op.create_table(
        "note_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        foreign_key("note_template", "therapist_id", "therapist"),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        timestamp("created_at"),
        sa.UniqueConstraint("therapist_id", "name", name=op.f("uq_note_template_therapist_id_name")),
    )
    op.create_index(op.f("ix_note_template_therapist_id"), "note_template", ["therapist_id"])


def downgrade() -> None:
    op.drop_table("note_template")
    op.drop_table("planned_session")
    op.drop_table("session_intervention")
