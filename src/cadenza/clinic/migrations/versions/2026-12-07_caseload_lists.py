"""``therapist.roster_version``: raised with the changes that can move the dashboard's client list, bookings
or the tools' alerts (issue 23).

``caseload_version`` moves with every change to a therapist's clients' records, a documented session
included; this second number moves only with the changes that can change those three lists (not with a
session's notes, interventions, measurements or goals), so a worker keeps their rows across session writes
(cadenza.clinic.caseload_version, cadenza.web.dashboard_cache). Existing accounts start at 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0044_caseload_lists"
down_revision = "0042_caseload_version"


def upgrade() -> None:
    op.add_column("therapist", sa.Column("roster_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("therapist", "roster_version")
