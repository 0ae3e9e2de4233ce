"""The live rhythm page of a client, ``/clients/{client_id}/timing``: calibrate the device, prescribe
TIMP-style exercises, and play a block with the cue on the Web Audio clock.

The browser only captures and schedules (``static/live.js``: the cue and the loopback signal scheduled on
the audio clock, the microphone through an AudioWorklet, touches and keys stamped on the audio clock);
the server measures, with the same code as ``cadenza timing analyze`` (:mod:`cadenza.tools.timing.actions`).
A capture is sent as raw 16-bit PCM (no decoder runs on it). Each route authorises the client once and
passes it down; a calibration or an exercise of another client is the same 404 as a missing one.
"""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cadenza.clinic import service
from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.timing import actions, records
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, CsrfPersonPage, Db, PageUser, PersonPage, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

STATIC = FilePath(__file__).with_name("static")
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EXERCISE_FIELDS = ("title", "tempo_bpm", "beats_per_bar", "accents", "bilateral", "bars", "repetitions",
                   "continuation_beats")
MAX_JSON_CHARS = 200_000
EVIDENCE_ENTRY = "magee2017_brain_injury"  # active music-making after brain injury: its caveat is shown


def _page(request: Request, db, client, *, state: forms.FormState | None = None, status_code: int = 200) -> Response:
    from cadenza.clinic import listening
    from cadenza.evidence.query import get_entry
    from cadenza.web.routes.clients import FLAG_LABELS

    calibration = records.latest_calibration(db, client=client)
    listener = listening.listener_of(db, client=client)
    return render(request, "timing/client_timing.html", {
        "c": client, "policy": listener.policy, "flag_labels": FLAG_LABELS,
        "gain_cap": actions.sound_gain_cap(listener), "listener": listener,
        "calibration": calibration, "evidence": get_entry(EVIDENCE_ENTRY), "exercises": records.client_exercises(db, client=client),
        "sessions": service.client_sessions(db, client=client, held_only=True),
        "session_id": request.query_params.get("session_id", ""),
        "state": state or forms.FormState(values={"tempo_bpm": "100", "beats_per_bar": "4", "accents": "1",
                                                  "bars": "4", "repetitions": "3", "continuation_beats": "0"}),
    }, status_code=status_code)


def _fragment(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    return render(request, f"timing/{name}", context, status_code=status_code)


def _text(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _number(form, name: str) -> float:
    text = _text(form, name)
    try:
        return float(text)
    except ValueError:
        raise ParameterError(f"{name} must be a number, got {text[:40]!r}") from None


def _json_list(form, name: str) -> list | None:
    text = _text(form, name)
    if not text:
        return None
    if len(text) > MAX_JSON_CHARS:
        raise ParameterError(f"{name} is longer than {MAX_JSON_CHARS} characters")
    try:
        value = json.loads(text)
    except ValueError:
        raise ParameterError(f"{name} must be a JSON list, got {text[:40]!r}") from None
    if not isinstance(value, list):
        raise ParameterError(f"{name} must be a JSON list, got {text[:40]!r}")
    return value


def _capture(form, request: Request) -> actions.Capture | None:
    upload = form.get("capture")
    if upload is None or isinstance(upload, str):
        return None
    limit = request.app.state.settings.max_upload_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ParameterError(f"capture is larger than {limit} bytes")
    return actions.parse_capture(data, sampling_rate_hz=_number(form, "sampling_rate_hz"),
                                 start_s=_number(form, "capture_start_s"))


@router.get("/clients/{client_id}/timing")
def timing_page(request: Request, db: Db, user: PageUser, client_id: RowId) -> Response:
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id))


