"""Client pages: dashboard, client record, goals, record-a-session, session detail.

Routes parse the form, call one service, and render; every read and write is authorised and
audited by the service (another therapist's client is a 404, like a missing one).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cadenza.clinic import (corrections, dashboard, dashboard_lists, idempotency, listening, note_templates, schedule,
                            service)
from cadenza.clinic.chart_cache import cached_chart, chart_key
from cadenza.clinic.instruments import list_instruments
from cadenza.clinic.models import DIRECTIONS, Therapist
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.evidence import query as evidence
from cadenza.safety.flags import SafetyFlag
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.routes.drafts import restore_draft, saved
from cadenza.web.dashboard_cache import RosterLists, dashboard_key, roster_key
from cadenza.web.templating import render, templates

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SessionId = Annotated[int, Path(ge=1, le=2**31 - 1)]

FLAG_LABELS = {
    SafetyFlag.SEIZURES.value: "Seizures / musicogenic epilepsy",
    SafetyFlag.HEARING_LOSS.value: "Hearing loss",
    SafetyFlag.TRAUMA_HISTORY.value: "Trauma history",
    SafetyFlag.NICU_INFANT.value: "NICU infant",
}


def _form(form: FormData) -> forms.FormState:
    return forms.FormState(values=forms.form_values(form))


# ---- one-time form ids (docs/clinic_api.md, "Idempotent creates") ----------------------------------
# Each rendered create form carries a random id; a double tap or a resent POST with the same id and the
# same values stores nothing new and redirects to the first result.
FORM_ID_FIELD = "form_id"
FORM_ID_PREFIX = "form:"  # keeps page form ids apart from the API's Idempotency-Keys


class _FormReused(Exception):
    """The form id was already used to save other values (the form was edited after it was saved)."""


def _form_id(state: forms.FormState) -> str:
    return state.values.get(FORM_ID_FIELD) or idempotency.new_form_id()


def _claim_form(request: Request, db: Session, user: Therapist, state: forms.FormState):
    """None (no form id: an old page or a script), the claimed key, or the stored first response."""
    form_id = state.values.get(FORM_ID_FIELD, "")
    if not form_id:
        return None
    values = {k: v for k, v in state.values.items() if k != FORM_ID_FIELD}
    try:
        return idempotency.claim(db, actor=user, key=FORM_ID_PREFIX + form_id, route=request.url.path,
                                 body_sha256=idempotency.request_sha256(values))
    except ParameterError:
        raise _FormReused from None


def _form_reused(state: forms.FormState) -> None:
    state.values[FORM_ID_FIELD] = idempotency.new_form_id()
    state.error("_form", "This form was already saved with other values (it was changed after saving). "
                         "Check the saved record first; submit again only to save these values as a new record.")


def _saved_redirect(db: Session, claimed, location: str) -> Response:
    if claimed is not None:
        idempotency.complete(db, claimed, status_code=303, body=location)
    return RedirectResponse(location, status_code=303)


def _replayed_redirect(stored: idempotency.StoredResponse) -> Response:
    return RedirectResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})


PAGE_SIZE = 50
Limit = Annotated[int, Query(ge=1, le=dashboard.MAX_PAGE_SIZE)]
# Keyset cursors (clinic.dashboard.keyset_page): the next page starts after one, the previous ends before one.
Cursor = Annotated[str | None, Query(min_length=1, max_length=512)]


@router.get("/")
def dashboard_page(request: Request, db: Db, user: PageUser, limit: Limit = PAGE_SIZE, after: Cursor = None,
                   before: Cursor = None) -> Response:
    today = dt.datetime.now(dt.UTC).date()
    cache = request.app.state.dashboard_cache
    key = dashboard_key(user, today=today, limit=limit, after=after, before=before)
    body = cache.get(key)
    if body is None:
        body = _dashboard_body(request, db, user, today=today, limit=limit, after=after, before=before)
        cache.put(key, body)
    else:  # the same caseload as when it was rendered: the view is audited as its lists would audit it
        dashboard.audit_dashboard_view(db, actor=user)
    return render(request, "dashboard.html", {"body": body, "notice_rows": [user]})


def _dashboard_body(request: Request, db: Session, user: Therapist, *, today: dt.date, limit: int,
                    after: str | None, before: str | None) -> Markup:
    """The dashboard's lists, rendered (``_dashboard_body.html``; kept by :mod:`cadenza.web.dashboard_cache`)."""
    with db.no_autoflush:  # the lists' three audit rows go to the database together (one INSERT on PostgreSQL)
        context = _dashboard_lists(request, db, user, today=today, limit=limit, after=after, before=before)
    # Markup of an autoescaping template's output (every value in it already escaped), not of untrusted text.
    return Markup(templates.env.get_template("_dashboard_body.html").render(context))  # nosec B704


