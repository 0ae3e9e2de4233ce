"""Gait page for a client: upload an IMU recording, see steps, bouts and cadence, store the cadence.

The route parses the upload and renders; analysis is ``cadenza.gait.analyze_gait`` and storage
is ``cadenza.clinic.gait_records`` (which authorises through the clinic service).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from cadenza.clinic import gait_records, service
from cadenza.errors import ParameterError
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_RECORDING_BYTES = 20 * 1024 * 1024
PLACEMENTS = ("lower-back", "foot")
FIELDS = ("recording", "placement", "rate_hz", "session_id")


def _page(request: Request, db, user, client_id: int, *, state=None, result=None, notes=(), stored=None,
          status_code: int = 200) -> Response:
    from cadenza.safety.flags import audio_policy
    from cadenza.web.routes.clients import FLAG_LABELS

    client = service.get_client(db, actor=user, client_id=client_id)
    return render(request, "gait/client_gait.html", {
        "c": client, "policy": audio_policy(client.safety_flags), "flag_labels": FLAG_LABELS,
        "state": state or forms.FormState(values={"placement": "lower-back"}),
        "sessions": service.list_sessions(db, actor=user, client_id=client_id)[-10:],
        "placements": PLACEMENTS, "result": result, "notes": notes, "stored": stored,
    }, status_code=status_code)


@router.get("/clients/{client_id}/gait")
def gait_page(request: Request, db: Db, user: PageUser, client_id: ClientId,
              session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    # ?session_id= comes from the session page's "analyse a gait recording for this session" link.
    values = {"placement": "lower-back", "session_id": "" if session_id is None else str(session_id)}
    return _page(request, db, user, client_id, state=forms.FormState(values=values))


@router.post("/clients/{client_id}/gait")
def analyse_recording(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    from cadenza.gait import analyze_gait
    from cadenza.io.isolated import DecodeLimits, parse_imu_csv_isolated

    state = forms.FormState(values=forms.form_values(form))
    rate_hz = forms.parse_float(state, "rate_hz", required=False)
    session_id = forms.parse_id(state, "session_id", required=False)
    placement = state.values.get("placement", "lower-back")
    if placement not in PLACEMENTS:
        state.error("placement", f"placement must be one of {', '.join(PLACEMENTS)}")
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
        recording = parse_imu_csv_isolated(  # a child process under memory/CPU/time limits (T25)
            data.decode("utf-8-sig", errors="replace"), source=upload.filename or "upload",
            sampling_rate_hz=rate_hz, limits=DecodeLimits.from_settings(request.app.state.settings))
        result = analyze_gait(recording.acc_m_s2, sampling_rate_hz=recording.sampling_rate_hz,
                              placement=placement, gyr_deg_s=recording.gyr_deg_s)
        stored = None
        if session_id:
            stored = gait_records.store_gait_cadence(db, actor=user, session_id=session_id, analysis=result,
                                                     client_id=client_id)
    except ParameterError as exc:  # includes DataQualityError; NotFound stays a 404
        db.rollback()
        forms.attribute_error(state, str(exc), FIELDS, fallback="recording")
        return _page(request, db, user, client_id, state=state, status_code=422)
    return _page(request, db, user, client_id, state=state, result=result,
                 notes=[*recording.notes, *result.notes], stored=stored)


def _walk_csv() -> dict:
    """Authorisation-matrix upload: 19 s at the lower back, 24 steps 0.6 s apart (a loading pulse after
    each contact), small enough to analyse quickly."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from cadenza.io.imu import save_imu_csv

    rate_hz = 100
    t = np.arange(19 * rate_hz) / rate_hz
    contacts_s = 2.0 + 0.6 * np.arange(24)
    vertical = sum(3.0 * (np.exp(-0.5 * ((t - c - 0.05) / 0.09) ** 2)
                          - 0.09 / 0.21 * np.exp(-0.5 * ((t - c - 0.05) / 0.21) ** 2)) for c in contacts_s)
    acc = np.zeros((3, t.size))
    acc[0] = 9.81 + vertical
    acc[1] = 0.3 * np.sin(np.pi * np.interp(t, contacts_s, np.arange(contacts_s.size)))
    acc += np.random.default_rng(7).normal(0, 0.05, acc.shape)
    with tempfile.TemporaryDirectory() as folder:
        data = save_imu_csv(Path(folder) / "walk.csv", acc, sampling_rate_hz=rate_hz).read_bytes()
    return {"recording": ("walk.csv", data, "text/csv")}


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/gait"): {"form": {"placement": "lower-back"}, "files": _walk_csv},
}
