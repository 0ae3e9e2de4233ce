"""The API's session and measurement lists, written from plain rows (issue 23), are byte for byte the JSON of
their response models validated from the ORM rows, on a record with every optional field filled."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import BaseModel, TypeAdapter, computed_field
from sqlalchemy import update

from cadenza.clinic import corrections, dashboard, service
from cadenza.clinic.models import TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ParameterError
from cadenza.web.routes import api

PHQ9 = {f"q{i}": 2 for i in range(1, 9)} | {"q9": 1}  # item 9 answered: a safety follow-up


def _every_field_filled(db, ann) -> tuple[int, list[int]]:
    """A client whose sessions and measurements fill every optional field once: several interventions,
    setting and SOAP text (markup, non-ASCII), a signed note with addenda, an edited one, a client-recorded
    one, a removed session and measurement, a questionnaire with items and a severity band, a timed walk,
    a measurement time with microseconds, goal links and an integral value."""
    patient = service.create_client(db, actor=ann, code="R1", birth_year=1980, conditions=["stroke"])
    walk = service.create_goal(db, actor=ann, client_id=patient.id, instrument_code="gait_speed", baseline=0.6,
                               target=1.0, target_date=dt.date(2026, 6, 1), description='faster & "safer"')
    pain = service.create_goal(db, actor=ann, client_id=patient.id, instrument_code="nrs_pain", baseline=7, target=3)
    signed = service.record_session(
        db, actor=ann, client_id=patient.id, session_date=dt.date(2025, 3, 3), minutes=50,
        interventions=[("songwriting", 20), ("receptive_listening", 15)], setting="home visit",
        subjective="S <b>bold</b>", objective="O", assessment="A", plan="P \u00e9 \u266a",
        measurements=[MeasurementInput("gait_speed", value=0.86, goal_id=walk.id),
                      MeasurementInput("gait_speed", value=1.2, timed_distance_m=10),
                      MeasurementInput("phq9", items=PHQ9),
                      MeasurementInput("nrs_pain", value=5, goal_id=pain.id,
                                       measured_at=dt.datetime(2025, 3, 3, 10, 30, 15, 123456, tzinfo=dt.UTC)),
                      MeasurementInput("vas_anxiety", value=40)])
    db.flush()
    service.sign_session(db, actor=ann, session_id=signed.id, expected_version=signed.version)
    service.add_addendum(db, actor=ann, session_id=signed.id, text="late entry")
    service.add_addendum(db, actor=ann, session_id=signed.id, text="second <entry>")
    edited = service.record_session(db, actor=ann, client_id=patient.id, session_date=dt.date(2025, 3, 3), minutes=30,
                                    intervention_code="receptive_listening",
                                    measurements=[MeasurementInput("nrs_pain", value=6), MeasurementInput("nrs_pain", value=2)])
    db.flush()
    corrections.remove_measurement(db, actor=ann, measurement_id=edited.measurements[0].id, reason="typed twice")
    removed = service.record_session(db, actor=ann, client_id=patient.id, session_date=dt.date(2025, 4, 2), minutes=20,
                                     intervention_code="receptive_listening",
                                     measurements=[MeasurementInput("nrs_pain", value=1)])
    db.flush()
    corrections.remove_session(db, actor=ann, session_id=removed.id, expected_version=removed.version,
                               reason="wrong client")
    at_home = service.record_session(db, actor=ann, client_id=patient.id, session_date=dt.date(2025, 4, 5), minutes=15,
                                     intervention_code="receptive_listening",
                                     measurements=[MeasurementInput("vas_anxiety", value=12.5)])
    db.flush()
    db.execute(update(TherapySession).where(TherapySession.id == at_home.id).values(source="client_recorded"))
    for day in range(1, 4):  # plain sessions on one day: the sort key's second column decides
        service.record_session(db, actor=ann, client_id=patient.id, session_date=dt.date(2025, 5, 1), minutes=30,
                               intervention_code="singing", measurements=[MeasurementInput("nrs_pain", value=day)])
    db.commit()
    return patient.id, [walk.id, pain.id]


def _cursor(link: str | None) -> str | None:
    if link is None:
        return None
    url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
    return parse_qs(urlsplit(url).query)["after"][0]


def _pages(client, headers, url, params, reference, adapter) -> int:
    """Follow the list's Link headers; each page must be the reference page's models as JSON, with its total and
    its next cursor. Returns how many pages there were."""
    after, pages = None, 0
    while True:
        response = client.get(url, headers=headers, params={**params, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        page = reference(after)
        expected = adapter.dump_json(adapter.validate_python(page.items, from_attributes=True))
        assert response.content == expected, (url, params, after)
        assert int(response.headers["x-total-count"]) == page.total
        after, pages = _cursor(response.headers.get("link")), pages + 1
        assert after == page.next_after
        if after is None:
            return pages


@pytest.fixture
def ann(make_therapist):
    return make_therapist("ann")


def test_the_session_list_is_the_session_models_json(client, ann, api_token_for, db_session):
    client_id, _ = _every_field_filled(db_session, ann)
    headers = api_token_for("ann")
    adapter = TypeAdapter(list[api.SessionOut])
    for limit in (100, 3, 1):
        pages = _pages(client, headers, f"/api/v1/clients/{client_id}/sessions", {"limit": limit},
                       lambda after, limit=limit: dashboard.sessions_page(db_session, actor=ann, client_id=client_id,
                                                                          limit=limit, after=after), adapter)
        assert pages == -(-6 // limit)  # six sessions listed: the removed one is not
    listed = client.get(f"/api/v1/clients/{client_id}/sessions", headers=headers).json()
    assert {s["source"] for s in listed} == {"therapist", "client_recorded"}
    assert [len(s["addenda"]) for s in listed][0] == 2 and len(listed[0]["interventions"]) == 2


def test_the_measurement_list_is_the_measurement_models_json(client, ann, api_token_for, db_session):
    client_id, goal_ids = _every_field_filled(db_session, ann)
    headers = api_token_for("ann")
    adapter = TypeAdapter(list[api.MeasurementOut])
    for filters in ({}, {"instrument_code": "nrs_pain"}, {"instrument_code": "phq9"}, {"goal_id": goal_ids[0]},
                    {"goal_id": goal_ids[1]}, {"instrument_code": "none_such"}):
        for limit in (100, 2):
            _pages(client, headers, f"/api/v1/clients/{client_id}/measurements", {**filters, "limit": limit},
                   lambda after, filters=filters, limit=limit: dashboard.measurements_page(
                       db_session, actor=ann, client_id=client_id, limit=limit, after=after, **filters), adapter)
    every = client.get(f"/api/v1/clients/{client_id}/measurements", headers=headers).json()
    assert any(m["item_responses"] and m["severity_band"] and m["safety_followup"] for m in every)
    assert any(m["timed_distance_m"] == 10.0 for m in every) and 40.0 in [m["value"] for m in every]
    assert "2025-03-03T10:30:15.123456Z" in [m["measured_at"] for m in every]
    # An offset page (old scripts' position paging) is the same page as the ORM's.
    response = client.get(f"/api/v1/clients/{client_id}/measurements", headers=headers, params={"offset": 3, "limit": 4})
    page = dashboard.measurements_page(db_session, actor=ann, client_id=client_id, offset=3, limit=4)
    assert response.content == adapter.dump_json(adapter.validate_python(page.items, from_attributes=True))
    assert _cursor(response.headers["link"]) == page.next_after is not None


def test_a_list_read_is_audited_once_as_a_read_of_the_client(client, ann, api_token_for, db_session):
    from cadenza.clinic.models import AuditEvent
    from sqlalchemy import select

    client_id, _ = _every_field_filled(db_session, ann)
    headers = api_token_for("ann")
    for path in ("sessions", "measurements"):
        before = db_session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        assert client.get(f"/api/v1/clients/{client_id}/{path}", headers=headers).status_code == 200
        db_session.expire_all()
        events = db_session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.client_id)
                                    .where(AuditEvent.id > before, AuditEvent.entity != "api_token")).all()
        assert events == [("read", "client", client_id)], path


def test_a_row_shape_refuses_a_model_with_computed_fields():
    class Computed(BaseModel):
        a: int

        @computed_field
        @property
        def b(self) -> int:
            return self.a

    with pytest.raises(ParameterError, match="Computed"):
        api.row_shape(Computed)
    shape = api.row_shape(api.MeasurementOut)
    assert [name for name, _, _ in shape] == list(api.MeasurementOut.model_fields)
    assert api.rows_json([{**dict.fromkeys(api.MeasurementOut.model_fields), "value": 3, "safety_followup": False}],
                         shape).startswith(b'[{"id":null')


def _orm_history_page(db, client_id, limit, after=None, before=None):
    from sqlalchemy import select

    from cadenza.clinic.models import TherapySession

    return dashboard.keyset_page(db, select(TherapySession).where(TherapySession.client_id == client_id),
                                 columns=(TherapySession.session_date, TherapySession.id), descending=True,
                                 kinds=("date", "int"), key_of=lambda r: (r.session_date, r.id), limit=limit,
                                 after=after, before=before)


def _as_shown(session) -> tuple:
    """What the client page's history shows of a session (client.html, its macros)."""
    return (session.id, session.session_date, session.minutes, session.is_signed, session.is_client_recorded,
            session.intervention_minutes,
            [(m.id, m.instrument_code, m.value, m.timed_distance_m, m.severity_band, m.safety_followup)
             for m in session.measurements])