def _roster_lists(request: Request, db: Session, user: Therapist, *, today: dt.date, limit: int,
                  after: str | None, before: str | None) -> RosterLists:
    """The client list, the coming week's bookings and the tools' alerts: kept per roster version (a session
    write leaves them alone, :mod:`cadenza.clinic.caseload_version`); a kept copy's view audits the client list
    as reading it does."""
    cache = request.app.state.dashboard_cache
    key = roster_key(user, today=today, limit=limit, after=after, before=before)
    roster = cache.get(key)
    if roster is not None:
        dashboard_lists.audit_client_lines_page(db, actor=user)
        return roster
    clients = dashboard_lists.client_lines_page(db, actor=user, limit=limit, after=after, before=before)
    roster = RosterLists(clients=clients,
                         planned=tuple(dashboard_lists.upcoming_lines(db, actor=user, today=today, days=7)),
                         home_alerts=tuple(_tool_alerts(request, db, clients.items)))
    cache.put(key, roster)
    return roster


def _dashboard_lists(request: Request, db: Session, user: Therapist, *, today: dt.date, limit: int,
                     after: str | None, before: str | None) -> dict:
    # Plain rows from statements built once (clinic.dashboard_lists), the three session lists in one statement;
    # the audit events in the same order as ever: the client list, the goals, the sessions.
    roster = _roster_lists(request, db, user, today=today, limit=limit, after=after, before=before)
    due = dashboard_lists.goals_due_lines(db, actor=user, today=today)
    sessions = dashboard_lists.session_lists(db, actor=user, day=today, recent_limit=10, unsigned_limit=20)
    return {
        "user": getattr(request.state, "user", None),
        "clients": roster.clients,
        "recent": sessions.recent,
        "unsigned": sessions.unsigned,
        "due": due,
        "overdue": [g for g in due if g.goal.target_date < today],
        "flagged": dashboard_lists.flagged_items(db, actor=user, today=today),
        "today": today,
        "seen_today": sessions.on_day,
        "planned": list(roster.planned),
        "home_alerts": list(roster.home_alerts),
        "interventions": {i.code: i for i in evidence.list_interventions()},
    }


def _tool_alerts(request: Request, db: Session, clients) -> list[tuple[object, str, str, str]]:
    """(client, tool title, tool page, alert) for the clients listed, from each tool's ``overview`` lines that start
    with "Alert:" (the home programme's missed days and low ratings, the care documents' missing or withdrawn
    consent). The clients are the actor's own (:class:`~cadenza.clinic.dashboard_lists.ClientLine` rows). Each
    tool is asked once for all the clients it is shown for (``overview_many``, given the rows), not once per
    client; a tool with a per-client ``overview`` only is given the clients' ORM rows."""
    flags = {client.id: _is_nicu_infant(client) for client in clients}
    alerts_of: dict[int, list[tuple[object, str, str, str]]] = {}  # client id -> its alerts, in tool order
    for tool in request.app.state.client_tools:
        if not tool.overview:
            continue
        mine = [client for client in clients if tool.shown_for(nicu_infant=flags[client.id])]
        if not mine:
            continue
        lines = tool.overview_lines_of_clients(db, mine if tool.overview_many else dashboard_lists.clients_of_lines(db, mine))
        for client in mine:
            for line in lines.get(client.id, ()):
                if line.startswith("Alert:"):
                    alerts_of.setdefault(client.id, []).append(
                        (client, tool.title, tool.url(client.id), line.removeprefix("Alert:").strip()))
    return [alert for client in clients for alert in alerts_of.get(client.id, ())]


# ---- clients -----------------------------------------------------------------------------------

CLIENT_FIELDS = ("code", "birth_year", "conditions", "safety_flags")


def _client_form(request: Request, state: forms.FormState, *, client=None, status: int = 200) -> Response:
    return render(
        request,
        "client_form.html",
        {"state": state, "client": client, "flag_labels": FLAG_LABELS,
         "checked_flags": set(state.values.get("_flags", "").split()),
         "form_id": None if client is not None else _form_id(state)},
        status_code=status,
    )


def _client_args(state: forms.FormState, form_flags: list[str]) -> dict:
    birth_year = forms.parse_int(state, "birth_year", required=False)
    return {
        "birth_year": birth_year,
        "conditions": forms.parse_list(state.values.get("conditions", "")),
        "safety_flags": form_flags,
    }


def _parse_client_form(form) -> tuple[forms.FormState, dict]:
    """The client form's state (what was typed, kept for redisplay) and the service arguments."""
    state = forms.FormState(values=forms.form_values(form))
    flags = [f for f in form.getlist("safety_flags") if isinstance(f, str)]
    state.values["_flags"] = " ".join(flags)
    return state, _client_args(state, flags)


