"""Hearing and NICU safety: listening_calibration, sound_dose_entry, infant_threshold, nicu_stop_log,
pal_session_summary (see cadenza.clinic.listening for the first two, cadenza.tools.nicu.records for the rest).
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0007_safety"
down_revision = "0001_core"


def _client_fk(table: str) -> sa.Column:
    return sa.Column("client_id", sa.Integer(),
                     sa.ForeignKey("client.id", ondelete="CASCADE", name=op.f(f"fk_{table}_client_id_client")),
                     nullable=False)


def _session_fk(table: str) -> sa.Column:
    return sa.Column("session_id", sa.Integer(),
                     sa.ForeignKey("therapy_session.id", ondelete="SET NULL",
                                   name=op.f(f"fk_{table}_session_id_therapy_session")),
                     nullable=True)


def upgrade() -> None:
    op.create_table(
        "listening_calibration",
        sa.Column("id", sa.Integer(), primary_key=True),
        _client_fk("listening_calibration"),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("tone_level_dba", sa.Float(), nullable=False),
        sa.Column("tone_rms_dbfs", sa.Float(), nullable=False),
        _at("measured_at"),
    )
    op.create_index(op.f("ix_listening_calibration_client_id"), "listening_calibration", ["client_id"])
    op.create_table(
        "sound_dose_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        _client_fk("sound_dose_entry"),
        _at("started_at"),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("level_dba", sa.Float(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("duration_s >= 0", name=op.f("ck_sound_dose_entry_duration_s")),
    )
    op.create_index(op.f("ix_sound_dose_entry_client_id"), "sound_dose_entry", ["client_id"])
    op.create_index(op.f("ix_sound_dose_entry_started_at"), "sound_dose_entry", ["started_at"])
    op.create_table(
        "infant_threshold",
        sa.Column("id", sa.Integer(), primary_key=True),
        _client_fk("infant_threshold"),
        sa.Column("settings", sa.JSON(), nullable=False),
        _at("set_at"),
        sa.UniqueConstraint("client_id", name=op.f("uq_infant_threshold_client_id")),
    )
    op.create_table(
        "nicu_stop_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        _client_fk("nicu_stop_log"),
        _session_fk("nicu_stop_log"),
        _at("run_started_at"),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
    )
    op.create_index(op.f("ix_nicu_stop_log_client_id"), "nicu_stop_log", ["client_id"])
    op.create_table(
        "pal_session_summary",
        sa.Column("id", sa.Integer(), primary_key=True),
        _client_fk("pal_session_summary"),
        _session_fk("pal_session_summary"),
        _at("started_at"),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("sucks", sa.Integer(), nullable=False),
        sa.Column("criterion_sucks", sa.Integer(), nullable=False),
        sa.Column("sucks_per_minute", sa.JSON(), nullable=False),
        sa.Column("criterion_sucks_per_minute", sa.JSON(), nullable=False),
        sa.Column("playback_s", sa.Float(), nullable=False),
        sa.Column("start_criterion_mmhg", sa.Float(), nullable=False),
        sa.Column("end_criterion_mmhg", sa.Float(), nullable=False),
        sa.Column("stopped_early", sa.Boolean(), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_pal_session_summary_client_id"), "pal_session_summary", ["client_id"])


def downgrade() -> None:
    for table in ("pal_session_summary", "nicu_stop_log", "infant_threshold", "sound_dose_entry",
                  "listening_calibration"):
        op.drop_table(table)
