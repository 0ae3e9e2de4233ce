"""RAS pages for a client: plan from the latest cadence, the plan's cue (play or download), and a
synchronisation report from an uploaded walk. Audio plays only when the therapist presses play.

The routes parse and render; the workflows (plan creation, the synchronisation report with its input
rules and audit trail) are :mod:`cadenza.tools.ras.actions`, shared with ``cadenza ras``.
"""

from __future__ import annotations

import base64
import io as _bytes_io
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.clinic import listening
from cadenza.errors import ConflictError, ParameterError
from cadenza.tools.ras import actions, records
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1)]
WEB_MAX_MINUTES = 45.0
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# A long pasted step list (4 h of steps is ~70,000 lines) is refused past this, never cut.
MAX_STEPS_TEXT_CHARS = 1_000_000
PLAN_FIELDS = ("cadence_spm", "condition", "session_minutes", "sessions_per_week")
SYNC_FIELDS = ("recording", "placement", "steps_file", "steps_text", "tempo_bpm", "cue_start_s", "latency_ms", "session_id")


def _page(request: Request, db, user, client_id: int, *, state=None, sync_state=None, report=None, plot=None,
          status_code: int = 200, correction_error: str = "") -> Response:
    from cadenza.clinic import service
    from cadenza.web.routes.clients import FLAG_LABELS

    client, policy = listening.client_policy(db, actor=user, client_id=client_id)
    cadence = records.latest_cadence_spm(db, actor=user, client_id=client_id)
    if state is None:
        known = " ".join(client.conditions or []).lower()
        condition = "parkinsons" if "parkinson" in known else "stroke" if "stroke" in known else "other"
        state = forms.FormState(values={"cadence_spm": f"{cadence:g}" if cadence else "", "condition": condition,
                                        "session_minutes": "30", "sessions_per_week": "3"})
    plans = records.list_ras_plans(db, actor=user, client_id=client_id)
    sessions = service.client_sessions(db, client=client, latest=10, held_only=True)
    return render(request, "ras/client_ras.html", {
        "c": client, "policy": policy, "flag_labels": FLAG_LABELS, "latest_cadence": cadence, "plans": plans,
        "state": state, "sync_state": sync_state or forms.FormState(values={"latency_ms": "0", "cue_start_s": "0"}),
        "report": report, "plot": plot, "sessions": sessions,
        "removed": [(f"plan of {p.created_at:%Y-%m-%d} ({p.condition}, from {p.baseline_cadence_spm:.1f} steps/min)",
                     f"/clients/{client.id}/ras/plans/{p.id}/restore", p)
                    for p in records.removed_ras_plans(db, client=client)],
        "correction_error": correction_error,
    }, status_code=status_code)


@router.get("/clients/{client_id}/ras")
def ras_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _page(request, db, user, client_id)


