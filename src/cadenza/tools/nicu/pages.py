"""NICU pages for an NICU-flagged client: lullaby and womb sounds within NICU limits, the stop-rule log
and PAL session summaries. Audio plays only when the caregiver presses play; every render is measured
against the NICU limits before it is served.

Each route reads its infant once as a listener (one audit row; a client without the ``nicu_infant`` flag
is a 404) and passes it down; the workflows (renders at the infant's calibration, the stop rules with the
infant's own thresholds, PAL refused when auto-play is not allowed) are :mod:`cadenza.tools.nicu.actions`,
shared with ``cadenza nicu``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.errors import ParameterError
from cadenza.evidence import intervention_evidence
from cadenza.nicu.age import format_weeks_days
from cadenza.nicu.limits import NICU_LIMITS
from cadenza.nicu.lullaby import LULLABIES
from cadenza.nicu.stop_rules import DEFAULT_THRESHOLD_SOURCES
from cadenza.nicu.womb import RECORDED_SOUND_CAVEAT
from cadenza.tools.nicu import actions, records
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
WEB_MAX_MINUTES = 5.0  # longer renders belong to `cadenza nicu ...` on the command line
MAX_CSV_BYTES = 5 * 1024 * 1024
THRESHOLD_FIELDS = actions.THRESHOLD_FIELDS
AGE_FIELDS = ("gestational_age", "postmenstrual_age", "assessed_on")


def _page(request: Request, db, listener, *, state: forms.FormState | None = None,
          age_state: forms.FormState | None = None, upload_state: forms.FormState | None = None,
          status: int = 200) -> Response:
    """The NICU page of ``listener``'s infant, already read (and audited) by the route."""
    client = listener.client
    stored = records.client_thresholds(db, client=client)
    current = asdict(actions.thresholds_for(stored).thresholds)
    values = {k: f"{current[k]:g}" for k in THRESHOLD_FIELDS}
    age = actions.client_age(db, client=client)
    age_values = {} if age is None else {
        "gestational_age": format_weeks_days(age.gestational_age_at_birth_days),
        "postmenstrual_age": format_weeks_days(age.postmenstrual_age_days), "assessed_on": age.assessed_on.isoformat()}
    return render(request, "nicu/client_nicu.html", {
        # Clinical review M1, U2, U6, U8: the infant's age and PAL's age gate, the evidence with its caveats,
        # which default thresholds are conventions, and the recorded-sound caveat.
        "age": age, "pal_check": actions.pal_age_check(db, client=client),
        "age_state": age_state or forms.FormState(values=age_values),
        "evidence": intervention_evidence("nicu_lullaby", conditions=client.conditions),
        "threshold_sources": DEFAULT_THRESHOLD_SOURCES, "womb_caveat": RECORDED_SOUND_CAVEAT,
        "c": client, "policy": listener.policy, "limits": NICU_LIMITS, "tunes": sorted(LULLABIES),
        "calibration": listener.calibration,
        "stop_log": records.client_stop_events(db, client=client),
        "pal": records.client_pal_summaries(db, client=client),
        "max_minutes": WEB_MAX_MINUTES, "thresholds_set": stored is not None,
        "state": state or forms.FormState(values=values),
        "upload": upload_state or forms.FormState(values={"criterion_mmhg": "20"}),
    }, status_code=status)


@router.get("/clients/{client_id}/nicu")
def nicu_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _page(request, db, actions.nicu_listener(db, actor=user, client_id=client_id))


@router.post("/clients/{client_id}/nicu/thresholds")
def set_thresholds(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    numbers = {name: forms.parse_float(state, name) for name in THRESHOLD_FIELDS}
    if state.ok:
        try:
            actions.set_thresholds(db, actor=user, client_id=client_id, values=numbers)
            return RedirectResponse(f"/clients/{client_id}/nicu#thresholds", status_code=303)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), THRESHOLD_FIELDS)
    return _page(request, db, actions.nicu_listener(db, actor=user, client_id=client_id), state=state, status=422)


