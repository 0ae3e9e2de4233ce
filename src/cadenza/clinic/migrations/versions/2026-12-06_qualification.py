"""The therapist's professional credential: ``therapist.qualification`` (clinical review M3).

FHIR exports name the clinician as a Practitioner with this qualification (e.g. "MT-BC"). Existing
accounts start with none recorded ('').
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_qualification"
down_revision = "0016_measured_at"


def upgrade() -> None:
    op.add_column("therapist", sa.Column("qualification", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("therapist", "qualification")
