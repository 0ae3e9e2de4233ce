"""One-call gait analysis: steps, walking bouts and per-bout metrics with quality flags (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cadenza.errors import ParameterError
from cadenza.gait.bouts import DEFAULT_MAX_STEP_S, DEFAULT_MIN_STEPS, contacts_in_window, detect_walking_bouts
from cadenza.gait.cadence import StepAsymmetry, cadence_spm, step_asymmetry_with_confidence, step_time_asymmetry, step_time_cv
from cadenza.gait.laterality import label_sides
from cadenza.gait.signals import check_acc_units, check_sampling_rate, check_triaxial, finite_segments
from cadenza.gait.steps import FootStepDetector, LowerBackStepDetector

# Short bouts dominate cadence error: one missed or extra contact in 5 steps moves cadence by
# 20-25 %, so a cadence from fewer contacts than this carries a low-confidence flag.
LOW_CONFIDENCE_MIN_STEPS = 8
MIN_DURATION_S = 5.0
CONSTANT_SIGNAL_STD_M_S2 = 0.01
CLIPPED_FRACTION = 0.005
IRREGULAR_STEP_CV = 0.2
PLACEMENTS = ("lower-back", "foot")

FLAG_LOW_CONFIDENCE = "low_confidence_few_steps"
FLAG_TOO_SHORT = "too_short"
FLAG_CONSTANT = "constant_signal"
FLAG_CLIPPED = "clipped"
FLAG_MISSING = "missing_data"
FLAG_NEAR_MISSING = "next_to_missing_data"
FLAG_NO_WALKING = "no_walking_found"
FLAG_IRREGULAR = "irregular_steps"
FLAG_ONE_FOOT = "one_foot_cadence_from_strides"


@dataclass(frozen=True)
class GaitBout:
    """One detected walking bout. ``step_time_cv`` is a fraction; ``asymmetry`` NaN if sides unknown."""

    start_s: float
    end_s: float
    ic_times_s: np.ndarray
    n_steps: int
    cadence_spm: float
    step_time_cv: float
    asymmetry: float = float("nan")
    flags: tuple[str, ...] = ()
    ic_sides: tuple[str, ...] = ()  # "left"/"right"/"unknown" per contact; empty if not estimated
    # Step-time asymmetry with its 95 % interval and p-value: left vs right steps when sides are known,
    # otherwise every other step (alternating short and long steps show even with sides unknown).
    step_asymmetry: StepAsymmetry | None = None

    @property
    def low_confidence(self) -> bool:
        return FLAG_LOW_CONFIDENCE in self.flags


@dataclass(frozen=True)
class GaitAnalysis:
    """Everything ``analyze_gait`` found; ``flags`` describe the recording as a whole."""

    placement: str
    sampling_rate_hz: float
    duration_s: float
    ic_times_s: np.ndarray
    bouts: tuple[GaitBout, ...]
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def overall_cadence_spm(self, *, include_low_confidence: bool = False) -> float:
        """Cadence over all bouts pooled: steps taken over the time they took (NaN if no bout).

        Bouts flagged low-confidence (fewer than 8 steps) are left out unless asked for.
        """
        bouts = [b for b in self.bouts if include_low_confidence or not b.low_confidence]
        bouts = [b for b in bouts if np.isfinite(b.cadence_spm) and b.end_s > b.start_s]
        if not bouts:
            return float("nan")
        # Each bout's span-rule cadence times its duration is its step count; pooling weights by time.
        steps = sum(b.cadence_spm * (b.end_s - b.start_s) / 60 for b in bouts)
        return float(steps / sum(b.end_s - b.start_s for b in bouts) * 60)

    def overall_step_time_asymmetry(self, *, include_low_confidence: bool = False) -> float:
        """Left/right step-time asymmetry over all bouts with known sides (fraction; NaN if none):
        each bout's asymmetry weighted by its steps. Low-confidence bouts are left out unless asked for.
        """
        bouts = [b for b in self.bouts if (include_low_confidence or not b.low_confidence)
                 and np.isfinite(b.asymmetry) and b.n_steps > 0]
        if not bouts:
            return float("nan")
        return float(sum(b.asymmetry * b.n_steps for b in bouts) / sum(b.n_steps for b in bouts))

    def to_dict(self) -> dict:
        """A JSON-ready dict (arrays become lists, NaN becomes None)."""

        def clean(value):
            if isinstance(value, np.ndarray):
                return [clean(v) for v in value.tolist()]
            if isinstance(value, float | np.floating):
                return None if not np.isfinite(value) else round(float(value), 4)
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            return value

        return clean(asdict(self))


def _nan_runs(valid: np.ndarray, rate: float) -> list[tuple[float, float]]:
    edges = np.diff(np.concatenate([[1], valid.view(np.int8), [1]]))
    starts, stops = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    return [(a / rate, b / rate) for a, b in zip(starts, stops, strict=True)]


def _clipped_fraction(acc: np.ndarray) -> float:
    """Share of samples sitting at an axis' extreme value for 3+ samples in a row (saturation)."""
    worst = 0.0
    for axis in acc:
        finite = axis[np.isfinite(axis)]
        if finite.size < 10 or np.ptp(finite) == 0:
            continue
        for extreme in (finite.max(), finite.min()):
            at = np.isfinite(axis) & (axis == extreme)
            run3 = at[:-2] & at[1:-1] & at[2:]
            if run3.any():
                worst = max(worst, float(at.mean()))
    return worst


