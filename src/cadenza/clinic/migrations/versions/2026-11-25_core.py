"""Core clinical record: therapist, client, assessment, goal, therapy_session, measurement, audit_event.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import timestamp as _at

revision = "0001_core"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "therapist",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("role IN ('therapist', 'admin')", name=op.f("ck_therapist_role")),
        sa.UniqueConstraint("username", name=op.f("uq_therapist_username")),
    )
    op.create_table(
        "client",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("therapist_id", sa.Integer(), sa.ForeignKey("therapist.id",
                  name=op.f("fk_client_therapist_id_therapist")), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("safety_flags", sa.JSON(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.UniqueConstraint("therapist_id", "code", name=op.f("uq_client_therapist_id_code")),
    )
    op.create_index(op.f("ix_client_therapist_id"), "client", ["therapist_id"])
    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id", ondelete="CASCADE",
                  name=op.f("fk_assessment_client_id_client")), nullable=False),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("assessed_date", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("domain IN ('motor', 'communication', 'cognition', 'emotional', 'social')",
                           name=op.f("ck_assessment_domain")),
    )
    op.create_index(op.f("ix_assessment_client_id"), "assessment", ["client_id"])
    op.create_table(
        "goal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id", ondelete="CASCADE",
                  name=op.f("fk_goal_client_id_client")), nullable=False),
        sa.Column("instrument_code", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        _at("created_at"),
        sa.CheckConstraint("direction IN ('increase', 'decrease')", name=op.f("ck_goal_direction")),
    )
    op.create_index(op.f("ix_goal_client_id"), "goal", ["client_id"])
    op.create_table(
        "therapy_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id", ondelete="CASCADE",
                  name=op.f("fk_therapy_session_client_id_client")), nullable=False),
        sa.Column("therapist_id", sa.Integer(), sa.ForeignKey("therapist.id",
                  name=op.f("fk_therapy_session_therapist_id_therapist")), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("intervention_code", sa.String(64), nullable=False),
        sa.Column("setting", sa.String(64), nullable=False),
        sa.Column("soap_subjective", sa.Text(), nullable=False),
        sa.Column("soap_objective", sa.Text(), nullable=False),
        sa.Column("soap_assessment", sa.Text(), nullable=False),
        sa.Column("soap_plan", sa.Text(), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_therapy_session_minutes_positive")),
    )
    op.create_index(op.f("ix_therapy_session_client_id"), "therapy_session", ["client_id"])
    op.create_table(
        "measurement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("therapy_session.id", ondelete="CASCADE",
                  name=op.f("fk_measurement_session_id_therapy_session")), nullable=False),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id", ondelete="CASCADE",
                  name=op.f("fk_measurement_client_id_client")), nullable=False),
        sa.Column("goal_id", sa.Integer(), sa.ForeignKey("goal.id", ondelete="SET NULL",
                  name=op.f("fk_measurement_goal_id_goal")), nullable=True),
        sa.Column("instrument_code", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("item_responses", sa.JSON(), nullable=True),
        sa.Column("severity_band", sa.String(32), nullable=True),
        sa.Column("safety_followup", sa.Boolean(), nullable=False),
        _at("measured_at"),
        _at("created_at"),
    )
    op.create_index(op.f("ix_measurement_session_id"), "measurement", ["session_id"])
    op.create_index(op.f("ix_measurement_client_id"), "measurement", ["client_id"])
    op.create_index(op.f("ix_measurement_goal_id"), "measurement", ["goal_id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        _at("at"),
    )
    op.create_index(op.f("ix_audit_event_client_id"), "audit_event", ["client_id"])
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"])


def downgrade() -> None:
    for table in ("audit_event", "measurement", "therapy_session", "goal", "assessment", "client", "therapist"):
        op.drop_table(table)
