"""Which live socket owns a running walk (issue 20): ``live_cue_walk.socket_lease``.

Each WebSocket that opens for a walk takes the next number; only the socket holding the newest number takes
batches in and saves the walk, on any server process, so a phone that reconnects always wins over its older
connection. Plain ALTER TABLE ... ADD COLUMN with a server default (no table rebuild on SQLite).
"""

import sqlalchemy as sa
from alembic import op

revision = "0041_live_lease"
down_revision = "0026c_live_music"


def upgrade() -> None:
    op.add_column("live_cue_walk", sa.Column("socket_lease", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("live_cue_walk", "socket_lease")
