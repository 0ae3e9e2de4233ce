"""The person's own music on the client page: the analysed library with ratings and red flags, and
goal playlists in iso-principle order with the planned-vs-chosen chart and M3U8/XSPF downloads.
Scanning runs from the command line (``cadenza library scan``): it reads the therapist's disk.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.clinic import library_records as lr
from cadenza.clinic import listening
from cadenza.errors import ParameterError
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


def _page(request: Request, db, user, client_id: int, *, state=None, playlist=None, dose=None, chart=None,
          response_state=None, pre_state=None, status_code: int = 200) -> Response:
    from cadenza.clinic import service
    from cadenza.web.routes.clients import FLAG_LABELS

    client, policy = listening.client_policy(db, actor=user, client_id=client_id)
    tracks = lr.list_tracks(db, actor=user, client_id=client_id)
    state = state or forms.FormState(values={"goal": "relax", "minutes": "20", "arousal": "6"})
    return render(request, "library/client_library.html", {
        "c": client, "policy": policy, "flag_labels": FLAG_LABELS, "tracks": tracks, "state": state,
        "goal_choices": GOAL_CHOICES, "shape_choices": SHAPE_CHOICES, "playlist": playlist, "dose": dose,
        "chart": chart, "query": _query(state.values) if playlist else "",
        "sessions": service.list_sessions(db, actor=user, client_id=client_id)[-20:],
        "response_state": response_state or forms.FormState(values={"engagement": "2", "mood": "0", "agitation": "0"}),
        "pre_state": pre_state or forms.FormState(values={"minutes": "25"}),
        "preprocedure": lr.list_preprocedure_sessions(db, actor=user, client_id=client_id),
    }, status_code=status_code)


def _query(values: dict) -> str:
    from urllib.parse import urlencode

    return urlencode({k: values[k] for k in PLAYLIST_FIELDS if values.get(k)})


def _build(db, user, client_id: int, values: dict) -> tuple[forms.FormState, object | None]:
    from cadenza.music.playlists import CurrentState

    state = forms.FormState(values=values)
    minutes = forms.parse_float(state, "minutes")
    arousal = forms.parse_float(state, "arousal", required=False)
    cadence = forms.parse_float(state, "cadence_spm", required=False)
    goal = values.get("goal", "")
    shape = values.get("shape") or None
    if not state.ok:
        return state, None
    try:
        pl = lr.client_playlist(db, actor=user, client_id=client_id, goal=goal, minutes=minutes,
                                state=CurrentState(arousal_0_10=arousal) if arousal is not None else None,
                                shape=shape, cadence_spm=cadence)
    except ParameterError as exc:
        message = str(exc).replace("arousal_0_10", "arousal")
        forms.attribute_error(state, message, PLAYLIST_FIELDS)
        return state, None
    return state, pl


@router.get("/clients/{client_id}/library")
def library_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _page(request, db, user, client_id)


@router.post("/clients/{client_id}/library/playlist")
def build_playlist(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    values = forms.form_values(form)
    state, pl = _build(db, user, client_id, values)
    if pl is None:
        db.rollback()
        return _page(request, db, user, client_id, state=state, status_code=422)
    dose = lr.client_playlist_dose(db, actor=user, client_id=client_id, playlist=pl)
    chart = base64.b64encode(lr.render_playlist_chart(pl, fmt="svg")).decode("ascii") if pl.entries else None
    return _page(request, db, user, client_id, state=state, playlist=pl, dose=dose, chart=chart)


@router.get("/clients/{client_id}/library/playlist.{fmt}")
def download_playlist(db: Db, user: PageUser, client_id: ClientId,
                      fmt: Annotated[str, Path(pattern="^(m3u8|xspf)$")],
                      goal: Annotated[str, Query(max_length=20)] = "relax",
                      minutes: Annotated[float, Query(ge=1, le=600)] = 20.0,
                      arousal: Annotated[float | None, Query(ge=0, le=10)] = None,
                      shape: Annotated[str, Query(max_length=4)] = "",
                      cadence_spm: Annotated[float | None, Query(ge=40, le=200)] = None) -> Response:
    from cadenza.music.playlist_formats import render_m3u8, render_xspf

    values = {"goal": goal, "minutes": str(minutes), "shape": shape,
              "arousal": "" if arousal is None else str(arousal), "cadence_spm": "" if cadence_spm is None else str(cadence_spm)}
    state, pl = _build(db, user, client_id, values)
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
    row = lr.track_of_client(db, actor=user, client_id=client_id, track_id=track_id)
    lr.rate_track(db, actor=user, track_id=row.id, stars=stars or None)
    return RedirectResponse(f"/clients/{client_id}/library#track-{row.id}", status_code=303)


def _refuse_too_long(values: forms.FormValues) -> None:
    """The one-field track forms have no form state to show an error in: refuse an over-long field whole."""
    for name, (length, limit) in values.too_long.items():
        raise ParameterError(forms.too_long_message(name, length, limit))


@router.post("/clients/{client_id}/library/tracks/{track_id}/red-flag")
def red_flag(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, track_id: TrackId) -> Response:
    values = forms.form_values(form)
    _refuse_too_long(values)
    row = lr.track_of_client(db, actor=user, client_id=client_id, track_id=track_id)
    clear = values.get("clear") == "1"
    lr.flag_red(db, actor=user, track_id=row.id, reason=values.get("reason", ""), flagged=not clear)
    return RedirectResponse(f"/clients/{client_id}/library#track-{row.id}", status_code=303)


@router.post("/clients/{client_id}/library/tracks/{track_id}/family-pick")
def family_pick(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, track_id: TrackId) -> Response:
    values = forms.form_values(form)
    _refuse_too_long(values)
    row = lr.track_of_client(db, actor=user, client_id=client_id, track_id=track_id)
    lr.add_family_pick(db, actor=user, track_id=row.id, note=values.get("note", ""), picked_by=values.get("by", ""))
    return RedirectResponse(f"/clients/{client_id}/library#track-{row.id}", status_code=303)


RESPONSE_FIELDS = ("session_id", "engagement", "mood", "agitation")


@router.post("/clients/{client_id}/library/tracks/{track_id}/responses")
def log_response(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId, track_id: TrackId) -> Response:
    from cadenza.clinic import service
    from cadenza.music.reminiscence import SongResponse

    state = forms.FormState(values=forms.form_values(form))
    session_id = forms.parse_id(state, "session_id", required=False)
    numbers = {name: forms.parse_int(state, name) for name in RESPONSE_FIELDS[1:]}
    if state.ok:
        try:
            track = lr.track_of_client(db, actor=user, client_id=client_id, track_id=track_id)
            if session_id is None:  # default: the client's latest session
                sessions = service.list_sessions(db, actor=user, client_id=client_id)
                if not sessions:
                    raise ParameterError("session_id: record a session first; responses are stored on a session")
                session_id = sessions[-1].id
            response = SongResponse(str(track.id), numbers["engagement"], numbers["mood"], numbers["agitation"],
                                    state.values.get("sang_along") == "1")
            lr.log_response(db, actor=user, session_id=session_id, track_id=track.id, response=response,
                            note=state.values.get("note", ""))
            return RedirectResponse(f"/clients/{client_id}/library#track-{track.id}", status_code=303)
        except ParameterError as exc:
            db.rollback()
            message = str(exc).replace("engagement_0_3", "engagement").replace("mood_minus2_plus2", "mood")
            forms.attribute_error(state, message.replace("agitation_0_3", "agitation"), RESPONSE_FIELDS)
    return _page(request, db, user, client_id, response_state=state, status_code=422)


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
    from cadenza.music.playlists import CurrentState

    state = forms.FormState(values=forms.form_values(form))
    minutes = forms.parse_float(state, "minutes")
    arousal = forms.parse_float(state, "arousal", required=False)
    vas_before = forms.parse_float(state, "vas_before")
    vas_after = forms.parse_float(state, "vas_after")
    session_date = forms.parse_date(state, "session_date")
    stai_before, stai_after = _items(state, "stai_before"), _items(state, "stai_after")
    if state.ok:
        try:
            pl = lr.client_playlist(db, actor=user, client_id=client_id, goal="pre_procedure", minutes=minutes,
                                    state=CurrentState(arousal_0_10=arousal) if arousal is not None else None)
            lr.record_preprocedure_session(db, actor=user, client_id=client_id, session_date=session_date, playlist=pl,
                                           vas_before_mm=vas_before, vas_after_mm=vas_after,
                                           stai_before=stai_before, stai_after=stai_after)
            return RedirectResponse(f"/clients/{client_id}/library#preprocedure", status_code=303)
        except ParameterError as exc:
            db.rollback()
            message = str(exc).replace("vas_before_mm", "vas_before").replace("arousal_0_10", "arousal")
            forms.attribute_error(state, message, PRE_FIELDS)
    return _page(request, db, user, client_id, pre_state=state, status_code=422)
