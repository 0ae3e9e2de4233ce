"""``login_session.timed_out_at``: when a login was found lapsed (idle or past its lifetime).

A lapsed login is audited once as ``timeout`` (the CCHIT audited-event list names session timeout); this
column makes it once. The login is not revoked by it: a form typed while it lapsed can still be kept as a
draft (clinic.drafts). Existing rows start empty.
"""

from alembic import op

from cadenza.clinic.migrations.columns import timestamp

revision = "0043_login_timeout"
down_revision = "0002_auth"


def upgrade() -> None:
    op.add_column("login_session", timestamp("timed_out_at", nullable=True))


def downgrade() -> None:
    op.drop_column("login_session", "timed_out_at")
