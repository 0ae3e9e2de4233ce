"""The person's app at ``/me``: the client (or a caregiver acting for them) on their own phone.

A device gets in once with the therapist's invitation link and a PIN it chooses; after that the device
cookie plus the PIN (every :data:`~cadenza.tools.home.records.UNLOCK_LIFETIME`) open it. Every route
starts from the device: the client, their tasks and their music are looked up from the device's
``client_id``, never from an id in the request, so one client's device cannot reach another's
anything. Therapist pages answer such a browser 404 (``web.deps.current_user_page``).

The app is installable (``/me/manifest.webmanifest``) and works offline (``/me/sw.js`` caches the
pages and the assigned audio; ``/me/app.js`` queues completions on the phone and sends each once
when back online). Audio plays in the page through Web Audio with the listener's gain cap.
"""

from __future__ import annotations

import secrets
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from cadenza.clinic import auth
from cadenza.errors import NotFoundError, ParameterError, PermissionDeniedError
from cadenza.plugins import installed_tools
from cadenza.tools.home import actions, records, report, selfcare
from cadenza.web import deps
from cadenza.web.deps import CsrfPersonPage, Db, KnownPerson, PersonPage, SubmittedForm, self_care
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

STATIC = FilePath(__file__).with_name("static")
MIT_MODEL_CACHE_FOLDER = "mit_models"  # under the data directory: each practice phrase rendered once per cap
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
JOIN_CSRF_COOKIE = "cadenza_join_csrf"
AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
               ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".aac": "audio/aac"}


# The person's dependencies are the host's (web.deps: KnownPerson, PersonPage, CsrfPersonPage), so any tool can
# add pages for the person under /me.


def _set_device_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(deps.person_cookie_name(request), token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/",
                        max_age=int(records.DEVICE_IDLE_LIFETIME.total_seconds()))


