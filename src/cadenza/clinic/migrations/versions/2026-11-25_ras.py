"""Rhythmic Auditory Stimulation: ras_plan (see cadenza.tools.ras.records)."""

import sqlalchemy as sa
from alembic import op

revision = "0004_ras"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "ras_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(),
                  sa.ForeignKey("client.id", ondelete="CASCADE", name=op.f("fk_ras_plan_client_id_client")),
                  nullable=False),
        sa.Column("therapist_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", ondelete="SET NULL", name=op.f("fk_ras_plan_therapist_id_therapist")),
                  nullable=True),
        sa.Column("condition", sa.String(20), nullable=False),
        sa.Column("baseline_cadence_spm", sa.Float(), nullable=False),
        sa.Column("session_minutes", sa.Integer(), nullable=False),
        sa.Column("sessions_per_week", sa.Integer(), nullable=False),
        sa.Column("max_increase_percent", sa.Float(), nullable=False),
        sa.Column("override_used", sa.Boolean(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("condition IN ('parkinsons', 'stroke', 'other')", name=op.f("ck_ras_plan_condition")),
        sa.CheckConstraint("baseline_cadence_spm > 0", name=op.f("ck_ras_plan_baseline_cadence_spm")),
    )
    op.create_index(op.f("ix_ras_plan_client_id"), "ras_plan", ["client_id"])


def downgrade() -> None:
    op.drop_table("ras_plan")
