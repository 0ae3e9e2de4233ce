"""Session notes: optimistic locking (reliability target T31) and signed, immutable notes with addenda (T16)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from cadenza.clinic import fhir, service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.models import Measurement, SessionAddendum, Therapist, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ConflictError, NotFoundError, ParameterError

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def note(db_session, therapist, client_record):
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=45,
        intervention_code="receptive_listening", subjective="slept badly", plan="two songs",
        measurements=[MeasurementInput("vas_anxiety", value=62.5),
                      MeasurementInput("phq9", items=[0, 1, 0, 1, 0, 0, 0, 0, 1])])
    db_session.commit()
    return row


def _stored(db_session, session_id: int) -> tuple:
    """The note as the database holds it, bypassing the ORM's identity map."""
    return tuple(db_session.execute(text(
        "SELECT version, minutes, soap_subjective, soap_plan, signed_at IS NOT NULL, content_sha256 "
        "FROM therapy_session WHERE id = :id"), {"id": session_id}).one())


def _measurement_count(db_session, session_id: int) -> int:
    return db_session.scalar(select(func.count()).select_from(Measurement).where(Measurement.session_id == session_id))


# --- optimistic locking ------------------------------------------------------------------------------


def test_new_sessions_start_at_version_1_and_every_update_bumps_it(db_session, therapist, note):
    assert note.version == 1 and not note.is_signed
    service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=1, plan="three songs")
    assert note.version == 2
    service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=2, minutes=50)
    assert _stored(db_session, note.id)[:4] == (3, 50, "slept badly", "three songs")


def test_two_edits_from_the_same_version_one_wins_the_other_conflicts(db_session, therapist, note):
    service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=1, plan="A's plan")
    with pytest.raises(ConflictError, match=r"version 1, the stored note is version 2"):
        service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=1,
                               plan="B's plan", subjective="B's view")
    assert _stored(db_session, note.id)[:4] == (2, 45, "slept badly", "A's plan")


def test_added_measurement_makes_an_older_version_stale(db_session, therapist, note):
    service.add_measurement(db_session, actor=therapist, session_id=note.id,
                            measurement=MeasurementInput("nrs_pain", value=3))
    assert note.version == 2
    with pytest.raises(ConflictError):
        service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    assert not note.is_signed


@pytest.mark.parametrize("version", [0, -1, "1", None, True, 1.0])
def test_expected_version_must_be_a_positive_integer(db_session, therapist, note, version):
    with pytest.raises(ParameterError, match="expected_version"):
        service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=version, plan="x")


def test_stale_edit_via_sql_bump_is_refused(db_session, therapist, note):
    """Another writer changed the row after this session loaded it: the UPDATE's version check refuses."""
    db_session.execute(text("UPDATE therapy_session SET version = 7, soap_plan = 'theirs' WHERE id = :id"),
                       {"id": note.id})
    db_session.commit()
    with pytest.raises(ConflictError, match="while your change was being saved"):
        service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=1, plan="mine")
    db_session.rollback()
    assert _stored(db_session, note.id)[::3] == (7, "theirs")


PARALLEL_EDITS = 20


def test_parallel_edits_from_one_version_exactly_one_succeeds(database_url):
    """20 writers on their own connections, all based on version 1 (PostgreSQL: truly concurrent;
    SQLite: serialised by BEGIN IMMEDIATE). One commits, 19 get ConflictError, the version chain is 1 -> 2."""
    engine = make_engine(database_url, pool_size=PARALLEL_EDITS, max_overflow=2)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            me = service.create_therapist(db, actor=None, username="racer", password="correct horse battery")
            client = service.create_client(db, actor=me, code="RACE1")
            session_id = service.record_session(db, actor=me, client_id=client.id, session_date=DAY, minutes=30,
                                                intervention_code="receptive_listening", plan="original").id
        barrier = threading.Barrier(PARALLEL_EDITS)

        def edit(index: int) -> str:
            barrier.wait()
            try:
                with session_scope(factory) as db:
                    actor = service.get_therapist_by_username(db, "racer")
                    service.update_session(db, actor=actor, session_id=session_id, expected_version=1,
                                           plan=f"plan {index}")
                return f"plan {index}"
            except ConflictError:
                return "conflict"

        with ThreadPoolExecutor(max_workers=PARALLEL_EDITS) as pool:
            outcomes = list(pool.map(edit, range(PARALLEL_EDITS)))
        winners = [o for o in outcomes if o != "conflict"]
        assert len(winners) == 1 and outcomes.count("conflict") == PARALLEL_EDITS - 1
        with session_scope(factory) as db:
            stored = db.get(TherapySession, session_id)
            assert (stored.version, stored.soap_plan) == (2, winners[0])
    finally:
        engine.dispose()