@router.get("/clients/{client_id}/timing/loopback.wav")
def loopback_signal(db: Db, user: PageUser, client_id: RowId,
                    rate: Annotated[int, Query(ge=8000, le=192_000)] = 48_000) -> Response:
    """The loopback test signal at the page's own sampling rate."""
    service.get_client(db, actor=user, client_id=client_id)
    return Response(actions.loopback_wav(sampling_rate_hz=rate), media_type="audio/wav",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/clients/{client_id}/timing/calibrations")
def calibrate(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    """The loopback capture: the device's latency is measured, shown with the error left, and stored."""
    client = service.get_client(db, actor=user, client_id=client_id)
    try:
        capture = _capture(form, request)
        if capture is None:
            raise ParameterError("capture is missing: the page sends the microphone's recording of the test signal")
        row, result = actions.calibrate_device(db, client=client, device=_text(form, "device"), capture=capture,
                                               played_at_s=_number(form, "played_at_s"),
                                               measured_by=f"therapist:{user.username}", actor=user)
    except ParameterError as exc:
        db.rollback()
        return _fragment(request, "_calibration.html", {"c": client, "error": str(exc)}, status_code=422)
    return _fragment(request, "_calibration.html", {"c": client, "calibration": row, "result": result})


@router.post("/clients/{client_id}/timing/calibrations/{calibration_id}/taps")
def calibrate_taps(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId,
                   calibration_id: RowId) -> Response:
    """Taps on the screen or a key while the microphone listens: the tap-to-sound offset."""
    client = service.get_client(db, actor=user, client_id=client_id)
    try:
        capture = _capture(form, request)
        if capture is None:
            raise ParameterError("capture is missing: the page sends the microphone's recording of the taps")
        row, _ = actions.calibrate_taps(db, client=client, calibration_id=calibration_id, capture=capture,
                                        event_times_s=_json_list(form, "event_times_s") or [], actor=user)
    except ParameterError as exc:
        db.rollback()
        return _fragment(request, "_calibration.html", {"c": client, "error": str(exc)}, status_code=422)
    return _fragment(request, "_calibration.html", {"c": client, "calibration": row})


@router.post("/clients/{client_id}/timing/blocks")
def play_block(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    """One block played live: measured against the heard cue; with a session chosen, stored on it."""
    client = service.get_client(db, actor=user, client_id=client_id)
    calibration = None
    exercise = None
    try:
        if _text(form, "calibration_id"):
            calibration = records.client_calibration(db, client=client, calibration_id=forms_id(form, "calibration_id"))
        if _text(form, "exercise_id"):
            exercise = records.client_exercise(db, client=client, exercise_id=forms_id(form, "exercise_id"))
        accents, sides = actions.exercise_pattern(exercise) if exercise is not None else ((), ())
        block = actions.analyse_live_block(
            cue_times_s=_json_list(form, "cue_times_s") or [], capture=_capture(form, request),
            event_times_s=_json_list(form, "event_times_s"), event_sides=_json_list(form, "event_sides"),
            calibration=calibration, accents=accents, sides_expected=sides,
            marker_at_s=_number(form, "marker_at_s") if _text(form, "marker_at_s") else None,
            end_marker_at_s=_number(form, "end_marker_at_s") if _text(form, "end_marker_at_s") else None)
        if _text(form, "session_id"):
            block = actions.record_live_block(db, actor=user, client=client, block=block,
                                              session_id=forms_id(form, "session_id"))
        stored = block.run.stored
    except (ParameterError, NotFoundError) as exc:
        db.rollback()
        return _fragment(request, "_block.html", {"c": client, "error": str(exc)}, status_code=422)
    return _fragment(request, "_block.html", {"c": client, "block": block, "report": block.run.report,
                                              "stored": stored, "exercise": exercise, "calibration": calibration})


def forms_id(form, name: str) -> int:
    text = _text(form, name)
    if not text.isdigit() or len(text) > 10:
        raise ParameterError(f"{name} must be a record id, got {text[:20]!r}")
    return int(text)


@router.post("/clients/{client_id}/timing/exercises")
def prescribe(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    state = forms.FormState(values=forms.form_values(form))
    tempo = forms.parse_float(state, "tempo_bpm")
    numbers = {name: forms.parse_int(state, name) for name in ("beats_per_bar", "bars", "repetitions",
                                                                "continuation_beats")}
    accents_text = state.values.get("accents", "")
    accents = [int(a) for a in accents_text.replace(",", " ").split() if a.isdigit() and len(a) < 3]
    if len(accents) != len(accents_text.replace(",", " ").split()):
        state.error("accents", "accents must be beat numbers of the bar, e.g. 1 or 1, 3")
    if state.ok:
        try:
            records.add_exercise(db, actor=user, client=client, title=state.values.get("title", ""), tempo_bpm=tempo,
                                 accents=accents, bilateral=state.values.get("bilateral") == "on", **numbers)
            return RedirectResponse(f"/clients/{client_id}/timing", status_code=303)
        except ParameterError as exc:
            db.rollback()
            client = service.get_client(db, actor=user, client_id=client_id)
            forms.attribute_error(state, str(exc), EXERCISE_FIELDS)
    return _page(request, db, client, state=state, status_code=422)


@router.post("/clients/{client_id}/timing/exercises/{exercise_id}/end")
def end_exercise(db: Db, user: CsrfPageUser, client_id: RowId, exercise_id: RowId) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    records.end_exercise(db, actor=user, client=client, exercise_id=exercise_id)
    return RedirectResponse(f"/clients/{client_id}/timing", status_code=303)


# --- the page's scripts (no secrets, the same for everyone) ------------------------------------------------

# --- the person's own phone (/me): measure its sound delay once, for the tapping task --------------------

def _sound_check_page(request: Request, db, device, *, result=None, error: str = "", status_code: int = 200):
    from cadenza.clinic import listening
    from cadenza.clinic.models import Client

    listener = listening.listener_of(db, client=db.get(Client, device.client_id))
    return render(request, "timing/me_sound_check.html", {
        "calibration": actions.person_phone_calibration(db, device=device), "result": result, "error": error,
        "gain_cap": actions.sound_gain_cap(listener),
    }, status_code=status_code)


@router.get("/me/sound-check")
def me_sound_check(request: Request, db: Db, device: PersonPage) -> Response:
    """The person's page for measuring how late their phone plays sound (plain words, one button)."""
    return _sound_check_page(request, db, device)


@router.get("/me/sound-check/test.wav")
def me_sound_check_signal(device: PersonPage, rate: Annotated[int, Query(ge=8000, le=192_000)] = 48_000) -> Response:
    """The loopback test signal at the phone's own sampling rate."""
    return Response(actions.loopback_wav(sampling_rate_hz=rate), media_type="audio/wav",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/me/sound-check")
def me_sound_check_store(request: Request, form: SubmittedForm, db: Db, device: CsrfPersonPage) -> Response:
    """The phone's recording of its own test sound: the delay found and kept, or why not (nothing stored)."""
    try:
        capture = _capture(form, request)
        if capture is None:
            raise ParameterError("capture is missing: the phone sent no recording (is the microphone allowed?)")
        row, _ = actions.calibrate_person_phone(db, device=device, capture=capture,
                                                played_at_s=_number(form, "played_at_s"))
    except ParameterError as exc:
        db.rollback()
        return _fragment(request, "_me_sound_result.html", {"error": str(exc)}, status_code=422)
    return _fragment(request, "_me_sound_result.html", {"calibration": row})


def _static(name: str, media_type: str = "text/javascript") -> Response:
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/timing/live.js")
def live_script() -> Response:
    return _static("live.js")


@router.get("/timing/capture.js")
def capture_worklet() -> Response:
    return _static("capture.js")


@router.get("/timing/microphone.js")
def microphone_script() -> Response:
    return _static("microphone.js")


@router.get("/timing/sound_check.js")
def sound_check_script() -> Response:
    return _static("sound_check.js")


@router.get("/timing/live.css")
def live_styles() -> Response:
    return _static("live.css", "text/css")
