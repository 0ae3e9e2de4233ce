"""Care documents in the record (clinical review M11): validation, signing, addenda, withdrawal, status."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent, Client
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.tools.care import actions, records

DAY = dt.date(2026, 11, 2)
REFERRAL = {"referred_by": "ward nurse", "reason": "low mood and anxiety after stroke"}
CONSENT = {"explained": "aims, sessions, recordings, right to stop at any time", "consented_by": "client"}
ASSESSMENT = {"domains": {"expressive_communication": {"rating": "inconsistent", "note": "sings two words"},
                          "musicality": {"rating": "consistent", "note": ""}},
              "music_preferences": ["Edith Piaf", "church hymns"], "summary": "engaged, aphasic"}


def _events(db, client_id, entity):
    return db.scalars(select(AuditEvent.action).where(AuditEvent.client_id == client_id,
                                                      AuditEvent.entity == entity)).all()


def test_m11_status_is_active_by_default_and_set_with_an_audit_row(db_session, therapist, client_record):
    assert client_record.status == "active"
    service.set_client_status(db_session, actor=therapist, client=client_record, status="on_hold")
    assert db_session.get(Client, client_record.id).status == "on_hold"
    assert _events(db_session, client_record.id, "client_status") == ["update"]
    with pytest.raises(ParameterError, match="status must be one of active, on_hold, discharged, got 'paused'"):
        service.set_client_status(db_session, actor=therapist, client=client_record, status="paused")


def test_m11_the_database_refuses_an_unknown_status(db_session, client_record):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(text("UPDATE client SET status = 'gone' WHERE id = :id"), {"id": client_record.id})


def test_m11_documents_are_validated_per_kind_naming_the_field(db_session, therapist, client_record):
    write = dict(db=db_session, actor=therapist, client=client_record, document_date=DAY)
    with pytest.raises(ParameterError, match="referred_by must not be empty"):
        actions.write_document(**write, kind="referral", content={"referred_by": " ", "reason": "x"})
    with pytest.raises(ParameterError, match="representative_role must not be empty"):
        actions.write_document(**write, kind="consent", content={**CONSENT, "consented_by": "legal_representative"})
    with pytest.raises(ParameterError, match="domain must be one of"):
        actions.write_document(**write, kind="assessment", content={"domains": {"dance": {"rating": "rarely"}},
                                                                    "summary": "s"})
    with pytest.raises(ParameterError, match="interventions: unknown"):
        actions.write_document(**write, kind="plan", content={"interventions": ["hypnosis"], "sessions_per_week": 2,
                                                              "minutes_per_session": 45})
    with pytest.raises(ParameterError, match="no field"):
        actions.write_document(**write, kind="referral", content={**REFERRAL, "diagnosis": "F32"})
    with pytest.raises(ParameterError, match="in the future"):
        actions.write_document(db_session, actor=therapist, client=client_record, kind="referral",
                               document_date=dt.date.today() + dt.timedelta(days=5), content=REFERRAL)
    with pytest.raises(ParameterError, match="kind must be one of"):
        actions.write_document(**write, kind="invoice", content={})


def test_m11_a_plan_links_only_the_clients_own_goals(db_session, therapist, make_therapist, client_record):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="phq9",
                               baseline=14, target=7)
    other = make_therapist("other")
    theirs = service.create_client(db_session, actor=other, code="X9")
    foreign = service.create_goal(db_session, actor=other, client_id=theirs.id, instrument_code="phq9",
                                  baseline=14, target=7)
    content = {"goal_ids": [goal.id], "interventions": ["receptive_listening"], "sessions_per_week": 2,
               "minutes_per_session": 45, "objectives": ["name a feeling after each song"]}
    doc = actions.write_document(db_session, actor=therapist, client=client_record, kind="plan", document_date=DAY,
                                 content=content)
    assert doc.content["goal_ids"] == [goal.id]
    with pytest.raises(NotFoundError, match=f"goal {foreign.id}"):
        actions.write_document(db_session, actor=therapist, client=client_record, kind="plan", document_date=DAY,
                               content={**content, "goal_ids": [foreign.id]})


def test_m11_a_signed_document_is_frozen_and_takes_chained_addenda(db_session, therapist, client_record):
    doc = actions.write_document(db_session, actor=therapist, client=client_record, kind="assessment",
                                 document_date=DAY, content=ASSESSMENT)
    actions.correct_document(db_session, actor=therapist, client=client_record, document_id=doc.id,
                             content={**ASSESSMENT, "summary": "engaged; non-fluent aphasia"})
    actions.sign_document(db_session, actor=therapist, client=client_record, document_id=doc.id)
    assert records.verify_document(doc)
    with pytest.raises(ConflictError, match="signed"):
        actions.correct_document(db_session, actor=therapist, client=client_record, document_id=doc.id,
                                 content=ASSESSMENT)
    first = actions.add_addendum(db_session, actor=therapist, client=client_record, document_id=doc.id,
                                 text="Also enjoys Vera Lynn.")
    second = actions.add_addendum(db_session, actor=therapist, client=client_record, document_id=doc.id, text="More.")
    assert first.previous_sha256 == doc.content_sha256 and second.previous_sha256 == first.content_sha256
    assert records.verify_document(doc)
    # Any code changing the signed row through the ORM is refused at flush time.
    doc.content = {**doc.content, "summary": "rewritten"}
    with pytest.raises(ConflictError, match="signed"):
        db_session.flush()
    db_session.rollback()


def test_m11_a_document_edited_behind_the_apps_back_fails_verification(db_session, therapist, client_record):
    doc = actions.write_document(db_session, actor=therapist, client=client_record, kind="referral",
                                 document_date=DAY, content=REFERRAL)
    actions.sign_document(db_session, actor=therapist, client=client_record, document_id=doc.id)
    db_session.execute(text("UPDATE care_document SET document_date = :d WHERE id = :id"),
                       {"d": dt.date(2026, 1, 1), "id": doc.id})
    db_session.expire_all()
    assert not records.verify_document(records.get_document(db_session, client_record, doc.id))
    assert any("no longer match" in line for line in actions.overview_lines(db_session, client_record))


def test_m11_consent_withdrawal_is_kept_apart_from_the_signed_consent(db_session, therapist, client_record):
    doc = actions.write_document(db_session, actor=therapist, client=client_record, kind="consent", document_date=DAY,
                                 content={**CONSENT, "consented_by": "legal_representative",
                                          "representative_role": "daughter, health attorney"})
    actions.sign_document(db_session, actor=therapist, client=client_record, document_id=doc.id)
    assert actions.summary(db_session, client_record).consent.id == doc.id
    with pytest.raises(ParameterError, match="before the consent was given"):
        actions.withdraw_consent(db_session, actor=therapist, client=client_record, document_id=doc.id,
                                 withdrawn_date=dt.date(2026, 10, 1))
    actions.withdraw_consent(db_session, actor=therapist, client=client_record, document_id=doc.id,
                             withdrawn_date=dt.date(2026, 11, 20), reason="moved away")
    assert records.verify_document(doc)  # the signature still covers the consent as given
    assert actions.summary(db_session, client_record).consent is None
    with pytest.raises(ConflictError, match="already withdrawn"):
        actions.withdraw_consent(db_session, actor=therapist, client=client_record, document_id=doc.id,
                                 withdrawn_date=dt.date(2026, 11, 21))
    assert "Alert: the consent was withdrawn or refused; no consent is in force" in actions.overview_lines(
        db_session, client_record)
    assert sorted(_events(db_session, client_record.id, "care_document")) == ["create", "sign", "withdraw"]


def test_m11_an_infant_or_young_child_is_consented_for_by_a_representative(db_session, therapist):
    infant = service.create_client(db_session, actor=therapist, code="N1", safety_flags=["nicu_infant"])
    child = service.create_client(db_session, actor=therapist, code="K1", birth_year=2022)
    for who, message in ((infant, "a NICU infant cannot give consent"), (child, "a child of at most 4")):
        with pytest.raises(ParameterError, match=message):
            actions.write_document(db_session, actor=therapist, client=who, kind="consent", document_date=DAY,
                                   content=CONSENT)
        actions.write_document(db_session, actor=therapist, client=who, kind="consent", document_date=DAY,
                               content={**CONSENT, "consented_by": "legal_representative",
                                        "representative_role": "parent"})


def test_m11_discharge_sets_the_status_and_the_card_says_so(db_session, therapist, client_record):
    assert "Alert: no informed consent recorded" in actions.overview_lines(db_session, client_record)
    actions.write_document(db_session, actor=therapist, client=client_record, kind="discharge", document_date=DAY,
                           content={"reason": "goals_met", "criteria": "PHQ-9 below 5 twice", "summary": "done"})
    assert client_record.status == "discharged"
    lines = actions.overview_lines(db_session, client_record)
    assert lines[0] == "Status: discharged" and "Discharge summary: 2026-11-02 (not signed)" in lines


def test_m11_another_therapists_document_is_not_found(db_session, therapist, make_therapist, client_record):
    doc = actions.write_document(db_session, actor=therapist, client=client_record, kind="referral",
                                 document_date=DAY, content=REFERRAL)
    other = make_therapist("other")
    theirs = service.create_client(db_session, actor=other, code="X9")
    with pytest.raises(NotFoundError, match=f"care document {doc.id}"):
        actions.sign_document(db_session, actor=other, client=theirs, document_id=doc.id)
    with pytest.raises(NotFoundError):
        records.care_client(db_session, actor=other, client_id=client_record.id)


_FIELDS = sorted({"referred_by", "reason", "decision", "note", "explained", "consented_by", "representative_role",
                  "scope", "agreed", "domains", "music_preferences", "summary", "recommendation", "goal_ids",
                  "objectives", "sessions_per_week", "minutes_per_session", "interventions", "review_date",
                  "criteria", "recommendations", "x"})
_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.text(max_size=20),
                                 st.sampled_from(["client", "accepted", "singing", "goals_met", "musicality",
                                                  "consistent", "2026-11-02"])),
                       lambda inner: st.one_of(st.lists(inner, max_size=3),
                                               st.dictionaries(st.text(max_size=12), inner, max_size=3)), max_leaves=6)


@given(kind=st.sampled_from(records.KINDS), content=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=8))
@settings(max_examples=100, deadline=None)
def test_m11_hostile_content_is_refused_or_normalised_never_crashes(kind, content):
    try:
        checked = records.check_content(kind, content)
    except ParameterError:
        return
    assert records.check_content(kind, checked) == checked  # normalised content is a fixed point
    assert all(isinstance(v, (str, int, bool, list, dict, type(None))) for v in checked.values())


def test_m11_a_group_session_writes_each_attending_clients_own_session(db_session, therapist, make_therapist,
                                                                      client_record):
    second = service.create_client(db_session, actor=therapist, code="C002", birth_year=1940)
    absent = service.create_client(db_session, actor=therapist, code="C003", birth_year=1938)
    group = actions.record_group_session(
        db_session, actor=therapist, title="Singing group", session_date=DAY, minutes=50,
        intervention_code="singing", setting="day centre", group_note="Warm-up, three songs",
        members=[actions.MemberInput(client_record.id, True, "led the chorus"),
                 actions.MemberInput(second.id, True, "quiet, smiled"),
                 actions.MemberInput(absent.id, False, "in hospital")])
    by_client = {m.client_id: m for m in group.members}
    assert by_client[absent.id].therapy_session_id is None and by_client[absent.id].note == "in hospital"
    own = service.get_session(db_session, actor=therapist, session_id=by_client[second.id].therapy_session_id)
    assert own.client_id == second.id and own.soap_assessment == "quiet, smiled" and own.minutes == 50
    assert "Warm-up" in own.soap_objective
    other = make_therapist("other")
    theirs = service.create_client(db_session, actor=other, code="X9")
    with pytest.raises(NotFoundError, match=f"client {theirs.id}"):
        actions.record_group_session(db_session, actor=therapist, title="g", session_date=DAY, minutes=30,
                                     intervention_code="singing",
                                     members=[actions.MemberInput(client_record.id), actions.MemberInput(theirs.id)])
    with pytest.raises(ParameterError, match="names a client twice"):
        actions.record_group_session(db_session, actor=therapist, title="g", session_date=DAY, minutes=30,
                                     intervention_code="singing",
                                     members=[actions.MemberInput(client_record.id), actions.MemberInput(client_record.id)])
    with pytest.raises(NotFoundError):
        records.get_group(db_session, actor=other, group_id=group.id)


def test_m11_the_lines_of_many_clients_are_each_clients_own(db_session, therapist):
    """The dashboard's alerts (overview_lines_of_clients, one query for a page of clients) say for every client
    what its care summary says: no documents in each status, signed documents with an addendum, a withdrawn
    consent, a document changed behind the app's back."""
    made = {code: service.create_client(db_session, actor=therapist, code=code)
            for code in ("none", "held", "gone", "signed", "withdrawn", "broken")}
    service.set_client_status(db_session, actor=therapist, client=made["held"], status="on_hold")
    service.set_client_status(db_session, actor=therapist, client=made["gone"], status="discharged")
    for code in ("signed", "withdrawn", "broken"):
        client = made[code]
        consent = actions.write_document(db_session, actor=therapist, client=client, kind="consent",
                                         document_date=DAY, content=CONSENT)
        actions.sign_document(db_session, actor=therapist, client=client, document_id=consent.id)
        referral = actions.write_document(db_session, actor=therapist, client=client, kind="referral",
                                          document_date=DAY, content=REFERRAL)
        actions.sign_document(db_session, actor=therapist, client=client, document_id=referral.id)
    actions.add_addendum(db_session, actor=therapist, client=made["signed"],
                         document_id=records.latest(records.client_documents(db_session, made["signed"]), "referral").id,
                         text="Also enjoys Vera Lynn.")
    withdrawn = records.latest(records.client_documents(db_session, made["withdrawn"]), "consent")
    actions.withdraw_consent(db_session, actor=therapist, client=made["withdrawn"], document_id=withdrawn.id,
                             withdrawn_date=dt.date(2026, 11, 20), reason="moved away")
    broken = records.latest(records.client_documents(db_session, made["broken"]), "referral")
    db_session.execute(text("UPDATE care_document SET document_date = :d WHERE id = :id"),
                       {"d": dt.date(2026, 1, 1), "id": broken.id})
    db_session.expire_all()
    clients = list(made.values())
    expected = {client.id: actions._lines(actions.summary(db_session, client)) for client in clients}
    db_session.expire_all()
    assert actions.overview_lines_of_clients(db_session, clients) == expected
    assert {client.id: actions.overview_lines(db_session, client) for client in clients} == expected
    assert len({tuple(lines) for lines in expected.values()}) == len(clients)  # six different stories
