"""The person's own music: library_track (scan cache + preferences), library_response (per-song
response log on a session), library_preprocedure (see cadenza.tools.library.records).
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at, foreign_key as _fk

revision = "0005_library"
down_revision = "0001_core"


def _float(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "library_track",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("library_track", "client_id", "client"),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("artist", sa.String(300), nullable=False),
        sa.Column("album", sa.String(300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("genre", sa.String(100), nullable=False),
        _float("duration_s"),
        _float("tempo_bpm"),
        _float("tempo_confidence"),
        sa.Column("beat_times_s", sa.JSON(), nullable=False),
        _float("loudness_lufs"),
        _float("loudness_range_lu"),
        _float("energy"),
        _float("brightness_hz"),
        _float("onset_rate_hz"),
        sa.Column("musical_key", sa.String(3), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        _float("mode_confidence"),
        sa.Column("analysis_version", sa.Integer(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("red_flag", sa.Boolean(), nullable=False),
        sa.Column("red_flag_reason", sa.Text(), nullable=False),
        _at("red_flag_at", nullable=True),
        sa.Column("family_pick_note", sa.Text(), nullable=False),
        sa.Column("family_pick_by", sa.String(100), nullable=False),
        _at("scanned_at"),
        sa.UniqueConstraint("client_id", "path", name=op.f("uq_library_track_client_id_path")),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name=op.f("ck_library_track_rating")),
    )
    op.create_index(op.f("ix_library_track_client_id"), "library_track", ["client_id"])
    op.create_index(op.f("ix_library_track_content_sha256"), "library_track", ["content_sha256"])
    op.create_table(
        "library_response",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("library_response", "session_id", "therapy_session"),
        _fk("library_response", "client_id", "client"),
        _fk("library_response", "track_id", "library_track"),
        sa.Column("engagement", sa.Integer(), nullable=False),
        sa.Column("mood", sa.Integer(), nullable=False),
        sa.Column("agitation", sa.Integer(), nullable=False),
        sa.Column("sang_along", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _at("recorded_at"),
        sa.CheckConstraint("engagement BETWEEN 0 AND 3", name=op.f("ck_library_response_engagement")),
        sa.CheckConstraint("mood BETWEEN -2 AND 2", name=op.f("ck_library_response_mood")),
        sa.CheckConstraint("agitation BETWEEN 0 AND 3", name=op.f("ck_library_response_agitation")),
    )
    op.create_index(op.f("ix_library_response_session_id"), "library_response", ["session_id"])
    op.create_index(op.f("ix_library_response_client_id"), "library_response", ["client_id"])
    op.create_index(op.f("ix_library_response_track_id"), "library_response", ["track_id"])
    op.create_table(
        "library_preprocedure",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("library_preprocedure", "session_id", "therapy_session"),
        _fk("library_preprocedure", "client_id", "client"),
        sa.Column("playlist", sa.JSON(), nullable=False),
        _fk("library_preprocedure", "vas_before_id", "measurement", ondelete="SET NULL", nullable=True),
        _fk("library_preprocedure", "vas_after_id", "measurement", ondelete="SET NULL", nullable=True),
        _fk("library_preprocedure", "stai_before_id", "measurement", ondelete="SET NULL", nullable=True),
        _fk("library_preprocedure", "stai_after_id", "measurement", ondelete="SET NULL", nullable=True),
        _at("created_at"),
        sa.UniqueConstraint("session_id", name=op.f("uq_library_preprocedure_session_id")),
    )
    op.create_index(op.f("ix_library_preprocedure_client_id"), "library_preprocedure", ["client_id"])


def downgrade() -> None:
    op.drop_table("library_preprocedure")
    op.drop_table("library_response")
    op.drop_table("library_track")