@router.post("/clients/{client_id}/nicu/age")
def set_age(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    """Record the infant's gestational age at birth and postmenstrual age (weeks+days) on a date."""
    listener = actions.nicu_listener(db, actor=user, client_id=client_id)
    state = forms.FormState(values=forms.form_values(form))
    assessed_on = forms.parse_date(state, "assessed_on", required=False)
    if state.ok:
        try:
            actions.set_age(db, actor=user, client_id=client_id,
                            gestational_age_at_birth=state.values.get("gestational_age", ""),
                            postmenstrual_age=state.values.get("postmenstrual_age", ""), assessed_on=assessed_on)
            return RedirectResponse(f"/clients/{client_id}/nicu#age", status_code=303)
        except ParameterError as exc:
            db.rollback()
            message = str(exc).replace("gestational_age_at_birth_days", "gestational_age") \
                .replace("gestational_age_at_birth", "gestational_age").replace("postmenstrual_age_days", "postmenstrual_age")
            forms.attribute_error(state, message, AGE_FIELDS)
    return _page(request, db, listener, age_state=state, status=422)


def _csv_bytes(form, *, file_field: str, text_field: str) -> bytes:
    """The CSV from an upload, or pasted into the text box (one of the two)."""
    upload = form.get(file_field)
    if upload is not None and not isinstance(upload, str) and upload.filename:
        data = upload.file.read(MAX_CSV_BYTES + 1)
    else:
        data = str(form.get(text_field) or "").encode()
    if len(data) > MAX_CSV_BYTES:
        raise ParameterError(f"{file_field} is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise ParameterError(f"{file_field}: upload a CSV file or paste its text")
    return data


@router.post("/clients/{client_id}/nicu/monitor")
def monitor_upload(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    """Run the stop rules over an uploaded vital-sign/cue CSV with this infant's thresholds; log the decisions."""
    from cadenza.io.pressure import load_vital_signs

    listener = actions.nicu_listener(db, actor=user, client_id=client_id)
    state = forms.FormState(values=forms.form_values(form, max_chars={"vitals_text": MAX_CSV_BYTES}))
    try:
        data = _csv_bytes(form, file_field="vitals", text_field="vitals_text")
        actions.monitor_vitals(db, actor=user, client=listener.client, observations=load_vital_signs(data))
    except ParameterError as exc:  # DataQualityError too: back to this page with the pasted CSV kept
        db.rollback()
        state.error("vitals", str(exc))
        return _page(request, db, actions.nicu_listener(db, actor=user, client_id=client_id), upload_state=state,
                     status=422)
    return RedirectResponse(f"/clients/{client_id}/nicu#stop-log", status_code=303)


@router.post("/clients/{client_id}/nicu/pal")
def pal_upload(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    """Summarise a PAL session from an uploaded suck-pressure CSV and store it (refused if auto-play is not allowed)."""
    from cadenza.io.pressure import load_suck_pressure

    listener = actions.nicu_listener(db, actor=user, client_id=client_id)
    # A pasted CSV may be as long as an uploaded one (_csv_bytes bounds both).
    state = forms.FormState(values=forms.form_values(form, max_chars={"pressure_text": MAX_CSV_BYTES}))
    criterion = forms.parse_float(state, "criterion_mmhg", required=False)
    try:
        if not state.ok:
            raise ParameterError(state.errors.get("criterion_mmhg") or next(iter(state.errors.values())))
        data = _csv_bytes(form, file_field="pressure", text_field="pressure_text")
        rec = load_suck_pressure(data)
        pal = actions.run_pal(rec.pressure_mmhg, sampling_rate_hz=rec.sampling_rate_hz, listener=listener,
                              options=actions.PalOptions(criterion_mmhg=criterion or 20.0,
                                                         adapt=state.values.get("adapt") == "on"))
        actions.record_pal(db, actor=user, client_id=client_id, summary=pal.summary_,
                           override_reason=str(form.get("override_reason") or "")[:500] or None)
    except ParameterError as exc:  # back to this page with what was typed kept (walk-through problem 8)
        db.rollback()
        state.errors.pop("criterion_mmhg", None)
        forms.attribute_error(state, str(exc), ("criterion_mmhg",), fallback="pressure")
        return _page(request, db, actions.nicu_listener(db, actor=user, client_id=client_id), upload_state=state,
                     status=422)
    return RedirectResponse(f"/clients/{client_id}/nicu#pal", status_code=303)


def _wav(render_result, levels_header: bool = True) -> Response:
    from cadenza.io.speech import encode_wav_bytes

    r = render_result
    headers = {"X-Cadenza-Leq-dBA": f"{r.report.leq_dba:.1f}", "X-Cadenza-Lmax-dBA": f"{r.report.lmax_dba:.1f}",
               "X-Cadenza-L10-dBA": f"{r.report.l10_dba:.1f}"} if levels_header else {}
    return Response(encode_wav_bytes(r.samples, sampling_rate_hz=r.sampling_rate_hz), media_type="audio/wav",
                    headers=headers)


@router.get("/clients/{client_id}/nicu/lullaby.wav")
def lullaby_audio(db: Db, user: PageUser, client_id: ClientId,
                  tune: Annotated[str, Query(max_length=40)] = "twinkle",
                  minutes: Annotated[float, Query(gt=0, le=WEB_MAX_MINUTES)] = 2.0,
                  tempo_bpm: Annotated[float, Query(ge=40, le=80)] = 60.0) -> Response:
    listener = actions.nicu_listener(db, actor=user, client_id=client_id)
    return _wav(actions.lullaby(listener, tune=tune, minutes=minutes, tempo_bpm=tempo_bpm).render)


@router.get("/clients/{client_id}/nicu/womb.wav")
def womb_audio(db: Db, user: PageUser, client_id: ClientId,
               minutes: Annotated[float, Query(gt=0, le=WEB_MAX_MINUTES)] = 2.0,
               heart_rate_bpm: Annotated[float, Query(ge=50, le=110)] = 72.0,
               breaths_per_min: Annotated[float, Query(ge=6, le=30)] = 12.0) -> Response:
    listener = actions.nicu_listener(db, actor=user, client_id=client_id)
    return _wav(actions.womb_sound(listener, minutes=minutes, heart_rate_bpm=heart_rate_bpm,
                                   breaths_per_min=breaths_per_min).render)
