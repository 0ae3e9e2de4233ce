"""Improvisation pages for a client: upload a MIDI file or capture a duet with Web MIDI, see a take's
timeline and figures, store them on a session.

Routes parse and render; the workflow (analysis, storage with its audit trail) is
:mod:`cadenza.tools.improv.actions`, shared with ``cadenza improv analyze``. The client is authorised
once per request and passed down.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cadenza.clinic import listening, service
from cadenza.clinic.access import get_client_for_actor
from cadenza.errors import ConflictError, ParameterError
from cadenza.tools.improv import actions, records
from cadenza.tools.improv.timeline import render_timeline
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TakeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_MIDI_BYTES = 2 * 1024 * 1024
MAX_EVENTS_CHARS = 6_000_000
MAX_AUDIO_BYTES = 40 * 1024 * 1024  # per recording: 3 min of 16-bit stereo at 44.1 kHz is 32 MB
FIELDS = ("midi", "events", "session_id", "client_player", "label", "audio_1", "audio_2", "player_1", "player_2",
          "kind_1", "kind_2")
STATIC = FilePath(__file__).parent / "static"
EVIDENCE_CODE = "drumming_improvisation"


def _evidence():
    from cadenza.evidence.query import evidence_for_intervention

    supporting, not_supporting = evidence_for_intervention(EVIDENCE_CODE)
    return {"supporting": supporting, "not_supporting": not_supporting}


def _safety(client) -> dict:
    """The client's safety flags and listening policy, shown first on every page about the client."""
    from cadenza.web.routes.clients import FLAG_LABELS

    return {"c": client, "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS}


def _page(request: Request, db, user, client, *, template: str = "improv/client_improv.html", state=None,
          run=None, svg: str = "", status_code: int = 200) -> Response:
    return render(request, template, {
        **_safety(client), "state": state or forms.FormState(values={}),
        "sessions": service.client_sessions(db, client=client, latest=10, held_only=True),
        "takes": records.list_takes(db, client_id=client.id)[:20], "evidence": _evidence(),
        "result": None if run is None else run.to_dict(), "svg": svg,
    }, status_code=status_code)


def _svg_of(run: actions.ImprovRun) -> str:
    return render_timeline(run.notes_rows(), players=list(run.take.player_names), client_player=run.client_player)


@router.get("/clients/{client_id}/improv")
def improv_page(request: Request, db: Db, user: PageUser, client_id: ClientId,
                session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    client = get_client_for_actor(db, actor=user, client_id=client_id)
    values = {"session_id": "" if session_id is None else str(session_id)}
    return _page(request, db, user, client, state=forms.FormState(values=values))


@router.get("/clients/{client_id}/improv/capture")
def capture_page(request: Request, db: Db, user: PageUser, client_id: ClientId,
                 session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    client = get_client_for_actor(db, actor=user, client_id=client_id)
    values = {"session_id": "" if session_id is None else str(session_id)}
    return _page(request, db, user, client, template="improv/capture.html", state=forms.FormState(values=values))


def _finish(request, db, user, client, state, run_of, template: str) -> Response:
    """Analyse (``run_of()``), then store on the chosen session and show the take, or show the result unstored."""
    session_id = forms.parse_id(state, "session_id", required=False)
    if not state.ok:
        return _page(request, db, user, client, template=template, state=state, status_code=422)
    try:
        run = run_of()
        if session_id:
            run = actions.record_take(db, actor=user, run=run, session_id=session_id,
                                      label=state.values.get("label", ""))
    except (ParameterError, ConflictError) as exc:  # bad input, or a signed session; NotFound stays a 404
        db.rollback()
        forms.attribute_error(state, str(exc), FIELDS, fallback="_form")
        return _page(request, db, user, client, template=template, state=state,
                     status_code=409 if isinstance(exc, ConflictError) else 422)
    if run.stored_take_id is not None:
        db.commit()
        return RedirectResponse(f"/clients/{client.id}/improv/takes/{run.stored_take_id}", status_code=303)
    return _page(request, db, user, client, template=template, state=state, run=run, svg=_svg_of(run))


@router.post("/clients/{client_id}/improv")
def analyse_upload(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    client = get_client_for_actor(db, actor=user, client_id=client_id)  # 404 before reading someone else's upload
    state = forms.FormState(values=forms.form_values(form))
    upload = form.get("midi")
    if upload is None or isinstance(upload, str):
        state.error("midi", "choose a MIDI file (.mid) to upload")
        return _page(request, db, user, client, state=state, status_code=422)
    data = upload.file.read(MAX_MIDI_BYTES + 1)

    def run_of():
        from cadenza.io.isolated import DecodeLimits

        if len(data) > MAX_MIDI_BYTES:
            raise ParameterError(f"midi: the file is larger than {MAX_MIDI_BYTES // (1024 * 1024)} MB")
        name = FilePath(upload.filename or "take.mid").name[:records.MAX_LABEL_CHARS] or "take.mid"
        return actions.analyse_midi_upload(data, name=name,
                                           client_player=state.values.get("client_player", "").strip() or None,
                                           limits=DecodeLimits.from_settings(request.app.state.settings))

    return _finish(request, db, user, client, state, run_of, "improv/client_improv.html")


@router.post("/clients/{client_id}/improv/audio")
def analyse_recordings(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    """One recording per player (one or two players), each a drum or a pitched part."""
    client = get_client_for_actor(db, actor=user, client_id=client_id)
    state = forms.FormState(values=forms.form_values(form))
    parts = []
    for k in (1, 2):
        upload = form.get(f"audio_{k}")
        if upload is None or isinstance(upload, str) or not upload.filename:
            continue
        name = state.values.get(f"player_{k}", "").strip() or ("therapist", "client")[k - 1]
        kind = state.values.get(f"kind_{k}", "drum")
        if kind not in ("drum", "pitched"):
            state.error(f"kind_{k}", f"choose drum or pitched, got {kind!r}")
        data = upload.file.read(MAX_AUDIO_BYTES + 1)
        if len(data) > MAX_AUDIO_BYTES:
            state.error(f"audio_{k}", f"the recording is larger than {MAX_AUDIO_BYTES // (1024 * 1024)} MB")
        parts.append((name, data, FilePath(upload.filename).name[:records.MAX_LABEL_CHARS], kind))
    if not parts:
        state.error("audio_1", "choose at least one recording (WAV, FLAC or OGG)")
    if not state.ok:
        return _page(request, db, user, client, state=state, status_code=422)

    def run_of():
        from cadenza.io.isolated import DecodeLimits

        return actions.analyse_audio_uploads(parts, client_player=state.values.get("client_player", "").strip() or None,
                                             limits=DecodeLimits.from_settings(request.app.state.settings))

    return _finish(request, db, user, client, state, run_of, "improv/client_improv.html")


@router.post("/clients/{client_id}/improv/capture")
def analyse_capture(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    import json

    client = get_client_for_actor(db, actor=user, client_id=client_id)
    state = forms.FormState(values=forms.form_values(form, max_chars={"events": MAX_EVENTS_CHARS}))

    def run_of():
        try:
            events = json.loads(state.values.get("events", "") or "null")
        except ValueError as exc:
            raise ParameterError(f"events is not valid JSON: {exc}") from None
        return actions.analyse_events(events, client_player="client")

    return _finish(request, db, user, client, state, run_of, "improv/capture.html")


@router.get("/clients/{client_id}/improv/takes/{take_id}")
def take_page(request: Request, db: Db, user: PageUser, client_id: ClientId, take_id: TakeId) -> Response:
    client = get_client_for_actor(db, actor=user, client_id=client_id)
    take = records.get_take(db, client=client, take_id=take_id)
    svg = render_timeline(take.notes, players=take.players, client_player=take.client_player)
    return render(request, "improv/take.html", {**_safety(client), "take": take, "result": take.features, "svg": svg,
                                                "evidence": _evidence()})


@router.get("/improv/capture.js")
def capture_script(user: PageUser) -> Response:  # noqa: ARG001 - the capture page's script, for logged-in therapists
    return FileResponse(STATIC / "capture.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})
