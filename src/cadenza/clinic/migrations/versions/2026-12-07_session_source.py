"""Who made a session's record: ``therapy_session.source`` ("therapist" or "client_recorded") and
``task_completion.session_id``, the home-task completion's link to the client-recorded session it made.

Until now the figures of a measured home task (tapping, singing) were filed as an unsigned session with the
setting "home" under the therapist who set the task: it sat in that therapist's "notes to sign" as if they
had held a session, and could not be told from a home *visit*. Every existing session becomes "therapist"
(the server default), except the ones a home-task completion made, found by how they were written:

- the completion kept the session's id in its scores (``task_completion.scores["session_id"]``), for a
  session of the same client (whatever its setting has been amended to since); that completion is linked
  through the new column;
- or the session's "create" audit event has the person's device as its actor (``person:...``): no therapist
  account can write that. Its completion is the one its objective names ("(completion N)"), when that
  completion is the client's and not linked yet.

Such a session is marked even when a therapist signed it under the old behaviour: the signature covers the
note's content, not the source, so it still verifies.

SQLite adds ``source`` with plain ALTER TABLE (its CHECK inline), so therapy_session, which many tables refer
to, is never rebuilt; task_completion, which nothing refers to, is rebuilt (batch mode) to add and to drop
its named foreign key.
"""

import json
import re

import sqlalchemy as sa
from alembic import op

from cadenza.clinic.migrations.columns import foreign_key

revision = "0042_session_source"
down_revision = "0040_home_task_kinds"  # the home programme's head; therapy_session is the core's (0001_core)

SOURCES = ("therapist", "client_recorded")  # frozen copy as of this revision (models.SESSION_SOURCES)
CHECK = "source IN ({})".format(", ".join(f"'{s}'" for s in SOURCES))
CHECK_NAME = "ck_therapy_session_source_known"
INDEX = "ix_task_completion_session_id"
_COMPLETION_IN_OBJECTIVE = re.compile(r"\(completion (\d+)\)")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(f"ALTER TABLE therapy_session ADD COLUMN source VARCHAR(16) DEFAULT 'therapist' NOT NULL "
                   f"CONSTRAINT {CHECK_NAME} CHECK ({CHECK})")
        # A named foreign key needs the table rebuilt; nothing refers to task_completion, so nothing cascades.
        with op.batch_alter_table("task_completion") as batch:
            batch.add_column(foreign_key("task_completion", "session_id", "therapy_session", ondelete="SET NULL",
                                         nullable=True))
    else:
        op.add_column("therapy_session", sa.Column("source", sa.String(16), nullable=False,
                                                   server_default="therapist"))
        op.create_check_constraint(op.f(CHECK_NAME), "therapy_session", CHECK)
        op.add_column("task_completion", foreign_key("task_completion", "session_id", "therapy_session",
                                                     ondelete="SET NULL", nullable=True))
    op.create_index(op.f(INDEX), "task_completion", ["session_id"], unique=True)
    if op.get_context().as_sql:
        return  # an offline (--sql) upgrade cannot read rows: existing home sessions stay "therapist"
    _mark_home_task_sessions(bind)


def _scores(value) -> dict:
    if isinstance(value, str):  # SQLite returns JSON as text through a bare connection
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _mark_home_task_sessions(bind) -> None:
    completions = {row.id: row for row in bind.execute(sa.text(
        "SELECT id, client_id, scores FROM task_completion")).all()}
    named = {c.id: _scores(c.scores).get("session_id") for c in completions.values()}
    by_person = {row.entity_id for row in bind.execute(sa.text(
        "SELECT entity_id FROM audit_event WHERE entity = 'therapy_session' AND action = 'create' "
        "AND actor_username LIKE 'person:%'")).all() if isinstance(row.entity_id, int)}
    wanted = sorted({sid for sid in named.values() if isinstance(sid, int) and not isinstance(sid, bool)} | by_person)
    sessions = {}
    for start in range(0, len(wanted), 500):
        sessions.update({row.id: row for row in bind.execute(sa.text(
            "SELECT id, client_id, soap_objective FROM therapy_session WHERE id IN :ids")
            .bindparams(sa.bindparam("ids", expanding=True)), {"ids": wanted[start:start + 500]}).all()})
    links: dict[int, int] = {}  # completion id -> session id
    for completion_id, session_id in named.items():
        session = sessions.get(session_id) if isinstance(session_id, int) else None
        if session is not None and session.client_id == completions[completion_id].client_id:
            links[completion_id] = session.id
    by_person &= set(sessions)
    for session_id in sorted(by_person - set(links.values())):
        session = sessions[session_id]
        objective = _COMPLETION_IN_OBJECTIVE.search(session.soap_objective or "")
        completion = completions.get(int(objective.group(1))) if objective else None
        if completion is not None and completion.client_id == session.client_id and completion.id not in links:
            links[completion.id] = session_id
    marked = sorted(set(links.values()) | by_person)
    for start in range(0, len(marked), 500):
        bind.execute(sa.text("UPDATE therapy_session SET source = 'client_recorded' WHERE id IN :ids")
                     .bindparams(sa.bindparam("ids", expanding=True)), {"ids": marked[start:start + 500]})
    for completion_id, session_id in sorted(links.items()):
        bind.execute(sa.text("UPDATE task_completion SET session_id = :s WHERE id = :c"),
                     {"s": session_id, "c": completion_id})


def downgrade() -> None:
    # The completions keep the session's id in their scores as before, so nothing is lost on the way down.
    op.drop_index(op.f(INDEX), table_name="task_completion")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("task_completion") as batch:  # SQLite cannot drop a column with a foreign key
            batch.drop_column("session_id")
        op.execute("ALTER TABLE therapy_session DROP COLUMN source")
    else:
        op.drop_column("task_completion", "session_id")
        op.drop_constraint(op.f(CHECK_NAME), "therapy_session", type_="check")
        op.drop_column("therapy_session", "source")