def test_parallel_measurements_queue_rather_than_conflict(database_url):
    """Additions from tools (gait, library, ...) lock the session instead of failing on its version."""
    writers = 8
    engine = make_engine(database_url, pool_size=writers, max_overflow=2)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            me = service.create_therapist(db, actor=None, username="adder", password="correct horse battery")
            client = service.create_client(db, actor=me, code="ADD1")
            session_id = service.record_session(db, actor=me, client_id=client.id, session_date=DAY, minutes=30,
                                                intervention_code="receptive_listening").id
        barrier = threading.Barrier(writers)

        def add(index: int) -> None:
            barrier.wait()
            with session_scope(factory) as db:
                actor = service.get_therapist_by_username(db, "adder")
                service.add_measurement(db, actor=actor, session_id=session_id,
                                        measurement=MeasurementInput("nrs_pain", value=index))

        with ThreadPoolExecutor(max_workers=writers) as pool:
            list(pool.map(add, range(writers)))
        with session_scope(factory) as db:
            assert db.get(TherapySession, session_id).version == 1 + writers
            assert _measurement_count(db, session_id) == writers
    finally:
        engine.dispose()


# --- signing -----------------------------------------------------------------------------------------


def test_sign_stores_who_when_and_the_hash(db_session, therapist, note):
    before = dt.datetime.now(dt.UTC)
    signed = service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    assert signed.signed_by_id == therapist.id and signed.signed_at >= before and signed.signed_at.tzinfo
    assert len(signed.content_sha256) == 64 and signed.content_sha256 == service.note_sha256(signed)
    assert signed.version == 2
    db_session.commit()
    check = service.verify_session_note(db_session, actor=therapist, session_id=note.id)
    assert check.signed and check.ok
    events = service.list_audit_events(db_session, actor=therapist, client_id=note.client_id)
    assert ("sign", "therapy_session", note.id) in {(e.action, e.entity, e.entity_id) for e in events}


def test_hash_covers_every_part_of_the_note(db_session, therapist, note):
    """Known answers: changing any signed field changes the hash; bookkeeping does not."""
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    reference = service.note_sha256(note)
    content = service.note_content(note, signed_by_username=therapist.username)
    assert content["soap"]["plan"] == "two songs" and content["measurements"][0]["value"] == 62.5
    assert content["measurements"][1]["item_responses"] == {f"q{i}": v for i, v in
                                                            enumerate([0, 1, 0, 1, 0, 0, 0, 0, 1], start=1)}
    changed = [
        {**content, "soap": {**content["soap"], "plan": "two songs "}},
        {**content, "minutes": 46},
        {**content, "signed_by": "someone"},
        {**content, "measurements": content["measurements"][:1]},
        {**content, "measurements": [{**content["measurements"][0], "value": 62.50000001},
                                     content["measurements"][1]]},
    ]
    hashes = {service.content_sha256(c) for c in changed}
    assert reference == service.content_sha256(content) and reference not in hashes and len(hashes) == len(changed)
    note.version, note.updated_at = 99, dt.datetime.now(dt.UTC)  # in memory only
    assert service.note_sha256(note) == reference
    db_session.rollback()


def test_every_in_place_change_of_a_signed_note_is_refused(db_session, therapist, note):
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    db_session.commit()
    stored = _stored(db_session, note.id)
    count = _measurement_count(db_session, note.id)
    attempts = [
        lambda: service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=2, plan="x"),
        lambda: service.update_session(db_session, actor=therapist, session_id=note.id, expected_version=2,
                                       minutes=10),
        lambda: service.add_measurement(db_session, actor=therapist, session_id=note.id,
                                        measurement=MeasurementInput("nrs_pain", value=2)),
        lambda: service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=2),
        lambda: service.delete_session(db_session, actor=therapist, session_id=note.id, expected_version=2),
    ]
    for attempt in attempts:
        with pytest.raises(ConflictError, match="signed"):
            attempt()
        db_session.rollback()
    assert _stored(db_session, note.id) == stored and _measurement_count(db_session, note.id) == count


