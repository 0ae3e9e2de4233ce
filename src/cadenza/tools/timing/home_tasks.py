"""Tapping as a home-programme task: the timing tool's side of :class:`cadenza.plugins.TaskKind`.

The home programme stores the task and its completions and never imports this module; it reaches it
through the manifest. The therapist prescribes a tempo and how long to tap (:func:`prepare_tapping`); on
the person's phone the page schedules the cue on the Web Audio clock and stamps every touch or key on it
(``static/home_tap.js``); :func:`measure_tapping` turns those times into the block's figures with the same
code as a live block in the clinic (:func:`cadenza.tools.timing.actions.analyse_live_block`), using the
stored calibration of the person's device when the timing tool has one, and says so in plain words when
it has none.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from cadenza.errors import ParameterError
from cadenza.tools.timing import actions, records

TAP_TIME_RANGE_S = (10, 300)  # one go on the phone: 10 s to 5 minutes of cue
DEFAULT_TAP_TIME_S = 60
#: A scheduled beat may sit this far from where the prescribed tempo puts it (float rounding on the page).
CUE_SPACING_TOLERANCE_MS = 1.0
LEAD_IN_BEATS = 4  # beats the person hears before their taps count (skipped in the figures)


def _number(values: dict[str, Any], name: str, default: float) -> float:
    raw = values.get(name, default)
    if raw in ("", None):
        raw = default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {str(raw)[:40]!r}") from None
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {raw!r}")
    return value


def prepare_tapping(db: Session, client: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The task's ``music`` from the therapist's form: ``tempo_bpm`` (30-240) and ``tap_s`` (10-300 s of
    cue per go), with the gain cap that keeps the cue within the listener's level (``client`` is
    already authorised)."""
    from cadenza.clinic import listening

    low, high = records.TEMPO_RANGE_BPM
    tempo_bpm = _number(values, "tempo_bpm", 0.0)
    if not low <= tempo_bpm <= high:
        raise ParameterError(f"tempo_bpm must be a tapping tempo from {low:g} to {high:g} beats per minute, "
                             f"got {values.get('tempo_bpm')!r}")
    tap_s = _number(values, "tap_s", DEFAULT_TAP_TIME_S)
    if not TAP_TIME_RANGE_S[0] <= tap_s <= TAP_TIME_RANGE_S[1]:
        raise ParameterError(f"tap_s must be {TAP_TIME_RANGE_S[0]} to {TAP_TIME_RANGE_S[1]} seconds of tapping "
                             f"(not minutes), got {values.get('tap_s')!r}")
    listener = listening.listener_of(db, client=client)
    beats = int(round(tap_s * tempo_bpm / 60.0))
    return {"tempo_bpm": tempo_bpm, "tap_s": tap_s, "n_beats": beats + LEAD_IN_BEATS, "lead_in_beats": LEAD_IN_BEATS,
            "gain_cap": round(actions.sound_gain_cap(listener), 6), "level_dba": listener.policy.max_level_dba}


def _check_cue(music: dict[str, Any], cue_times_s: np.ndarray) -> None:
    if cue_times_s.size < 2:
        raise ParameterError(f"cue_times_s must hold the beats the page scheduled; got {cue_times_s.size}")
    if cue_times_s.size > int(music["n_beats"]):
        raise ParameterError(f"cue_times_s holds {cue_times_s.size} beats; this task plays {music['n_beats']}")
    period_ms = 60_000.0 / float(music["tempo_bpm"])
    spacing_ms = np.diff(cue_times_s) * 1000.0
    worst = float(np.max(np.abs(spacing_ms - period_ms)))
    if worst > CUE_SPACING_TOLERANCE_MS:
        raise ParameterError(f"cue_times_s must be {period_ms:.1f} ms apart (the prescribed tempo); one gap is "
                             f"off by {worst:.1f} ms")


def measure_tapping(db: Session, client: Any, music: dict[str, Any], result: Any, *,
                    device_label: str = "") -> dict[str, Any]:
    """The figures of one go: ``result`` = ``{"cue_times_s": [...], "tap_times_s": [...]}`` (the audio
    clock, s). Returns ``{"scores", "measurements", "summary"}``; fewer than 2 taps on the beat give
    scores and a summary but no measurements."""
    if not isinstance(result, dict):
        raise ParameterError(f"result must be a JSON object with cue_times_s and tap_times_s, got {type(result).__name__}")
    cues = actions._event_times("cue_times_s", result.get("cue_times_s"), limit=2000)
    _check_cue(music, cues)
    taps = result.get("tap_times_s")
    # The calibration the therapist made for this device on the rhythm page, named like the person's device;
    # a device without a name has none (another device's latency would be wrong here).
    calibration = records.latest_calibration(db, client=client, device=device_label) if device_label.strip() else None
    block = actions.analyse_live_block(cue_times_s=list(cues), event_times_s=taps, calibration=calibration,
                                       skip_beats=int(music.get("lead_in_beats", 0)))
    metrics = block.run.report.block
    n_hits = metrics.n_hits if metrics is not None else 0
    scores: dict[str, Any] = {"n_beats": int(cues.size), "n_taps": len(taps), "n_hits": n_hits,
                              "calibrated": block.calibrated, "latency_ms": round(block.latency_ms, 3),
                              "tap_offset_ms": block.tap_offset_ms}
    measurements: list[tuple[str, float]] = []
    if metrics is not None and n_hits >= 2:
        measurements = records.block_measurements(metrics)
        scores.update({code.removeprefix("timing_"): value for code, value in measurements})
    return {"scores": scores, "measurements": measurements, "summary": tapping_summary(scores)}


def tapping_summary(scores: dict[str, Any]) -> str:
    """The figures in plain words for the person (reading grade 8 or lower, measured in the tests)."""
    if scores["n_hits"] < 2:
        return ("We did not find enough taps on the beat to measure. Next time, tap the big button with "
                "each click.")
    mean_ms = scores["mean_asynchrony_ms"]
    side = "before" if mean_ms < 0 else "after"
    words = [f"You tapped with {scores['n_hits']} of {scores['n_beats']} beats.",
             f"On average your taps came {abs(mean_ms):.0f} ms {side} the beat."]
    if mean_ms < 0:
        words.append("Most people tap a little early, so that is normal.")
    if "within_50ms_pct" in scores:
        words.append(f"{scores['within_50ms_pct']:.0f} % of your taps were close to the beat.")
    if not scores["calibrated"]:
        words.append("This phone's sound delay was not checked, so these numbers may be off a little. "
                     "You can check it once from the task page.")
    return " ".join(words)