def _me(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> Response:
    return render(request, f"home/{template}", {"person": True, **(context or {})}, status_code=status_code)


# --- getting in -------------------------------------------------------------------------------------------

@router.get("/me/start")
def start(request: Request) -> Response:
    return _me(request, "me_start.html")


def _join_page(request: Request, token: str, *, error: str = "", status_code: int = 200) -> Response:
    csrf = request.cookies.get(JOIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = _me(request, "me_join.html", {"token": token, "join_csrf": csrf, "error": error,
                                             "pin_digits": records.PIN_DIGITS}, status_code=status_code)
    response.set_cookie(JOIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path="/me/join")
    return response


@router.get("/me/join/{token}")
def join_form(request: Request, db: Db, token: Annotated[str, Path(max_length=100)]) -> Response:
    if records.find_invite(db, token) is None:
        return _me(request, "me_start.html", {"error": "This link is not valid any more. Ask your therapist for a new one."},
                   status_code=404)
    return _join_page(request, token)


@router.post("/me/join/{token}")
def join(request: Request, form: SubmittedForm, db: Db, token: Annotated[str, Path(max_length=100)]) -> Response:
    given = form.get("csrf_token")
    if not auth.csrf_matches(request.cookies.get(JOIN_CSRF_COOKIE, ""), given if isinstance(given, str) else None):
        return _join_page(request, token, error="The page expired; please try again.", status_code=403)
    pin, again, label = (form.get(name) for name in ("pin", "pin_again", "label"))
    if pin != again:
        return _join_page(request, token, error="The two PINs are not the same.", status_code=422)
    try:
        device, device_token = records.redeem_invite(db, token=token, pin=pin if isinstance(pin, str) else "",
                                                     label=label if isinstance(label, str) else "")
    except ParameterError as exc:
        db.rollback()
        return _join_page(request, token, error=str(exc).replace("pin must", "The PIN must") + ".", status_code=422)
    except NotFoundError as exc:
        db.rollback()
        return _me(request, "me_start.html", {"error": str(exc)[0].upper() + str(exc)[1:] + "."}, status_code=404)
    response = RedirectResponse("/me", status_code=303)
    _set_device_cookie(request, response, device_token)
    response.delete_cookie(JOIN_CSRF_COOKIE, path="/me/join")
    return response


def _relying_party(request: Request) -> tuple[str, str]:
    """(RP id, origin) of this request: passkeys are bound to the host name the phone used."""
    return request.url.hostname or "", f"{request.url.scheme}://{request.url.netloc}"


def _join_csrf_ok(request: Request) -> bool:
    given = request.headers.get(deps.CSRF_HEADER)
    return auth.csrf_matches(request.cookies.get(JOIN_CSRF_COOKIE, ""), given)


@router.post("/me/join/{token}/passkey/options")
def join_passkey_options(request: Request, db: Db, token: Annotated[str, Path(max_length=100)]) -> Response:
    if not _join_csrf_ok(request):
        raise HTTPException(status_code=403, detail="The page expired; reload it and try again.")
    invite = records.find_invite(db, token)
    if invite is None:
        raise NotFoundError(records.INVALID_INVITE)
    rp_id, _ = _relying_party(request)
    return Response(actions.passkey_registration_options(db, invite, rp_id=rp_id), media_type="application/json")


@router.post("/me/join/{token}/passkey")
def join_with_passkey(request: Request, db: Db, token: Annotated[str, Path(max_length=100)],
                      payload: Annotated[Any, Body()]) -> Response:
    if not _join_csrf_ok(request):
        raise HTTPException(status_code=403, detail="The page expired; reload it and try again.")
    if not isinstance(payload, dict):
        raise ParameterError("the passkey must be sent as a JSON object")
    rp_id, origin = _relying_party(request)
    label = payload.get("label", "")
    device, device_token = actions.join_with_passkey(db, token=token, credential=payload.get("credential"),
                                                     rp_id=rp_id, origin=origin,
                                                     label=label if isinstance(label, str) else "")
    response = JSONResponse({"next": "/me"})
    _set_device_cookie(request, response, device_token)
    response.delete_cookie(JOIN_CSRF_COOKIE, path="/me/join")
    return response


@router.get("/me/self/{token}")
def open_self_care(request: Request, db: Db, token: Annotated[str, Path(max_length=100)]) -> Response:
    """The link ``cadenza me`` opens in the person's browser (self-care mode only; elsewhere 404)."""
    if not self_care(request):
        raise NotFoundError("not found")
    _, device_token = records.redeem_invite(db, token=token, pin=None, open_without_pin=True, label="this computer")
    response = RedirectResponse("/me", status_code=303)
    _set_device_cookie(request, response, device_token)
    return response


@router.get("/me/unlock")
def unlock_form(request: Request, device: KnownPerson) -> Response:
    return _me(request, "me_unlock.html", {"locked_for_good": device.pin_failures >= records.MAX_PIN_FAILURES,
                                           "device": device})


@router.post("/me/unlock")
def unlock(request: Request, form: SubmittedForm, db: Db, device: KnownPerson, _: None = Depends(deps.require_csrf)) -> Response:
    try:
        records.unlock(db, device, form.get("pin"))
    except PermissionDeniedError as exc:
        db.commit()  # the failure count must stick
        return _me(request, "me_unlock.html", {"error": str(exc)[0].upper() + str(exc)[1:] + ".", "device": device,
                                               "locked_for_good": device.pin_failures >= records.MAX_PIN_FAILURES},
                   status_code=403)
    return RedirectResponse("/me", status_code=303)


@router.post("/me/unlock/passkey/options")
def unlock_passkey_options(request: Request, device: KnownPerson, _: None = Depends(deps.require_csrf)) -> Response:
    rp_id, _origin = _relying_party(request)
    return Response(actions.passkey_unlock_options(device, rp_id=rp_id), media_type="application/json")


@router.post("/me/unlock/passkey")
def unlock_with_passkey(request: Request, db: Db, device: KnownPerson, payload: Annotated[Any, Body()],
                        _: None = Depends(deps.require_csrf)) -> Response:
    rp_id, origin = _relying_party(request)
    try:
        actions.unlock_with_passkey(db, device, credential=payload.get("credential") if isinstance(payload, dict) else None,
                                    rp_id=rp_id, origin=origin)
    except ParameterError:
        db.commit()  # the failed try counts
        raise
    return JSONResponse({"next": "/me"})


@router.post("/me/lock")
def lock(db: Db, device: CsrfPersonPage) -> Response:
    records.lock(db, device)
    return RedirectResponse("/me/unlock", status_code=303)


# --- the programme ----------------------------------------------------------------------------------------

@router.get("/me")
def home(request: Request, db: Db, device: PersonPage) -> Response:
    client = records.client_of_device(db, device)
    records.audit_device(db, device, "read", "home_programme")
    today = actions.programme(db, device)
    return _me(request, "me_home.html", {
        "device": device, "client": client, "today": today, "self_care": self_care(request),
        "week": actions.weekly_dose(db, client),
        "person_tools": [(tool.person_title, tool.person_path) for tool in installed_tools() if tool.person_path],
        "evidence": {item.task.id: selfcare.evidence_for(item.task.title) for item in today} if self_care(request) else {},
    })


@router.get("/me/tasks/{task_id}")
def task_page(request: Request, db: Db, device: PersonPage, task_id: RowId) -> Response:
    task = records.device_task(db, device, task_id)
    client = records.client_of_device(db, device)
    policy, _ = actions.listener(db, client)
    records.audit_device(db, device, "read", "home_task", entity_id=task.id)
    if actions.is_measured(task):
        return _measured_task_page(request, device, task, policy)
    return _me(request, "me_task.html", {
        "device": device, "task": task, "tracks": actions.task_tracks(db, device, task),
        "gain_cap": actions.task_gain_cap(task), "ratings": actions.rating_scales(task),
        "autoplay_allowed": policy.autoplay_allowed, "policy": policy, "self_care": self_care(request),
        "evidence": selfcare.evidence_for(task.title) if self_care(request) else ([], ""),
    })


def _measured_task_page(request: Request, device, task, policy) -> Response:
    """A task another tool measures (tapping, singing): its part of the page comes from that tool's
    manifest (``TaskKind.page``), around the same ratings and the same offline queue."""
    from cadenza.evidence.query import get_intervention

    kind = actions.provided_kinds().get(task.kind)
    if kind is None:
        raise NotFoundError(f"task {task.id} not found")
    return _me(request, "me_measured_task.html", {
        "device": device, "task": task, "kind": kind, "ratings": actions.rating_scales(task), "policy": policy,
        "gain_cap": actions.task_gain_cap(task), "intervention": get_intervention(kind.intervention_code),
    })


@router.post("/me/tasks/{task_id}/tracks/{track_id}/block")
def block_track(db: Db, device: CsrfPersonPage, task_id: RowId, track_id: RowId) -> Response:
    """Never play this song again (a red flag the therapist sees, with who set it)."""
    task = records.device_task(db, device, task_id)
    records.block_track(db, device, task, track_id)
    return JSONResponse({"blocked": track_id})


@router.get("/me/forget")
def forget_form(request: Request, device: PersonPage) -> Response:
    if not self_care(request):
        raise NotFoundError("not found")
    return _me(request, "me_forget.html")


@router.post("/me/forget")
def forget(request: Request, device: CsrfPersonPage) -> Response:
    """Delete everything (self-care only): the server stops and its private folder is removed."""
    if not self_care(request):
        raise NotFoundError("not found")
    request.app.state.forget()
    return _me(request, "me_forgotten.html")


@router.get("/me/tasks/{task_id}/tracks/{track_id}")
def track_audio(db: Db, device: PersonPage, task_id: RowId, track_id: RowId) -> Response:
    task = records.device_task(db, device, task_id)
    path = actions.track_file(db, device, task, track_id)
    media_type = AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")
    # Private audio: the service worker keeps its own copy for offline use; no shared cache may.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.get("/me/tasks/{task_id}/cue.wav")
def cue_audio(db: Db, device: PersonPage, task_id: RowId) -> Response:
    task = records.device_task(db, device, task_id)
    return Response(actions.ras_cue_wav(db, device, task), media_type="audio/wav")


@router.get("/me/tasks/{task_id}/model.wav")
def mit_model(request: Request, db: Db, device: PersonPage, task_id: RowId) -> Response:
    """An MIT practice task's phrase, intoned with taps, within the listener's cap (rendered once, then kept)."""
    task = records.device_task(db, device, task_id)
    cache_dir = FilePath(request.app.state.settings.data_dir) / MIT_MODEL_CACHE_FOLDER
    return Response(actions.mit_model_wav(db, device, task, cache_dir=cache_dir), media_type="audio/wav")


@router.post("/me/completions")
def completion(db: Db, device: CsrfPersonPage, payload: Annotated[Any, Body()]) -> Response:
    """One completion as JSON (see :func:`~cadenza.tools.home.actions.record_completion`): 201 when
    stored, 200 when this device already sent it (the offline queue may send a completion twice)."""
    row, new = actions.record_completion(db, device, payload)
    return JSONResponse({"id": row.id, "stored": new, "task_id": row.task_id, "scores": row.scores or {}},
                        status_code=201 if new else 200)


@router.get("/me/report.pdf")
def family_report(db: Db, device: PersonPage, month: Annotated[str, Query(max_length=7)] = "") -> Response:
    """The same monthly report the therapist gives the family, for the person or their caregiver."""
    client = records.client_of_device(db, device)
    records.audit_device(db, device, "read", "family_report")
    pdf = report.render_pdf(report.build_report(db, client, month=report.parse_month(month)))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="music-at-home.pdf"'})


@router.get("/me/letter.pdf")
def referral_letter(request: Request, db: Db, device: PersonPage) -> Response:
    """A letter the person can take to their doctor, made from what they logged."""
    client = records.client_of_device(db, device)
    records.audit_device(db, device, "read", "referral_letter")
    pdf = report.render_letter_pdf(report.build_letter(db, client, self_care=self_care(request)))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="letter-for-my-doctor.pdf"'})


@router.get("/me/care")
def care(request: Request) -> Response:
    return _me(request, "me_care.html")


# --- the installable app's files ---------------------------------------------------------------------------

def _static(name: str, media_type: str, *, cache: str = "no-cache") -> Response:
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": cache})


@router.get("/me/manifest.webmanifest")
def manifest() -> Response:
    return _static("manifest.webmanifest", "application/manifest+json")


@router.get("/me/sw.js")
def service_worker() -> Response:
    # Its scope is the person's app and nothing else: /me itself (the programme) and /me/...
    response = _static("sw.js", "text/javascript")
    response.headers["Service-Worker-Allowed"] = "/me"
    return response


@router.get("/me/app.js")
def app_script() -> Response:
    return _static("app.js", "text/javascript")


@router.get("/me/recorder.js")
def recorder_script() -> Response:
    return _static("recorder.js", "text/javascript")


@router.get("/me/kinds/{code}.js")
def kind_script(code: Annotated[str, Path(max_length=16, pattern=r"^[a-z][a-z0-9_]*$")]) -> Response:
    """The script of a task kind another tool provides (its manifest's ``TaskKind.script``): the same for
    everyone, like the app's own script."""
    kind = actions.provided_kinds().get(code)
    path = kind.script_file() if kind is not None else None
    if path is None or not path.is_file():
        raise NotFoundError(f"no script for task kind {code!r}")
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/me/icon.svg")
def icon() -> Response:
    return _static("icon.svg", "image/svg+xml")
