"""The songwriting page of a client, ``/clients/{client_id}/songs``: lines in, the fit shown (htmx),
rhymes, public-domain tunes for parody and fill-in-the-blank, saved versions with their exports.

Each route authorises the client once and passes it down; a version of another client is the same 404
as a missing one. The workflow is :mod:`cadenza.tools.songs.actions`, the same as ``cadenza songs``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cadenza.clinic import service
from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.songs import actions, records, sheet
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SONG_FIELDS = ("title", "tune", "theme", "key", "mode", "tempo_bpm", "meter", "chords_per_bar", "progression",
               "lyrics", "song_key")
MAX_CHARS = {"lyrics": records.MAX_LYRICS_CHARS, "title": records.MAX_TITLE_CHARS}
DEFAULTS = {"key": "C", "mode": "major", "tempo_bpm": "90", "meter": "4/4", "chords_per_bar": "1",
            "progression": "I-IV-V-I", "theme": "free", "tune": "", "title": "", "lyrics": "", "song_key": ""}


def _lines(values: dict[str, str]) -> list[str]:
    return [x for x in values.get("lyrics", "").replace("\r", "").split("\n") if x.strip()]


def _song_from(values: dict[str, str]):
    spec = actions.spec_from_values(values)
    return actions.make_song(_lines(values), spec=spec, tune=values.get("tune") or None,
                             title=values.get("title", ""))


def _page(request: Request, db, client, *, state: forms.FormState | None = None, status_code: int = 200) -> Response:
    songs = records.client_songs(db, client=client)
    history = {s.song_key: records.song_history(db, client=client, song_key=s.song_key) for s in songs}
    name, note = actions.evidence_note()
    from cadenza.clinic import listening
    from cadenza.web.routes.clients import FLAG_LABELS

    return render(request, "songs/client_songs.html", {
        "c": client, "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS, "songs": songs, "history": history, "choices": actions.choices(),
        "state": state or forms.FormState(values=dict(DEFAULTS)), "evidence_name": name, "evidence_note": note,
    }, status_code=status_code)


@router.get("/clients/{client_id}/songs")
def songs_page(request: Request, db: Db, user: PageUser, client_id: RowId,
               version_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """The page; with ``version_id``, that version's words and choices fill the form to edit."""
    client = service.get_client(db, actor=user, client_id=client_id)
    state = None
    if version_id is not None:
        v = records.client_version(db, client=client, version_id=version_id)
        spec = v.spec
        state = forms.FormState(values={
            "title": v.title, "tune": v.tune or "", "theme": spec["theme"], "key": spec["key"], "mode": spec["mode"],
            "tempo_bpm": f"{spec['tempo_bpm']:g}", "meter": f"{spec['beats_per_bar']}/{spec.get('beat_unit', 4)}",
            "chords_per_bar": str(spec.get("chords_per_bar", 1)), "progression": "-".join(spec["progression"]),
            "lyrics": v.lyrics, "song_key": v.song_key})
    return _page(request, db, client, state=state)


@router.post("/clients/{client_id}/songs/fit")
def check_fit(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    """The fit of the lines as typed (an htmx fragment): syllables, counts, stress, problems."""
    client = service.get_client(db, actor=user, client_id=client_id)
    values = forms.form_values(form, max_chars=MAX_CHARS)
    try:
        if values.too_long:
            raise ParameterError(f"{next(iter(values.too_long))} is too long")
        song = _song_from(values)
    except ParameterError as exc:
        return render(request, "songs/_fit.html", {"c": client, "error": str(exc)}, status_code=422)
    return render(request, "songs/_fit.html", {"c": client, "song": song, "fits": actions.line_fits(song),
                                               "problems": actions.fit_problems(song),
                                               "chart": actions.chord_chart(song)})


@router.get("/clients/{client_id}/songs/rhymes")
def rhymes(request: Request, db: Db, user: PageUser, client_id: RowId,
           word: Annotated[str, Query(max_length=40)] = "") -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    try:
        found = actions.rhymes_for(word) if word.strip() else ()
        near = actions.near_rhymes_for(word) if word.strip() else ()
    except ParameterError as exc:
        return render(request, "songs/_rhymes.html", {"c": client, "error": str(exc)}, status_code=422)
    return render(request, "songs/_rhymes.html", {"c": client, "word": word, "found": found, "near": near,
                                                  "ranked_by": actions.rhyme_index().ranked_by})


@router.post("/clients/{client_id}/songs/versions")
def save(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: RowId) -> Response:
    """Save the song as a new song, or (with ``song_key``) as the next version of one."""
    client = service.get_client(db, actor=user, client_id=client_id)
    state = forms.FormState(values=forms.form_values(form, max_chars=MAX_CHARS))
    if state.ok:
        try:
            values = state.values
            song = _song_from(values)
            if not song.notes:
                raise ParameterError("lyrics must have at least one line with words")
            actions.save_song(db, actor=user, client=client, song=song, lines=_lines(values),
                              tune=values.get("tune") or None, song_key=values.get("song_key") or None)
            return RedirectResponse(f"/clients/{client_id}/songs", status_code=303)
        except (ParameterError, NotFoundError) as exc:
            db.rollback()
            client = service.get_client(db, actor=user, client_id=client_id)
            forms.attribute_error(state, str(exc), SONG_FIELDS, fallback="lyrics")
    return _page(request, db, client, state=state, status_code=422)


@router.post("/clients/{client_id}/songs/versions/{version_id}/restore")
def restore(db: Db, user: CsrfPageUser, client_id: RowId, version_id: RowId) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    records.restore_version(db, actor=user, client=client, version_id=version_id)
    return RedirectResponse(f"/clients/{client_id}/songs", status_code=303)


@router.get("/clients/{client_id}/songs/versions/{version_id}/export/{fmt}")
def export(db: Db, user: PageUser, client_id: RowId, version_id: RowId,
           fmt: Annotated[str, Path(pattern=r"^(mid|musicxml|wav|sung\.wav|html|pdf)$")]) -> Response:
    """A saved version as MIDI, MusicXML, WAV (an instrumental, or ``sung.wav``: the MIT voice singing the words),
    the lead sheet (HTML) or its PDF."""
    client = service.get_client(db, actor=user, client_id=client_id)
    version = records.client_version(db, client=client, version_id=version_id)
    song = actions.song_of_version(version)
    stem = f"{actions.file_stem(version.title)}-v{version.version}"
    if fmt == "html":
        html = sheet.render_html(song).replace('href="sheet.css"', f'href="/clients/{client_id}/songs/sheet.css"')
        return Response(html, media_type="text/html")
    if fmt == "pdf":
        return Response(sheet.render_pdf(song), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"'})
    data, media_type = actions.export_song(song, fmt)
    disposition = "inline" if fmt.endswith("wav") else "attachment"
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'{disposition}; filename="{stem}.{fmt}"'})


@router.get("/clients/{client_id}/songs/sheet.css")
def sheet_styles(db: Db, user: PageUser, client_id: RowId) -> Response:
    """The lead sheet's style (behind the login like the sheet; the CSP allows no inline style)."""
    service.get_client(db, actor=user, client_id=client_id)
    return FileResponse(sheet.STATIC / "sheet.css", media_type="text/css", headers={"Cache-Control": "no-cache"})