@router.get("/clients/new")
def new_client_page(request: Request, user: PageUser) -> Response:
    return _client_form(request, forms.FormState(values={}))


@router.post("/clients/new")
def create_client_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser) -> Response:
    state, args = _parse_client_form(form)
    code = state.values.get("code", "").strip()
    warnings = service.client_code_warnings(code)
    if state.ok and warnings and state.values.get("code_confirmed") != "yes":
        # Clinical review W15: a name-like code needs a deliberate second look, not a silent save.
        state.error("code", " ".join(warnings))
        state.values["_code_warning"] = "yes"
    if state.ok:
        try:
            claimed = _claim_form(request, db, user, state)
            if isinstance(claimed, idempotency.StoredResponse):
                return _replayed_redirect(claimed)
            client = service.create_client(db, actor=user, code=code, **args)
            db.flush()
            return _saved_redirect(db, claimed, f"/clients/{client.id}")
        except _FormReused:
            db.rollback()
            _form_reused(state)
        except (ParameterError, ConflictError) as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), CLIENT_FIELDS)
    return _client_form(request, state, status=422)


def _is_nicu_infant(client) -> bool:
    return SafetyFlag.NICU_INFANT.value in (client.safety_flags or [])


def _tools_shown(request: Request, *, nicu_infant: bool) -> list:
    return [t for t in request.app.state.client_tools if t.shown_for(nicu_infant=nicu_infant)]


def _client_tools(request: Request, client) -> list:
    return _tools_shown(request, nicu_infant=_is_nicu_infant(client))


@router.get("/clients/{client_id}")
def client_page(request: Request, db: Db, user: PageUser, client_id: ClientId, limit: Limit = PAGE_SIZE,
                after: Cursor = None, before: Cursor = None) -> Response:
    overview = dashboard.client_overview(db, actor=user, client_id=client_id, sessions_limit=limit,
                                         sessions_after=after, sessions_before=before)
    policy = listening.policy_of(overview.client)
    instruments = {i.code: i for i in list_instruments()}
    interventions = {i.code: i for i in evidence.list_interventions()}
    tools = _client_tools(request, overview.client)
    return render(
        request,
        "client.html",
        {"o": overview, "c": overview.client, "policy": policy, "flag_labels": FLAG_LABELS,
         "instruments": instruments, "interventions": interventions,
         "nicu_tools": [t for t in tools if t.audience == "nicu"],
         "tools": [t for t in tools if t.audience != "nicu"],
         "dose": listening.client_weekly_dose(db, client=overview.client),
         "tool_lines": {t.path: t.overview_lines(db, overview.client) for t in tools},
         "removed": corrections.removed_records(db, client=overview.client, goals=overview.removed_goals),
         "dose_page": next((t.url(client_id) for t in tools if t.path.endswith("/safety")), None)},
    )


@router.get("/clients/{client_id}/edit")
def edit_client_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    state = forms.FormState(
        values={
            "code": client.code,
            "birth_year": "" if client.birth_year is None else str(client.birth_year),
            "conditions": ", ".join(client.conditions),
            "_flags": " ".join(client.safety_flags),
        }
    )
    return _client_form(request, state, client=client)


@router.post("/clients/{client_id}/edit")
def update_client_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state, args = _parse_client_form(form)
    if state.ok:
        try:
            service.update_client(db, actor=user, client_id=client_id, **args)
            return RedirectResponse(f"/clients/{client_id}", status_code=303)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), CLIENT_FIELDS)
    client = service.get_client(db, actor=user, client_id=client_id)
    return _client_form(request, state, client=client, status=422)


# ---- goals -------------------------------------------------------------------------------------

GOAL_FIELDS = ("instrument_code", "baseline", "target", "direction", "target_date", "description")


def _goal_form(request: Request, db: Session, user: Therapist, client_id: int, state: forms.FormState,
               *, status: int = 200) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    return render(
        request,
        "goal_form.html",
        {"c": client, "state": state, "instruments": list_instruments(), "directions": DIRECTIONS,
         "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS, "form_id": _form_id(state)},
        status_code=status,
    )


@router.get("/clients/{client_id}/goals/new")
def new_goal_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _goal_form(request, db, user, client_id, forms.FormState(values={}))


@router.post("/clients/{client_id}/goals/new")
def create_goal_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = _form(form)
    baseline = forms.parse_float(state, "baseline")
    target = forms.parse_float(state, "target")
    target_date = forms.parse_date(state, "target_date", required=False)
    if state.ok:
        try:
            claimed = _claim_form(request, db, user, state)
            if isinstance(claimed, idempotency.StoredResponse):
                return _replayed_redirect(claimed)
            service.create_goal(
                db, actor=user, client_id=client_id,
                instrument_code=state.values.get("instrument_code", ""),
                baseline=baseline, target=target, target_date=target_date,
                direction=state.values.get("direction") or None,
                description=state.values.get("description", "").strip(),
            )
            return _saved_redirect(db, claimed, f"/clients/{client_id}#goals")
        except _FormReused:
            db.rollback()
            _form_reused(state)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), GOAL_FIELDS)
    return _goal_form(request, db, user, client_id, state, status=422)


