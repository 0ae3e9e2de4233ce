"""Tempo correction kept with the track (issue 22): ``library_track`` gains the therapist's corrected tempo
(how and when it was corrected) and the estimator's competing metrical level with its level confidence.

Plain ALTER TABLE ... ADD COLUMN of nullable columns (no table rebuild on SQLite). Each correction's
history (old and new tempo, who, when, why) goes to ``record_change`` like every other correction.
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0029_tempo_correction"
down_revision = "0005_library"

COLUMNS = ("tempo_corrected_bpm", "tempo_correction", "tempo_corrected_at", "tempo_alternative_bpm",
           "tempo_level_confidence")


def upgrade() -> None:
    op.add_column("library_track", sa.Column("tempo_corrected_bpm", sa.Float(), nullable=True))
    op.add_column("library_track", sa.Column("tempo_correction", sa.String(8), nullable=True))
    op.add_column("library_track", _at("tempo_corrected_at", nullable=True))
    op.add_column("library_track", sa.Column("tempo_alternative_bpm", sa.Float(), nullable=True))
    op.add_column("library_track", sa.Column("tempo_level_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_column("library_track", column)
