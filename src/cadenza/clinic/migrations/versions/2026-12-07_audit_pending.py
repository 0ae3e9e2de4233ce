"""Batched audit sealing (issue 23): audit_pending, one row per audit event committed but not sealed yet.

On PostgreSQL a committing transaction no longer takes the chain lock: it adds a tagged row here and a
sealer appends the seals in batches right after (see cadenza.clinic.audit_chain and docs/clinic.md,
"When sealing happens"). SQLite keeps sealing at commit and leaves this table empty.
"""

import sqlalchemy as sa
from alembic import op

revision = "0042_audit_pending"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("event_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("fields", sa.String(1000), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_audit_pending")),
    )


def downgrade() -> None:
    op.drop_table("audit_pending")
