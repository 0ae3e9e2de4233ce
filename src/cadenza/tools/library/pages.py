"""The person's own music on the client page: the analysed library with ratings and red flags, and
goal playlists in iso-principle order with the planned-vs-chosen chart and M3U8/XSPF downloads.

Each route authorises the client once (one audit row per page view) and passes the loaded client down;
a track or session that is not that client's is a 404, whether it is another client's or no one's. The
workflows (a goal playlist with its level and dose, a response kept on a session, a pre-procedure
session) are :mod:`cadenza.tools.library.actions`, shared with ``cadenza library`` and ``cadenza playlist``.
Scanning runs from the command line (``cadenza library scan``): it reads the therapist's disk.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.clinic import service
from cadenza.errors import DataQualityError, ParameterError
from cadenza.music.tempo import MAX_TEMPO_BPM, MIN_TEMPO_BPM
from cadenza.safety.flags import audio_policy
from cadenza.tools.library import actions, figures, records
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TrackId = Annotated[int, Path(ge=1, le=2**31 - 1)]
GOAL_CHOICES = [("relax", "Relax"), ("sleep", "Sleep"), ("pre_procedure", "Before a procedure"), ("focus", "Focus"),
                ("energise", "Energise"), ("walk", "Walk (cadence)"), ("reminiscence", "Reminiscence")]
SHAPE_CHOICES = [("", "default for the goal"), ("U", "U: descend, hold, re-energise"), ("L", "L: descend and hold"),
                 ("J", "J: hold low, then rise"), ("iso", "straight iso line")]
PLAYLIST_FIELDS = ("goal", "minutes", "arousal", "shape", "cadence_spm")
PLAYLIST_FIELD_MAX_CHARS = 20  # each field of a playlist carried in a link (a goal name, a number)


def _page(request: Request, db, client, *, state=None, playlist=None, dose=None, chart=None,
          response_state=None, pre_state=None, tempo_error: str = "", status_code: int = 200) -> Response:
    """The library page of ``client``, already authorised (and audited) by the route."""
    from cadenza.web.routes.clients import FLAG_LABELS

    state = state or forms.FormState(values={"goal": "relax", "minutes": "20", "arousal": "6"})
    tracks = records.client_tracks(db, client=client)
    return render(request, "library/client_library.html", {
        "c": client, "policy": audio_policy(client.safety_flags or []), "flag_labels": FLAG_LABELS,
        "tracks": tracks, "track_by_id": {str(t.id): t for t in tracks}, "tempo_error": tempo_error,
        "min_bpm": MIN_TEMPO_BPM, "max_bpm": MAX_TEMPO_BPM, "state": state,
        "goal_choices": GOAL_CHOICES, "shape_choices": SHAPE_CHOICES, "playlist": playlist, "dose": dose,
        "chart": chart, "query": _query(state.values) if playlist else "",
        "sessions": service.client_sessions(db, client=client, held_only=True)[-20:],
        "response_state": response_state or forms.FormState(values={"engagement": "2", "mood": "0", "agitation": "0"}),
        "pre_state": pre_state or forms.FormState(values={"minutes": "25"}),
        "preprocedure": records.client_preprocedure_sessions(db, client=client),
    }, status_code=status_code)


def _query(values: dict) -> str:
    from urllib.parse import urlencode

    return urlencode({k: values[k] for k in PLAYLIST_FIELDS if values.get(k)})


def _build(db, client, values: dict) -> tuple[forms.FormState, object | None]:
    state = forms.FormState(values=values)
    minutes = forms.parse_float(state, "minutes")
    arousal = forms.parse_float(state, "arousal", required=False)
    cadence = forms.parse_float(state, "cadence_spm", required=False)
    if not state.ok:
        return state, None
    try:
        pl = actions.client_playlist(db, client=client, goal=values.get("goal", ""), minutes=minutes,
                                     arousal_0_10=arousal, shape=values.get("shape") or None, cadence_spm=cadence)
    except ParameterError as exc:
        message = str(exc).replace("arousal_0_10", "arousal")
        forms.attribute_error(state, message, PLAYLIST_FIELDS)
        return state, None
    return state, pl


def _playlist_page(request: Request, db, client, values: dict) -> Response:
    """The library page with the playlist ``values`` ask for built and shown (a build writes nothing)."""
    state, pl = _build(db, client, values)
    if pl is None:  # nothing was written: the page shows the form's errors
        return _page(request, db, client, state=state, status_code=422)
    dose = actions.client_playlist_dose(db, client=client, playlist=pl)
    chart = base64.b64encode(figures.render_playlist_chart(pl, fmt="svg")).decode("ascii") if pl.entries else None
    return _page(request, db, client, state=state, playlist=pl, dose=dose, chart=chart)


@router.get("/clients/{client_id}/library")
def library_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    """The library page; with a playlist's fields in the query (the page's own links back to a built
    playlist, e.g. after a tempo taken from its table) that playlist is built again and shown."""
    client = service.get_client(db, actor=user, client_id=client_id)
    values = {k: request.query_params.get(k, "")[:PLAYLIST_FIELD_MAX_CHARS] for k in PLAYLIST_FIELDS}
    if not values["goal"]:
        return _page(request, db, client)
    return _playlist_page(request, db, client, values)


@router.post("/clients/{client_id}/library/upload")
def upload_music(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    """Add the person's music from this browser: each file is checked and analysed in the limited child."""
    client = service.get_client_for_actor(db, actor=user, client_id=client_id, action="update")
    files = [f for f in form.getlist("files") if hasattr(f, "filename") and f.filename]
    state = forms.FormState(values={"goal": "relax", "minutes": "20", "arousal": "6"})
    if not files:
        state.error("_upload", "files: choose one or more music files to add")
        return _page(request, db, client, state=state, status_code=422)
    db.commit()  # the authorising read is kept; no write lock is held while the files are analysed
    music_dir = request.app.state.settings.data_dir / "music"
    added, refused = [], []
    for upload in files:
        try:
            track = actions.add_uploaded_track(db, actor=user, client=client, data=upload.file.read(),
                                               filename=upload.filename, music_dir=music_dir)
            db.commit()
            added.append(track.tags.title if track.tags else upload.filename)
        except (ParameterError, DataQualityError) as exc:
            db.rollback()
            refused.append(str(exc))
    if refused:
        state.error("_upload", " ".join(refused) + (f" Added: {', '.join(added)}." if added else ""))
        return _page(request, db, service.get_client(db, actor=user, client_id=client_id), state=state,
                     status_code=422)
    return RedirectResponse(f"/clients/{client_id}/library#tracks", status_code=303)


