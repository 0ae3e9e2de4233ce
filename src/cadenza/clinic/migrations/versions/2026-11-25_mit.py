"""Melodic Intonation Therapy: mit_phrase (phrase bank), mit_level_run, mit_step_score, mit_attempt
(see cadenza.tools.mit.records).
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at, foreign_key as _fk

revision = "0006_mit"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "mit_phrase",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("mit_phrase", "client_id", "client"),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("probe_question", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("syllable_count", sa.Integer(), nullable=False),
        sa.Column("stress_pattern", sa.String(64), nullable=False),
        sa.Column("guessed_words", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.UniqueConstraint("client_id", "text", name=op.f("uq_mit_phrase_client_id_text")),
        sa.CheckConstraint("level BETWEEN 1 AND 3", name=op.f("ck_mit_phrase_level")),
    )
    op.create_index(op.f("ix_mit_phrase_client_id"), "mit_phrase", ["client_id"])
    op.create_table(
        "mit_level_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("mit_level_run", "session_id", "therapy_session"),
        _fk("mit_level_run", "client_id", "client"),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("possible", sa.Integer(), nullable=True),
        sa.Column("score_pct", sa.Float(), nullable=True),
        _at("started_at"),
        _at("finished_at", nullable=True),
        sa.CheckConstraint("level BETWEEN 1 AND 3", name=op.f("ck_mit_level_run_level")),
    )
    op.create_index(op.f("ix_mit_level_run_session_id"), "mit_level_run", ["session_id"])
    op.create_index(op.f("ix_mit_level_run_client_id"), "mit_level_run", ["client_id"])
    op.create_table(
        "mit_step_score",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("mit_step_score", "run_id", "mit_level_run"),
        _fk("mit_step_score", "phrase_id", "mit_phrase"),
        sa.Column("step_code", sa.String(40), nullable=False),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("override", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        _at("updated_at"),
        sa.UniqueConstraint("run_id", "phrase_id", "step_code", name=op.f("uq_mit_step_score_run_id_phrase_id_step_code")),
    )
    op.create_index(op.f("ix_mit_step_score_run_id"), "mit_step_score", ["run_id"])
    op.create_index(op.f("ix_mit_step_score_phrase_id"), "mit_step_score", ["phrase_id"])
    op.create_table(
        "mit_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("mit_attempt", "session_id", "therapy_session"),
        _fk("mit_attempt", "phrase_id", "mit_phrase", ondelete="SET NULL", nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("step_code", sa.String(40), nullable=False),
        sa.Column("timing_match_pct", sa.Float(), nullable=True),
        sa.Column("pitch_pattern_followed", sa.Boolean(), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=False),
        _at("created_at"),
    )
    op.create_index(op.f("ix_mit_attempt_session_id"), "mit_attempt", ["session_id"])


def downgrade() -> None:
    op.drop_table("mit_attempt")
    op.drop_table("mit_step_score")
    op.drop_table("mit_level_run")
    op.drop_table("mit_phrase")
