"""The RAS workflows both faces call: a synchronisation report (steps vs. cue) and a stored plan.

``cadenza ras sync`` / ``cadenza ras plan`` and the page ``/clients/{client_id}/ras`` only parse their input
and present the result; the input rules and the audit trail come from here, so they are the same from
both. A synchronisation report needs at least :data:`MIN_SYNC_STEPS` steps and a cue within the bounds of
:mod:`cadenza.ras.sync` (:func:`~cadenza.ras.sync.check_cue`, :func:`~cadenza.ras.sync.check_step_times`);
:func:`analyse_sync` touches no record (the notebook path, and the command without a client or session),
:func:`record_sync` audits the report on the client and, with a session, stores its figures there.

>>> steps_s = parse_step_times("time_s\\n" + "\\n".join(f"{0.3 + 0.6 * k:.1f},L" for k in range(10)))
>>> result = analyse_sync(steps_s, tempo_bpm=100.0)
>>> round(result.report.summary()["resultant_length"], 3), result.stored
(1.0, ())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.models import Measurement, Therapist
from cadenza.errors import NotFoundError, ParameterError
from cadenza.io.imu import ImuRecording
from cadenza.ras.plan import RasPlan, plan_ras_sessions
from cadenza.ras.sync import (
    DEFAULT_WINDOW_MS,
    SyncReport,
    analyze_synchronization,
    check_cue,
    check_step_times,
    make_cue_beat_times,
)
from cadenza.tools.ras import records

MIN_SYNC_STEPS = 8  # fewer steps give no stable phase statistics (and store nothing, see records)
PLACEMENTS = ("lower-back", "foot")


@dataclass(frozen=True)
class SyncResult:
    """One synchronisation report and ``stored``, the measurements kept on a session (none without one)."""

    report: SyncReport
    stored: tuple[Measurement, ...] = ()


def parse_step_times(text: str) -> np.ndarray:
    """Step times (s) from text: one number per line, or the first column of a CSV or TSV; ``#`` comments
    and a header row are skipped. Sorted and unique; the rules of :func:`check_sync_steps` apply."""
    values = []
    for line in text.splitlines():
        cell = line.split(",")[0].split("\t")[0].strip()
        if not cell or cell.startswith("#"):
            continue
        try:
            values.append(float(cell))
        except ValueError:
            if values:
                raise ParameterError(f"step_times_s has a non-numeric line: {line[:40]!r}") from None
            continue  # a header row
    return check_sync_steps(np.asarray(values, dtype=float))


def check_sync_steps(step_times_s: np.ndarray) -> np.ndarray:
    """``step_times_s`` sorted and unique if it holds at least :data:`MIN_SYNC_STEPS` finite step times
    within the bounds of :func:`cadenza.ras.sync.check_step_times`; ParameterError otherwise."""
    times_s = np.unique(check_step_times(np.ravel(np.asarray(step_times_s, dtype=float))))
    if times_s.size < MIN_SYNC_STEPS:
        raise ParameterError(f"step_times_s must hold at least {MIN_SYNC_STEPS} finite step times in seconds, "
                             f"got {times_s.size}")
    return times_s


def steps_from_recording(recording: ImuRecording, *, placement: str = "lower-back") -> np.ndarray:
    """Initial contacts (s) detected by :func:`cadenza.gait.analyze_gait` in an IMU recording."""
    from cadenza.gait import analyze_gait

    steps_s = analyze_gait(recording.acc_m_s2, sampling_rate_hz=recording.sampling_rate_hz, placement=placement,
                           gyr_deg_s=recording.gyr_deg_s).ic_times_s
    if steps_s.size == 0:
        raise ParameterError("recording: no steps were found in the walk recording (check the placement, "
                             "and that the file holds accelerometer samples, not NaN or empty columns)")
    return steps_s


def analyse_sync(
    step_times_s: np.ndarray,
    *,
    tempo_bpm: float | None = None,
    beat_times_s: np.ndarray | None = None,
    cue_start_s: float = 0.0,
    output_latency_s: float = 0.0,
    window_ms: float = DEFAULT_WINDOW_MS,
) -> SyncResult:
    """Step-to-beat synchronisation of one walk against its cue; nothing is stored.

    The cue is either a constant ``tempo_bpm`` from ``cue_start_s`` (the beats are
    :func:`~cadenza.ras.sync.make_cue_beat_times`) or the cue's own ``beat_times_s``. The steps must pass
    :func:`check_sync_steps`; the cue is bounded before anything is built.
    """
    if (tempo_bpm is None) == (beat_times_s is None):
        raise ParameterError("give exactly one of tempo_bpm or beat_times_s")
    if tempo_bpm is not None:
        check_cue(tempo_bpm=tempo_bpm, cue_start_s=cue_start_s)  # cheap, before the steps are checked
    steps_s = check_sync_steps(step_times_s)
    if tempo_bpm is not None:
        beat_times_s = make_cue_beat_times(steps_s, tempo_bpm=tempo_bpm, cue_start_s=cue_start_s)
    report = analyze_synchronization(steps_s, beat_times_s, output_latency_s=output_latency_s, window_ms=window_ms)
    return SyncResult(report)


def record_sync(
    db: Session,
    *,
    actor: Therapist,
    step_times_s: np.ndarray,
    client_id: int | None = None,
    session_id: int | None = None,
    **cue: Any,
) -> SyncResult:
    """Analyse the walk (:func:`analyse_sync` with the ``cue`` options), audit the report on the client
    and, with ``session_id``, store its figures on that session.

    Give the client, the session, or both (the session must then be the client's: NotFoundError
    otherwise, as for a client or session ``actor`` may not see). The analysis runs before the record is
    touched. The audit rows are the same whichever face calls: with a session, the session is read; then
    the client and a ``ras_sync_report`` are written, then each stored figure. Flushes, never commits.
    """
    result = analyse_sync(step_times_s, **cue)
    if client_id is None and session_id is None:
        raise ParameterError("give client_id or session_id: a recorded report belongs to a client")
    if session_id is not None:
        session_row = service.get_session(db, actor=actor, session_id=session_id)
        if client_id is None:
            client_id = session_row.client_id
        elif session_row.client_id != client_id:
            raise NotFoundError(f"session {session_id!r} not found for client {client_id!r}")
    stored = records.record_sync_analysis(db, actor=actor, client_id=client_id, report=result.report,
                                          session_id=session_id)
    return SyncResult(result.report, tuple(stored))


def record_plan(
    db: Session, *, actor: Therapist, client_id: int, cadence_spm: float | None = None, **options: Any,
) -> tuple[RasPlan, records.RasPlanRecord]:
    """A RAS plan (:func:`cadenza.ras.plan.plan_ras_sessions` with ``options``) kept on the client's record.

    Without ``cadence_spm`` the plan starts from the client's latest measured cadence (and, without a
    ``condition``, the client's recorded condition). Flushes, never commits.
    """
    if options.get("symmetry_checked"):
        # A stroke plan above +5 % rests on step symmetry having been measured (clinical review W12/M5); the
        # gait tool stores it on a session, and this tool reads it from the record (tools do not import each other).
        if not service.list_measurements(db, actor=actor, client_id=client_id, instrument_code="step_time_asymmetry"):
            raise ParameterError(
                f"symmetry_checked=True but client {client_id!r} has no step_time_asymmetry measurement; analyse a "
                "gait recording with the feet told apart (or enter it on a session) first")
    if cadence_spm is None:
        plan = records.plan_from_latest_cadence(db, actor=actor, client_id=client_id, **options)
    else:
        plan = plan_ras_sessions(cadence_spm, **options)
    return plan, records.store_ras_plan(db, actor=actor, client_id=client_id, plan=plan)
