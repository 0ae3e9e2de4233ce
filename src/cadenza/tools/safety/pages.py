"""Hearing-safety pages: a client's weekly sound-dose ledger, calibration and audio policy, and the JSON
sound-dose API.

The calibration tone is served for the therapist to play deliberately (no autoplay anywhere). Each page
view reads its client once (one audit row); the workflows (log listening, calibrate, the dose report) are
:mod:`cadenza.tools.safety.actions`, shared with ``cadenza safety``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cadenza.clinic import listening, service
from cadenza.errors import ConflictError, ParameterError
from cadenza.tools.safety import actions, records
from cadenza.web import forms
from cadenza.web.deps import ApiUser, CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.templating import render
from cadenza.web.validators import UtcConvertible, no_nul

router = APIRouter()  # pages are left out of the OpenAPI schema one by one; the JSON API is in it
api = APIRouter(prefix="/api/v1", tags=["hearing safety"])

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
LISTENING_FIELDS = ("level_dba", "minutes", "source", "label", "duration_s")
CALIBRATION_FIELDS = ("measured_level_dba", "device")


def _page(request: Request, db, client, *, listening_form: forms.FormState | None = None,
          calibration: forms.FormState | None = None, status: int = 200, correction_error: str = "") -> Response:
    """The hearing-safety page of ``client``, already authorised (and audited) by the route."""
    view = records.overview_of(db, client=client)
    return render(request, "safety/client_safety.html", {
        "c": view.client, "policy": view.policy, "week": view.week, "entries": view.entries,
        "calibration": view.calibration, "sources": listening.DOSE_SOURCES,
        "listening": listening_form or forms.FormState(values={"source": "manual"}),
        "calibration_form": calibration or forms.FormState(values={"device": "default"}),
        "correction_error": correction_error,
        "removed": [(f"{e.level_dba:.1f} dB(A) for {e.duration_s / 60:.0f} min from {e.started_at:%Y-%m-%d %H:%M} UTC"
                     + (f" ({e.label})" if e.label else ""), f"/clients/{client.id}/safety/entries/{e.id}/restore", e)
                    for e in records.removed_dose_entries(db, client=client)],
    }, status_code=status)


@router.get("/clients/{client_id}/safety", include_in_schema=False)
def safety_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id))


@router.post("/clients/{client_id}/safety/listening", include_in_schema=False)
def add_listening(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    level = forms.parse_float(state, "level_dba")
    minutes = forms.parse_float(state, "minutes")
    max_minutes = listening.MAX_ENTRY_DURATION_S / 60.0
    if minutes is not None and not 0 <= minutes <= max_minutes:
        # Said in the form's unit, before anything is computed from it (security probe H4).
        state.error("minutes", f"minutes must be between 0 and {max_minutes:g} (one week; record longer listening "
                               f"as several periods), got {forms.shown(state.values.get('minutes', ''))}")
    if state.ok:
        try:
            actions.record_listening(db, actor=user, client_id=client_id, level_dba=level, duration_s=minutes * 60.0,
                                     source=state.values.get("source", "manual"), label=state.values.get("label", ""))
            return RedirectResponse(f"/clients/{client_id}/safety", status_code=303)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc).replace("duration_s", "minutes"), LISTENING_FIELDS)
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id), listening_form=state,
                 status=422)


EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/clients/{client_id}/safety/entries/{entry_id}/remove", include_in_schema=False)
def remove_entry_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                      entry_id: EntryId) -> Response:
    """Take a wrong listening period out of the weekly dose, with a reason (kept, restorable)."""
    try:
        records.remove_dose_entry(db, actor=user, client_id=client_id, entry_id=entry_id,
                                  reason=str(form.get("reason") or ""))
    except (ParameterError, ConflictError) as exc:
        db.rollback()
        return _page(request, db, service.get_client(db, actor=user, client_id=client_id), correction_error=str(exc),
                     status=409 if isinstance(exc, ConflictError) else 422)
    return RedirectResponse(f"/clients/{client_id}/safety#dose", status_code=303)


@router.post("/clients/{client_id}/safety/entries/{entry_id}/restore", include_in_schema=False)
def restore_entry_page(form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId,
                       entry_id: EntryId) -> Response:
    records.restore_dose_entry(db, actor=user, client_id=client_id, entry_id=entry_id,
                               reason=str(form.get("reason") or ""))
    return RedirectResponse(f"/clients/{client_id}/safety#dose", status_code=303)


@router.post("/clients/{client_id}/safety/calibration", include_in_schema=False)
def add_calibration(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    level = forms.parse_float(state, "measured_level_dba")
    if state.ok:
        try:
            actions.calibrate(db, actor=user, client_id=client_id, measured_level_dba=level,
                              device=state.values.get("device", "default"))
            return RedirectResponse(f"/clients/{client_id}/safety", status_code=303)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), CALIBRATION_FIELDS)
    return _page(request, db, service.get_client(db, actor=user, client_id=client_id), calibration=state, status=422)


@router.get("/clients/{client_id}/safety/tone.wav", include_in_schema=False)
def calibration_tone(db: Db, user: PageUser, client_id: ClientId) -> Response:
    from cadenza.io.speech import encode_wav_bytes

    service.get_client(db, actor=user, client_id=client_id)
    tone = actions.calibration_tone(duration_s=20.0)
    return Response(encode_wav_bytes(tone, sampling_rate_hz=actions.TONE_RATE_HZ), media_type="audio/wav")


# ---- JSON API -----------------------------------------------------------------------------------


class ListeningIn(BaseModel):
    """One listening period for the weekly dose ledger (level at the ear, dB(A)), starting at
    ``started_at`` (default: now)."""

    model_config = ConfigDict(extra="forbid")

    level_dba: float = Field(ge=-20, le=150)
    duration_s: float = Field(ge=0, le=7 * 24 * 3600)
    started_at: UtcConvertible | None = None
    source: str = Field(default="manual", max_length=32)
    label: Annotated[str, Field(max_length=200), AfterValidator(no_nul)] = ""


def _dose_payload(db, user, client_id: int) -> dict:
    report = actions.dose_report(db, actor=user, client_id=client_id)
    # The entries the week counts, with the ids the remove/restore endpoints take (the same read: one audit row).
    view = records.safety_overview(db, actor=user, client_id=client_id)
    entries = [{"id": w.entry.id, "started_at": w.entry.started_at.isoformat(), "level_dba": w.entry.level_dba,
                "duration_s": w.entry.duration_s, "source": w.entry.source, "label": w.entry.label,
                "week_percent": round(w.week_percent, 3)} for w in view.entries]
    return {**report.as_dict(), "policy": report.policy.as_dict(), "entries": entries}


@api.get("/clients/{client_id}/sound-dose")
def sound_dose_api(db: Db, user: ApiUser, client_id: ClientId) -> dict:
    """The client's rolling 7-day sound dose (WHO/ITU-T H.870) and audio policy."""
    return _dose_payload(db, user, client_id)


