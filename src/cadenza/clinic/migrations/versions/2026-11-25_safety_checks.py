"""Sound-dose ledger rules in the database: duration at most one week, level in the plausible dB(A) range,
a known source and a label of at most 200 characters on sound_dose_entry (see cadenza.clinic.listening).

The weekly dose reads only entries that started up to one week before its window, which is sound only if
no stored entry is longer than that; until now only the Python writer held rows to it.

An existing row that breaks a rule stops the upgrade before anything changes, with a message naming the
table, the rule and the offending rows: the ledger is clinical data, so the migration neither drops nor
clamps it. Correct or split those rows, then upgrade again.
"""

import sqlalchemy as sa
from alembic import context, op

from cadenza.errors import ConflictError

revision = "0008_safety_checks"
down_revision = "0007_safety"

TABLE = "sound_dose_entry"
_SOURCES = ("manual", "ras_cue", "playlist", "mit", "nicu_lullaby", "nicu_womb", "nicu_pal", "session")
# Frozen copies of MAX_ENTRY_DURATION_S, PLAUSIBLE_LEVEL_DBA and DOSE_SOURCES as of this revision: a later
# change to those constants needs its own migration (tests/clinic/test_safety_constraints.py compares).
RULES = {
    "ck_sound_dose_entry_duration_s_max": "duration_s <= 604800.0",
    "ck_sound_dose_entry_level_dba": "level_dba BETWEEN -20.0 AND 150.0",
    "ck_sound_dose_entry_source": "source IN ({})".format(", ".join(f"'{s}'" for s in _SOURCES)),
    "ck_sound_dose_entry_label_length": "length(label) <= 200",
}
SHOWN_IDS = 10


def offending_rows(connection: sa.Connection) -> dict[str, list[int]]:
    """Ids of the rows that break each rule (rules nobody breaks are left out)."""
    found = {}
    for name, rule in RULES.items():
        # Rows where the rule is false; NOT NULL columns leave no unknown (NULL) outcome to miss.
        # TABLE and rule are this file's frozen constants, never request data
        ids = connection.scalars(sa.text(f"SELECT id FROM {TABLE} WHERE NOT ({rule}) ORDER BY id")).all()  # nosec B608
        if ids:
            found[name] = list(ids)
    return found


def _refusal(found: dict[str, list[int]]) -> str:
    lines = [f"cannot add the sound-dose ledger rules to table {TABLE!r}: existing rows break them, and the "
             "migration changes no clinical data itself."]
    for name, ids in found.items():
        shown = ", ".join(map(str, ids[:SHOWN_IDS])) + (", ..." if len(ids) > SHOWN_IDS else "")
        lines.append(f"  {name} ({RULES[name]}): {len(ids)} offending row(s), id {shown}")
    lines.append("Correct those rows (split listening longer than one week into several entries; levels are "
                 "dB(A) at the ear), then upgrade again (`cadenza migrate` or `alembic upgrade heads`). "
                 "Nothing was changed.")
    return "\n".join(lines)


def upgrade() -> None:
    # Offline (--sql) there is no data to read; the database then refuses ADD CONSTRAINT itself, by name.
    found = {} if context.is_offline_mode() else offending_rows(op.get_bind())
    if found:
        raise ConflictError(_refusal(found))
    # SQLite cannot add a constraint to a table; batch mode rebuilds it (keeping the reflected named CHECK,
    # indexes and foreign key), elsewhere it is a plain ALTER TABLE ... ADD CONSTRAINT.
    with op.batch_alter_table(TABLE) as batch:
        for name, rule in RULES.items():
            batch.create_check_constraint(op.f(name), rule)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for name in reversed(RULES):
            batch.drop_constraint(op.f(name), type_="check")