@router.post("/clients/{client_id}/ras/plans")
def create_plan(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    cadence = forms.parse_float(state, "cadence_spm")
    minutes = forms.parse_int(state, "session_minutes")
    per_week = forms.parse_int(state, "sessions_per_week")
    condition = state.values.get("condition", "other")
    # Stroke: +5 % unless step symmetry has been checked (clinical review W12); then up to +10 %.
    checked = condition == "stroke" and state.values.get("symmetry_checked") == "on"
    extra = {"symmetry_checked": True, "max_increase_percent": 10.0} if checked else {}
    if state.ok:
        try:
            actions.record_plan(db, actor=user, client_id=client_id, cadence_spm=cadence, condition=condition,
                                session_minutes=minutes, sessions_per_week=per_week, **extra)
            return RedirectResponse(f"/clients/{client_id}/ras", status_code=303)
        except ParameterError as exc:
            db.rollback()
            message = str(exc).replace("baseline_cadence_spm", "cadence_spm")
            forms.attribute_error(state, message, ("cadence_spm", "condition", "session_minutes", "sessions_per_week"))
    return _page(request, db, user, client_id, state=state, status_code=422)


@router.post("/clients/{client_id}/ras/plans/{plan_id}/remove")
def remove_plan(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                plan_id: PlanId) -> Response:
    """Remove a plan made in error, with a reason; it is kept and can be restored below the plans."""
    try:
        records.remove_ras_plan(db, actor=user, client_id=client_id, plan_id=plan_id,
                                reason=str(form.get("reason") or ""))
    except (ParameterError, ConflictError) as exc:
        db.rollback()
        return _page(request, db, user, client_id, correction_error=str(exc),
                     status_code=409 if isinstance(exc, ConflictError) else 422)
    return RedirectResponse(f"/clients/{client_id}/ras#removed", status_code=303)


@router.post("/clients/{client_id}/ras/plans/{plan_id}/restore")
def restore_plan(form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, plan_id: PlanId) -> Response:
    records.restore_ras_plan(db, actor=user, client_id=client_id, plan_id=plan_id, reason=str(form.get("reason") or ""))
    return RedirectResponse(f"/clients/{client_id}/ras#plan-{plan_id}", status_code=303)


@router.get("/clients/{client_id}/ras/plans/{plan_id}/cue.wav")
def plan_cue(db: Db, user: PageUser, client_id: ClientId, plan_id: PlanId,
             minutes: Annotated[float, Query(gt=0, le=WEB_MAX_MINUTES)] = 2.0,
             sound: Annotated[str, Query(max_length=20)] = "woodblock",
             accent_every: Annotated[int, Query(ge=0, le=16)] = 0,
             download: bool = False) -> Response:
    from cadenza.io.speech import encode_wav_bytes
    from cadenza.ras.cue import render_click_cue

    row = records.get_ras_plan(db, actor=user, client_id=client_id, plan_id=plan_id)
    listener = listening.resolve_listener(db, actor=user, client_id=client_id)
    knots, tempi = records.plan_tempo_knots(row)
    cue = render_click_cue(duration_s=minutes * 60, sampling_rate_hz=22_050, knot_times_s=knots, knot_tempi_bpm=tempi,
                           sound=sound, accent_every=accent_every, safety_flags=listener.flags,
                           calibration=listener.calibration)
    headers = {"X-Cadenza-Beats": str(cue.beat_times_s.size),
               "X-Cadenza-Max-Beat-Error-Samples": str(cue.verification.max_error_samples),
               "X-Cadenza-Loudness-LUFS": f"{cue.loudness_lufs:.1f}",
               "X-Cadenza-Level-dBA": f"{cue.level_dba:.1f}", "X-Cadenza-Weekly-Dose-Percent": f"{cue.dose_percent:.3f}"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="ras_plan{row.id}_{minutes:g}min.wav"'
    return Response(encode_wav_bytes(cue.samples, sampling_rate_hz=cue.sampling_rate_hz), media_type="audio/wav",
                    headers=headers)


def _steps_from_recording(data: bytes, placement: str, filename: str | None):
    """Initial contacts detected by the gait module in an uploaded IMU CSV (parsed in a limited child process)."""
    from cadenza.io.isolated import parse_imu_csv_isolated

    if len(data) > MAX_UPLOAD_BYTES:
        raise ParameterError(f"recording is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    imu = parse_imu_csv_isolated(data.decode("utf-8-sig", errors="replace"), source=filename or "upload")
    return actions.steps_from_recording(imu, placement=placement)


def _parse_step_times(raw: bytes):
    """Step times (s) from an uploaded text file (:func:`cadenza.tools.ras.actions.parse_step_times`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError("steps_file must be a UTF-8 text file of step times in seconds") from None
    return actions.parse_step_times(text)


@router.post("/clients/{client_id}/ras/sync")
def sync_report(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    from cadenza.ras.sync import MAX_LATENCY_S, check_cue, plot_synchronization

    state = forms.FormState(values=forms.form_values(form, max_chars={"steps_text": MAX_STEPS_TEXT_CHARS}))
    tempo = forms.parse_float(state, "tempo_bpm")
    start = forms.parse_float(state, "cue_start_s", required=False) or 0.0
    latency = forms.parse_float(state, "latency_ms", required=False) or 0.0
    session_id = forms.parse_id(state, "session_id", required=False)
    if tempo is not None:
        # The cheap checks come before reading or analysing the walk (security probe H3).
        try:
            check_cue(tempo_bpm=tempo, cue_start_s=start)
        except ParameterError as exc:
            forms.attribute_error(state, str(exc), SYNC_FIELDS)
    if not 0 <= latency <= 1e3 * MAX_LATENCY_S:
        state.error("latency_ms", f"latency_ms must be between 0 and {1e3 * MAX_LATENCY_S:g} ms, got {latency!r} "
                                  "(seconds given as milliseconds?)")
    from cadenza.clinic import service

    service.get_client(db, actor=user, client_id=client_id)  # 404 before reading someone else's upload
    db.commit()  # end the authorising read's transaction: SQLite's write lock is not held while the upload is analysed
    recording = form.get("recording")
    imu_bytes = recording.file.read(MAX_UPLOAD_BYTES + 1) if hasattr(recording, "read") else b""
    upload = form.get("steps_file")
    raw = upload.file.read(MAX_UPLOAD_BYTES + 1) if hasattr(upload, "read") else b""
    if not raw:
        raw = state.values.get("steps_text", "").encode()
    placement = state.values.get("placement", "lower-back")
    if placement not in actions.PLACEMENTS:
        state.error("placement", f"placement must be {' or '.join(actions.PLACEMENTS)}, got {placement!r}")
    if not imu_bytes and not raw.strip():
        state.error("steps_file", "steps_file is required: a walk recording (IMU CSV), or step times in seconds")
    report = plot = None
    # The field the steps came from, for messages about them.
    steps_field = "recording" if imu_bytes else "steps_file" if hasattr(upload, "read") and raw else "steps_text"
    if state.ok:
        try:
            steps = _steps_from_recording(imu_bytes, placement, getattr(recording, "filename", None)) \
                if imu_bytes else _parse_step_times(raw)
            report = actions.record_sync(db, actor=user, step_times_s=steps, client_id=client_id,
                                         session_id=session_id, tempo_bpm=tempo, cue_start_s=start,
                                         output_latency_s=latency / 1e3).report
            buffer = _bytes_io.BytesIO()
            plot_synchronization(report).savefig(buffer, format="png", dpi=90)
            plot = base64.b64encode(buffer.getvalue()).decode("ascii")
        except ParameterError as exc:
            db.rollback()
            report = plot = None
            message = str(exc).replace("output_latency_s", "latency_ms").replace("step_times_s", steps_field)
            forms.attribute_error(state, message, SYNC_FIELDS, fallback=steps_field)
    status = 200 if report is not None else 422
    return _page(request, db, user, client_id, sync_state=state, report=report, plot=plot, status_code=status)
