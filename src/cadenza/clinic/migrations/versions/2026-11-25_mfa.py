"""Two-factor login: therapist_mfa (TOTP secrets) and mfa_challenge (see cadenza.clinic.auth)."""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0010_mfa"
down_revision = "0002_auth"


def _therapist_fk(table: str, *, primary_key: bool = False) -> sa.Column:
    return sa.Column(
        "therapist_id",
        sa.Integer(),
        sa.ForeignKey("therapist.id", ondelete="CASCADE", name=op.f(f"fk_{table}_therapist_id_therapist")),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "therapist_mfa",
        _therapist_fk("therapist_mfa", primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        _at("created_at"),
        _at("enabled_at", nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "mfa_challenge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        _therapist_fk("mfa_challenge"),
        _at("created_at"),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_mfa_challenge_token_sha256")),
    )
    op.create_index(op.f("ix_mfa_challenge_therapist_id"), "mfa_challenge", ["therapist_id"])


def downgrade() -> None:
    op.drop_table("mfa_challenge")
    op.drop_table("therapist_mfa")
