"""``therapist.caseload_version``: raised with every change to a therapist's clients' records (issue 23).

The dashboard keeps its lists per therapist under this number (cadenza.clinic.caseload_version), so a
worker knows from the login row it reads anyway whether its copy is still the record's. Existing accounts
start at 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0042_caseload_version"
down_revision = "0001_core"


def upgrade() -> None:
    op.add_column("therapist", sa.Column("caseload_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("therapist", "caseload_version")