@api.post("/clients/{client_id}/sound-dose", status_code=status.HTTP_201_CREATED)
def add_sound_dose_api(db: Db, user: ApiUser, client_id: ClientId, body: ListeningIn) -> dict:
    """Add a listening period; returns the updated weekly dose (warning at 100 %)."""
    actions.record_listening(db, actor=user, client_id=client_id, level_dba=body.level_dba,
                             duration_s=body.duration_s, started_at=body.started_at or dt.datetime.now(dt.UTC),
                             source=body.source, label=body.label)
    return _dose_payload(db, user, client_id)


class CorrectionIn(BaseModel):
    """Why a row is removed (required, 3-500 characters) or restored (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=500), AfterValidator(no_nul)] = ""


@api.post("/clients/{client_id}/sound-dose/entries/{entry_id}/remove")
def remove_sound_dose_api(db: Db, user: ApiUser, client_id: ClientId, entry_id: EntryId, body: CorrectionIn) -> dict:
    """Remove a wrong listening period (kept, restorable); returns the updated weekly dose."""
    records.remove_dose_entry(db, actor=user, client_id=client_id, entry_id=entry_id, reason=body.reason)
    return _dose_payload(db, user, client_id)


@api.post("/clients/{client_id}/sound-dose/entries/{entry_id}/restore")
def restore_sound_dose_api(db: Db, user: ApiUser, client_id: ClientId, entry_id: EntryId, body: CorrectionIn) -> dict:
    """Bring a removed listening period back; returns the updated weekly dose."""
    records.restore_dose_entry(db, actor=user, client_id=client_id, entry_id=entry_id, reason=body.reason)
    return _dose_payload(db, user, client_id)


router.include_router(api)