def analyze_gait(
    acc_m_s2: np.ndarray,
    *,
    sampling_rate_hz: float,
    placement: str = "lower-back",
    gyr_deg_s: np.ndarray | None = None,
    max_step_s: float = DEFAULT_MAX_STEP_S,
    min_steps: int = DEFAULT_MIN_STEPS,
) -> GaitAnalysis:
    """Detect steps and walking bouts and compute per-bout cadence and step-time variability.

    ``acc_m_s2`` is ``(3, n)`` in m/s^2 (a signal in g is refused with a hint). For
    ``placement="foot"`` the gyroscope is required and contacts are of that one foot, so bout
    cadence is twice the stride rate. Problems never give a silent number: a constant, clipped,
    too short or gappy recording and bouts of fewer than 8 contacts carry flags saying why.

    >>> import numpy as np
    >>> t = np.arange(0, 30, 0.01)
    >>> acc = np.zeros((3, t.size)); acc[0] = 9.81 + 2 * np.sin(2 * np.pi * 1.7 * t)
    >>> result = analyze_gait(acc, sampling_rate_hz=100)
    >>> len(result.bouts), round(result.bouts[0].cadence_spm)
    (1, 102)
    """
    rate = check_sampling_rate(sampling_rate_hz)
    acc = check_triaxial(acc_m_s2, name="acc_m_s2")
    check_acc_units(acc)
    if placement not in PLACEMENTS:
        raise ParameterError(f"placement must be one of {PLACEMENTS!r}, got {placement!r}")
    gyr = None if gyr_deg_s is None else check_triaxial(gyr_deg_s, name="gyr_deg_s")
    if gyr is not None and gyr.shape != acc.shape:
        raise ParameterError(f"gyr_deg_s has shape {gyr.shape!r} but acc_m_s2 has {acc.shape!r}")
    duration_s = acc.shape[-1] / rate
    flags: list[str] = []
    notes: list[str] = []

    valid = np.all(np.isfinite(acc), axis=0)
    if gyr is not None:
        valid &= np.all(np.isfinite(gyr), axis=0)
    gaps = _nan_runs(valid, rate)
    if gaps:
        flags.append(FLAG_MISSING)
        notes.append(f"{sum(b - a for a, b in gaps):.2f} s missing in {len(gaps)} run(s); bouts stop at gaps")
    if duration_s < MIN_DURATION_S:
        flags.append(FLAG_TOO_SHORT)
        notes.append(f"recording lasts {duration_s:.2f} s; at least {MIN_DURATION_S:g} s are needed for a bout")
    finite = acc[:, valid]
    if finite.shape[-1] and float(np.max(np.std(finite, axis=1))) < CONSTANT_SIGNAL_STD_M_S2:
        flags.append(FLAG_CONSTANT)
        notes.append("the acceleration is constant: sensor off, not worn, or a stuck channel")
    clipped = _clipped_fraction(acc)
    if clipped >= CLIPPED_FRACTION:
        flags.append(FLAG_CLIPPED)
        notes.append(f"{clipped:.1%} of samples sit at the sensor's range limit; peaks may be flattened")

    if FLAG_CONSTANT in flags or FLAG_TOO_SHORT in flags or not valid.any():
        ic = np.empty(0)
    elif placement == "foot":
        data_acc, data_gyr = acc.copy(), gyr.copy() if gyr is not None else None
        data_acc[:, ~valid] = np.nan
        ic = FootStepDetector().detect(data_acc, sampling_rate_hz=rate, gyr_deg_s=data_gyr).ic_times_s_
    else:
        data_acc = acc.copy()
        data_acc[:, ~valid] = np.nan
        ic = LowerBackStepDetector().detect(data_acc, sampling_rate_hz=rate).ic_times_s_

    sides = None
    if placement == "lower-back" and gyr is not None and ic.size:
        data_gyr = gyr.copy()
        data_gyr[:, ~valid] = np.nan
        sides = label_sides(ic, acc_m_s2=data_acc, gyr_deg_s=data_gyr, sampling_rate_hz=rate)
        notes.append("left/right sides estimated from the pelvis yaw rate (about 86 % agree with insoles)")
    # Contacts from one foot are a stride apart, so the bout rules apply to half-strides.
    per_foot = placement == "foot"
    span_factor = 2.0 if per_foot else 1.0
    bouts: list[GaitBout] = []
    segments = finite_segments(valid, min_len=1)
    for seg_start, seg_stop in segments:
        seg_ic = contacts_in_window(ic, seg_start / rate, seg_stop / rate)
        windows = detect_walking_bouts(
            seg_ic, max_step_s=max_step_s * span_factor, min_steps=max(2, int(np.ceil(min_steps / span_factor)))
        )
        for start_s, end_s in windows:
            bout_ic = contacts_in_window(seg_ic, start_s, end_s)
            bout_sides: tuple[str, ...] = ()
            asymmetry = float("nan")
            if sides is not None:
                lo = int(np.searchsorted(ic, start_s))
                bout_sides = tuple(sides[lo : lo + bout_ic.size])
                asymmetry = step_time_asymmetry(bout_ic, np.array(bout_sides))
            n_steps = int(bout_ic.size * span_factor)
            bout_flags = []
            if n_steps < LOW_CONFIDENCE_MIN_STEPS:
                bout_flags.append(FLAG_LOW_CONFIDENCE)
            cv = step_time_cv(bout_ic)
            if np.isfinite(cv) and cv > IRREGULAR_STEP_CV:
                bout_flags.append(FLAG_IRREGULAR)
            if gaps and any(abs(start_s - b) < 1.0 or abs(end_s - a) < 1.0 for a, b in gaps):
                bout_flags.append(FLAG_NEAR_MISSING)
            if FLAG_CLIPPED in flags:
                bout_flags.append(FLAG_CLIPPED)
            if per_foot:
                bout_flags.append(FLAG_ONE_FOOT)
            step_asym = None
            if not per_foot and bout_ic.size >= LOW_CONFIDENCE_MIN_STEPS:
                known = bout_sides and "unknown" not in bout_sides
                step_asym = step_asymmetry_with_confidence(bout_ic, np.array(bout_sides) if known else None)
            bouts.append(
                GaitBout(
                    start_s=float(start_s),
                    end_s=float(end_s),
                    ic_times_s=bout_ic,
                    n_steps=n_steps,
                    cadence_spm=cadence_spm(bout_ic) * span_factor,
                    step_time_cv=cv,
                    asymmetry=asymmetry,
                    flags=tuple(bout_flags),
                    ic_sides=bout_sides,
                    step_asymmetry=step_asym,
                )
            )
    if not bouts and FLAG_CONSTANT not in flags and FLAG_TOO_SHORT not in flags:
        flags.append(FLAG_NO_WALKING)
    return GaitAnalysis(
        placement=placement,
        sampling_rate_hz=rate,
        duration_s=duration_s,
        ic_times_s=ic,
        bouts=tuple(bouts),
        flags=tuple(flags),
        notes=tuple(notes),
    )