@pytest.mark.parametrize("limit", [100, 4, 1])
def test_the_client_page_history_rows_are_the_orm_pages(ann, db_session, limit):
    client_id, _ = _every_field_filled(db_session, ann)
    after = None
    while True:  # forward through every page, then one page back from each
        shown = dashboard.client_overview(db_session, actor=ann, client_id=client_id, sessions_limit=limit,
                                          sessions_after=after)
        orm = _orm_history_page(db_session, client_id, limit, after=after)
        page = shown.sessions_page
        assert [_as_shown(s) for s in page.items] == [_as_shown(s) for s in orm.items]
        assert (page.total, page.offset, page.next_after, page.prev_before) == \
            (orm.total, orm.offset, orm.next_after, orm.prev_before)
        if page.prev_before is not None:
            back = dashboard.client_overview(db_session, actor=ann, client_id=client_id, sessions_limit=limit,
                                             sessions_before=page.prev_before).sessions_page
            orm_back = _orm_history_page(db_session, client_id, limit, before=page.prev_before)
            assert [s.id for s in back.items] == [s.id for s in orm_back.items]
            assert (back.offset, back.next_after, back.prev_before) == \
                (orm_back.offset, orm_back.next_after, orm_back.prev_before)
        after = page.next_after
        if after is None:
            break
    whole = dashboard.client_overview(db_session, actor=ann, client_id=client_id)  # every session, ORM rows
    assert [(m.id, m.value, m.goal_id) for m in shown.measurements] == \
        [(m.id, m.value, m.goal_id) for m in whole.measurements]
    assert [(g.goal.id, g.n_measurements, g.latest_value) for g in shown.goals] == \
        [(g.goal.id, g.n_measurements, g.latest_value) for g in whole.goals]
