"""The song a live walk was cued with (issue 20): ``live_cue_walk.music_track_id``.

The id of the client's library track whose music was the cue (NULL: clicks). No foreign key: the library
is another tool's table and may not be installed; a deleted track leaves the id as a record of the choice.
Plain ALTER TABLE ... ADD COLUMN of a nullable column (no table rebuild on SQLite).
"""

import sqlalchemy as sa
from alembic import op

revision = "0026c_live_music"
down_revision = "0026b_live_walk_state"


def upgrade() -> None:
    op.add_column("live_cue_walk", sa.Column("music_track_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("live_cue_walk", "music_track_id")
