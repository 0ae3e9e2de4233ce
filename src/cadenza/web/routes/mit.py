"""MIT pages: a client's phrase bank, each level's step cues to play, and attempt upload + analysis.

Audio is only ever played by the therapist pressing play (no autoplay anywhere), which also
satisfies the seizure-flag policy; the level cap of the client's audio policy is shown beside the cues.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.clinic import mit_records, service
from cadenza.errors import ConflictError, ParameterError
from cadenza.mit.levels import LEVELS, max_points
from cadenza.mit.scoring import ADVANCEMENT_CAVEAT
from cadenza.safety.flags import audio_policy
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PhraseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PHRASE_FIELDS = ("text", "probe_question", "note", "level")
MAX_ATTEMPT_BYTES = 20 * 1024 * 1024


def _page(request: Request, db, user, client_id: int, state: forms.FormState | None = None, *,
          status: int = 200, analysis=None, analysed_phrase=None) -> Response:
    from cadenza.io.speech import load_lexicon
    from cadenza.mit.melody import compose_melody
    from cadenza.mit.syllables import syllabify_phrase
    from cadenza.web.routes.clients import FLAG_LABELS

    client = service.get_client(db, actor=user, client_id=client_id)
    phrases = mit_records.list_phrases(db, actor=user, client_id=client_id)
    lexicon = load_lexicon() if phrases else None
    scores = {p.id: compose_melody(syllabify_phrase(p.text, lexicon=lexicon), level=p.level,
                                   sprechgesang=p.level == 3).to_text() for p in phrases}
    advancement = {level: mit_records.level_advancement(db, actor=user, client_id=client_id, level=level)
                   for level in LEVELS}
    return render(request, "mit/client_mit.html", {
        "c": client, "policy": audio_policy(client.safety_flags), "flag_labels": FLAG_LABELS,
        "phrases": phrases, "scores": scores,
        "levels": LEVELS,
        "max_points": {level: max_points(level) for level in LEVELS}, "advancement": advancement,
        "caveat": ADVANCEMENT_CAVEAT, "state": state or forms.FormState(values={"level": "1"}),
        "sessions": service.list_sessions(db, actor=user, client_id=client_id),
        "analysis": analysis, "analysed_phrase": analysed_phrase,
    }, status_code=status)


@router.get("/clients/{client_id}/mit")
def mit_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _page(request, db, user, client_id)


@router.post("/clients/{client_id}/mit/phrases")
def add_phrase_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    level = forms.parse_int(state, "level")
    if state.ok:
        try:
            mit_records.add_phrase(db, actor=user, client_id=client_id, text=state.values.get("text", ""),
                                   probe_question=state.values.get("probe_question", ""),
                                   note=state.values.get("note", ""), level=level or 1)
            return RedirectResponse(f"/clients/{client_id}/mit", status_code=303)
        except (ParameterError, ConflictError) as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), PHRASE_FIELDS)
    return _page(request, db, user, client_id, state, status=422)


@router.get("/clients/{client_id}/mit/phrases/{phrase_id}/cue.wav")
def cue_audio(db: Db, user: PageUser, client_id: ClientId, phrase_id: PhraseId,
              level: Annotated[int, Query(ge=1, le=3)] = 1,
              step: Annotated[str, Query(max_length=40)] = "unison") -> Response:
    """The rendered cue of one step (stereo WAV: voice left, taps right)."""
    from cadenza.io.speech import encode_wav_bytes, prepare_cue_material
    from cadenza.mit.cues import render_step_cue
    from cadenza.mit.levels import DEFAULT_PROBE_QUESTION, get_step

    from cadenza.clinic import safety_records
    from cadenza.safety.enforce import apply_audio_policy

    phrase = mit_records.get_phrase(db, actor=user, phrase_id=phrase_id)
    if phrase.client_id != client_id:
        raise ParameterError(f"phrase {phrase_id!r} is not in client {client_id!r}'s phrase bank")
    get_step(level, step)
    client, policy = safety_records.client_policy(db, actor=user, client_id=client_id)
    if policy.nicu_limits:
        raise ParameterError("MIT cues are not for NICU infants (the client has the nicu_infant flag)")
    material = prepare_cue_material(phrase.text, question=phrase.probe_question or DEFAULT_PROBE_QUESTION)
    cue = render_step_cue(material, level=level, step_code=step)
    capped = apply_audio_policy(cue.samples, sampling_rate_hz=cue.sampling_rate_hz, policy=policy,
                                calibration=safety_records.latest_calibration(db, actor=user, client_id=client.id))
    return Response(encode_wav_bytes(capped.samples, sampling_rate_hz=cue.sampling_rate_hz), media_type="audio/wav",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/clients/{client_id}/mit/attempts")
def analyse_attempt_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    """Analyse an uploaded attempt against a phrase; with a session chosen, store it on that session."""
    from cadenza.io.isolated import DecodeLimits
    from cadenza.io.isolated_analysis import analyse_attempt_bytes_isolated
    from cadenza.io.speech import load_lexicon
    from cadenza.mit.melody import compose_melody
    from cadenza.mit.syllables import syllabify_phrase

    state = forms.FormState(values=forms.form_values(form))
    phrase_id = forms.parse_id(state, "phrase_id")
    level = forms.parse_int(state, "level")
    session_id = forms.parse_id(state, "session_id", required=False)
    upload = form.get("attempt")
    if upload is None or isinstance(upload, str):
        state.error("attempt", "choose a recording of the attempt to upload")
    if not state.ok:
        return _page(request, db, user, client_id, state, status=422)
    phrase_row = mit_records.get_phrase(db, actor=user, phrase_id=phrase_id)
    if phrase_row.client_id != client_id:
        raise ParameterError(f"phrase {phrase_id!r} is not in client {client_id!r}'s phrase bank")
    db.commit()  # end the authorising read's transaction: SQLite's write lock is not held while the upload is analysed
    data = upload.file.read(MAX_ATTEMPT_BYTES + 1)
    if len(data) > MAX_ATTEMPT_BYTES:
        raise ParameterError(f"the recording is larger than {MAX_ATTEMPT_BYTES // (1024 * 1024)} MB")
    melody = compose_melody(syllabify_phrase(phrase_row.text, lexicon=load_lexicon()), level=level,
                            sprechgesang=level == 3)
    # Decode and analysis in one child process under memory/CPU/time limits, bounded by the
    # recording's duration (T25; security probe H2).
    analysis = analyse_attempt_bytes_isolated(data, melody=melody, name=upload.filename or "upload",
                                              limits=DecodeLimits.from_settings(request.app.state.settings))
    if not analysis.attempt_found:  # shown as "no attempt found", never scored or stored
        return _page(request, db, user, client_id, analysis=analysis, analysed_phrase=phrase_row, status=422)
    if session_id:
        mit_records.store_attempt(db, actor=user, session_id=session_id, analysis=analysis, level=level,
                                  phrase_id=phrase_row.id)
    return _page(request, db, user, client_id, analysis=analysis, analysed_phrase=phrase_row)
