"""Live timing: timing_calibration (a device's loopback latency and tap-to-sound offset) and timing_exercise
(TIMP-style prescriptions); see cadenza.tools.timing.records.
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key as _fk, timestamp as _at

revision = "0025_timing_live"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "timing_calibration",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("timing_calibration", "client_id", "client"),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("loopback_latency_ms", sa.Float(), nullable=False),
        sa.Column("residual_ms", sa.Float(), nullable=False),
        sa.Column("snr_db", sa.Float(), nullable=False),
        sa.Column("sampling_rate_hz", sa.Float(), nullable=False),
        sa.Column("tap_offset_ms", sa.Float(), nullable=True),
        sa.Column("tap_residual_ms", sa.Float(), nullable=True),
        sa.Column("measured_by", sa.String(64), nullable=False),
        _at("measured_at"),
        sa.CheckConstraint("loopback_latency_ms BETWEEN 0 AND 5000.0", name=op.f("ck_timing_calibration_latency_range")),
        sa.CheckConstraint("residual_ms >= 0 AND residual_ms <= 1000", name=op.f("ck_timing_calibration_residual_range")),
        sa.CheckConstraint("tap_offset_ms IS NULL OR tap_offset_ms BETWEEN -2000 AND 2000",
                           name=op.f("ck_timing_calibration_tap_offset_range")),
    )
    op.create_index(op.f("ix_timing_calibration_client_id"), "timing_calibration", ["client_id"])
    op.create_table(
        "timing_exercise",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("timing_exercise", "client_id", "client"),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_timing_exercise_created_by_id_therapist")), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("tempo_bpm", sa.Float(), nullable=False),
        sa.Column("beats_per_bar", sa.Integer(), nullable=False),
        sa.Column("accents", sa.JSON(), nullable=False),
        sa.Column("bilateral", sa.Boolean(), nullable=False),
        sa.Column("bars", sa.Integer(), nullable=False),
        sa.Column("repetitions", sa.Integer(), nullable=False),
        sa.Column("continuation_beats", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("tempo_bpm BETWEEN 30.0 AND 240.0", name=op.f("ck_timing_exercise_tempo_range")),
        sa.CheckConstraint("beats_per_bar BETWEEN 1 AND 12 AND bars BETWEEN 1 AND 64 AND repetitions BETWEEN 1 AND 20 "
                           "AND continuation_beats BETWEEN 0 AND 64", name=op.f("ck_timing_exercise_shape_range")),
    )
    op.create_index(op.f("ix_timing_exercise_client_id"), "timing_exercise", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_timing_exercise_client_id"), table_name="timing_exercise")
    op.drop_table("timing_exercise")
    op.drop_index(op.f("ix_timing_calibration_client_id"), table_name="timing_calibration")
    op.drop_table("timing_calibration")
