"""Idempotent creates: idempotency_key (see cadenza.clinic.idempotency)."""

import sqlalchemy as sa
from alembic import op

revision = "0014_idempotency"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("actor_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_idempotency_key_actor_id_therapist")), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("route", sa.String(400), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # The race is decided here: a second claim of the same key waits on this constraint, then fails.
        sa.UniqueConstraint("actor_id", "key", name=op.f("uq_idempotency_key_actor_id_key")),
    )
    op.create_index(op.f("ix_idempotency_key_created_at"), "idempotency_key", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_key")
