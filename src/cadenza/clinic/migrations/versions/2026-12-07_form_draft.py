"""Drafts of forms being typed: form_draft (see cadenza.clinic.drafts)."""

import sqlalchemy as sa
from alembic import op

revision = "0030_form_draft"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "form_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("therapist_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", ondelete="CASCADE", name=op.f("fk_form_draft_therapist_id_therapist")),
                  nullable=False),
        sa.Column("form_key", sa.String(200), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("therapist_id", "form_key", name=op.f("uq_form_draft_therapist_id_form_key")),
    )
    op.create_index(op.f("ix_form_draft_saved_at"), "form_draft", ["saved_at"])


def downgrade() -> None:
    op.drop_table("form_draft")