# ---- sessions ----------------------------------------------------------------------------------

SESSION_FIELDS = ("session_date", "minutes", "intervention_code", "setting", "subjective", "objective",
                  "assessment", "plan")


def _intervention_groups(conditions=()) -> list[tuple[str, list]]:
    """Interventions grouped active / receptive, each with its whole evidence: every supporting entry and
    every entry that tested it without benefit, with their caveats, the client's conditions first
    (clinical review W9)."""
    groups: dict[str, list] = {"active": [], "receptive": []}
    for intervention in evidence.list_interventions():
        groups.setdefault(intervention.mode, []).append(
            evidence.intervention_evidence(intervention.code, conditions=conditions))
    return [(mode, groups[mode]) for mode in ("active", "receptive") if groups.get(mode)]


def _tool_instrument_codes() -> set[str]:
    """Measures the installed tools add (RAS synchronisation, MIT scores, the weekly dose, ...)."""
    from cadenza.plugins import installed_tools

    return {instrument.code for tool in installed_tools() for instrument in tool.load_instruments()}


def _measure_groups(goals) -> list[tuple[str, list]]:
    """The session form's measures, the client's goal measures first (walk-through problem 5), then the
    measures taken by hand, then those the tools usually store."""
    goal_codes = {g.instrument_code for g in goals}
    tool_codes = _tool_instrument_codes()
    instruments = list_instruments()
    groups = [("This client's goals", [i for i in instruments if i.code in goal_codes]),
              ("Other measures", [i for i in instruments if i.code not in goal_codes and i.code not in tool_codes]),
              ("Measures the tools usually store", [i for i in instruments
                                                   if i.code not in goal_codes and i.code in tool_codes])]
    return [(title, items) for title, items in groups if items]


def _session_form(request: Request, db: Session, user: Therapist, client_id: int, state: forms.FormState,
                  *, status: int = 200, draft=None, copied_from=None, template_message: str = "") -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    goals = service.list_goals(db, actor=user, client_id=client_id)
    groups = _measure_groups(goals)
    return render(
        request,
        "session_form.html",
        {"c": client, "state": state, "groups": _intervention_groups(client.conditions), "measure_groups": groups,
         "instruments": [i for _, items in groups for i in items],
         "goals": goals, "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS,
         "form_id": _form_id(state), "draft": draft, "draft_key": request.url.path,
         "last_session": None if copied_from else dashboard.latest_session(db, client=client),
         "copied_from": copied_from, "note_templates": note_templates.available_templates(db, actor=user),
         "template_message": template_message,
         "intervention_list": evidence.list_interventions(),
         "planned": schedule.client_planned(db, client=client)},
        status_code=status,
    )


