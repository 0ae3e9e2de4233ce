"""Administration and correcting the tools' records (issue 16): removable RAS plans, MIT phrases and
sound-dose entries, and the forced password change after an admin's reset.

``ras_plan``, ``mit_phrase`` and ``sound_dose_entry`` gain ``removed_at``, ``removed_by_id`` and
``removed_reason`` (:class:`cadenza.clinic.models.Removable`; existing rows are not removed), added with
plain ALTER TABLE ... ADD COLUMN as in ``0031_corrections``. Unlike there, ``removed_by_id`` has no
foreign key: SQLite cannot drop a column named in a foreign key without rebuilding the table, and
rebuilding ``mit_phrase`` would cascade into its scores. ``therapist`` gains ``must_change_password``
(false for every existing account).
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_admin_corrections"
# The tables altered here come from these revisions; record_change from 0031_corrections.
down_revision = ("0031_corrections", "0004_ras", "0006_mit", "0007_safety", "0017_qualification")

TABLES = ("ras_plan", "mit_phrase", "sound_dose_entry")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("removed_reason", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("removed_by_id", sa.Integer(), nullable=True))
    op.add_column("therapist", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                         server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("therapist", "must_change_password")
    for table in TABLES:
        for column in ("removed_by_id", "removed_reason", "removed_at"):
            op.drop_column(table, column)
