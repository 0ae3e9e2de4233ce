"""The care-documents page of a client (``/clients/{client_id}/care``): the client's status, the referral,
consent, assessment, treatment plan and discharge summary with their signatures and addenda, and the
forms to write them; group sessions started from the client's page.

Each route authorises the client once (:func:`cadenza.tools.care.records.care_client`, ``update`` for a
change) and hands the loaded client to the actions; a refused form comes back as a 422 page naming the
field, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.clinic import service
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.tools.care import actions, records
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MEMBER_CHOICES = ("", "attended", "absent")


def _interventions() -> list[Any]:
    from cadenza.evidence.query import list_interventions

    return list(list_interventions())


def _evidence() -> dict[str, tuple[Any, Any]]:
    """Each intervention's (supporting, tested-without-benefit) catalog entries, shown wherever the page
    offers or lists a planned intervention (with each supporting entry's caveat)."""
    from cadenza.evidence.query import evidence_for_intervention

    return {i.code: evidence_for_intervention(i.code) for i in _interventions()}


def _page(request: Request, db, user, client, *, error: str = "", open_form: str = "",
          values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    from cadenza.clinic import listening
    from cadenza.web.routes.clients import FLAG_LABELS

    found = actions.summary(db, client)
    goals = records.client_goals(db, client)
    others = [c for c in service.list_clients(db, actor=user) if c.id != client.id and c.status != "discharged"]
    return render(request, "care/client_care.html", {
        "c": client, "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS, "summary": found, "goals": goals, "goal_by_id": {g.id: g for g in goals},
        "interventions": _interventions(), "intervention_options": [(i.code, i.name) for i in _interventions()],
        "intervention_by_code": {i.code: i for i in _interventions()}, "evidence": _evidence(),
        "groups": records.client_group_memberships(db, client), "others": others,
        "kinds": records.KIND_TITLES, "domains": records.ASSESSMENT_DOMAINS, "ratings": records.DOMAIN_RATINGS,
        "rating_hints": records.RATING_HINTS, "decisions": records.REFERRAL_DECISIONS,
        "discharge_reasons": records.DISCHARGE_REASONS, "statuses": actions.statuses(),
        "error": error, "open_form": open_form, "values": values or {}, "today": dt.date.today().isoformat(),
    }, status_code=status_code)


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()]


def _ids(form: Any, name: str) -> list[int]:
    return [int(v) for v in form.getlist(name) if isinstance(v, str) and v.isdigit() and len(v) < 11]


def _content(kind: str, values: dict[str, str], form: Any) -> dict[str, Any]:
    """The document's fields from the form (the records module validates them)."""
    if kind == "referral":
        return {k: values.get(k, "") for k in ("referred_by", "reason", "note")} | {
            "decision": values.get("decision", "pending")}
    if kind == "consent":
        return {"explained": values.get("explained", ""), "consented_by": values.get("consented_by", ""),
                "representative_role": values.get("representative_role", ""), "scope": values.get("scope", ""),
                "agreed": values.get("refused", "") != "yes"}
    if kind == "assessment":
        domains = {d: {"rating": values[f"domain.{d}.rating"], "note": values.get(f"domain.{d}.note", "")}
                   for d in records.ASSESSMENT_DOMAINS if values.get(f"domain.{d}.rating")}
        return {"domains": domains, "music_preferences": _lines(values.get("music_preferences", "")),
                "summary": values.get("summary", ""), "recommendation": values.get("recommendation", "")}
    if kind == "plan":
        state = forms.FormState(values=values)
        per_week = forms.parse_int(state, "sessions_per_week", minimum=1, maximum=7)
        minutes = forms.parse_int(state, "minutes_per_session", minimum=1, maximum=records.MAX_SESSION_MINUTES)
        if not state.ok:
            raise ParameterError(next(iter(state.errors.values())))
        return {"goal_ids": _ids(form, "goal_ids"), "objectives": _lines(values.get("objectives", "")),
                "sessions_per_week": per_week, "minutes_per_session": minutes,
                "interventions": [v for v in form.getlist("interventions") if isinstance(v, str)],
                "review_date": values.get("review_date", "").strip() or None}
    if kind == "discharge":
        return {k: values.get(k, "") for k in ("reason", "criteria", "summary", "recommendations")}
    raise ParameterError(f"kind must be one of {', '.join(records.KINDS)}, got {kind!r}")


def _date(values: dict[str, str], name: str) -> dt.date:
    state = forms.FormState(values=values)
    day = forms.parse_date(state, name)
    if day is None:
        raise ParameterError(next(iter(state.errors.values())))
    return day


def _refused(request, db, user, client_id, exc, *, open_form="", values=None) -> Response:
    db.rollback()
    client = records.care_client(db, actor=user, client_id=client_id)
    return _page(request, db, user, client, error=str(exc), open_form=open_form, values=values, status_code=422)


@router.get("/clients/{client_id}/care")
def care_page(request: Request, db: Db, user: PageUser, client_id: RowId) -> Response:
    client = records.care_client(db, actor=user, client_id=client_id)
    return _page(request, db, user, client)


@router.post("/clients/{client_id}/care/documents")
def write_document(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    client = records.care_client(db, actor=user, client_id=client_id, action="update")
    values = forms.form_values(form)
    kind = values.get("kind", "")
    try:
        if values.too_long:
            name, (got, limit) = next(iter(values.too_long.items()))
            raise ParameterError(f"{name} must be at most {limit} characters, got {got}")
        actions.write_document(db, actor=user, client=client, kind=kind, document_date=_date(values, "document_date"),
                               content=_content(kind, values, form))
    except (ParameterError, NotFoundError) as exc:
        return _refused(request, db, user, client_id, exc, open_form=kind, values=dict(values))
    return RedirectResponse(f"/clients/{client_id}/care", status_code=303)


@router.post("/clients/{client_id}/care/documents/{document_id}/sign")
def sign_document(request: Request, db: Db, user: CsrfPageUser, client_id: RowId, document_id: RowId) -> Response:
    client = records.care_client(db, actor=user, client_id=client_id, action="update")
    try:
        actions.sign_document(db, actor=user, client=client, document_id=document_id)
    except ConflictError as exc:
        return _refused(request, db, user, client_id, exc)
    return RedirectResponse(f"/clients/{client_id}/care#document-{document_id}", status_code=303)


@router.post("/clients/{client_id}/care/documents/{document_id}/addenda")
def add_addendum(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId,
                 document_id: RowId) -> Response:
    client = records.care_client(db, actor=user, client_id=client_id, action="update")
    values = forms.form_values(form)
    try:
        actions.add_addendum(db, actor=user, client=client, document_id=document_id, text=values.get("text", ""))
    except (ParameterError, ConflictError) as exc:
        return _refused(request, db, user, client_id, exc)
    return RedirectResponse(f"/clients/{client_id}/care#document-{document_id}", status_code=303)


@router.post("/clients/{client_id}/care/documents/{document_id}/withdraw")
def withdraw_consent(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId,
                     document_id: RowId) -> Response:
    client = records.care_client(db, actor=user, client_id=client_id, action="update")
    values = forms.form_values(form)
    try:
        actions.withdraw_consent(db, actor=user, client=client, document_id=document_id,
                                 withdrawn_date=_date(values, "withdrawn_date"), reason=values.get("reason", ""))
    except (ParameterError, ConflictError) as exc:
        return _refused(request, db, user, client_id, exc)
    return RedirectResponse(f"/clients/{client_id}/care#document-{document_id}", status_code=303)


@router.post("/clients/{client_id}/care/status")
def set_status(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    client = records.care_client(db, actor=user, client_id=client_id, action="update")
    try:
        actions.set_status(db, actor=user, client=client, status=forms.form_values(form).get("status", ""))
    except ParameterError as exc:
        return _refused(request, db, user, client_id, exc)
    return RedirectResponse(f"/clients/{client_id}/care", status_code=303)


@router.get("/clients/{client_id}/care/documents/{document_id}/summary.pdf")
def discharge_pdf(db: Db, user: PageUser, client_id: RowId, document_id: RowId) -> Response:
    """A discharge summary as a PDF (the ``pdf`` extra); audited as an export of the document."""
    from cadenza.tools.care import report

    # An export (like the FHIR and CSV downloads): refused under an emergency grant, which only reads.
    client = records.care_client(db, actor=user, client_id=client_id, action="export")
    pdf = report.render_pdf(report.build_report(db, client, document_id))
    actions.audit_export(db, actor=user, client=client, document_id=document_id)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="discharge-summary-{client.code}-{document_id}.pdf"'})


@router.post("/clients/{client_id}/care/groups")
def record_group(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    """A group session with this client and the others marked on the form."""
    client = records.care_client(db, actor=user, client_id=client_id, action="update")
    values = forms.form_values(form)
    members = [actions.MemberInput(client.id, values.get("attended", "yes") != "no", values.get("note", ""))]
    for key, choice in values.items():
        if key.startswith("member.") and key.endswith(".presence") and choice in ("attended", "absent"):
            raw_id = key.split(".")[1]
            if raw_id.isdigit() and len(raw_id) < 11:
                members.append(actions.MemberInput(int(raw_id), choice == "attended",
                                                   values.get(f"member.{raw_id}.note", "")))
    state = forms.FormState(values=dict(values))
    minutes = forms.parse_int(state, "minutes", minimum=1, maximum=records.MAX_SESSION_MINUTES)
    try:
        if not state.ok:
            raise ParameterError(next(iter(state.errors.values())))
        group = actions.record_group_session(
            db, actor=user, title=values.get("title", ""), session_date=_date(values, "session_date"),
            minutes=minutes, intervention_code=values.get("intervention_code", ""), setting=values.get("setting", ""),
            group_note=values.get("group_note", ""), members=members, authorised=[client])
    except (ParameterError, NotFoundError) as exc:
        return _refused(request, db, user, client_id, exc, open_form="group", values=dict(values))
    return RedirectResponse(f"/clients/{client_id}/care/groups/{group.id}", status_code=303)


@router.get("/clients/{client_id}/care/groups/{group_id}")
def group_page(request: Request, db: Db, user: PageUser, client_id: RowId, group_id: RowId) -> Response:
    client = records.care_client(db, actor=user, client_id=client_id)
    group = records.get_group(db, actor=user, group_id=group_id)
    if actions.member_of(group, client.id) is None:
        raise NotFoundError(f"group session {group_id!r} not found")
    from cadenza.clinic import listening
    from cadenza.web.routes.clients import FLAG_LABELS

    return render(request, "care/group.html", {"c": client, "group": group, "policy": listening.policy_of(client),
                                               "flag_labels": FLAG_LABELS, "evidence": _evidence(),
                                               "clients": actions.group_clients(db, actor=user, group=group),
                                               "intervention": {i.code: i for i in _interventions()}.get(
                                                   group.intervention_code)})
