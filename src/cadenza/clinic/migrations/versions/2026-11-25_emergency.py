"""Emergency ("break-glass") access grants: emergency_access (see cadenza.clinic.emergency)."""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0012_emergency"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "emergency_access",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("admin_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_emergency_access_admin_id_therapist")), nullable=False),
        # No foreign key: the record of who opened a file and why outlives the file.
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _at("granted_at"),
        _at("expires_at"),
        _at("revoked_at", nullable=True),
        sa.Column("revoked_by_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_emergency_access_revoked_by_id_therapist")),
                  nullable=True),
        sa.CheckConstraint("expires_at > granted_at", name=op.f("ck_emergency_access_expires_after_grant")),
        sa.CheckConstraint("length(reason) >= 20", name=op.f("ck_emergency_access_reason_length")),
    )
    op.create_index("ix_emergency_access_admin_client", "emergency_access", ["admin_id", "client_id"])
    op.create_index(op.f("ix_emergency_access_client_id"), "emergency_access", ["client_id"])


def downgrade() -> None:
    op.drop_table("emergency_access")
