"""Timed walks keep their distance: ``measurement.timed_distance_m`` (clinical review H2).

A gait speed means nothing without the distance its time was taken over: the 10-metre walk test times
only the middle 6 m. New ``gait_speed`` measurements store it; rows stored before this revision keep
NULL ("distance not recorded"), because nobody can tell now which distance was timed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_timed_distance"
down_revision = "0001_core"


def upgrade() -> None:
    op.add_column("measurement", sa.Column("timed_distance_m", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("measurement", "timed_distance_m")
