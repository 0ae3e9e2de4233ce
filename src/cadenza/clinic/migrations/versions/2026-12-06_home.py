"""Home programmes and the person's app: person_invite, person_device, home_task, task_completion
(see cadenza.tools.home.records).
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at, foreign_key as _fk

revision = "0020_home"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "person_invite",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("person_invite", "client_id", "client"),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_person_invite_created_by_id_therapist")), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        _at("created_at"), _at("expires_at"), _at("used_at", nullable=True), _at("revoked_at", nullable=True),
        sa.Column("webauthn_challenge", sa.String(128), nullable=True),
        sa.CheckConstraint("role IN ('client', 'caregiver')", name=op.f("ck_person_invite_role_known")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_person_invite_token_sha256")),
    )
    op.create_index(op.f("ix_person_invite_client_id"), "person_invite", ["client_id"])
    op.create_table(
        "person_device",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("person_device", "client_id", "client"),
        _fk("person_device", "invite_id", "person_invite", ondelete="SET NULL", nullable=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("pin_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        _at("created_at"), _at("last_seen_at"), _at("unlocked_until", nullable=True), _at("revoked_at", nullable=True),
        sa.Column("passkey_id", sa.String(1024), nullable=True),
        sa.Column("passkey_public_key", sa.Text(), nullable=True),
        sa.Column("passkey_sign_count", sa.Integer(), nullable=False),
        sa.Column("webauthn_challenge", sa.String(128), nullable=True),
        sa.CheckConstraint("role IN ('client', 'caregiver')", name=op.f("ck_person_device_role_known")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_person_device_token_sha256")),
    )
    op.create_index(op.f("ix_person_device_client_id"), "person_device", ["client_id"])
    op.create_table(
        "home_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("home_task", "client_id", "client"),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_home_task_created_by_id_therapist")), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("days_per_week", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("music", sa.JSON(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("kind IN ('listening', 'relaxation', 'ras_walk', 'mit_practice') AND "
                           "days_per_week BETWEEN 1 AND 7 AND minutes BETWEEN 1 AND 120",
                           name=op.f("ck_home_task_task_known")),
    )
    op.create_index(op.f("ix_home_task_client_id"), "home_task", ["client_id"])
    op.create_table(
        "task_completion",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("task_completion", "task_id", "home_task"),
        _fk("task_completion", "client_id", "client"),
        _fk("task_completion", "device_id", "person_device", ondelete="SET NULL", nullable=True),
        sa.Column("client_uuid", sa.String(36), nullable=False),
        _at("completed_at"), _at("received_at"),
        sa.Column("played_s", sa.Float(), nullable=False),
        sa.Column("max_gain", sa.Float(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.UniqueConstraint("client_id", "client_uuid", name=op.f("uq_task_completion_client_id_client_uuid")),
    )
    op.create_index(op.f("ix_task_completion_task_id"), "task_completion", ["task_id"])
    op.create_index(op.f("ix_task_completion_client_id"), "task_completion", ["client_id"])


def downgrade() -> None:
    for table in ("task_completion", "home_task", "person_device", "person_invite"):
        op.drop_table(table)
