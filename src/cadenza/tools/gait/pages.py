"""Gait page for a client: upload an IMU recording (steps, bouts, cadence) or a force-insole walk (stride
timing, stride-time CV, swing asymmetry, PCI), see the result, store it on a session.

The route parses the upload (in a limited child process) and renders; the workflow, analysis and
storage with its audit trail, is :mod:`cadenza.tools.gait.actions`, shared with ``cadenza gait analyze``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from cadenza.clinic import listening, service
from cadenza.errors import ParameterError
from cadenza.tools.gait import actions
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_RECORDING_BYTES = 20 * 1024 * 1024
FIELDS = ("recording", "placement", "rate_hz", "session_id")


PAGE_PLACEMENTS = (*actions.PLACEMENTS, "insole")


def _page(request: Request, db, user, client_id: int, *, state=None, result=None, notes=(), stored=None,
          insole=None, stored_asymmetry=None, status_code: int = 200) -> Response:
    from cadenza.web.routes.clients import FLAG_LABELS

    client = service.get_client(db, actor=user, client_id=client_id)
    return render(request, "gait/client_gait.html", {
        "c": client, "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS,
        "state": state or forms.FormState(values={"placement": "lower-back"}),
        "sessions": service.client_sessions(db, client=client, latest=10, held_only=True),
        "placements": PAGE_PLACEMENTS, "result": result, "notes": notes, "stored": stored, "insole": insole,
        "stored_asymmetry": stored_asymmetry,
    }, status_code=status_code)


@router.get("/clients/{client_id}/gait")
def gait_page(request: Request, db: Db, user: PageUser, client_id: ClientId,
              session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    # ?session_id= comes from the session page's "analyse a gait recording for this session" link.
    values = {"placement": "lower-back", "session_id": "" if session_id is None else str(session_id)}
    return _page(request, db, user, client_id, state=forms.FormState(values=values))


@router.post("/clients/{client_id}/gait")
def analyse_recording(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    from cadenza.io.isolated import DecodeLimits, parse_imu_csv_isolated, parse_insole_isolated

    state = forms.FormState(values=forms.form_values(form))
    rate_hz = forms.parse_float(state, "rate_hz", required=False)
    session_id = forms.parse_id(state, "session_id", required=False)
    placement = state.values.get("placement", "lower-back")
    if placement not in PAGE_PLACEMENTS:
        state.error("placement", f"placement must be one of {', '.join(PAGE_PLACEMENTS)}")
    upload = form.get("recording")
    if upload is None or isinstance(upload, str):
        state.error("recording", "choose an IMU recording (CSV) to upload")
    if not state.ok:
        return _page(request, db, user, client_id, state=state, status_code=422)
    service.get_client(db, actor=user, client_id=client_id)  # 404 before reading someone else's upload
    db.commit()  # end the authorising read's transaction: SQLite's write lock is not held while the upload is analysed
    data = upload.file.read(MAX_RECORDING_BYTES + 1)
    try:
        if len(data) > MAX_RECORDING_BYTES:
            raise ParameterError(f"the recording is larger than {MAX_RECORDING_BYTES // (1024 * 1024)} MB")
        limits = DecodeLimits.from_settings(request.app.state.settings)
        text, source = data.decode("utf-8-sig", errors="replace"), upload.filename or "upload"
        if placement == "insole":
            recording = parse_insole_isolated(text, source=source, sampling_rate_hz=rate_hz, limits=limits)
            if session_id:
                walk = actions.record_insole_walk(db, actor=user, recording=recording, session_id=session_id,
                                                  client_id=client_id)
            else:
                walk = actions.analyse_insole_walk(recording)
            return _page(request, db, user, client_id, state=state, insole=walk.gait, notes=walk.notes,
                         stored=walk.stored)
        recording = parse_imu_csv_isolated(  # a child process under memory/CPU/time limits (T25)
            text, source=source, sampling_rate_hz=rate_hz, limits=limits)
        if session_id:
            report = actions.record_walk(db, actor=user, recording=recording, placement=placement,
                                         session_id=session_id, client_id=client_id)
        else:
            report = actions.analyse_walk(recording, placement=placement)
    except ParameterError as exc:  # includes DataQualityError; NotFound stays a 404
        db.rollback()
        forms.attribute_error(state, str(exc), FIELDS, fallback="recording")
        return _page(request, db, user, client_id, state=state, status_code=422)
    return _page(request, db, user, client_id, state=state, result=report.analysis, notes=report.notes,
                 stored=report.stored, stored_asymmetry=report.stored_asymmetry)

