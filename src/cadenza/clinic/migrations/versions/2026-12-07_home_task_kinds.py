"""Home tasks that other tools provide: home_task.kind also accepts 'tapping' (the timing tool) and
'singing' (the singing tool); see cadenza.plugins.TaskKind.

SQLite cannot change a CHECK constraint in place: batch mode rebuilds the table (new table, copy, drop the
old one, rename). With foreign keys on, that DROP first deletes every row, and ON DELETE CASCADE would take
each task's completions with it. :func:`cadenza.clinic.db.migrate` switches SQLite's foreign keys off
outside the migration's transaction (and checks them before it commits); an upgrade run on a connection
whose foreign keys are still on (inside an already open transaction, where SQLite cannot switch them off) is
refused here before anything changes whenever a row refers to a task, so no completion is ever lost.
PostgreSQL drops and adds the constraint in place.
"""

import sqlalchemy as sa
from alembic import context, op

from cadenza.errors import ConflictError

revision = "0040_home_task_kinds"
down_revision = "0020_home"

TABLE = "home_task"
CHECK = "task_known"
SHAPE = "days_per_week BETWEEN 1 AND 7 AND minutes BETWEEN 1 AND 120"
OLD_KINDS = ("listening", "relaxation", "ras_walk", "mit_practice")
NEW_KINDS = (*OLD_KINDS, "tapping", "singing")  # frozen copy as of this revision (records.STORED_KINDS)


def _rule(kinds: tuple[str, ...]) -> str:
    return "kind IN ({}) AND {}".format(", ".join(f"'{k}'" for k in kinds), SHAPE)


def _refuse_cascade(connection: sa.Connection) -> None:
    """On SQLite with foreign keys on, refuse when rebuilding home_task would delete referring rows."""
    if context.is_offline_mode() or connection.dialect.name != "sqlite":
        return
    if not connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        return
    referring = []
    for table in sa.inspect(connection).get_table_names():
        for fk in sa.inspect(connection).get_foreign_keys(table):
            if fk["referred_table"] == TABLE:
                column = fk["constrained_columns"][0]
                # table and column come from the database's own schema, never from request data
                if connection.exec_driver_sql(f'SELECT 1 FROM "{table}" WHERE "{column}" IS NOT NULL LIMIT 1').first():  # nosec B608
                    referring.append(table)
    if referring:
        raise ConflictError(
            f"migration {revision}: SQLite must rebuild {TABLE}, and with foreign keys on that would delete the "
            f"rows of {sorted(set(referring))} that refer to it; run the upgrade with cadenza.clinic.db.migrate "
            "(`cadenza migrate`), which switches foreign keys off outside the transaction")


def _replace_check(kinds: tuple[str, ...]) -> None:
    _refuse_cascade(op.get_bind())
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_constraint(op.f(f"ck_{TABLE}_{CHECK}"), type_="check")
        batch.create_check_constraint(op.f(f"ck_{TABLE}_{CHECK}"), _rule(kinds))


def upgrade() -> None:
    _replace_check(NEW_KINDS)


def downgrade() -> None:
    new = ", ".join(f"'{k}'" for k in NEW_KINDS if k not in OLD_KINDS)
    if not context.is_offline_mode() and op.get_bind().exec_driver_sql(
            f"SELECT 1 FROM {TABLE} WHERE kind IN ({new}) LIMIT 1").first():  # nosec B608 - frozen constants
        raise ConflictError(f"migration {revision}: home tasks of the kinds {new} exist; end and delete them "
                            "before downgrading")
    _replace_check(OLD_KINDS)