@router.get("/clients/{client_id}/sessions/new")
def new_session_page(request: Request, db: Db, user: PageUser, client_id: ClientId,
                     copy: Annotated[str, Query(pattern="^last$")] = "",
                     planned: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    state = forms.FormState(values={"session_date": dt.datetime.now(dt.UTC).date().isoformat(), "minutes": "45",
                                    **forms.measurement_form_defaults()})
    if planned is not None:  # documenting a planned session: its length, and the link back to the booking
        client = service.get_client(db, actor=user, client_id=client_id)
        booking = next((p for p in schedule.client_planned(db, client=client) if p.id == planned), None)
        if booking is None:
            raise NotFoundError(f"planned session {planned!r} not found")
        state.values.update({"minutes": str(booking.minutes), "planned_id": str(booking.id)})
    copied_from = None
    if copy:  # copy forward: start from the last session's intervention, length, setting and plan
        client = service.get_client(db, actor=user, client_id=client_id)
        copied_from = dashboard.latest_session(db, client=client)
        if copied_from is not None:
            state.values.update({"intervention_code": copied_from.intervention_code,
                                 "minutes": str(copied_from.minutes), "setting": copied_from.setting,
                                 "plan": copied_from.soap_plan})
    draft = restore_draft(db, user, request, state)
    return _session_form(request, db, user, client_id, state, draft=draft, copied_from=copied_from)


@router.post("/clients/{client_id}/sessions/new")
def create_session_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = _form(form)
    session_date = forms.parse_date(state, "session_date")
    minutes = forms.parse_int(state, "minutes")
    measurements, codes = forms.parse_measurements(state)
    if state.values.get("apply_template"):  # prefill the empty note boxes from a template; nothing is saved
        return _apply_note_template(request, db, user, client_id, state)
    if not state.values.get("intervention_code"):
        state.error("intervention_code", "choose an intervention")
    interventions = forms.parse_interventions(
        state, main_code=state.values.get("intervention_code", ""), minutes=minutes,
        known_codes=[i.code for i in evidence.list_interventions()])
    planned_id = forms.parse_id(state, "planned_id", required=False)  # documenting a planned session
    if "planned_id" in state.errors:  # a hidden field: its error goes at the top of the form
        state.error("_form", state.errors.pop("planned_id"))
    if state.ok:
        try:
            claimed = _claim_form(request, db, user, state)
            if isinstance(claimed, idempotency.StoredResponse):
                return _replayed_redirect(claimed)
            row = service.record_session(
                db, actor=user, client_id=client_id, session_date=session_date, minutes=minutes,
                intervention_code=state.values["intervention_code"], interventions=interventions,
                setting=state.values.get("setting", "").strip(),
                subjective=state.values.get("subjective", ""), objective=state.values.get("objective", ""),
                assessment=state.values.get("assessment", ""), plan=state.values.get("plan", ""),
                measurements=measurements,
            )
            if planned_id is not None:  # the booking this session documents is no longer shown as planned
                schedule.mark_documented(db, actor=user, client=service.get_client(db, actor=user, client_id=client_id),
                                         planned_id=planned_id, session=row)
            saved(db, user, request.url.path)
            return _saved_redirect(db, claimed, f"/clients/{client_id}/sessions/{row.id}")
        except _FormReused:
            db.rollback()
            _form_reused(state)
        except ParameterError as exc:
            db.rollback()
            if not forms.attribute_measurement_error(state, str(exc), codes):
                forms.attribute_error(state, str(exc), (*SESSION_FIELDS, "interventions"))
        except (NotFoundError, ConflictError) as exc:  # a booking that is gone or already documented
            db.rollback()
            state.error("_form", str(exc))
    return _session_form(request, db, user, client_id, state, status=422)


def _apply_note_template(request: Request, db: Session, user: Therapist, client_id: int,
                         state: forms.FormState) -> Response:
    """The session form again with the chosen template in the note boxes that are still empty; text
    already typed is never replaced (walk-through feature 4)."""
    state.errors.clear()  # nothing is being saved: no field is checked yet
    try:
        template = note_templates.find_template(db, actor=user, key=state.values.get("template", ""))
    except NotFoundError as exc:
        state.error("template", str(exc))
        return _session_form(request, db, user, client_id, state, status=422)
    filled, kept = note_templates.apply_template(state.values, template)
    state.values.update(filled)
    labels = {"subjective": "Subjective", "objective": "Objective", "assessment": "Assessment", "plan": "Plan"}
    message = f"Template {template.name!r} added to the empty boxes."
    if kept:
        message += f" Kept what you had typed in {', '.join(labels[k] for k in kept)}."
    return _session_form(request, db, user, client_id, state, template_message=message)


EDIT_SESSION_FIELDS = ("session_date", "minutes", "intervention_code", "setting", "subjective", "objective",
                       "assessment", "plan")
EDIT_TEXT_FIELDS = ("setting", "subjective", "objective", "assessment", "plan")


def _saved_values(row) -> dict[str, str]:
    several = row.intervention_minutes if len(row.intervention_minutes) > 1 else []
    return {"session_date": row.session_date.isoformat(), "minutes": str(row.minutes),
            "intervention_code": row.intervention_code, "setting": row.setting, "subjective": row.soap_subjective,
            "objective": row.soap_objective, "assessment": row.soap_assessment, "plan": row.soap_plan,
            **{forms.INTERVENTION_MINUTES_PREFIX + code: str(m) for code, m in several}}


def _session_edit_form(request: Request, row, client_id: int, state: forms.FormState, *, status: int = 200,
                       theirs: dict[str, str] | None = None, draft=None) -> Response:
    return render(request, "session_edit.html",
                  {"s": row, "client_id": client_id, "state": state, "theirs": theirs,
                   "fields": EDIT_SESSION_FIELDS, "draft": draft, "draft_key": request.url.path,
                   "interventions": evidence.list_interventions(),
                   "intervention_list": evidence.list_interventions()}, status_code=status)


def _own_session(db: Session, user: Therapist, client_id: int, session_id: int):
    row = service.get_session(db, actor=user, session_id=session_id)
    if row.client_id != client_id:
        raise NotFoundError(f"session {session_id!r} not found")
    return row


@router.get("/clients/{client_id}/sessions/{session_id}/edit")
def edit_session_page(request: Request, db: Db, user: PageUser, client_id: ClientId, session_id: SessionId) -> Response:
    row = _own_session(db, user, client_id, session_id)
    service.refuse_client_recorded(row, "editing it")  # no form that could never be saved
    state = forms.FormState(values={**_saved_values(row), "version": str(row.version)})
    draft = None if row.is_signed else restore_draft(db, user, request, state)
    return _session_edit_form(request, row, client_id, state, draft=draft)


@router.post("/clients/{client_id}/sessions/{session_id}/edit")
def update_session_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                              session_id: SessionId) -> Response:
    state = _form(form)
    session_date = forms.parse_date(state, "session_date", required=False)  # absent: as stored
    minutes = forms.parse_int(state, "minutes")
    version = forms.parse_int(state, "version")
    row = _own_session(db, user, client_id, session_id)
    main_code = state.values.get("intervention_code") or row.intervention_code
    interventions = forms.parse_interventions(state, main_code=main_code, minutes=minutes,
                                              known_codes=[i.code for i in evidence.list_interventions()])
    if interventions is None and state.ok and len(row.intervention_minutes) > 1:
        interventions = [(main_code, minutes)]  # every "several" minutes cleared: one intervention again
    if state.ok:
        try:
            corrections.amend_session(
                db, actor=user, session_id=session_id, expected_version=version,
                session_date=session_date or row.session_date,
                minutes=minutes, intervention_code=main_code,
                reason=state.values.get("reason", ""),
                **({"interventions": interventions} if interventions is not None else {}),
                **{name: state.values.get(name, "") for name in EDIT_TEXT_FIELDS},
            )
            saved(db, user, request.url.path)
            return RedirectResponse(f"/clients/{client_id}/sessions/{session_id}", status_code=303)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), (*EDIT_SESSION_FIELDS, "reason", "interventions"))
            row = _own_session(db, user, client_id, session_id)
        except ConflictError as exc:
            # Someone else saved (or signed) first: keep what this user typed, show what is stored now,
            # and base a resubmission on the stored version so it is a deliberate overwrite.
            db.rollback()
            row = _own_session(db, user, client_id, session_id)
            state.error("_form", str(exc))
            state.values["version"] = str(row.version)
            return _session_edit_form(request, row, client_id, state, status=409, theirs=_saved_values(row))
    return _session_edit_form(request, row, client_id, state, status=422)


