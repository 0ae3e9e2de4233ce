"""Gait timing from in-shoe force sensors (insoles, footswitches): heel strikes, toe offs, stride,
swing and stance times, stride-time variability, swing asymmetry and bilateral phase coordination (pure).

Each foot's total vertical force is loaded (the foot on the ground) or unloaded (in swing). A contact
begins where the force rises through a threshold set from that foot's own force range (baseline plus
``threshold_fraction`` of the baseline-to-loaded span, never below ``min_threshold_n``), so a sensor
offset or a heavier walker needs no tuning; it ends where the force falls back through it. Contacts
separated by less than ``min_swing_s`` are one contact (a force flicker), and contacts shorter than
``min_stance_s`` are not steps (a toe brushing the floor).

Measures (their published values are in :data:`PUBLISHED_VALUES`):

* stride time: heel strike to the next heel strike of the same foot; swing: toe off to the next heel
  strike; stance: heel strike to toe off. Only *steady* strides count (within 0.5-1.5x the foot's median
  stride: turns, stops and missed contacts are left out), as in the gaitpdb studies.
* stride-time CV: SD / mean of the steady strides of each foot, in percent, averaged over the two feet.
* swing asymmetry (Yogev et al. 2007, Exp Brain Res 177:336): 100 x |ln(mean swing R / mean swing L)|.
* phase coordination index, PCI (Plotnik et al. 2007, Exp Brain Res 181:561): for each steady stride of
  the foot with the longer swing, the contralateral heel strike's phase phi = 360 deg x (its delay after
  the stride's start) / stride time; PCI = CV of phi (%) + 100 x mean |phi - 180| / 180.

>>> import numpy as np
>>> n = np.arange(3000)                              # 30 s at 100 Hz; strides of 120 samples
>>> left = 700.0 * ((n % 120) < 72)                  # 0.72 s stance, 0.48 s swing
>>> right = 700.0 * (((n + 60) % 120) < 72)          # half a stride later
>>> g = analyze_insoles(left, right, sampling_rate_hz=100.0)
>>> round(g.stride_time_s, 2), round(g.cadence_spm, 1), round(g.swing_asymmetry_pct, 1), round(g.pci_pct, 1)
(1.2, 100.0, 0.0, 0.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cadenza.errors import DataQualityError, ParameterError

THRESHOLD_FRACTION = 0.08  # of the foot's baseline-to-loaded force span (the README suggests 5-10 %)
MIN_THRESHOLD_N = 10.0
MIN_STANCE_S = 0.2
MIN_SWING_S = 0.1
STEADY_STRIDE_RANGE = (0.5, 1.5)  # x the foot's median stride
MIN_STRIDES = 5  # fewer steady strides per foot give NaN measures and a flag
MIN_LOAD_N = 50.0  # a foot whose force never rises this far above its baseline carries no one

FLAG_FEW_STRIDES = "few_steady_strides"
FLAG_UNLOADED = "foot_never_loaded"
FLAG_UNEQUAL = "unequal_contact_counts"

# Published group values, cited where the figures are shown. Values are as the sources report them.
PUBLISHED_VALUES: dict[str, dict[str, str]] = {
    "stride_time_cv_pct": {
        "finding": "stride-time variability is higher in PD than in age-matched controls, and RAS can lower it",
        "source": "Hausdorff et al. 1998 (Mov Disord 13:428); Hausdorff et al. 2007 (Eur J Neurosci 26:2369), "
                  "the Ju walks of gaitpdb",
    },
    "swing_asymmetry_pct": {
        "finding": "swing asymmetry 100 x |ln(SWR/SWL)| is higher in PD and in elderly fallers than in healthy "
                   "older adults during usual walking (P < 0.01) and rises further with a dual task",
        "source": "Yogev et al. 2007 (Exp Brain Res 177:336), the Ga walks of gaitpdb",
    },
    "pci_pct": {
        "finding": "PCI is higher (poorer bilateral coordination) in PD than in healthy older adults (P < 0.006); "
                   "healthy adults 40-75 years: 3.16 +- 1.11 %, over 75: 5.68 +- 2.01 %",
        "source": "Plotnik et al. 2007 (Exp Brain Res 181:561); Zadik, ..., Plotnik, 'Age related changes in "
                  "gait variability, asymmetry, and bilateral coordination' (age groups)",
    },
}


@dataclass(frozen=True)
class FootEvents:
    """One foot's contacts: ``heel_strike_times_s[i]`` starts the contact that ``toe_off_times_s[i]``
    ends (NaN when the recording ends first). ``threshold_n`` is the force level used."""

    heel_strike_times_s: np.ndarray
    toe_off_times_s: np.ndarray
    threshold_n: float


@dataclass(frozen=True)
class FootTiming:
    """One foot's steady strides and their swing and stance times (s)."""

    stride_times_s: np.ndarray
    swing_times_s: np.ndarray
    stance_times_s: np.ndarray
    n_strides_total: int

    @property
    def stride_time_cv_pct(self) -> float:
        return _cv_pct(self.stride_times_s)