def combine_feet(
    left: GaitAnalysis,
    right: GaitAnalysis,
    *,
    max_step_s: float = DEFAULT_MAX_STEP_S,
    min_steps: int = DEFAULT_MIN_STEPS,
) -> GaitAnalysis:
    """Step-level bouts from one foot-mounted sensor per side, with left/right step-time asymmetry.

    Both analyses must come from ``analyze_gait(..., placement="foot")`` on recordings that start
    together. Here every contact's side is known, so ``asymmetry`` is measured, not estimated.

    >>> import numpy as np
    >>> def one_foot(times):
    ...     return GaitAnalysis("foot", 100.0, 12.0, np.asarray(times, dtype=float), ())
    >>> both = combine_feet(one_foot(np.arange(1.0, 11.0, 1.2)), one_foot(np.arange(1.7, 11.0, 1.2)))
    >>> round(both.bouts[0].cadence_spm), round(both.bouts[0].asymmetry, 2)
    (100, 0.33)
    """
    for name, part in (("left", left), ("right", right)):
        if part.placement != "foot":
            raise ParameterError(f"{name} must be a placement='foot' analysis, got placement={part.placement!r}")
    if left.sampling_rate_hz != right.sampling_rate_hz:
        raise ParameterError(
            f"left and right were sampled at {left.sampling_rate_hz!r} and {right.sampling_rate_hz!r} Hz; "
            "they must come from one synchronised recording"
        )
    times = np.concatenate([left.ic_times_s, right.ic_times_s])
    sides = np.array(["left"] * left.ic_times_s.size + ["right"] * right.ic_times_s.size)
    order = np.argsort(times, kind="stable")
    times, sides = times[order], sides[order]
    keep = np.concatenate([[True], np.diff(times) > 0]) if times.size else np.ones(0, dtype=bool)
    times, sides = times[keep], sides[keep]
    bouts = []
    for start_s, end_s in detect_walking_bouts(times, max_step_s=max_step_s, min_steps=min_steps):
        lo, hi = np.searchsorted(times, [start_s, end_s], side="left")[0], np.searchsorted(times, end_s, "right")
        bout_ic, bout_sides = times[lo:hi], sides[lo:hi]
        cv = step_time_cv(bout_ic)
        flags = []
        if bout_ic.size < LOW_CONFIDENCE_MIN_STEPS:
            flags.append(FLAG_LOW_CONFIDENCE)
        if np.isfinite(cv) and cv > IRREGULAR_STEP_CV:
            flags.append(FLAG_IRREGULAR)
        if np.any(bout_sides[1:] == bout_sides[:-1]):
            flags.append("same_foot_twice")  # a missed contact on the other foot inside the bout
        bouts.append(
            GaitBout(
                start_s=float(start_s),
                end_s=float(end_s),
                ic_times_s=bout_ic,
                n_steps=int(bout_ic.size),
                cadence_spm=cadence_spm(bout_ic),
                step_time_cv=cv,
                asymmetry=step_time_asymmetry(bout_ic, bout_sides),
                flags=tuple(flags),
                ic_sides=tuple(bout_sides.tolist()),
                step_asymmetry=step_asymmetry_with_confidence(bout_ic, bout_sides)
                if bout_ic.size >= LOW_CONFIDENCE_MIN_STEPS else None,
            )
        )
    flags = tuple(dict.fromkeys(f for f in (*left.flags, *right.flags) if f != FLAG_NO_WALKING))
    if not bouts:
        flags = (*flags, FLAG_NO_WALKING)
    return GaitAnalysis(
        placement="feet",
        sampling_rate_hz=left.sampling_rate_hz,
        duration_s=max(left.duration_s, right.duration_s),
        ic_times_s=times,
        bouts=tuple(bouts),
        flags=flags,
        notes=tuple(dict.fromkeys((*left.notes, *right.notes))),
    )