def test_orm_writes_around_the_service_are_refused_too(db_session, therapist, note):
    """Code that changes a signed session or its measurements through the ORM fails at flush."""
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    db_session.commit()
    stored = _stored(db_session, note.id)
    row = db_session.get(TherapySession, note.id)
    changes = [
        lambda: setattr(row, "soap_plan", "quietly changed"),
        lambda: setattr(row.measurements[0], "value", 10.0),
        lambda: db_session.delete(row.measurements[0]),
        lambda: db_session.add(Measurement(session_id=row.id, client_id=row.client_id, instrument_code="nrs_pain",
                                           value=1.0, unit="{score}")),
        lambda: db_session.delete(row),
    ]
    for change in changes:
        change()
        with pytest.raises(ConflictError, match="signed"):
            db_session.flush()
        db_session.rollback()
    assert _stored(db_session, note.id) == stored


def test_a_new_session_skips_the_signed_lookup_only_while_it_is_unsigned(db_session, therapist, client_record):
    """A session inserted in the same flush as its measurements and interventions is its own stored row: the
    guard needs no SELECT while it is unsigned (issue 23), and still refuses them when it was written signed or
    was signed in an earlier flush."""
    from sqlalchemy import event

    from cadenza.clinic.models import SessionIntervention

    lookups: list[str] = []

    def spy(_conn, _cursor, statement, *_args) -> None:
        if "signed_at" in statement and statement.lstrip().upper().startswith("SELECT"):
            lookups.append(statement)

    db_session.commit()  # the client outlives the rollbacks below
    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", spy)
    try:
        row = service.record_session(
            db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=30,
            intervention_code="receptive_listening", measurements=[MeasurementInput("vas_anxiety", value=40.0)])
        assert lookups == [] and len(row.measurements) == 1 and row.addenda == []
        signed = TherapySession(client_id=client_record.id, therapist_id=therapist.id, session_date=DAY, minutes=30,
                                intervention_code="receptive_listening", signed_at=dt.datetime.now(dt.UTC))
        signed.measurements.append(Measurement(client_id=client_record.id, instrument_code="nrs_pain", value=1.0,
                                               unit="{score}"))
        db_session.add(signed)
        with pytest.raises(ConflictError, match="signed"):
            db_session.flush()
        db_session.rollback()
        lookups.clear()
        later = service.record_session(
            db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=30,
            intervention_code="receptive_listening", measurements=[])
        db_session.commit()
        service.sign_session(db_session, actor=therapist, session_id=later.id, expected_version=1)
        db_session.commit()
        for child in (Measurement(session_id=later.id, client_id=client_record.id, instrument_code="nrs_pain",
                                  value=1.0, unit="{score}"),
                      SessionIntervention(session_id=later.id, position=2, intervention_code="singing", minutes=5)):
            db_session.add(child)
            with pytest.raises(ConflictError, match="signed"):
                db_session.flush()
            db_session.rollback()
        assert lookups  # the stored row was asked
    finally:
        event.remove(engine, "before_cursor_execute", spy)


def test_unsigned_session_can_be_deleted_with_its_measurements(db_session, therapist, note):
    with pytest.raises(ConflictError):
        service.delete_session(db_session, actor=therapist, session_id=note.id, expected_version=5)
    db_session.rollback()
    service.delete_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    db_session.commit()
    assert db_session.get(TherapySession, note.id) is None and _measurement_count(db_session, note.id) == 0


def test_other_therapist_cannot_sign_verify_or_add(db_session, therapist, make_therapist, note):
    other = make_therapist("other")
    for call in (lambda: service.sign_session(db_session, actor=other, session_id=note.id, expected_version=1),
                 lambda: service.verify_session_note(db_session, actor=other, session_id=note.id),
                 lambda: service.add_addendum(db_session, actor=other, session_id=note.id, text="x"),
                 lambda: service.delete_session(db_session, actor=other, session_id=note.id, expected_version=1)):
        with pytest.raises(NotFoundError):
            call()
    assert not _stored(db_session, note.id)[4]


# --- addenda -----------------------------------------------------------------------------------------


def test_addenda_follow_a_signature_and_chain(db_session, therapist, note):
    with pytest.raises(ConflictError, match="not signed"):
        service.add_addendum(db_session, actor=therapist, session_id=note.id, text="too early")
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    first = service.add_addendum(db_session, actor=therapist, session_id=note.id, text="VAS was before the music")
    second = service.add_addendum(db_session, actor=therapist, session_id=note.id, text="family joined at 10:40")
    db_session.commit()
    assert first.previous_sha256 == note.content_sha256 and second.previous_sha256 == first.content_sha256
    assert [a.text for a in note.addenda] == ["VAS was before the music", "family joined at 10:40"]
    assert note.version == 2  # addenda do not change the signed note
    assert service.verify_session_note(db_session, actor=therapist, session_id=note.id).ok
    for bad in ("", "   ", 5, "x" * (service.MAX_ADDENDUM_CHARS + 1)):
        with pytest.raises(ParameterError, match="text"):
            service.add_addendum(db_session, actor=therapist, session_id=note.id, text=bad)