@dataclass(frozen=True)
class InsoleGait:
    """Gait timing of one walk on force insoles; NaN where too few steady strides (see ``flags``)."""

    sampling_rate_hz: float
    duration_s: float
    left: FootEvents
    right: FootEvents
    left_timing: FootTiming
    right_timing: FootTiming
    cadence_spm: float
    stride_time_s: float
    stride_time_cv_pct: float
    swing_asymmetry_pct: float
    pci_pct: float
    phase_abs_deg: float
    phase_cv_pct: float
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """A JSON-ready summary: per-foot counts and means, the measures, flags and notes."""

        def num(x: float, digits: int = 4):
            return None if not np.isfinite(x) else round(float(x), digits)

        def foot(events: FootEvents, timing: FootTiming) -> dict:
            return {
                "heel_strike_times_s": [round(float(x), 3) for x in events.heel_strike_times_s],
                "toe_off_times_s": [num(x, 3) for x in events.toe_off_times_s],
                "threshold_n": num(events.threshold_n, 1),
                "n_contacts": int(events.heel_strike_times_s.size),
                "n_strides": timing.n_strides_total,
                "n_steady_strides": int(timing.stride_times_s.size),
                "stride_time_s": num(_mean(timing.stride_times_s)),
                "stride_time_cv_pct": num(timing.stride_time_cv_pct, 2),
                "swing_time_s": num(_mean(timing.swing_times_s)),
                "stance_time_s": num(_mean(timing.stance_times_s)),
            }

        return {
            "placement": "insole",
            "sampling_rate_hz": self.sampling_rate_hz,
            "duration_s": round(self.duration_s, 3),
            "cadence_spm": num(self.cadence_spm, 2),
            "stride_time_s": num(self.stride_time_s),
            "stride_time_cv_pct": num(self.stride_time_cv_pct, 2),
            "swing_asymmetry_pct": num(self.swing_asymmetry_pct, 2),
            "pci_pct": num(self.pci_pct, 2),
            "phase_abs_deg": num(self.phase_abs_deg, 2),
            "phase_cv_pct": num(self.phase_cv_pct, 2),
            "left": foot(self.left, self.left_timing),
            "right": foot(self.right, self.right_timing),
            "published_values": PUBLISHED_VALUES,
            "flags": list(self.flags),
            "notes": list(self.notes),
        }


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


def _cv_pct(x: np.ndarray) -> float:
    if x.size < MIN_STRIDES:
        return float("nan")
    return float(100.0 * np.std(x, ddof=1) / np.mean(x))