def _session_page(request: Request, db: Session, user: Therapist, client_id: int, session_id: int, *,
                  status: int = 200, message: str = "", addendum_state: forms.FormState | None = None,
                  correction_state: forms.FormState | None = None) -> Response:
    row = service.get_session(db, actor=user, session_id=session_id)
    if row.client_id != client_id:
        raise NotFoundError(f"session {session_id!r} not found")
    client = service.get_client(db, actor=user, client_id=client_id)
    session_tools = [(t.session_title, t.url(client_id) + "?" + t.session_query.format(session_id=row.id))
                     for t in _client_tools(request, client) if t.session_query]
    # The row was loaded by this request, so the pure check is a fresh re-hash of what is stored.
    verification = service.check_note(row) if row.is_signed else None
    return render(
        request,
        "session.html",
        {"s": row, "client_id": client_id, "intervention": evidence.get_intervention(row.intervention_code),
         "interventions": {i.code: i for i in evidence.list_interventions()},
         "instruments": {i.code: i for i in list_instruments()}, "session_tools": session_tools,
         "c": client, "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS,
         "verification": verification, "message": message,
         "addendum_state": addendum_state or forms.FormState(values={}),
         "correction_state": correction_state or forms.FormState(values={}),
         "history": corrections.session_history(db, client=client, session_id=row.id),
         "single_value_instruments": [i for i in list_instruments() if not i.items],
         "goals": service.list_goals(db, actor=user, client_id=client_id)},
        status_code=status,
    )


@router.get("/clients/{client_id}/sessions/{session_id}")
def session_page(request: Request, db: Db, user: PageUser, client_id: ClientId, session_id: SessionId) -> Response:
    return _session_page(request, db, user, client_id, session_id)


@router.post("/clients/{client_id}/sessions/{session_id}/sign")
def sign_session_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                            session_id: SessionId) -> Response:
    state = _form(form)
    version = forms.parse_int(state, "version")
    _own_session(db, user, client_id, session_id)
    if not state.ok:
        return _session_page(request, db, user, client_id, session_id, status=422,
                             message="The sign form lost the note's version; reload the page and sign again.")
    if state.values.get("confirm") != "yes":  # signing is never one stray click (walk-through problem 2)
        return _session_page(request, db, user, client_id, session_id, status=422,
                             message="Not signed: tick the box to confirm you have reviewed the note, then sign.")
    try:
        service.sign_session(db, actor=user, session_id=session_id, expected_version=version,
                             cosign=state.values.get("cosign") == "yes")
    except ConflictError as exc:
        db.rollback()
        return _session_page(request, db, user, client_id, session_id, status=409,
                             message=f"Not signed: {exc}. Review the note as it is now, then sign again.")
    return RedirectResponse(f"/clients/{client_id}/sessions/{session_id}", status_code=303)