def test_addenda_cannot_be_edited_or_deleted(db_session, therapist, note):
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    addendum = service.add_addendum(db_session, actor=therapist, session_id=note.id, text="late entry")
    db_session.commit()
    addendum.text = "rewritten"
    with pytest.raises(ConflictError, match="cannot change"):
        db_session.flush()
    db_session.rollback()
    db_session.delete(addendum)
    with pytest.raises(ConflictError, match="cannot be deleted"):
        db_session.flush()
    db_session.rollback()


# --- tamper detection ----------------------------------------------------------------------------


@pytest.mark.parametrize("tamper", [
    "UPDATE therapy_session SET soap_plan = 'edited after signing' WHERE id = :sid",
    "UPDATE therapy_session SET minutes = 44 WHERE id = :sid",
    "UPDATE therapy_session SET signed_by_id = NULL WHERE id = :sid",
    "UPDATE measurement SET value = 12.5 WHERE session_id = :sid AND instrument_code = 'vas_anxiety'",
    "DELETE FROM measurement WHERE session_id = :sid AND instrument_code = 'phq9'",
    "INSERT INTO measurement (session_id, client_id, instrument_code, value, unit, safety_followup, measured_at, "
    "created_at) SELECT id, client_id, 'nrs_pain', 1.0, '{score}', false, created_at, created_at "
    "FROM therapy_session WHERE id = :sid",
], ids=["soap", "minutes", "signer", "measurement-value", "measurement-deleted", "measurement-added"])
def test_raw_sql_edit_of_a_signed_note_is_detected(db_session, therapist, note, tamper):
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    db_session.commit()
    assert service.verify_session_note(db_session, actor=therapist, session_id=note.id).ok
    db_session.execute(text(tamper), {"sid": note.id})
    check = service.verify_session_note(db_session, actor=therapist, session_id=note.id)
    assert check.signed and not check.note_ok and not check.ok
    assert check.computed_sha256 != check.stored_sha256


@pytest.mark.parametrize("tamper", [
    "UPDATE session_addendum SET text = 'softened' WHERE id = :first",
    "DELETE FROM session_addendum WHERE id = :first",
    "UPDATE session_addendum SET created_at = created_at + INTERVAL '1 day' WHERE id = :first",
], ids=["text", "removed", "time"])
def test_raw_sql_edit_of_an_addendum_is_detected(db_session, therapist, note, tamper):
    if "INTERVAL" in tamper and db_session.bind.dialect.name == "sqlite":
        tamper = "UPDATE session_addendum SET created_at = '2030-01-01 00:00:00.000000' WHERE id = :first"
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    first = service.add_addendum(db_session, actor=therapist, session_id=note.id, text="first")
    second = service.add_addendum(db_session, actor=therapist, session_id=note.id, text="second")
    db_session.commit()
    db_session.execute(text(tamper), {"first": first.id})
    check = service.verify_session_note(db_session, actor=therapist, session_id=note.id)
    assert check.note_ok and not check.ok
    assert check.bad_addendum_ids[0] in (first.id, second.id)


def test_unsigned_note_with_a_forged_hash_does_not_verify(db_session, therapist, note):
    assert service.verify_session_note(db_session, actor=therapist, session_id=note.id).ok
    db_session.execute(text("UPDATE therapy_session SET content_sha256 = :h WHERE id = :sid"),
                       {"h": "0" * 64, "sid": note.id})
    assert not service.verify_session_note(db_session, actor=therapist, session_id=note.id).ok


# --- FHIR ----------------------------------------------------------------------------------------------