def _check_force(force_n: object, *, name: str) -> np.ndarray:
    try:
        arr = np.asarray(force_n, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a 1-D array of forces in newtons") from None
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D (one foot's total force over time), got shape {arr.shape!r}")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise DataQualityError(f"{name} has {bad} NaN or infinite sample(s); a force insole gives a number "
                               "at every sample (cut the recording at the drop-out)")
    return arr


def _check_rate(sampling_rate_hz: float) -> float:
    if not isinstance(sampling_rate_hz, int | float) or not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0:
        raise ParameterError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz!r}")
    if sampling_rate_hz < 20:
        raise ParameterError(f"sampling_rate_hz={sampling_rate_hz!r} is too low to time heel strikes (need >= 20 Hz)")
    return float(sampling_rate_hz)


def detect_foot_contacts(
    force_n: np.ndarray,
    *,
    sampling_rate_hz: float,
    threshold_fraction: float = THRESHOLD_FRACTION,
    min_threshold_n: float = MIN_THRESHOLD_N,
    min_stance_s: float = MIN_STANCE_S,
    min_swing_s: float = MIN_SWING_S,
) -> FootEvents:
    """Heel strikes and toe offs of one foot from its total vertical force (N).

    Times are interpolated between samples at the threshold crossing. A contact already under way
    when the recording starts has no heel strike and is left out.

    >>> f = np.r_[np.zeros(50), np.full(70, 600.0), np.zeros(40), np.full(70, 600.0), np.zeros(20)]
    >>> ev = detect_foot_contacts(f, sampling_rate_hz=100)
    >>> ev.heel_strike_times_s.round(2).tolist(), ev.toe_off_times_s.round(2).tolist()
    ([0.49, 1.59], [1.2, 2.3])
    """
    rate = _check_rate(sampling_rate_hz)
    force = _check_force(force_n, name="force_n")
    if not 0 < threshold_fraction < 1:
        raise ParameterError(f"threshold_fraction must be in (0, 1), got {threshold_fraction!r}")
    for name, value in (("min_threshold_n", min_threshold_n), ("min_stance_s", min_stance_s),
                        ("min_swing_s", min_swing_s)):
        if not np.isfinite(value) or value < 0:
            raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    if force.size < 3:
        return FootEvents(np.empty(0), np.empty(0), float("nan"))
    baseline, loaded = np.percentile(force, [2, 95])
    if loaded - baseline < MIN_LOAD_N:
        return FootEvents(np.empty(0), np.empty(0), float("nan"))
    threshold = float(max(baseline + threshold_fraction * (loaded - baseline), baseline + min_threshold_n))
    on = force > threshold
    edges = np.diff(on.view(np.int8))
    rises = np.flatnonzero(edges == 1) + 1  # first loaded sample
    falls = np.flatnonzero(edges == -1) + 1  # first unloaded sample
    if on[0]:
        falls = falls[1:] if falls.size else falls  # the contact under way at the start has no heel strike
    starts, stops = rises, np.full(rises.size, -1)
    k = np.searchsorted(falls, starts, side="right")
    has_end = k < falls.size
    stops[has_end] = falls[k[has_end]]
    # Merge contacts separated by a too-short unloaded spell (a flicker of the force).
    if starts.size > 1:
        gap = (starts[1:] - stops[:-1]) / rate
        join = (stops[:-1] >= 0) & (gap < min_swing_s)
        keep_start = np.concatenate([[True], ~join])
        keep_stop = np.concatenate([~join, [True]])
        starts, stops = starts[keep_start], stops[keep_stop]
    ended = stops >= 0
    stance = np.where(ended, (stops - starts) / rate, np.inf)
    long_enough = stance >= min_stance_s
    starts, stops = starts[long_enough], stops[long_enough]

    def crossing(idx: np.ndarray) -> np.ndarray:
        """Sub-sample time where the force crosses the threshold between samples idx-1 and idx."""
        a, b = force[idx - 1], force[idx]
        frac = np.clip((threshold - a) / np.where(b != a, b - a, 1.0), 0.0, 1.0)
        return (idx - 1 + frac) / rate

    hs = crossing(starts) if starts.size else np.empty(0)
    to = np.full(starts.size, np.nan)
    if starts.size:
        done = stops >= 0
        to[done] = crossing(stops[done])
    return FootEvents(hs, to, threshold)


