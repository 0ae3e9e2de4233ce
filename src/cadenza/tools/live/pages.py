"""Live cueing pages: the therapist's (``/clients/{client_id}/live``), the person's (``/me/live``) and the
WebSocket both use (``/live/ws/{walk_id}``).

The WebSocket is authorised once, when it connects: the therapist's login cookie (for a walk of one of
their clients) or the person's unlocked device cookie (for a walk that device started), from a page of
this server (the Origin must match; a WebSocket is not covered by the same-origin policy). After that
each message is a batch of samples; the reply carries the next beats. The science and the record are
:mod:`cadenza.tools.live.actions`; the routes move messages.

The newest socket of a walk owns it (``actions``: a lease on the walk's row, taken with the socket's first
message, so a connection that never streams takes nothing away). An older socket, on this process or
another, is closed with code 4001 and a reason; the page then keeps its fixed-tempo cue and does not
reconnect, so a phone that reconnects always wins and two connections never fight over one walk.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cadenza.clinic import auth, people
from cadenza.clinic.db import session_scope
from cadenza.errors import CadenzaError, NotFoundError, ParameterError
from cadenza.evidence.query import get_entry
from cadenza.tools.live import actions, records
from cadenza.web import deps, forms
from cadenza.web.deps import CsrfPageUser, CsrfPersonPage, Db, PageUser, PersonPage, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

STATIC = FilePath(__file__).with_name("static")
ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
WalkId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_MESSAGE_CHARS = 400_000  # a full batch (2,000 samples) is ~120 kB of JSON
EVIDENCE_IDS = ("thaut1996_parkinson_ras", "magee2017_brain_injury")
START_FIELDS = ("preferred_cadence_spm", "increase_percent", "placement", "session_id", "music_track_id")
PLACEMENT_CHOICES = [("thigh", "Phone in a trouser pocket (thigh)"), ("lower-back", "Phone or sensor on a belt (lower back)"),
                     ("shank", "Sensor on the shin (shank)")]


def _evidence() -> list:
    return [get_entry(entry_id) for entry_id in EVIDENCE_IDS]


def _music(db, client_id: int) -> dict[str, Any]:
    """The cue choices (clicks, or one of the client's library songs that has stored beats) and the songs'
    titles for the list of walks."""
    songs = records.music_choices(db, client_id=client_id)
    return {"music_options": [("", "Clicks")] + [
        (str(t.id), f"{t.title} · {t.tempo_bpm:.0f} beats/min" if t.tempo_bpm else t.title) for t in songs],
        "music_titles": {t.id: t.title for t in songs}}


def _music_choice(state: forms.FormState) -> int | None:
    return forms.parse_int(state, "music_track_id") if state.values.get("music_track_id", "") else None


MUSIC_CACHE_FOLDER = "live_music"  # under the data directory: each song rendered once per goal tempo


def _music_response(request: Request, db, row) -> Response:
    """The walk's song at its goal tempo within the listener's cap; its beats (seconds into the WAV) in a header."""
    cue = actions.walk_music(db, row, cache_dir=request.app.state.settings.data_dir / MUSIC_CACHE_FOLDER)
    return Response(cue.wav, media_type="audio/wav", headers={
        "Cache-Control": "private, no-store", "X-Cadenza-Beat-Times-S": ",".join(f"{b:.6f}" for b in cue.beat_times_s),
        "X-Cadenza-Tempo-BPM": f"{cue.tempo_bpm:.3f}", "X-Cadenza-Level-dBA": f"{cue.level_dba:.1f}"})


# --- the therapist ------------------------------------------------------------------------------------------

def _client_page(request: Request, db, user, client_id: int, *, state=None, attach_error: str | None = None,
                 status_code: int = 200) -> Response:
    from cadenza.clinic import listening, service
    from cadenza.web.routes.clients import FLAG_LABELS

    client, policy = listening.client_policy(db, actor=user, client_id=client_id)
    cadence = records.latest_cadence_spm(db, actor=user, client_id=client_id)
    if state is None:
        state = forms.FormState(values={"preferred_cadence_spm": f"{cadence:g}" if cadence else "",
                                        "increase_percent": "5", "placement": "lower-back", "session_id": "",
                                        "music_track_id": ""})
    return render(request, "live/client_live.html", {
        "c": client, "policy": policy, "flag_labels": FLAG_LABELS, "state": state, "latest_cadence": cadence, "walks": records.list_walks(db, actor=user, client_id=client_id),
        "session_options": [("", "(none)")] + [(str(s.id), f"{s.session_date} · {s.intervention_code}")
                                               for s in service.list_sessions(db, actor=user, client_id=client_id, held_only=True)[-10:]],
        "evidence": _evidence(),
        "placements": PLACEMENT_CHOICES, "attach_error": attach_error, "therapist_view": True,
        **_music(db, client.id),
    }, status_code=status_code)


@router.get("/clients/{client_id}/live")
def live_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _client_page(request, db, user, client_id)


@router.post("/clients/{client_id}/live")
def start_walk(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    cadence = forms.parse_float(state, "preferred_cadence_spm")
    increase = forms.parse_float(state, "increase_percent")
    session_text = state.values.get("session_id", "")
    session_id = forms.parse_int(state, "session_id") if session_text else None
    music_track_id = _music_choice(state)
    if state.ok:
        try:
            row = records.start_walk_for_therapist(db, actor=user, client_id=client_id, preferred_cadence_spm=cadence,
                                                   increase_percent=increase, placement=state.values.get("placement", ""),
                                                   session_id=session_id, music_track_id=music_track_id)
            return RedirectResponse(f"/clients/{client_id}/live/{row.id}", status_code=303)
        except (ParameterError, NotFoundError) as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), START_FIELDS)
    return _client_page(request, db, user, client_id, state=state, status_code=422)


@router.post("/clients/{client_id}/live/{walk_id}/end")
def end_walk(request: Request, db: Db, user: CsrfPageUser, client_id: ClientId, walk_id: WalkId) -> Response:
    """End a walk the phone left running (its results so far are kept)."""
    row = records.walk_for_therapist(db, actor=user, walk_id=walk_id, action="update")
    if row.client_id != client_id:
        raise NotFoundError(f"live walk {walk_id!r} not found for client {client_id!r}")
    actions.finish(db, row, actor=user)
    return RedirectResponse(f"/clients/{client_id}/live", status_code=303)


@router.post("/clients/{client_id}/live/{walk_id}/session")
def attach_walk(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                walk_id: WalkId) -> Response:
    """Store an ended walk's outcomes on one of the client's sessions (e.g. a walk from the person's phone)."""
    state = forms.FormState(values=forms.form_values(form))
    session_id = forms.parse_int(state, "session_id")
    row = records.walk_for_therapist(db, actor=user, walk_id=walk_id)
    if row.client_id != client_id:
        raise NotFoundError(f"live walk {walk_id!r} not found for client {client_id!r}")
    if state.ok:
        try:
            records.attach_walk_to_session(db, actor=user, walk_id=walk_id, session_id=session_id)
            return RedirectResponse(f"/clients/{client_id}/live", status_code=303)
        except (ParameterError, NotFoundError) as exc:
            db.rollback()
            state.errors["_form"] = str(exc)
    return _client_page(request, db, user, client_id, state=None, attach_error=state.errors.get("_form")
                        or state.errors.get("session_id"), status_code=422)


@router.get("/clients/{client_id}/live/{walk_id}")
def walk_page(request: Request, db: Db, user: PageUser, client_id: ClientId, walk_id: WalkId) -> Response:
    row = records.walk_for_therapist(db, actor=user, walk_id=walk_id)
    if row.client_id != client_id:
        raise NotFoundError(f"live walk {walk_id!r} not found for client {client_id!r}")
    return render(request, "live/walk.html", {"walk": row, "back": f"/clients/{client_id}/live", "person": False,
                                              "evidence": _evidence(), "gain_cap": actions.walk_gain_cap(db, row),
                                              "music_url": f"/clients/{client_id}/live/{walk_id}/music.wav"})


@router.get("/clients/{client_id}/live/{walk_id}/music.wav")
def walk_music(request: Request, db: Db, user: PageUser, client_id: ClientId, walk_id: WalkId) -> Response:
    """The walk's song at its goal tempo, within the client's level cap (the page plays it beat by beat)."""
    row = records.walk_for_therapist(db, actor=user, walk_id=walk_id)
    if row.client_id != client_id:
        raise NotFoundError(f"live walk {walk_id!r} not found for client {client_id!r}")
    return _music_response(request, db, row)


# --- the person ---------------------------------------------------------------------------------------------

def _me_page(request: Request, db, device, *, state=None, status_code: int = 200) -> Response:
    if state is None:
        state = forms.FormState(values={"preferred_cadence_spm": "100", "increase_percent": "5", "placement": "thigh",
                                        "music_track_id": ""})
    return render(request, "live/me_live.html", {
        "person": True, "state": state, "walks": records.list_device_walks(db, device=device), "evidence": _evidence(),
        "placements": PLACEMENT_CHOICES, **_music(db, device.client_id)},
        status_code=status_code)


@router.get("/me/live")
def me_live(request: Request, db: Db, device: PersonPage) -> Response:
    return _me_page(request, db, device)


@router.post("/me/live")
def me_start_walk(request: Request, form: SubmittedForm, db: Db, device: CsrfPersonPage) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    cadence = forms.parse_float(state, "preferred_cadence_spm")
    increase = forms.parse_float(state, "increase_percent")
    music_track_id = _music_choice(state)
    if state.ok:
        try:
            row = records.start_walk_for_device(db, device=device, preferred_cadence_spm=cadence,
                                                increase_percent=increase, placement=state.values.get("placement", ""),
                                                music_track_id=music_track_id)
            return RedirectResponse(f"/me/live/{row.id}", status_code=303)
        except (ParameterError, NotFoundError) as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), START_FIELDS)
    return _me_page(request, db, device, state=state, status_code=422)


