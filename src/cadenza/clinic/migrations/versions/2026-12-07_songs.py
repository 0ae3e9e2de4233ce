"""Songwriting: song_version (every saved version of a client's song); see cadenza.tools.songs.records."""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key as _fk, timestamp as _at

revision = "0030_songs"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "song_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("song_version", "client_id", "client"),
        sa.Column("song_key", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("tune", sa.String(32), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("lyrics", sa.Text(), nullable=False),
        sa.Column("restored_from_version", sa.Integer(), nullable=True),
        _fk("song_version", "created_by_id", "therapist", ondelete=None),
        _at("created_at"),
        sa.UniqueConstraint("song_key", "version", name=op.f("uq_song_version_song_key_version")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_song_version_version_positive")),
    )
    op.create_index(op.f("ix_song_version_client_id"), "song_version", ["client_id"])
    op.create_index(op.f("ix_song_version_song_key"), "song_version", ["song_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_song_version_song_key"), table_name="song_version")
    op.drop_index(op.f("ix_song_version_client_id"), table_name="song_version")
    op.drop_table("song_version")
