"""Improvisation takes: improv_take (see cadenza.tools.improv.records)."""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key as _fk
from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0027_improv"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "improv_take",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("improv_take", "client_id", "client"),
        _fk("improv_take", "session_id", "therapy_session"),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_improv_take_created_by_id_therapist")), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("client_player", sa.String(60), nullable=False),
        sa.Column("players", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        _at("created_at"),
    )
    op.create_index(op.f("ix_improv_take_client_id"), "improv_take", ["client_id"])
    op.create_index(op.f("ix_improv_take_session_id"), "improv_take", ["session_id"])


def downgrade() -> None:
    op.drop_table("improv_take")