@router.get("/me/live/{walk_id}")
def me_walk_page(request: Request, db: Db, device: PersonPage, walk_id: WalkId) -> Response:
    row = records.walk_for_device(db, device=device, walk_id=walk_id)
    return render(request, "live/walk.html", {"walk": row, "back": "/me/live", "person": True, "evidence": _evidence(),
                                              "gain_cap": actions.walk_gain_cap(db, row),
                                              "music_url": f"/me/live/{walk_id}/music.wav"})


@router.get("/me/live/{walk_id}/music.wav")
def me_walk_music(request: Request, db: Db, device: PersonPage, walk_id: WalkId) -> Response:
    """The song of a walk this device started, at its goal tempo, within the person's level cap."""
    return _music_response(request, db, records.walk_for_device(db, device=device, walk_id=walk_id))


@router.get("/live/live.js")
def live_script() -> Response:
    return FileResponse(STATIC / "live.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


# --- the WebSocket ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Who:
    """Who opened the socket: a therapist (by id) or a person's device (by id)."""

    therapist_id: int | None = None
    device_id: int | None = None


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if not origin or not host:
        return False
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin == f"{scheme}://{host}"


def _authorise(websocket: WebSocket, walk_id: int) -> Who:
    """The one authorisation of a socket; NotFoundError (close 1008) for anyone else."""
    secure = websocket.url.scheme == "wss"
    cookies = websocket.cookies
    with session_scope(websocket.app.state.session_factory) as db:
        found = auth.resolve_session(db, cookies.get(deps.SECURE_SESSION_COOKIE if secure else deps.SESSION_COOKIE))
        if found is not None:
            therapist, _ = found
            if auth.needs_mfa_enrolment(db, therapist):
                raise NotFoundError("two-factor login must be set up first")
            row = records.walk_for_therapist(db, actor=therapist, walk_id=walk_id, action="update")
            if row.person_device_id is not None:  # the person's own walk streams from their phone only
                raise NotFoundError(f"live walk {walk_id!r} not found")
            if not row.is_open:
                raise NotFoundError(f"live walk {walk_id!r} has ended")
            actions.running_for(row)
            return Who(therapist_id=therapist.id)
        device = people.resolve_device(db, cookies.get(deps.SECURE_PERSON_COOKIE if secure else deps.PERSON_COOKIE))
        self_care = bool(getattr(websocket.app.state, "self_care", False))
        if device is None or not (self_care or people.is_unlocked(device)):
            raise NotFoundError("open the app first")
        row = records.walk_for_device(db, device=device, walk_id=walk_id)
        if not row.is_open:
            raise NotFoundError(f"live walk {walk_id!r} has ended")
        people.touch(device)
        actions.running_for(row)
        return Who(device_id=device.id)


def _load(db, who: Who, walk_id: int):
    # The row is locked until the save commits: two processes saving one walk take turns (PostgreSQL).
    row = db.get(records.LiveCueWalk, walk_id, with_for_update=True)
    if who.therapist_id is not None:
        from cadenza.clinic.models import Therapist

        return row, db.get(Therapist, who.therapist_id), None
    return row, None, db.get(people.PersonDevice, who.device_id)


def _save(websocket: WebSocket, who: Who, walk_id: int, running: actions.Running, lease: int) -> bool:
    """Save the walk; False when a newer socket owns it (nothing saved)."""
    with session_scope(websocket.app.state.session_factory) as db:
        row, _, _ = _load(db, who, walk_id)
        if row is not None and row.is_open:
            return actions.save(db, row, running, lease=lease)
        return True


def _claim(websocket: WebSocket, walk_id: int) -> tuple[int, actions.Running]:
    """Take the walk's lease, and the walk's science as the row holds it now: with the lease on the row, no
    older socket saves after this, so a copy older than the row is replaced by the row's."""
    with session_scope(websocket.app.state.session_factory) as db:
        lease = records.claim_socket_lease(db, walk_id)
        return lease, actions.running_for(db.get(records.LiveCueWalk, walk_id))


def _still_owner(websocket: WebSocket, walk_id: int, lease: int) -> bool:
    with session_scope(websocket.app.state.session_factory) as db:
        return records.socket_lease(db, walk_id) == lease


def _finish(websocket: WebSocket, who: Who, walk_id: int, lease: int) -> dict[str, Any] | None:
    """End the walk and return its summary; None when a newer socket owns it (the walk goes on there)."""
    with session_scope(websocket.app.state.session_factory) as db:
        row, actor, device = _load(db, who, walk_id)
        if row is None:
            raise NotFoundError(f"live walk {walk_id!r} not found")
        if row.socket_lease != lease:
            return None
        return actions.finish(db, row, actor=actor, device=device)


def _take(running: actions.Running, text: str, lease: int) -> dict[str, Any]:
    if len(text) > MAX_MESSAGE_CHARS:
        raise ParameterError(f"a batch must be at most {MAX_MESSAGE_CHARS} characters of JSON, got {len(text)}")
    try:
        message = json.loads(text)
    except ValueError:
        raise ParameterError("a batch must be JSON") from None
    if isinstance(message, dict) and message.get("type") == "end":
        return {"end": True}
    return actions.take_batch(running, message, lease=lease)


@router.websocket("/live/ws/{walk_id}")
async def live_socket(websocket: WebSocket, walk_id: int) -> None:
    if not 1 <= walk_id < 2**31 or not _same_origin(websocket):
        await websocket.close(code=1008)
        return
    try:
        who = await run_in_threadpool(_authorise, websocket, walk_id)
    except CadenzaError:
        await websocket.close(code=1008)
        return
    running = actions.RUNNING.get(walk_id)
    if running is None:  # ended between the check and now
        await websocket.close(code=1008)
        return
    superseded = asyncio.Event()
    stop = asyncio.ensure_future(superseded.wait())
    lease: list[int] = []  # this socket's number, once it has sent its first message
    try:
        await websocket.accept()
        if await _serve_socket(websocket, who, walk_id, running, superseded, stop, lease):
            return
    finally:
        stop.cancel()
        if lease:
            actions.unregister_socket(walk_id, lease[0])
    # A newer socket owns the walk: this one takes nothing more and is told why (the page stops reconnecting).
    actions.forget_unowned(walk_id)
    await websocket.close(code=actions.SUPERSEDED_CLOSE_CODE, reason=actions.SUPERSEDED_REASON)


async def _serve_socket(websocket: WebSocket, who: Who, walk_id: int, running: actions.Running,
                        superseded: asyncio.Event, stop: asyncio.Future, lease: list[int]) -> bool:
    """Batches in, replies out, until the walk ends or the socket drops (True), or a newer socket takes the
    walk (False). The socket takes the walk's lease with its first message (``lease`` gets its number)."""
    loop = asyncio.get_running_loop()
    checked_at = time.monotonic()
    try:
        while True:
            receive = asyncio.ensure_future(websocket.receive_text())
            await asyncio.wait({receive, stop}, return_when=asyncio.FIRST_COMPLETED)
            if stop.done():
                receive.cancel()
                return False
            text = receive.result()
            if not lease:
                number, running = await run_in_threadpool(_claim, websocket, walk_id)
                lease.append(number)
                actions.register_socket(walk_id, lease[0], lambda: loop.call_soon_threadsafe(superseded.set))
                checked_at = time.monotonic()
            elif time.monotonic() - checked_at >= actions.LEASE_CHECK_S:  # a newer socket on another process?
                if not await run_in_threadpool(_still_owner, websocket, walk_id, lease[0]):
                    return False
                checked_at = time.monotonic()
            try:
                reply = await run_in_threadpool(_take, running, text, lease[0])
            except actions.Superseded:
                return False
            except ParameterError as exc:
                await websocket.send_json({"error": str(exc)})
                continue
            if reply.get("end"):
                summary = await run_in_threadpool(_finish, websocket, who, walk_id, lease[0])
                if summary is None:
                    return False
                await websocket.send_json(summary)
                await websocket.close()
                return True
            await websocket.send_json(reply)
            if actions.save_due(running):
                if not await run_in_threadpool(_save, websocket, who, walk_id, running, lease[0]):
                    return False
    except WebSocketDisconnect:
        # The device reconnects and re-sends what was not acknowledged; keep what was taken in (if still the owner).
        if walk_id in actions.RUNNING and lease:
            await run_in_threadpool(_save, websocket, who, walk_id, running, lease[0])
        return True
