"""The singing tool's records: pitch matching, range and phonation as measurements on a session.

No tables of its own: the figures become measurements through the clinic service (progress charts,
goals, FHIR). Codes are Cadenza-local; maximum phonation time has no LOINC code for a sung/sustained
vowel in the project's research notes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.models import Measurement, Therapist
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ParameterError
from cadenza.singing.analysis import SingingReport

SING_WITHIN_50_CENTS_PCT = register_instrument(Instrument(
    code="sing_within_50_cents_pct", name="Sung target notes within +-50 cents", unit="%", minimum=0, maximum=100,
    better="increase", source="cadenza.singing.notes; Pfordresher et al. 2010 (JASA 128:2182)"))
SING_RANGE_SEMITONES = register_instrument(Instrument(
    code="sing_range_semitones", name="Singing range: lowest to highest held note", unit="{semitones}", minimum=0,
    maximum=60, better="increase", source="cadenza.singing.voice (notes held >= 0.25 s)"))
SING_MAX_PHONATION_S = register_instrument(Instrument(
    code="sing_max_phonation_s", name="Maximum phonation time (longest continuous voicing)", unit="s", minimum=0,
    maximum=120, better="increase", source="cadenza.singing.voice; Speyer et al. 2010 (J Voice 24:294)"))


def singing_measurements(report: SingingReport) -> list[tuple[str, float]]:
    """The (instrument code, value) pairs a recording stores; figures that are NaN (no target notes, no
    held note) are left out."""
    values = [(SING_RANGE_SEMITONES.code, round(report.voice.range_semitones, 2)),
              (SING_MAX_PHONATION_S.code, round(report.voice.max_phonation_s, 2))]
    if report.score is not None:
        values.insert(0, (SING_WITHIN_50_CENTS_PCT.code, round(report.score.within_50_cents_pct, 1)))
    return [(code, value) for code, value in values if np.isfinite(value)]


def store_singing(db: Session, *, actor: Therapist, session_id: int, report: SingingReport,
                  measured_at: dt.datetime | None = None) -> list[Measurement]:
    """Store the recording's figures on the session (read with ``actor``'s rights). A recording with no
    voicing is refused before anything is stored. Flushes, never commits."""
    if report.voice.voiced_s <= 0:
        raise ParameterError("the recording holds no sung (voiced) sound: nothing to store")
    return [service.add_measurement(db, actor=actor, session_id=session_id,
                                    measurement=MeasurementInput(code, value=value, measured_at=measured_at))
            for code, value in singing_measurements(report)]
