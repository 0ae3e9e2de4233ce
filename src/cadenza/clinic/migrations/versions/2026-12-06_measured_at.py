"""A measurement is dated by its session unless its own time was recorded (clinical review W1).

``measurement.measured_at`` becomes nullable: NULL means "measured in the session" and every reader
(FHIR ``effectiveDateTime``, CSV, charts) dates it by ``therapy_session.session_date``. Until now the
service filled it with the clock at data entry when no time was given, so exports dated measurements
by the moment they were typed.

Existing rows: the service wrote that entry time in the same unit of work that inserted the row, so a
``measured_at`` within 2 s of ``created_at`` was not given by anyone; it is cleared, for measurements
of unsigned sessions only. A signed note's hash covers its measurements' ``measured_at``, so those stay
as signed (the record says what was signed; docs/clinic.md names the limit).

SQLite cannot drop NOT NULL in place, and rebuilding ``measurement`` (batch mode) would drop it with
foreign keys on, which sets the pre-procedure links that refer to it to NULL. So on SQLite the column
is replaced with plain ALTER TABLE statements: add a nullable column, copy, drop the old one, rename.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0016_measured_at"
# Also after 0011_session_notes, whose therapy_session.signed_at it reads: the two branches merge here.
down_revision = ("0011_session_notes", "0015_timed_distance")

ENTRY_TIME_TOLERANCE = dt.timedelta(seconds=2)


def _aware(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):  # SQLite returns text through a bare connection
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE measurement ADD COLUMN measured_at_new DATETIME")
        op.execute("UPDATE measurement SET measured_at_new = measured_at")
        op.execute("ALTER TABLE measurement DROP COLUMN measured_at")
        op.execute("ALTER TABLE measurement RENAME COLUMN measured_at_new TO measured_at")
    else:
        op.alter_column("measurement", "measured_at", existing_type=sa.DateTime(timezone=True), nullable=True)
    if op.get_context().as_sql:
        return  # an offline (--sql) upgrade cannot read rows: the entry times already stored stay
    rows = bind.execute(sa.text(
        "SELECT m.id, m.measured_at, m.created_at FROM measurement m "
        "JOIN therapy_session s ON s.id = m.session_id "
        "WHERE s.signed_at IS NULL AND m.measured_at IS NOT NULL"
    )).all()
    typed = [row.id for row in rows
             if abs(_aware(row.measured_at) - _aware(row.created_at)) <= ENTRY_TIME_TOLERANCE]
    for start in range(0, len(typed), 500):
        bind.execute(sa.text("UPDATE measurement SET measured_at = NULL WHERE id IN :ids")
                     .bindparams(sa.bindparam("ids", expanding=True)), {"ids": typed[start:start + 500]})


def downgrade() -> None:
    op.execute("UPDATE measurement SET measured_at = created_at WHERE measured_at IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE measurement ADD COLUMN measured_at_old DATETIME NOT NULL DEFAULT '1970-01-01 00:00:00'")
        op.execute("UPDATE measurement SET measured_at_old = measured_at")
        op.execute("ALTER TABLE measurement DROP COLUMN measured_at")
        op.execute("ALTER TABLE measurement RENAME COLUMN measured_at_old TO measured_at")
    else:
        op.alter_column("measurement", "measured_at", existing_type=sa.DateTime(timezone=True), nullable=False)
