"""Live cueing while walking: live_cue_walk (see cadenza.tools.live.records)."""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key, timestamp

revision = "0026_live_cueing"
down_revision = "0020_home"  # refers to person_device


def upgrade() -> None:
    op.create_table(
        "live_cue_walk",
        sa.Column("id", sa.Integer(), primary_key=True),
        foreign_key("live_cue_walk", "client_id", "client"),
        foreign_key("live_cue_walk", "therapist_id", "therapist", ondelete="SET NULL", nullable=True),
        foreign_key("live_cue_walk", "person_device_id", "person_device", ondelete="SET NULL", nullable=True),
        foreign_key("live_cue_walk", "session_id", "therapy_session", ondelete="SET NULL", nullable=True),
        sa.Column("placement", sa.String(20), nullable=False),
        sa.Column("preferred_cadence_spm", sa.Float(), nullable=False),
        sa.Column("goal_cadence_spm", sa.Float(), nullable=False),
        timestamp("started_at"),
        timestamp("ended_at", nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("origin_s", sa.Float(), nullable=True),
        sa.Column("step_times_s", sa.JSON(), nullable=False),
        sa.Column("beat_times_s", sa.JSON(), nullable=False),
        sa.Column("freeze_intervals_s", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.CheckConstraint("preferred_cadence_spm > 0", name=op.f("ck_live_cue_walk_preferred_cadence_spm")),
        sa.CheckConstraint("goal_cadence_spm >= preferred_cadence_spm", name=op.f("ck_live_cue_walk_goal_cadence_spm")),
        sa.CheckConstraint("placement IN ('shank', 'thigh', 'lower-back')", name=op.f("ck_live_cue_walk_placement")),
    )
    op.create_index(op.f("ix_live_cue_walk_client_id"), "live_cue_walk", ["client_id"])


def downgrade() -> None:
    op.drop_table("live_cue_walk")
