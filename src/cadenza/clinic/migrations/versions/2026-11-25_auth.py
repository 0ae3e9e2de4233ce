"""Authentication: login_session, login_attempt, api_token (see cadenza.clinic.auth)."""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0002_auth"
down_revision = "0001_core"


def _therapist_fk(table: str) -> sa.Column:
    return sa.Column(
        "therapist_id",
        sa.Integer(),
        sa.ForeignKey("therapist.id", ondelete="CASCADE", name=op.f(f"fk_{table}_therapist_id_therapist")),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        _therapist_fk("login_session"),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _at("created_at"),
        _at("last_seen_at"),
        _at("revoked_at", nullable=True),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_login_session_token_sha256")),
    )
    op.create_index(op.f("ix_login_session_therapist_id"), "login_session", ["therapist_id"])
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("password_checked", sa.Boolean(), nullable=False),
        _at("at"),
    )
    op.create_index(op.f("ix_login_attempt_username"), "login_attempt", ["username"])
    op.create_index(op.f("ix_login_attempt_ip_address"), "login_attempt", ["ip_address"])
    op.create_index(op.f("ix_login_attempt_at"), "login_attempt", ["at"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        _therapist_fk("api_token"),
        sa.Column("label", sa.String(64), nullable=False),
        _at("created_at"),
        _at("expires_at", nullable=True),
        _at("last_used_at", nullable=True),
        _at("revoked_at", nullable=True),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_token_token_sha256")),
    )
    op.create_index(op.f("ix_api_token_therapist_id"), "api_token", ["therapist_id"])


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("login_attempt")
    op.drop_table("login_session")
