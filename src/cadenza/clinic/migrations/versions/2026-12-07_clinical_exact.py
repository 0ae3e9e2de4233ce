"""An NICU infant's gestational and postmenstrual age, and the age and any override on each PAL session
(clinical review M1).

``infant_age``: one row per client, the GA at birth and the PMA on a date (days), who set it and when.
``pal_session_summary`` gains ``pma_days`` (the PMA on the session day, if recorded) and
``age_override_reason`` (a clinician's reason for PAL below 34 weeks PMA). Existing PAL rows keep NULL in
both: their age was not recorded.
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key
from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0021_clinical_exact"
down_revision = "0007_safety"


def upgrade() -> None:
    op.create_table(
        "infant_age",
        sa.Column("id", sa.Integer(), primary_key=True),
        foreign_key("infant_age", "client_id", "client"),
        sa.Column("gestational_age_at_birth_days", sa.Integer(), nullable=False),
        sa.Column("postmenstrual_age_days", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        foreign_key("infant_age", "set_by_id", "therapist", ondelete="SET NULL", nullable=True),
        _at("set_at"),
        sa.UniqueConstraint("client_id", name=op.f("uq_infant_age_client_id")),
        sa.CheckConstraint("gestational_age_at_birth_days BETWEEN 154 AND 315",
                           name=op.f("ck_infant_age_gestational_age_at_birth_days")),
        sa.CheckConstraint("postmenstrual_age_days >= gestational_age_at_birth_days AND postmenstrual_age_days <= 420",
                           name=op.f("ck_infant_age_postmenstrual_age_days")),
    )
    op.add_column("pal_session_summary", sa.Column("pma_days", sa.Integer(), nullable=True))
    op.add_column("pal_session_summary", sa.Column("age_override_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pal_session_summary") as batch:
        batch.drop_column("age_override_reason")
        batch.drop_column("pma_days")
    op.drop_table("infant_age")
