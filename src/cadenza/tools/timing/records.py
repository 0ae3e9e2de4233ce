"""The timing tool's records: a block's synchronisation figures as measurements on a session.

No tables of its own: the mean asynchrony, its SD, the circular R and the share of hits within +-50 ms
become measurements through the clinic service, so progress charts, goals and the FHIR export see them
like any other outcome. Their codes are Cadenza-local (no LOINC code exists for tapping measures).
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
from cadenza.timing.metrics import BlockMetrics

TIMING_MEAN_ASYNCHRONY_MS = register_instrument(Instrument(
    code="timing_mean_asynchrony_ms", name="Tapping/drumming mean asynchrony to the cue (negative = ahead)",
    unit="ms", minimum=-1000, maximum=1000, better=None,
    source="cadenza.timing.metrics; Repp 2005 (Psychon Bull Rev 12:969)"))
TIMING_ASYNCHRONY_SD_MS = register_instrument(Instrument(
    code="timing_asynchrony_sd_ms", name="Tapping/drumming asynchrony SD (timing variability)", unit="ms",
    minimum=0, maximum=1000, better="decrease", source="cadenza.timing.metrics"))
TIMING_CIRCULAR_R = register_instrument(Instrument(
    code="timing_circular_r", name="Tapping/drumming synchronisation to the cue (circular R)", unit="1", minimum=0,
    maximum=1, better="increase", source="cadenza.timing.metrics; circular statistics of relative phase"))
TIMING_WITHIN_50MS_PCT = register_instrument(Instrument(
    code="timing_within_50ms_pct", name="Tapping/drumming hits within +-50 ms of the beat", unit="%", minimum=0,
    maximum=100, better="increase", source="cadenza.timing.metrics"))


def block_measurements(block: BlockMetrics) -> list[tuple[str, float]]:
    """The (instrument code, value) pairs a block stores; figures that are NaN are left out."""
    values = [(TIMING_MEAN_ASYNCHRONY_MS.code, round(block.mean_asynchrony_ms.value, 1)),
              (TIMING_ASYNCHRONY_SD_MS.code, round(block.sd_asynchrony_ms.value, 1)),
              (TIMING_CIRCULAR_R.code, round(block.circular_r.value, 4)),
              (TIMING_WITHIN_50MS_PCT.code, round(block.within_pct[50.0].value, 1)) if 50.0 in block.within_pct
              else (TIMING_WITHIN_50MS_PCT.code, float("nan"))]
    return [(code, value) for code, value in values if np.isfinite(value)]


def store_timing_block(db: Session, *, actor: Therapist, session_id: int, block: BlockMetrics,
                       measured_at: dt.datetime | None = None) -> list[Measurement]:
    """Store a block's figures on the session (the session is read with ``actor``'s rights).

    A block with fewer than 2 hits has no SD and little meaning: it is refused with a ParameterError
    before anything is stored. Flushes, never commits.
    """
    if block.n_hits < 2:
        raise ParameterError(f"the block has {block.n_hits} hit(s) on the cue; at least 2 are needed to store it")
    return [service.add_measurement(db, actor=actor, session_id=session_id,
                                    measurement=MeasurementInput(code, value=value, measured_at=measured_at))
            for code, value in block_measurements(block)]
