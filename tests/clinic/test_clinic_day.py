"""The clinic day (issue 16) in the record: several interventions per session, planned sessions, the
client list's search, filters and keyset pages, and note templates (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.clinic import caseload, export, fhir, note_templates, schedule, service
from cadenza.clinic.db import alembic_config, migrate
from cadenza.errors import ConflictError, NotFoundError, ParameterError

DAY = dt.date(2026, 11, 20)
TODAY = dt.date(2026, 12, 7)


def _session(db, actor, client_id, **kwargs):
    args = {"session_date": DAY, "minutes": 45, "intervention_code": "songwriting"} | kwargs
    return service.record_session(db, actor=actor, client_id=client_id, **args)


# ---- several interventions per session --------------------------------------------------------------

def test_a_session_records_several_interventions_each_with_its_minutes(db_session, therapist, client_record):
    row = _session(db_session, therapist, client_record.id, intervention_code=None,
                   interventions=[("songwriting", 20), ("receptive_listening", 15)])
    db_session.expire_all()
    row = service.get_session(db_session, actor=therapist, session_id=row.id)
    assert row.intervention_minutes == [("songwriting", 20), ("receptive_listening", 15)]
    assert row.intervention_code == "songwriting"  # the first one, for every older reader
    single = _session(db_session, therapist, client_record.id, minutes=30, intervention_code="singing")
    assert single.intervention_minutes == [("singing", 30)]


@pytest.mark.parametrize(("interventions", "match"), [
    ([("songwriting", 40), ("receptive_listening", 15)], "add up to 55"),
    ([("songwriting", 20), ("songwriting", 5)], "listed twice"),
    ([("juggling", 10)], r"interventions\[0\].*juggling"),
    ([("songwriting", 0)], r"minutes of 'songwriting'"),
    ([], "1..12 entries"),
    ("songwriting", "list of"),
])
def test_bad_interventions_are_refused_and_nothing_is_stored(db_session, therapist, client_record, interventions,
                                                              match):
    with pytest.raises(ParameterError, match=match):
        _session(db_session, therapist, client_record.id, intervention_code=None, interventions=interventions)
    assert service.list_sessions(db_session, actor=therapist, client_id=client_record.id) == []


def test_amending_interventions_is_kept_in_the_history_and_a_signed_session_is_frozen(db_session, therapist,
                                                                                     client_record):
    from cadenza.clinic import corrections

    row = _session(db_session, therapist, client_record.id)
    row = corrections.amend_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                                    interventions=[("songwriting", 25), ("singing", 20)], reason="two parts")
    assert row.intervention_minutes == [("songwriting", 25), ("singing", 20)]
    change = corrections.history(db_session, client=client_record, entity="therapy_session", entity_id=row.id)[-1]
    assert change.changes["interventions"] == [[["songwriting", 45]], [["songwriting", 25], ["singing", 20]]]
    # back to one: the extra row goes, the first follows the code
    row = service.update_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                                 interventions=[("singing", 45)])
    assert row.intervention_minutes == [("singing", 45)] and row.intervention_code == "singing"
    signed = service.sign_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version)
    with pytest.raises(ConflictError, match="signed"):
        service.update_session(db_session, actor=therapist, session_id=signed.id, expected_version=signed.version,
                               interventions=[("singing", 40)])
    db_session.rollback()


def test_the_signature_covers_several_interventions_and_a_one_intervention_hash_is_unchanged(
        db_session, therapist, client_record):
    one = _session(db_session, therapist, client_record.id)
    assert "interventions" not in service.note_content(one, signed_by_username="x")  # as before 0023
    two = _session(db_session, therapist, client_record.id, intervention_code=None,
                   interventions=[("songwriting", 20), ("singing", 20)])
    assert service.note_content(two, signed_by_username="x")["interventions"][1] == {
        "intervention_code": "singing", "minutes": 20}
    signed = service.sign_session(db_session, actor=therapist, session_id=two.id, expected_version=two.version)
    assert service.check_note(signed).ok
    db_session.execute(sa.text("UPDATE session_intervention SET minutes = 5 WHERE session_id = :s AND position = 1"),
                       {"s": two.id})
    assert not service.verify_session_note(db_session, actor=therapist, session_id=two.id).ok


def test_fhir_has_a_procedure_per_intervention_and_the_csv_a_row_per_intervention(db_session, therapist,
                                                                                client_record):
    two = _session(db_session, therapist, client_record.id, intervention_code=None,
                   interventions=[("songwriting", 20), ("receptive_listening", 15)], plan="next: verse 2")
    one = _session(db_session, therapist, client_record.id, session_date=DAY + dt.timedelta(days=7), minutes=30)
    bundle = json.loads(fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    procedures = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Procedure"}
    assert set(procedures) == {f"procedure-{two.id}", f"procedure-{two.id}-1", f"procedure-{one.id}"}
    second = procedures[f"procedure-{two.id}-1"]
    assert second["code"]["coding"][0]["code"] == "receptive_listening"
    assert second["partOf"] == [{"reference": f"Procedure/procedure-{two.id}"}]
    assert second["encounter"] == {"reference": f"Encounter/encounter-{two.id}"} and "note" not in second
    minutes = {pid: p["extension"][0]["valueDuration"]["value"] for pid, p in procedures.items()}
    assert minutes == {f"procedure-{two.id}": 20, f"procedure-{two.id}-1": 15, f"procedure-{one.id}": 30}
    assert procedures[f"procedure-{two.id}"]["note"] == [{"text": "P: next: verse 2"}]

    rows = list(csv.DictReader(io.StringIO(export.export_sessions_csv(db_session, actor=therapist,
                                                                      client_id=client_record.id))))
    assert [(r["session_id"], r["position"], r["intervention_code"], r["intervention_minutes"]) for r in rows] == [
        (str(two.id), "0", "songwriting", "20"), (str(two.id), "1", "receptive_listening", "15"),
        (str(one.id), "0", "songwriting", "30")]
    assert tuple(rows[0]) == export.SESSION_CSV_COLUMNS and rows[0]["signed"] == "no"


def test_migration_0023_reads_old_sessions_as_one_intervention_for_the_whole_session(db_engine):
    from alembic import command

    with db_engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0023_clinic_day@-1")  # only this branch
        assert "session_intervention" not in sa.inspect(connection).get_table_names()
        meta = sa.MetaData()
        therapist_t, client_t, session_t = (sa.Table(n, meta, autoload_with=connection)
                                            for n in ("therapist", "client", "therapy_session"))
        at = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
        tid = connection.execute(therapist_t.insert().values(
            username="legacy23", password_hash="x", role="therapist", active=True, created_at=at)).inserted_primary_key[0]
        cid = connection.execute(client_t.insert().values(therapist_id=tid, code="L23", conditions=[], safety_flags=[],
                                                          created_at=at, updated_at=at)).inserted_primary_key[0]
        sid = connection.execute(session_t.insert().values(
            client_id=cid, therapist_id=tid, session_date=DAY, minutes=35, intervention_code="singing", setting="",
            soap_subjective="", soap_objective="", soap_assessment="", soap_plan="", created_at=at)).inserted_primary_key[0]
    migrate(db_engine)
    with db_engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT position, intervention_code, minutes FROM session_intervention "
                                          "WHERE session_id = :s"), {"s": sid}).all()
        assert [tuple(r) for r in rows] == [(0, "singing", 35)]
        for table, key in (("session_intervention", "session_id"), ("therapy_session", "id")):
            connection.execute(sa.text(f"DELETE FROM {table} WHERE {key} = :s"), {"s": sid})
        connection.execute(sa.text("DELETE FROM client WHERE id = :c"), {"c": cid})
        connection.execute(sa.text("DELETE FROM therapist WHERE id = :t"), {"t": tid})


def test_the_new_tables_match_their_migration(db_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cadenza.clinic.tables import record_metadata

    ours = {"session_intervention", "planned_session", "note_template"}
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), record_metadata())
    assert [d for d in diffs if ours & set(str(d).replace("'", " ").replace(",", " ").split())] == []


# ---- planned sessions ---------------------------------------------------------------------------

def test_a_planned_session_is_upcoming_until_it_is_documented_or_cancelled(db_session, therapist, client_record,
                                                                          make_therapist):
    plan = schedule.plan_session(db_session, actor=therapist, client_id=client_record.id, planned_date=TODAY,
                                 minutes=40, start_time=dt.time(9, 30), purpose="RAS", today=TODAY)
    later = schedule.plan_session(db_session, actor=therapist, client_id=client_record.id,
                                  planned_date=TODAY + dt.timedelta(days=3), minutes=30, today=TODAY)
    assert [r.planned.id for r in schedule.upcoming(db_session, actor=therapist, today=TODAY)] == [plan.id, later.id]
    assert plan.status == "planned"
    row = _session(db_session, therapist, client_record.id, session_date=TODAY)
    schedule.mark_documented(db_session, actor=therapist, client=client_record, planned_id=plan.id, session=row)
    assert plan.status == "documented"
    with pytest.raises(ConflictError, match="already documented"):
        schedule.cancel_planned(db_session, actor=therapist, client_id=client_record.id, planned_id=plan.id)
    schedule.cancel_planned(db_session, actor=therapist, client_id=client_record.id, planned_id=later.id)
    assert schedule.upcoming(db_session, actor=therapist, today=TODAY) == []
    other = make_therapist("other")
    assert schedule.upcoming(db_session, actor=other, today=TODAY) == []
    with pytest.raises(NotFoundError):
        schedule.plan_session(db_session, actor=other, client_id=client_record.id, planned_date=TODAY, minutes=30,
                              today=TODAY)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"planned_date": TODAY - dt.timedelta(days=3)}, "in the past"),
    ({"planned_date": TODAY + dt.timedelta(days=400)}, "more than 366 days"),
    ({"planned_date": "2026-12-08"}, "planned_date must be a date"),
    ({"minutes": 0}, "minutes must be"),
    ({"purpose": "x" * 201}, "purpose"),
    ({"start_time": "9:30"}, "start_time"),
])
def test_bad_plans_are_refused_naming_the_field(db_session, therapist, client_record, kwargs, match):
    args = {"planned_date": TODAY, "minutes": 30} | kwargs
    with pytest.raises(ParameterError, match=match):
        schedule.plan_session(db_session, actor=therapist, client_id=client_record.id, today=TODAY, **args)


def test_a_future_session_is_still_refused_and_points_to_planning(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="planned session"):
        _session(db_session, therapist, client_record.id, session_date=dt.date.today() + dt.timedelta(days=30))


# ---- the client list ------------------------------------------------------------------------------

@pytest.fixture
def caseload_world(db_session, make_therapist):
    ann, bob, admin = make_therapist("ann"), make_therapist("bob"), make_therapist("boss", role="admin")
    clients = {}
    for i in range(7):
        clients[f"A{i:02d}"] = service.create_client(db_session, actor=ann, code=f"A{i:02d}",
                                                     conditions=["stroke"] if i % 2 else ["anxiety"])
    clients["zeta_x"] = service.create_client(db_session, actor=ann, code="zeta_x")
    clients["B01"] = service.create_client(db_session, actor=bob, code="B01", conditions=["stroke"])
    _session(db_session, ann, clients["A03"].id)
    signed = _session(db_session, ann, clients["A04"].id)
    service.sign_session(db_session, actor=ann, session_id=signed.id, expected_version=signed.version)
    return ann, bob, admin, clients


def _codes(page):
    return [r.client.code for r in page.rows]


def test_keyset_pages_walk_the_whole_list_once(db_session, caseload_world):
    ann, *_ = caseload_world
    seen, after = [], None
    while True:
        page = caseload.find_clients(db_session, actor=ann, limit=3, after=after)
        seen += _codes(page)
        after = page.next_cursor
        if after is None:
            break
        # a client added behind the cursor neither repeats nor shifts the rest (no OFFSET)
        if len(seen) == 3:
            service.create_client(db_session, actor=ann, code="A00a")
    assert seen == ["A00", "A01", "A02", "A03", "A04", "A05", "A06", "zeta_x"]


def test_search_and_filters(db_session, caseload_world):
    ann, bob, admin, clients = caseload_world
    assert _codes(caseload.find_clients(db_session, actor=ann, query="ZETA")) == ["zeta_x"]
    assert _codes(caseload.find_clients(db_session, actor=ann, query="_")) == ["zeta_x"]  # no LIKE wildcard
    assert _codes(caseload.find_clients(db_session, actor=ann, query="%")) == []
    assert _codes(caseload.find_clients(db_session, actor=ann, condition="strok", limit=2)) == ["A01", "A03"]
    page = caseload.find_clients(db_session, actor=ann, unsigned_only=True)
    assert [(r.client.code, r.unsigned_notes) for r in page.rows] == [("A03", 1)]  # A04's note is signed
    assert _codes(caseload.find_clients(db_session, actor=bob)) == ["B01"]
    with pytest.raises(ParameterError, match="therapist_id"):
        caseload.find_clients(db_session, actor=bob, therapist_id=ann.id)
    # an administrator sees caseloads (codes, holders, counts), never filters on another's conditions
    everyone = caseload.find_clients(db_session, actor=admin, therapist_id=None, limit=100)
    assert {r.therapist_username for r in everyone.rows} == {"ann", "bob"} and len(everyone.rows) == 9
    assert _codes(caseload.find_clients(db_session, actor=admin, therapist_id=bob.id)) == ["B01"]
    with pytest.raises(ParameterError, match="condition"):
        caseload.find_clients(db_session, actor=admin, therapist_id=bob.id, condition="stroke")
    # the status of care (active / on hold / discharged, set by the care tool's discharge or by hand)
    service.set_client_status(db_session, actor=ann, client_id=clients["A01"].id, status="discharged")
    service.set_client_status(db_session, actor=ann, client_id=clients["A03"].id, status="on_hold")
    assert _codes(caseload.find_clients(db_session, actor=ann, status="discharged")) == ["A01"]
    assert _codes(caseload.find_clients(db_session, actor=ann, status="on_hold")) == ["A03"]
    assert "A01" not in _codes(caseload.find_clients(db_session, actor=ann, status="active", limit=100))
    with pytest.raises(ParameterError, match="status"):
        caseload.find_clients(db_session, actor=ann, status="gone")


@pytest.mark.parametrize("after", ["C001", "C001~0", "~7", "C 1~7", "C001~99999999999", 7])
def test_a_bad_cursor_is_refused_naming_after(db_session, caseload_world, after):
    ann, *_ = caseload_world
    with pytest.raises(ParameterError, match="after"):
        caseload.find_clients(db_session, actor=ann, after=after)


# ---- note templates -------------------------------------------------------------------------------

_typed = st.one_of(st.just(""), st.just("   "), st.text(min_size=1, max_size=30))


@settings(max_examples=40, deadline=None)
@given(values=st.fixed_dictionaries({name: _typed for name in note_templates.NOTE_FIELDS}),
       template=st.sampled_from(note_templates.BUILTIN_TEMPLATES))
def test_a_template_never_replaces_typed_text(values, template):
    filled, kept = note_templates.apply_template(values, template)
    for name in note_templates.NOTE_FIELDS:
        if values[name].strip():
            assert filled[name] == values[name] and name in kept
        else:
            assert filled[name] == getattr(template, name) and name not in kept


def test_own_templates_are_private_and_checked(db_session, make_therapist):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    mine = note_templates.save_template(db_session, actor=ann, name="Group drumming",
                                        fields={"objective": "Drum circle: ", "plan": "Next: "})
    keys = [t.key for t in note_templates.available_templates(db_session, actor=ann)]
    assert keys[:3] == ["builtin:soap", "builtin:dap", "builtin:birp"] and keys[-1] == f"mine:{mine.id}"
    assert note_templates.find_template(db_session, actor=ann, key=f"mine:{mine.id}").objective == "Drum circle: "
    with pytest.raises(NotFoundError):
        note_templates.find_template(db_session, actor=bob, key=f"mine:{mine.id}")
    with pytest.raises(NotFoundError):
        note_templates.delete_template(db_session, actor=bob, template_id=mine.id)
    with pytest.raises(ConflictError, match="name"):
        note_templates.save_template(db_session, actor=ann, name="group DRUMMING", fields={"plan": "x"})
    with pytest.raises(ParameterError, match="fields"):
        note_templates.save_template(db_session, actor=ann, name="Empty", fields={"plan": "  "})
    with pytest.raises(ParameterError, match="name"):
        note_templates.save_template(db_session, actor=ann, name="  ", fields={"plan": "x"})
    with pytest.raises(NotFoundError):
        note_templates.find_template(db_session, actor=ann, key="mine:99999999999")
    note_templates.delete_template(db_session, actor=ann, template_id=mine.id)
    assert note_templates.my_templates(db_session, actor=ann) == []