@router.post("/clients/{client_id}/sessions/{session_id}/addenda")
def add_addendum_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                            session_id: SessionId) -> Response:
    state = _form(form)
    _own_session(db, user, client_id, session_id)
    try:
        if not state.ok:  # an over-long text is refused whole, never cut
            raise ParameterError(state.errors.get("text") or next(iter(state.errors.values())))
        service.add_addendum(db, actor=user, session_id=session_id, text=state.values.get("text", ""))
    except (ParameterError, ConflictError) as exc:
        db.rollback()
        state.error("text", str(exc))
        return _session_page(request, db, user, client_id, session_id, addendum_state=state,
                             status=409 if isinstance(exc, ConflictError) else 422)
    return RedirectResponse(f"/clients/{client_id}/sessions/{session_id}#addenda", status_code=303)


# ---- corrections: remove, restore, measurements (clinic.corrections, walk-through problem 2) ---------

GoalId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MeasurementId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _correction_refused(request: Request, db: Session, user: Therapist, client_id: int, session_id: int,
                        state: forms.FormState, exc: Exception, field: str) -> Response:
    db.rollback()
    state.error(field, str(exc))
    return _session_page(request, db, user, client_id, session_id, correction_state=state,
                         status=409 if isinstance(exc, ConflictError) else 422)


@router.post("/clients/{client_id}/sessions/{session_id}/remove")
def remove_session_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                        session_id: SessionId) -> Response:
    """Remove an unsigned session with a reason; it is kept and can be restored from the client page."""
    state = _form(form)
    version = forms.parse_int(state, "version")
    _own_session(db, user, client_id, session_id)
    try:
        if version is None:
            raise ParameterError("version: the form lost the note's version; reload the page")
        corrections.remove_session(db, actor=user, session_id=session_id, expected_version=version,
                                   reason=state.values.get("reason", ""))
    except (ParameterError, ConflictError) as exc:
        return _correction_refused(request, db, user, client_id, session_id, state, exc, "reason")
    return RedirectResponse(f"/clients/{client_id}#removed", status_code=303)


def _restored(db, user, client_id: int, form, restore, what: str, row_id: int, then: str) -> Response:
    """Restore a removed session or goal of this client (another client's is the same 404, rolled back)."""
    service.get_client(db, actor=user, client_id=client_id)
    row = restore(db, actor=user, reason=str(form.get("reason") or ""), **{f"{what}_id": row_id})
    if row.client_id != client_id:
        raise NotFoundError(f"{what} {row_id!r} not found")
    return RedirectResponse(then, status_code=303)


@router.post("/clients/{client_id}/sessions/{session_id}/restore")
def restore_session_page(form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                         session_id: SessionId) -> Response:
    return _restored(db, user, client_id, form, corrections.restore_session, "session", session_id,
                     f"/clients/{client_id}/sessions/{session_id}")


@router.post("/clients/{client_id}/sessions/{session_id}/measurements/{measurement_id}/remove")
def remove_measurement_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                            session_id: SessionId, measurement_id: MeasurementId) -> Response:
    """Remove a wrong value from an unsigned session (then record the right one)."""
    state = _form(form)
    row = _own_session(db, user, client_id, session_id)
    if measurement_id not in {m.id for m in row.measurements}:
        raise NotFoundError(f"measurement {measurement_id!r} not found")
    try:
        corrections.remove_measurement(db, actor=user, measurement_id=measurement_id,
                                       reason=state.values.get("reason", ""))
    except (ParameterError, ConflictError) as exc:
        return _correction_refused(request, db, user, client_id, session_id, state, exc, f"reason-{measurement_id}")
    return RedirectResponse(f"/clients/{client_id}/sessions/{session_id}#measurements", status_code=303)


@router.post("/clients/{client_id}/sessions/{session_id}/measurements")
def add_measurement_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                         session_id: SessionId) -> Response:
    """Add one value (a single-value instrument) to an unsigned session: a late entry or a corrected value."""
    state = _form(form)
    value = forms.parse_float(state, "value")
    goal_id = forms.parse_id(state, "goal_id", required=False)
    _own_session(db, user, client_id, session_id)
    try:
        if not state.ok:
            raise ParameterError(next(iter(state.errors.values())))
        service.add_measurement(db, actor=user, session_id=session_id, measurement=service.MeasurementInput(
            state.values.get("instrument_code", ""), value=value, goal_id=goal_id))
    except (ParameterError, ConflictError) as exc:
        return _correction_refused(request, db, user, client_id, session_id, state, exc, "value")
    return RedirectResponse(f"/clients/{client_id}/sessions/{session_id}#measurements", status_code=303)


