"""Session notes: optimistic-lock version, signing, and addenda (see docs/clinic.md "Signed notes").

``therapy_session`` gains ``version`` (existing rows start at 1), ``updated_at`` and the signature columns
``signed_at``, ``signed_by_id`` and ``content_sha256`` (existing rows are unsigned); the new table
``session_addendum`` holds corrections to signed notes.

The columns are added with plain ALTER TABLE ... ADD COLUMN on every backend. SQLite's batch mode would
rebuild ``therapy_session`` by dropping it, and with foreign keys on that drop cascades into
``measurement`` and the other tables that refer to sessions.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_session_notes"
down_revision = "0001_core"

TABLE = "therapy_session"
SIGNER_FK = "fk_therapy_session_signed_by_id_therapist"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column(TABLE, sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(TABLE, sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(TABLE, sa.Column("content_sha256", sa.String(64), nullable=True))
    if op.get_context().dialect.name == "sqlite":
        # SQLite adds a foreign key only inline with its column.
        op.execute(f"ALTER TABLE {TABLE} ADD COLUMN signed_by_id INTEGER "
                   f"CONSTRAINT {SIGNER_FK} REFERENCES therapist (id)")
    else:
        op.add_column(TABLE, sa.Column("signed_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(SIGNER_FK), TABLE, "therapist", ["signed_by_id"], ["id"])
    op.create_table(
        "session_addendum",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(),
                  sa.ForeignKey("therapy_session.id", ondelete="RESTRICT",
                                name=op.f("fk_session_addendum_session_id_therapy_session")),
                  nullable=False),
        sa.Column("client_id", sa.Integer(),
                  sa.ForeignKey("client.id", ondelete="RESTRICT", name=op.f("fk_session_addendum_client_id_client")),
                  nullable=False),
        sa.Column("author_id", sa.Integer(),
                  sa.ForeignKey("therapist.id", name=op.f("fk_session_addendum_author_id_therapist")),
                  nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_sha256", sa.String(64), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
    )
    op.create_index(op.f("ix_session_addendum_session_id"), "session_addendum", ["session_id"])
    op.create_index(op.f("ix_session_addendum_client_id"), "session_addendum", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_session_addendum_client_id"), table_name="session_addendum")
    op.drop_index(op.f("ix_session_addendum_session_id"), table_name="session_addendum")
    op.drop_table("session_addendum")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(op.f(SIGNER_FK), TABLE, type_="foreignkey")
    for column in ("signed_by_id", "content_sha256", "signed_at", "updated_at", "version"):
        op.drop_column(TABLE, column)
