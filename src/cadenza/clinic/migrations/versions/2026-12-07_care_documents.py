"""The course of care (clinical review M11, issue 15): ``client.status`` (active / on_hold / discharged)
in the record core, and the care tool's tables (see cadenza.tools.care.records): care_document (referral,
consent, assessment, treatment plan, discharge summary), care_addendum, group_session, group_member.

Existing clients start ``active``. SQLite cannot add a CHECK constraint to a table in place, but it takes
one on an added column, so the column and its check are added in one ALTER TABLE there (rebuilding
``client`` in batch mode would drop it with foreign keys on).
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key as _fk
from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0022_care_documents"
down_revision = "0001_core"

STATUS_CHECK = "status IN ('active', 'on_hold', 'discharged')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE client ADD COLUMN status VARCHAR(16) DEFAULT 'active' NOT NULL "
                   f"CONSTRAINT ck_client_status_known CHECK ({STATUS_CHECK})")
    else:
        op.add_column("client", sa.Column("status", sa.String(16), nullable=False, server_default="active"))
        op.create_check_constraint(op.f("ck_client_status_known"), "client", STATUS_CHECK)
    op.create_table(
        "care_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("care_document", "client_id", "client"),
        _fk("care_document", "author_id", "therapist", ondelete=None),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        _at("created_at"), _at("updated_at", nullable=True), _at("signed_at", nullable=True),
        _fk("care_document", "signed_by_id", "therapist", ondelete=None, nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=True),
        sa.Column("withdrawn_date", sa.Date(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('referral', 'consent', 'assessment', 'plan', 'discharge')",
                           name=op.f("ck_care_document_kind_known")),
    )
    op.create_index(op.f("ix_care_document_client_id"), "care_document", ["client_id"])
    op.create_table(
        "care_addendum",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("care_addendum", "document_id", "care_document", ondelete="RESTRICT"),
        _fk("care_addendum", "client_id", "client", ondelete="RESTRICT"),
        _fk("care_addendum", "author_id", "therapist", ondelete=None),
        sa.Column("text", sa.Text(), nullable=False),
        _at("created_at"),
        sa.Column("previous_sha256", sa.String(64), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
    )
    op.create_index(op.f("ix_care_addendum_document_id"), "care_addendum", ["document_id"])
    op.create_index(op.f("ix_care_addendum_client_id"), "care_addendum", ["client_id"])
    op.create_table(
        "group_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("group_session", "therapist_id", "therapist", ondelete=None),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("intervention_code", sa.String(64), nullable=False),
        sa.Column("setting", sa.String(64), nullable=False),
        sa.Column("group_note", sa.Text(), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_group_session_minutes_positive")),
    )
    op.create_index(op.f("ix_group_session_therapist_id"), "group_session", ["therapist_id"])
    op.create_table(
        "group_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("group_member", "group_session_id", "group_session"),
        _fk("group_member", "client_id", "client"),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _fk("group_member", "therapy_session_id", "therapy_session", ondelete="SET NULL", nullable=True),
        sa.UniqueConstraint("group_session_id", "client_id", name=op.f("uq_group_member_group_session_id_client_id")),
    )
    op.create_index(op.f("ix_group_member_group_session_id"), "group_member", ["group_session_id"])
    op.create_index(op.f("ix_group_member_client_id"), "group_member", ["client_id"])


def downgrade() -> None:
    for table in ("group_member", "group_session", "care_addendum", "care_document"):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_client_status_known"), "client", type_="check")
    op.drop_column("client", "status")
