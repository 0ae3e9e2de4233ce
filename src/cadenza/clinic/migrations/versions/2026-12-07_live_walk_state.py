"""A running live walk's science, saved with the walk (issue 20): ``live_cue_walk.live_state``.

The bytes of :func:`cadenza.ras.live_state.snapshot`, written every 2 s while the walk runs and cleared
when it ends, so a phone that reconnects to another server process carries the walk on where it was.
Plain ALTER TABLE ... ADD COLUMN of a nullable column (no table rebuild on SQLite).
"""

import sqlalchemy as sa
from alembic import op

revision = "0026b_live_walk_state"
down_revision = "0026_live_cueing"


def upgrade() -> None:
    op.add_column("live_cue_walk", sa.Column("live_state", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("live_cue_walk", "live_state")
