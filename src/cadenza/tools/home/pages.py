"""The therapist's home-programme page for a client: invite the client or a caregiver (link and QR code),
see and revoke their devices, assign and end tasks, and read adherence with its alerts.

Each route authorises the client once (:func:`cadenza.tools.home.records.therapist_client`) and hands
the loaded client to the actions; the person's own app is :mod:`cadenza.tools.home.me`, included here
so the manifest names one router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.home import actions, me, records, report
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(me.router)

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TASK_FIELDS = ("kind", "title", "instructions", "days_per_week", "minutes", "tempo_bpm", "track_ids", "ratings",
               "phrase_id", "mit_level")


def _page(request: Request, db, user, client, *, state: forms.FormState | None = None, invitation=None,
          status_code: int = 200) -> Response:
    from cadenza.web.routes.clients import FLAG_LABELS

    policy, _ = actions.listener(db, client)
    base_url = str(request.base_url).rstrip("/")
    return render(request, "home/client_home.html", {
        "c": client, "policy": policy, "flag_labels": FLAG_LABELS, "devices": records.client_devices(db, client),
        "invites": records.open_invites(db, client), "tasks": records.client_tasks(db, client.id),
        "tracks": actions.playable_tracks(db, client), "adherence": actions.adherence(db, client),
        "phrases": actions.mit_phrases(db, client),
        "state": state or forms.FormState(values={"kind": "listening", "days_per_week": "5", "minutes": "20",
                                                  "tempo_bpm": "100"}),
        "invitation": invitation, "base_url": base_url,
        "invitation_qr": invitation.qr_data_uri(base_url) if invitation else "",
        "kinds": records.TASK_KINDS, "ratings": records.RATINGS, "provided_kinds": actions.provided_kinds(),
        "kind_options": [(k.code, k.title) for k in actions.provided_kinds().values()],
    }, status_code=status_code)


@router.get("/clients/{client_id}/home")
def home_page(request: Request, db: Db, user: PageUser, client_id: RowId) -> Response:
    client = records.therapist_client(db, actor=user, client_id=client_id)
    return _page(request, db, user, client)


@router.post("/clients/{client_id}/home/invites")
def create_invite(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    client = records.therapist_client(db, actor=user, client_id=client_id)
    values = forms.form_values(form)
    try:
        invitation = actions.invite(db, actor=user, client=client, role=values.get("role", "client"),
                                    label=values.get("label", ""))
    except ParameterError as exc:
        db.rollback()
        client = records.therapist_client(db, actor=user, client_id=client_id)
        state = forms.FormState(values={"kind": "listening"})
        state.errors["invite"] = str(exc)
        return _page(request, db, user, client, state=state, status_code=422)
    # The link is shown once, on this response; only its digest is stored.
    return _page(request, db, user, client, invitation=invitation, status_code=201)


@router.post("/clients/{client_id}/home/invites/{invite_id}/revoke")
def revoke_invite(db: Db, user: CsrfPageUser, client_id: RowId, invite_id: RowId) -> Response:
    client = records.therapist_client(db, actor=user, client_id=client_id)
    records.revoke_invite(db, actor=user, client=client, invite_id=invite_id)
    return RedirectResponse(f"/clients/{client_id}/home", status_code=303)


@router.post("/clients/{client_id}/home/devices/{device_id}/revoke")
def revoke_device(db: Db, user: CsrfPageUser, client_id: RowId, device_id: RowId) -> Response:
    client = records.therapist_client(db, actor=user, client_id=client_id)
    records.revoke_device(db, actor=user, client=client, device_id=device_id)
    return RedirectResponse(f"/clients/{client_id}/home", status_code=303)


@router.post("/clients/{client_id}/home/tasks")
def assign_task(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    client = records.therapist_client(db, actor=user, client_id=client_id)
    state = forms.FormState(values=forms.form_values(form))
    days = forms.parse_int(state, "days_per_week")
    minutes = forms.parse_int(state, "minutes")
    kind = state.values.get("kind", "")
    tempo = forms.parse_float(state, "tempo_bpm") if kind == "ras_walk" else None
    phrase_id = forms.parse_int(state, "phrase_id") if kind == "mit_practice" else None
    mit_level = forms.parse_int(state, "mit_level") if kind == "mit_practice" else None
    track_ids = [int(v) for v in form.getlist("track_ids") if isinstance(v, str) and v.isdigit() and len(v) < 11]
    ratings = [v for v in form.getlist("ratings") if isinstance(v, str)]
    prefix = f"{kind}_"
    kind_values = {name[len(prefix):]: value for name, value in state.values.items()
                   if kind in actions.provided_kinds() and name.startswith(prefix)}
    if state.ok:
        try:
            actions.assign_task(db, actor=user, client=client, kind=kind, title=state.values.get("title", ""),
                                instructions=state.values.get("instructions", ""), days_per_week=days,
                                minutes=minutes, ratings=ratings, track_ids=track_ids, tempo_bpm=tempo,
                                phrase_id=phrase_id, mit_level=mit_level, kind_values=kind_values)
            return RedirectResponse(f"/clients/{client_id}/home", status_code=303)
        except (ParameterError, NotFoundError) as exc:
            db.rollback()
            client = records.therapist_client(db, actor=user, client_id=client_id)
            forms.attribute_error(state, str(exc), (*(prefix + name for name in kind_values), *TASK_FIELDS))
    return _page(request, db, user, client, state=state, status_code=422)


@router.get("/clients/{client_id}/home/report.pdf")
def family_report(db: Db, user: PageUser, client_id: RowId, month: Annotated[str, Query(max_length=7)] = "") -> Response:
    """The monthly family and caregiver report (``month`` = YYYY-MM, default this month)."""
    client = records.therapist_client(db, actor=user, client_id=client_id)
    pdf = report.render_pdf(report.build_report(db, client, month=report.parse_month(month)))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="music-at-home-{client.code}-{month or "this-month"}.pdf"'})


@router.post("/clients/{client_id}/home/tasks/{task_id}/end")
def end_task(db: Db, user: CsrfPageUser, client_id: RowId, task_id: RowId) -> Response:
    client = records.therapist_client(db, actor=user, client_id=client_id)
    records.end_task(db, actor=user, client=client, task_id=task_id)
    return RedirectResponse(f"/clients/{client_id}/home", status_code=303)
