"""Tamper-evident audit trail: audit_seal, one HMAC-SHA-256 hash-chain link per audit_event row
(see cadenza.clinic.audit_chain and docs/clinic.md, "Audit").

Audit rows that exist at upgrade time are sealed here, in id order, with the same key the application
uses (CADENZA_AUDIT_KEY, else the key file next to the SQLite file / in the data directory), so the old
trail joins the chain. The seal covers the audit_event columns as the database has them now. An offline
(--sql) upgrade cannot read rows, so it only creates the table; `cadenza audit verify` then reports the
old rows as unsealed.
"""

import sqlalchemy as sa
from alembic import context, op

from cadenza.clinic.audit_chain import append_seals, audit_key

revision = "0009_audit_chain"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "audit_seal",
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("prev_seal", sa.String(64), nullable=False),
        sa.Column("seal", sa.String(64), nullable=False),
        sa.Column("fields", sa.String(1000), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_seal")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_seal_event_id")),
    )
    if context.is_offline_mode():
        return
    connection = op.get_bind()
    events = sa.Table("audit_event", sa.MetaData(), autoload_with=connection)
    ids = connection.execute(sa.select(events.c.id).order_by(events.c.id)).scalars().all()
    if ids:
        append_seals(connection, ids, key=audit_key(connection.engine.url), event_table=events)


def downgrade() -> None:
    op.drop_table("audit_seal")
