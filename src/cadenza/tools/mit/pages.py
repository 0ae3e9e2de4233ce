"""MIT pages: a client's phrase bank, each level's step cues to play, and attempt upload + analysis.

Audio is only ever played by the therapist pressing play (no autoplay anywhere), which also
satisfies the seizure-flag policy; the level cap of the client's audio policy is shown beside the cues.

Each route authorises the client once (one audit row per page view) and passes the loaded client down;
a phrase that is not in that client's bank is a 404, whether it is another client's or no one's. The
workflows (a step cue for the client, with the rule "no MIT cues for NICU infants"; an analysed attempt
kept on a session, never when no attempt was found) are :mod:`cadenza.tools.mit.actions`, shared with
``cadenza mit``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.clinic import listening, service
from cadenza.errors import ConflictError, ParameterError
from cadenza.mit.levels import LEVELS, max_points
from cadenza.mit.scoring import ADVANCEMENT_CAVEAT
from cadenza.tools.mit import actions, records
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PhraseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PHRASE_FIELDS = ("text", "probe_question", "note", "level")
MAX_ATTEMPT_BYTES = 20 * 1024 * 1024


def _page(request: Request, db, client, state: forms.FormState | None = None, *,
          status: int = 200, analysis=None, analysed_phrase=None, correction_error: str = "") -> Response:
    """The MIT page of ``client``, already authorised (and audited) by the route."""
    from cadenza.io.speech import load_lexicon
    from cadenza.mit.melody import compose_melody
    from cadenza.mit.syllables import syllabify_phrase
    from cadenza.web.routes.clients import FLAG_LABELS

    phrases = records.client_phrases(db, client=client)
    lexicon = load_lexicon() if phrases else None
    scores = {p.id: compose_melody(syllabify_phrase(p.text, lexicon=lexicon), level=p.level,
                                   sprechgesang=p.level == 3).to_text() for p in phrases}
    advancement = {level: records.client_advancement(db, client=client, level=level) for level in LEVELS}
    return render(request, "mit/client_mit.html", {
        "c": client, "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS,
        "phrases": phrases, "scores": scores,
        "levels": LEVELS,
        "max_points": {level: max_points(level) for level in LEVELS}, "advancement": advancement,
        "caveat": ADVANCEMENT_CAVEAT, "state": state or forms.FormState(values={"level": "1"}),
        "sessions": service.client_sessions(db, client=client, held_only=True),
        "analysis": analysis, "analysed_phrase": analysed_phrase, "correction_error": correction_error,
        "removed": [(f"“{p.text}” (level {p.level})", f"/clients/{client.id}/mit/phrases/{p.id}/restore", p)
                    for p in records.removed_phrases(db, client=client)],
    }, status_code=status)


@router.get("/clients/{client_id}/mit")
def mit_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id))


@router.post("/clients/{client_id}/mit/phrases")
def add_phrase_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    level = forms.parse_int(state, "level")
    if state.ok:
        try:
            records.add_phrase(db, actor=user, client_id=client_id, text=state.values.get("text", ""),
                               probe_question=state.values.get("probe_question", ""),
                               note=state.values.get("note", ""), level=level or 1)
            return RedirectResponse(f"/clients/{client_id}/mit", status_code=303)
        except (ParameterError, ConflictError) as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), PHRASE_FIELDS)
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id), state, status=422)


@router.post("/clients/{client_id}/mit/phrases/{phrase_id}/remove")
def remove_phrase_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                       phrase_id: PhraseId) -> Response:
    """Take a phrase added in error out of the bank, with a reason; kept and restorable on this page."""
    try:
        records.remove_phrase(db, actor=user, client_id=client_id, phrase_id=phrase_id,
                              reason=str(form.get("reason") or ""))
    except (ParameterError, ConflictError) as exc:
        db.rollback()
        return _page(request, db, service.get_client(db, actor=user, client_id=client_id), correction_error=str(exc),
                     status=409 if isinstance(exc, ConflictError) else 422)
    return RedirectResponse(f"/clients/{client_id}/mit#removed", status_code=303)


@router.post("/clients/{client_id}/mit/phrases/{phrase_id}/restore")
def restore_phrase_page(form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                        phrase_id: PhraseId) -> Response:
    records.restore_phrase(db, actor=user, client_id=client_id, phrase_id=phrase_id, reason=str(form.get("reason") or ""))
    return RedirectResponse(f"/clients/{client_id}/mit#phrase-{phrase_id}", status_code=303)


@router.get("/clients/{client_id}/mit/phrases/{phrase_id}/cue.wav")
def cue_audio(db: Db, user: PageUser, client_id: ClientId, phrase_id: PhraseId,
              level: Annotated[int, Query(ge=1, le=3)] = 1,
              step: Annotated[str, Query(max_length=40)] = "unison") -> Response:
    """The rendered cue of one step (stereo WAV: voice left, taps right), capped to the client's policy."""
    from cadenza.io.speech import encode_wav_bytes

    client = service.get_client(db, actor=user, client_id=client_id)
    cue = actions.client_step_cue(db, actor=user, client=client, phrase_id=phrase_id, level=level, step=step)
    return Response(encode_wav_bytes(cue.samples, sampling_rate_hz=cue.sampling_rate_hz), media_type="audio/wav",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/clients/{client_id}/mit/attempts")
def analyse_attempt_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    """Analyse an uploaded attempt against a phrase; with a session chosen, store it on that session."""
    from cadenza.io.isolated import DecodeLimits
    from cadenza.io.isolated_analysis import analyse_attempt_bytes_isolated

    client = service.get_client(db, actor=user, client_id=client_id)  # 404 before reading someone else's upload
    state = forms.FormState(values=forms.form_values(form))
    phrase_id = forms.parse_id(state, "phrase_id")
    level = forms.parse_int(state, "level")
    session_id = forms.parse_id(state, "session_id", required=False)
    upload = form.get("attempt")
    if upload is None or isinstance(upload, str):
        state.error("attempt", "choose a recording of the attempt to upload")
    if not state.ok:
        return _page(request, db, client, state, status=422)
    phrase_row = records.client_phrase(db, client=client, phrase_id=phrase_id)
    text = phrase_row.text
    db.commit()  # end the authorising read's transaction: SQLite's write lock is not held while the upload is analysed
    data = upload.file.read(MAX_ATTEMPT_BYTES + 1)
    if len(data) > MAX_ATTEMPT_BYTES:
        raise ParameterError(f"the recording is larger than {MAX_ATTEMPT_BYTES // (1024 * 1024)} MB")
    melody = actions.target_melody(text, level=level)
    # Decode and analysis in one child process under memory/CPU/time limits, bounded by the
    # recording's duration (T25; security probe H2).
    analysis = analyse_attempt_bytes_isolated(data, melody=melody, name=upload.filename or "upload",
                                              limits=DecodeLimits.from_settings(request.app.state.settings))
    report = actions.record_attempt(db, actor=user, analysis=analysis, level=level, session_id=session_id or None,
                                    phrase_id=phrase_row.id)
    # No attempt found: shown as such, never scored or stored.
    return _page(request, db, client, analysis=analysis, analysed_phrase=phrase_row,
                 status=200 if report.attempt_found else 422)