def steady_mask(stride_times_s: np.ndarray, *, stride_range: tuple[float, float] = STEADY_STRIDE_RANGE) -> np.ndarray:
    """Strides within ``stride_range`` x their median (turns, stops and missed contacts are not steady).

    >>> steady_mask(np.array([1.0, 1.1, 2.3, 1.05, 0.4])).tolist()
    [True, True, False, True, False]
    """
    x = np.asarray(stride_times_s, dtype=float)
    if x.size == 0:
        return np.zeros(0, dtype=bool)
    med = float(np.median(x))
    return (x >= stride_range[0] * med) & (x <= stride_range[1] * med)


def foot_timing(events: FootEvents) -> FootTiming:
    """Steady strides of one foot with the swing and stance of each (stance of the stride's first
    contact, swing from its toe off to the next heel strike)."""
    hs, to = events.heel_strike_times_s, events.toe_off_times_s
    if hs.size < 2:
        return FootTiming(np.empty(0), np.empty(0), np.empty(0), 0)
    stride = np.diff(hs)
    stance = to[:-1] - hs[:-1]
    swing = hs[1:] - to[:-1]
    ok = steady_mask(stride) & np.isfinite(stance)
    return FootTiming(stride[ok], swing[ok], stance[ok], int(stride.size))


def phase_coordination(
    reference_hs_times_s: np.ndarray, other_hs_times_s: np.ndarray
) -> tuple[float, float, float]:
    """Plotnik's phase coordination index: (PCI %, mean |phi - 180| deg, CV of phi %).

    Each steady stride of the reference foot that holds exactly one heel strike of the other foot
    gives phi = 360 x (that heel strike - stride start) / stride time. NaN with fewer than
    ``MIN_STRIDES`` such strides.

    >>> ref = np.arange(0.0, 12.0, 1.0)
    >>> pci, phi_abs, phi_cv = phase_coordination(ref, ref + 0.5)
    >>> round(pci, 3), round(phi_abs, 3), round(phi_cv, 3)
    (0.0, 0.0, 0.0)
    """
    ref = np.asarray(reference_hs_times_s, dtype=float)
    other = np.asarray(other_hs_times_s, dtype=float)
    if ref.size < 2:
        return float("nan"), float("nan"), float("nan")
    stride = np.diff(ref)
    lo = np.searchsorted(other, ref[:-1], side="right")
    hi = np.searchsorted(other, ref[1:], side="left")
    ok = steady_mask(stride) & (hi - lo == 1)
    if ok.sum() < MIN_STRIDES:
        return float("nan"), float("nan"), float("nan")
    phi = 360.0 * (other[lo[ok]] - ref[:-1][ok]) / stride[ok]
    phi_abs = float(np.mean(np.abs(phi - 180.0)))
    phi_cv = float(100.0 * np.std(phi, ddof=1) / np.mean(phi))
    return phi_cv + 100.0 * phi_abs / 180.0, phi_abs, phi_cv


def swing_asymmetry_pct(left_swing_times_s: np.ndarray, right_swing_times_s: np.ndarray) -> float:
    """Yogev's gait asymmetry 100 x |ln(mean right swing / mean left swing)|; NaN if a side is empty.

    >>> round(swing_asymmetry_pct(np.array([0.4, 0.4]), np.array([0.44, 0.44])), 2)
    9.53
    """
    left = np.asarray(left_swing_times_s, dtype=float)
    right = np.asarray(right_swing_times_s, dtype=float)
    if left.size == 0 or right.size == 0 or left.mean() <= 0 or right.mean() <= 0:
        return float("nan")
    return float(100.0 * abs(np.log(right.mean() / left.mean())))