@router.post("/clients/{client_id}/library/playlist")
def build_playlist(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    return _playlist_page(request, db, client, forms.form_values(form))


@router.get("/clients/{client_id}/library/playlist.{fmt}")
def download_playlist(db: Db, user: PageUser, client_id: ClientId,
                      fmt: Annotated[str, Path(pattern="^(m3u8|xspf)$")],
                      goal: Annotated[str, Query(max_length=20)] = "relax",
                      minutes: Annotated[float, Query(ge=1, le=600)] = 20.0,
                      arousal: Annotated[float | None, Query(ge=0, le=10)] = None,
                      shape: Annotated[str, Query(max_length=4)] = "",
                      cadence_spm: Annotated[float | None, Query(ge=40, le=200)] = None) -> Response:
    from cadenza.music.playlist_formats import render_m3u8, render_xspf

    client = service.get_client(db, actor=user, client_id=client_id)
    values = {"goal": goal, "minutes": str(minutes), "shape": shape,
              "arousal": "" if arousal is None else str(arousal), "cadence_spm": "" if cadence_spm is None else str(cadence_spm)}
    state, pl = _build(db, client, values)
    if pl is None:
        raise ParameterError("; ".join(f"{k}: {v}" for k, v in state.errors.items()))
    title = f"Cadenza {goal} ({minutes:g} min)"
    if fmt == "m3u8":
        return Response(render_m3u8(pl, title=title), media_type="audio/x-mpegurl; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{goal}.m3u8"'})
    return Response(render_xspf(pl, title=title), media_type="application/xspf+xml",
                    headers={"Content-Disposition": f'attachment; filename="{goal}.xspf"'})


@router.post("/clients/{client_id}/library/tracks/{track_id}/rating")
def rate(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, track_id: TrackId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    stars = forms.parse_int(state, "stars", required=False)
    if not state.ok:
        raise ParameterError(f"stars must be a whole number 1-5, got {state.values.get('stars')!r}")
    row = records.rate_track(db, actor=user, client_id=client_id, track_id=track_id, stars=stars)
    return RedirectResponse(f"/clients/{client_id}/library#track-{row.id}", status_code=303)


@router.get("/library/tap-tempo.js")
def tap_tempo_script(user: PageUser) -> Response:
    """The library page's tap-tempo script, for a signed-in therapist (a file: the CSP allows no inline scripts)."""
    from pathlib import Path as FilePath

    from fastapi.responses import FileResponse

    return FileResponse(FilePath(__file__).parent / "static" / "tap_tempo.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


@router.post("/clients/{client_id}/library/tracks/{track_id}/tempo")
def correct_tempo(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                  track_id: TrackId) -> Response:
    """Halve, double, tap or set a track's tempo, take the competing level offered (``how=level`` with the
    offered ``bpm``), or go back to the analysed tempo (``how=restore``)."""
    values = forms.form_values(form)
    how = values.get("how", "")
    try:
        if how == "restore":
            row = records.restore_tempo(db, actor=user, client_id=client_id, track_id=track_id,
                                        reason=values.get("reason", ""))
        else:
            bpm = None
            if how in ("tap", "set", "level"):
                text = values.get("bpm", "").strip().replace(",", ".")
                try:
                    bpm = float(text)
                except ValueError:
                    raise ParameterError(f"bpm must be a tempo in beats per minute (tap or type it), got {text!r}") \
                        from None
            row = records.correct_tempo(db, actor=user, client_id=client_id, track_id=track_id, how=how,
                                        tempo_bpm=bpm, reason=values.get("reason", ""))
    except ParameterError as exc:
        db.rollback()
        client = service.get_client(db, actor=user, client_id=client_id)
        return _page(request, db, client, tempo_error=f"Tempo of track {track_id}: {exc}", status_code=422)
    playlist = _query(_playlist_values(values.get("playlist", "")))
    if playlist:  # taken from a built playlist's table: back to that playlist, built with the new tempo
        return RedirectResponse(f"/clients/{client_id}/library?{playlist}#playlist", status_code=303)
    return RedirectResponse(f"/clients/{client_id}/library#track-{row.id}", status_code=303)


def _playlist_values(query: str) -> dict:
    """The playlist fields of a query string a tempo form carried back (anything else in it is dropped)."""
    from urllib.parse import parse_qs

    parsed = parse_qs(query[:PLAYLIST_FIELD_MAX_CHARS * 2 * len(PLAYLIST_FIELDS)])
    return {k: parsed[k][0][:PLAYLIST_FIELD_MAX_CHARS] for k in PLAYLIST_FIELDS if parsed.get(k)}


def _refuse_too_long(values: forms.FormValues) -> None:
    """The one-field track forms have no form state to show an error in: refuse an over-long field whole."""
    for name, (length, limit) in values.too_long.items():
        raise ParameterError(forms.too_long_message(name, length, limit))


@router.post("/clients/{client_id}/library/tracks/{track_id}/red-flag")
def red_flag(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, track_id: TrackId) -> Response:
    values = forms.form_values(form)
    _refuse_too_long(values)
    row = records.flag_red(db, actor=user, client_id=client_id, track_id=track_id, reason=values.get("reason", ""),
                           flagged=values.get("clear") != "1")
    return RedirectResponse(f"/clients/{client_id}/library#track-{row.id}", status_code=303)


@router.post("/clients/{client_id}/library/tracks/{track_id}/family-pick")
def family_pick(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, track_id: TrackId) -> Response:
    values = forms.form_values(form)
    _refuse_too_long(values)
    row = records.add_family_pick(db, actor=user, client_id=client_id, track_id=track_id, note=values.get("note", ""),
                                  picked_by=values.get("by", ""))
    return RedirectResponse(f"/clients/{client_id}/library#track-{row.id}", status_code=303)


RESPONSE_FIELDS = ("session_id", "engagement", "mood", "agitation")


@router.post("/clients/{client_id}/library/tracks/{track_id}/responses")
def log_response(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, track_id: TrackId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    session_id = forms.parse_id(state, "session_id", required=False)
    numbers = {name: forms.parse_int(state, name) for name in RESPONSE_FIELDS[1:]}
    if state.ok:
        try:
            report = actions.respond_to_track(
                db, actor=user, client_id=client_id, track_id=track_id, session_id=session_id,
                engagement_0_3=numbers["engagement"], mood_minus2_plus2=numbers["mood"],
                agitation_0_3=numbers["agitation"], sang_along=state.values.get("sang_along") == "1",
                note=state.values.get("note", ""))
            return RedirectResponse(f"/clients/{client_id}/library#track-{report.stored.track_id}", status_code=303)
        except ParameterError as exc:
            db.rollback()
            message = str(exc).replace("engagement_0_3", "engagement").replace("mood_minus2_plus2", "mood")
            forms.attribute_error(state, message.replace("agitation_0_3", "agitation"), RESPONSE_FIELDS)
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id), response_state=state,
                 status_code=422)


PRE_FIELDS = ("minutes", "arousal", "vas_before", "vas_after", "stai_before", "stai_after", "session_date")


def _items(state: forms.FormState, name: str) -> list[int] | None:
    text = state.values.get(name, "").strip()
    if not text:
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",")]
    except ValueError:
        state.error(name, f"{name} must be six item scores 1-4 separated by commas, e.g. 2,3,3,2,2,3")
        return None


@router.post("/clients/{client_id}/library/preprocedure")
def preprocedure(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    minutes = forms.parse_float(state, "minutes")
    arousal = forms.parse_float(state, "arousal", required=False)
    vas_before = forms.parse_float(state, "vas_before")
    vas_after = forms.parse_float(state, "vas_after")
    session_date = forms.parse_date(state, "session_date")
    stai_before, stai_after = _items(state, "stai_before"), _items(state, "stai_after")
    if state.ok:
        try:
            actions.record_preprocedure(db, actor=user, client_id=client_id, session_date=session_date, minutes=minutes,
                                        arousal_0_10=arousal, vas_before_mm=vas_before, vas_after_mm=vas_after,
                                        stai_before=stai_before, stai_after=stai_after)
            return RedirectResponse(f"/clients/{client_id}/library#preprocedure", status_code=303)
        except ParameterError as exc:
            db.rollback()
            message = str(exc).replace("vas_before_mm", "vas_before").replace("arousal_0_10", "arousal")
            forms.attribute_error(state, message, PRE_FIELDS)
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id), pre_state=state,
                 status_code=422)