def _own_goal(db: Session, user: Therapist, client_id: int, goal_id: int):
    goal = service.get_goal(db, actor=user, goal_id=goal_id)
    if goal.client_id != client_id:
        raise NotFoundError(f"goal {goal_id!r} not found")
    return goal


def _goal_edit_form(request: Request, db: Session, user: Therapist, client_id: int, goal, state: forms.FormState,
                    *, status: int = 200) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    instrument = {i.code: i for i in list_instruments()}.get(goal.instrument_code)
    return render(request, "goal_edit.html",
                  {"c": client, "g": goal, "instrument": instrument, "state": state,
                   "history": corrections.history(db, client=client, entity="goal", entity_id=goal.id),
                   "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS}, status_code=status)


@router.get("/clients/{client_id}/goals/{goal_id}/edit")
def edit_goal_page(request: Request, db: Db, user: PageUser, client_id: ClientId, goal_id: GoalId) -> Response:
    goal = _own_goal(db, user, client_id, goal_id)
    values = {"target": f"{goal.target:g}", "target_date": goal.target_date.isoformat() if goal.target_date else "",
              "description": goal.description}
    return _goal_edit_form(request, db, user, client_id, goal, forms.FormState(values=values))


@router.post("/clients/{client_id}/goals/{goal_id}/edit")
def update_goal_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                     goal_id: GoalId) -> Response:
    state = _form(form)
    target = forms.parse_float(state, "target")
    target_date = forms.parse_date(state, "target_date", required=False)
    _own_goal(db, user, client_id, goal_id)
    if state.ok:
        try:
            corrections.amend_goal(db, actor=user, goal_id=goal_id, target=target, target_date=target_date,
                                   description=state.values.get("description", "").strip(),
                                   reason=state.values.get("reason", ""))
            return RedirectResponse(f"/clients/{client_id}#goal-{goal_id}", status_code=303)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), ("target", "target_date", "description", "reason"))
    return _goal_edit_form(request, db, user, client_id, _own_goal(db, user, client_id, goal_id), state, status=422)


@router.post("/clients/{client_id}/goals/{goal_id}/remove")
def remove_goal_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                     goal_id: GoalId) -> Response:
    state = _form(form)
    goal = _own_goal(db, user, client_id, goal_id)
    try:
        corrections.remove_goal(db, actor=user, goal_id=goal.id, reason=state.values.get("remove_reason", ""))
    except (ParameterError, ConflictError) as exc:
        db.rollback()
        state.error("remove_reason", str(exc))
        return _goal_edit_form(request, db, user, client_id, _own_goal(db, user, client_id, goal_id), state,
                               status=422)
    return RedirectResponse(f"/clients/{client_id}#removed", status_code=303)


@router.post("/clients/{client_id}/goals/{goal_id}/restore")
def restore_goal_page(form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                      goal_id: GoalId) -> Response:
    return _restored(db, user, client_id, form, corrections.restore_goal, "goal", goal_id,
                     f"/clients/{client_id}#goal-{goal_id}")


@router.get("/clients/{client_id}/measures/{instrument_code}/chart.png")
def measure_chart(request: Request, db: Db, user: PageUser, client_id: ClientId,
                  instrument_code: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$")]) -> Response:
    """Every value of one measure over the sessions, goal or not (walk-through problem 4)."""
    from cadenza.clinic.measure_charts import render_measure_chart

    series = dashboard.measure_series(db, actor=user, client_id=client_id, instrument_code=instrument_code)
    return _chart_response(request, chart_key("measure", "png", series),
                           lambda: render_measure_chart(series, fmt="png"))


@router.get("/clients/{client_id}/goals/{goal_id}/chart.png")
def goal_chart(request: Request, db: Db, user: PageUser, client_id: ClientId, goal_id: GoalId) -> Response:
    from cadenza.clinic import progress

    series = dashboard.goal_series(db, actor=user, client_id=client_id, goal_id=goal_id)
    goal_progress = progress.compute_progress(series.goal, list(zip(series.dates, series.values, strict=True)))
    return _chart_response(request, chart_key("goal", "png", goal_progress),
                           lambda: progress.render_progress_chart(goal_progress, fmt="png"))


def _chart_response(request: Request, key: str, render) -> Response:
    """A chart PNG by its content key: 304 when the browser holds this very image, else from the cache."""
    etag = f'"{key}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}  # revalidate every time: access may change
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(cached_chart(key, render), media_type="image/png", headers=headers)