def test_fhir_export_carries_signature_and_addenda_and_validates(db_session, therapist, client_record, note):
    service.sign_session(db_session, actor=therapist, session_id=note.id, expected_version=1)
    service.add_addendum(db_session, actor=therapist, session_id=note.id, text="VAS taken before the music")
    unsigned = service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY,
                                      minutes=30, intervention_code="receptive_listening", plan="draft")
    db_session.commit()
    bundle_json = fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id)
    fhir.validate_bundle(bundle_json)
    import json

    resources = {e["resource"]["id"]: e["resource"] for e in json.loads(bundle_json)["entry"]}
    procedure = resources[f"procedure-{note.id}"]
    signature = {e["url"]: e for e in procedure["extension"]}[fhir.NOTE_SIGNATURE_URL]
    parts = {e["url"]: e for e in signature["extension"]}
    assert parts["sha256"]["valueString"] == note.content_sha256
    assert parts["signedBy"]["valueString"] == therapist.username
    addendum_notes = [n for n in procedure["note"] if n["text"].startswith("Addendum")]
    assert len(addendum_notes) == 1 and "VAS taken before the music" in addendum_notes[0]["text"]
    assert addendum_notes[0]["authorReference"] == {"reference": f"Practitioner/practitioner-{therapist.id}",
                                                     "display": therapist.username}
    assert procedure["meta"]["versionId"] == "2"  # recorded (1), signed (2)
    provenance = resources[f"provenance-{note.id}"]
    assert provenance["target"] == [{"reference": f"Procedure/procedure-{note.id}"}]
    # an unsigned note's Procedure carries its minutes only, no signature
    assert [e["url"] for e in resources[f"procedure-{unsigned.id}"]["extension"]] == [fhir.INTERVENTION_MINUTES_URL]
    assert f"provenance-{unsigned.id}" not in resources


def test_session_addendum_table_is_migrated(db_session):
    assert db_session.scalar(select(func.count()).select_from(SessionAddendum)) == 0


def test_signing_a_freshly_loaded_session_is_one_update(db_engine, db_session, therapist, note):
    """Loading the measurements for the hash must not flush the half-set signature first."""
    with make_session_factory(db_session.connection(), join_transaction_mode="create_savepoint")() as fresh:
        actor = fresh.get(Therapist, therapist.id)
        signed = service.sign_session(fresh, actor=actor, session_id=note.id, expected_version=1)
        assert signed.version == 2
        assert service.verify_session_note(fresh, actor=actor, session_id=note.id).ok


_note_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(soap=st.tuples(_note_text, _note_text, _note_text, _note_text),
       vas_mm=st.floats(min_value=0, max_value=100, allow_nan=False),
       minutes=st.integers(min_value=1, max_value=600))
def test_any_signed_note_verifies_after_a_database_round_trip(db_session, therapist, client_record, soap, vas_mm,
                                                              minutes):
    """Whatever the text (any Unicode, CR/LF, quotes) and float, the stored note re-hashes to its signature."""
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=minutes,
        intervention_code="receptive_listening", subjective=soap[0], objective=soap[1], assessment=soap[2],
        plan=soap[3], measurements=[MeasurementInput("vas_anxiety", value=vas_mm)])
    service.sign_session(db_session, actor=therapist, session_id=row.id, expected_version=1)
    db_session.commit()
    db_session.expire_all()
    check = service.verify_session_note(db_session, actor=therapist, session_id=row.id)
    assert check.ok, (soap, vas_mm)
    # One character more anywhere in the note breaks it.
    db_session.execute(text("UPDATE therapy_session SET soap_plan = soap_plan || 'x' WHERE id = :id"), {"id": row.id})
    assert not service.verify_session_note(db_session, actor=therapist, session_id=row.id).ok
    db_session.rollback()


def _committed_session(factory, username: str, code: str) -> int:
    with session_scope(factory) as db:
        me = service.create_therapist(db, actor=None, username=username, password="correct horse battery")
        client = service.create_client(db, actor=me, code=code)
        return service.record_session(db, actor=me, client_id=client.id, session_date=DAY, minutes=30,
                                      intervention_code="receptive_listening", plan="p",
                                      measurements=[MeasurementInput("vas_anxiety", value=40)]).id


def test_signing_races_with_measurements_and_the_signature_still_verifies(database_url):
    """Signers (based on version 1) and tools adding measurements at once: either a measurement lands
    first and every signer is refused as stale, or one signer wins and later additions are refused.
    Whatever happened, a signed note verifies: no measurement slips in beside a signature."""
    workers = 8
    engine = make_engine(database_url, pool_size=workers, max_overflow=2)
    factory = make_session_factory(engine)
    try:
        session_id = _committed_session(factory, "race2", "RACE2")
        barrier = threading.Barrier(workers)

        def work(index: int) -> str:
            barrier.wait()
            try:
                with session_scope(factory) as db:
                    actor = service.get_therapist_by_username(db, "race2")
                    if index % 2:
                        service.sign_session(db, actor=actor, session_id=session_id, expected_version=1)
                        return "signed"
                    service.add_measurement(db, actor=actor, session_id=session_id,
                                            measurement=MeasurementInput("nrs_pain", value=index))
                    return "added"
            except ConflictError:
                return "refused"

        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(work, range(workers)))
        assert outcomes.count("signed") <= 1
        with session_scope(factory) as db:
            actor = service.get_therapist_by_username(db, "race2")
            row = db.get(TherapySession, session_id)
            assert _measurement_count(db, session_id) == 1 + outcomes.count("added")
            assert row.is_signed == ("signed" in outcomes)
            assert service.verify_session_note(db, actor=actor, session_id=session_id).ok
    finally:
        engine.dispose()