def summarize_contacts(
    left: FootEvents, right: FootEvents, *, sampling_rate_hz: float, duration_s: float,
    flags: tuple[str, ...] = (), notes: tuple[str, ...] = (),
) -> InsoleGait:
    """The measures of :class:`InsoleGait` from each foot's contacts (from insoles or any footswitch)."""
    lt, rt = foot_timing(left), foot_timing(right)
    flags_list, notes_list = list(flags), list(notes)
    few = [side for side, t in (("left", lt), ("right", rt)) if t.stride_times_s.size < MIN_STRIDES]
    if few:
        flags_list.append(FLAG_FEW_STRIDES)
        notes_list.append(f"fewer than {MIN_STRIDES} steady strides on the {' and '.join(few)} foot: "
                          "variability and asymmetry are not given")
    n_l, n_r = left.heel_strike_times_s.size, right.heel_strike_times_s.size
    if max(n_l, n_r) >= 10 and abs(n_l - n_r) > max(2, 0.1 * max(n_l, n_r)):
        flags_list.append(FLAG_UNEQUAL)
        notes_list.append(f"{n_l} left vs {n_r} right contacts: a sensor offset, drop-out or standing on one foot")
    steady = np.concatenate([lt.stride_times_s, rt.stride_times_s])
    stride_s = float(np.mean(steady)) if steady.size else float("nan")
    cv = float(np.mean([lt.stride_time_cv_pct, rt.stride_time_cv_pct])) if not few else float("nan")
    sa = swing_asymmetry_pct(lt.swing_times_s, rt.swing_times_s) if not few else float("nan")
    # Plotnik: the reference foot is the one with the longer mean swing.
    if not few and _mean(lt.swing_times_s) >= _mean(rt.swing_times_s):
        pci = phase_coordination(left.heel_strike_times_s, right.heel_strike_times_s)
    elif not few:
        pci = phase_coordination(right.heel_strike_times_s, left.heel_strike_times_s)
    else:
        pci = (float("nan"),) * 3
    return InsoleGait(
        sampling_rate_hz=float(sampling_rate_hz),
        duration_s=float(duration_s),
        left=left,
        right=right,
        left_timing=lt,
        right_timing=rt,
        cadence_spm=120.0 / stride_s if np.isfinite(stride_s) else float("nan"),
        stride_time_s=stride_s,
        stride_time_cv_pct=cv,
        swing_asymmetry_pct=sa,
        pci_pct=pci[0],
        phase_abs_deg=pci[1],
        phase_cv_pct=pci[2],
        flags=tuple(flags_list),
        notes=tuple(notes_list),
    )


def analyze_insoles(
    left_force_n: np.ndarray,
    right_force_n: np.ndarray,
    *,
    sampling_rate_hz: float,
    threshold_fraction: float = THRESHOLD_FRACTION,
) -> InsoleGait:
    """Contacts of both feet from their total vertical forces (N), then the measures of :class:`InsoleGait`."""
    rate = _check_rate(sampling_rate_hz)
    left = _check_force(left_force_n, name="left_force_n")
    right = _check_force(right_force_n, name="right_force_n")
    if left.shape != right.shape:
        raise ParameterError(f"left_force_n has {left.size} samples but right_force_n has {right.size}; "
                             "both feet must come from one synchronised recording")
    flags: list[str] = []
    notes: list[str] = []
    events = {}
    for side, force in (("left", left), ("right", right)):
        events[side] = detect_foot_contacts(force, sampling_rate_hz=rate, threshold_fraction=threshold_fraction)
        if not np.isfinite(events[side].threshold_n):
            flags.append(FLAG_UNLOADED)
            notes.append(f"the {side} force never rises {MIN_LOAD_N:g} N above its baseline: insole not worn, "
                         "not connected, or the unit is not newtons")
    return summarize_contacts(events["left"], events["right"], sampling_rate_hz=rate, duration_s=left.size / rate,
                              flags=tuple(dict.fromkeys(flags)), notes=tuple(notes))


def as_dict(gait: InsoleGait) -> dict:
    """Plain fields of ``gait`` (arrays as lists), for notebooks."""
    return asdict(gait)