def test_parallel_addenda_form_one_linear_chain(database_url):
    writers = 8
    engine = make_engine(database_url, pool_size=writers, max_overflow=2)
    factory = make_session_factory(engine)
    try:
        session_id = _committed_session(factory, "chain", "CHAIN1")
        with session_scope(factory) as db:
            me = service.get_therapist_by_username(db, "chain")
            service.sign_session(db, actor=me, session_id=session_id, expected_version=1)
        barrier = threading.Barrier(writers)

        def add(index: int) -> None:
            barrier.wait()
            with session_scope(factory) as db:
                actor = service.get_therapist_by_username(db, "chain")
                service.add_addendum(db, actor=actor, session_id=session_id, text=f"addendum {index}")

        with ThreadPoolExecutor(max_workers=writers) as pool:
            list(pool.map(add, range(writers)))
        with session_scope(factory) as db:
            actor = service.get_therapist_by_username(db, "chain")
            check = service.verify_session_note(db, actor=actor, session_id=session_id)
            row = db.get(TherapySession, session_id)
            assert len(row.addenda) == writers and check.ok
            previous = [a.previous_sha256 for a in row.addenda]
            assert len(set(previous)) == writers  # no two addenda appended after the same entry
    finally:
        engine.dispose()


# --- migration -------------------------------------------------------------------------------------------


def test_migration_gives_existing_sessions_version_1_unsigned_and_downgrades(db_engine):
    """Down to before 0011_session_notes, a session written with plain SQL, then up again: it is version 1
    and unsigned, and the next edit based on version 1 succeeds."""
    from alembic import command
    from sqlalchemy import inspect as sa_inspect

    from cadenza.clinic.db import alembic_config

    def alembic(connection, action, target: str) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config, target)

    connection = db_engine.connect()
    transaction = connection.begin()
    try:
        alembic(connection, command.downgrade, "0011_session_notes-1")
        columns = {c["name"] for c in sa_inspect(connection).get_columns("therapy_session")}
        assert not {"version", "signed_at", "signed_by_id", "content_sha256"} & columns
        assert "session_addendum" not in sa_inspect(connection).get_table_names()
        connection.execute(text("INSERT INTO therapist (username, password_hash, role, active, created_at) "
                                "VALUES ('old', 'x', 'therapist', true, CURRENT_TIMESTAMP)"))
        therapist_id = connection.scalar(text("SELECT id FROM therapist WHERE username = 'old'"))
        connection.execute(text("INSERT INTO client (therapist_id, code, conditions, safety_flags, created_at, "
                                "updated_at) VALUES (:t, 'OLD1', '[]', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                           {"t": therapist_id})
        client_id = connection.scalar(text("SELECT id FROM client WHERE code = 'OLD1'"))
        connection.execute(text(
            "INSERT INTO therapy_session (client_id, therapist_id, session_date, minutes, intervention_code, setting, "
            "soap_subjective, soap_objective, soap_assessment, soap_plan, created_at) VALUES (:c, :t, '2026-01-05', "
            "30, 'receptive_listening', '', 'old note', '', '', 'old plan', CURRENT_TIMESTAMP)"),
            {"c": client_id, "t": therapist_id})
        alembic(connection, command.upgrade, "heads")
        db = make_session_factory(connection, join_transaction_mode="create_savepoint")()
        row = db.scalars(select(TherapySession).where(TherapySession.client_id == client_id)).one()
        assert (row.version, row.signed_at, row.signed_by_id, row.content_sha256, row.addenda) == (1, None, None,
                                                                                                    None, [])
        actor = db.get(Therapist, therapist_id)
        service.update_session(db, actor=actor, session_id=row.id, expected_version=1, plan="new plan")
        assert row.version == 2
        db.close()
    finally:
        transaction.rollback()
        connection.close()
