"""Hits from event times (MIDI note-ons, touches, key presses) and cue grids.

Devices that report events (a MIDI pad, a touch screen, a keyboard) need no onset detection, only
cleaning: the times are sorted, and a second event within ``min_interval_s`` of the previous one is a
bounce (a pad's double trigger, a key's auto-repeat, two fingers landing) and is dropped. Device latency
is not corrected here; it is a calibration of the device (subtract it before, or pass the cue times as
heard).

>>> clean_event_times([0.5, 0.0, 0.51, 1.0]).tolist()
[0.0, 0.5, 1.0]
>>> make_cue_times(tempo_bpm=120, start_s=1.0, n_beats=4).tolist()
[1.0, 1.5, 2.0, 2.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cadenza.errors import ParameterError

DEBOUNCE_S = 0.03  # a human cannot hit twice in 30 ms with one effector
#: Longest recording or event list (4 h) and cue tempi considered: a typo (ms given as s, a tempo in Hz)
#: is refused before any array is allocated.
MAX_DURATION_S = 4 * 3600.0
CUE_TEMPO_RANGE_BPM = (10.0, 400.0)
MAX_EVENTS = 200_000


def check_times(times_s: Sequence[float] | np.ndarray, *, name: str) -> np.ndarray:
    """``times_s`` as a 1-D float array of finite times within [0, 4 h], or :class:`ParameterError`
    naming ``name``. Order is not checked (see :func:`clean_event_times`).

    >>> check_times([3600000.0], name="hit_times_s")
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: hit_times_s must be times in seconds within [0, 14400] (4 h); got a maximum of 3600000.0 (milliseconds given as seconds?)
    """
    try:
        times = np.asarray(times_s, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a sequence of numbers (seconds), got {times_s!r:.80}") from exc
    if times.ndim != 1:
        raise ParameterError(f"{name} must be 1-D (one time per event), got shape {times.shape!r}")
    if times.size > MAX_EVENTS:
        raise ParameterError(f"{name} holds {times.size} events, more than the {MAX_EVENTS} allowed")
    if not np.all(np.isfinite(times)):
        raise ParameterError(f"{name} must be finite; got NaN or infinite values")
    if times.size and (times.min() < 0 or times.max() > MAX_DURATION_S):
        hint = " (milliseconds given as seconds?)" if times.max() > MAX_DURATION_S else ""
        worst = float(times.max() if times.max() > MAX_DURATION_S else times.min())
        raise ParameterError(f"{name} must be times in seconds within [0, {MAX_DURATION_S:.0f}] (4 h); "
                             f"got a {'maximum' if hint else 'minimum'} of {worst!r}{hint}")
    return times


def clean_event_times(times_s: Sequence[float] | np.ndarray, *, min_interval_s: float = DEBOUNCE_S) -> np.ndarray:
    """Event times sorted, with every event closer than ``min_interval_s`` to the last kept one dropped.

    >>> clean_event_times([]).size
    0
    """
    times = np.sort(check_times(times_s, name="times_s"))
    if isinstance(min_interval_s, bool) or not isinstance(min_interval_s, int | float) or not 0 <= min_interval_s <= 5:
        raise ParameterError(f"min_interval_s must be in [0, 5] seconds (not ms), got {min_interval_s!r}")
    if times.size == 0 or min_interval_s == 0:
        return times
    kept = [times[0]]
    for t in times[1:]:
        if t - kept[-1] >= min_interval_s:
            kept.append(t)
    return np.asarray(kept)


def make_cue_times(*, tempo_bpm: float, start_s: float = 0.0, n_beats: int | None = None,
                   end_s: float | None = None) -> np.ndarray:
    """An isochronous cue: beats from ``start_s`` every ``60 / tempo_bpm`` s, ``n_beats`` of them or up to
    and including ``end_s``.

    >>> make_cue_times(tempo_bpm=60, start_s=0.5, end_s=2.5).tolist()
    [0.5, 1.5, 2.5]
    >>> make_cue_times(tempo_bpm=2, n_beats=3)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: tempo_bpm must be in [10, 400] beats per minute, got 2
    """
    low, high = CUE_TEMPO_RANGE_BPM
    if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, int | float) or not low <= tempo_bpm <= high:
        raise ParameterError(f"tempo_bpm must be in [{low:g}, {high:g}] beats per minute, got {tempo_bpm!r}")
    if isinstance(start_s, bool) or not isinstance(start_s, int | float) or not 0 <= start_s <= MAX_DURATION_S:
        raise ParameterError(f"start_s must be in [0, {MAX_DURATION_S:.0f}] seconds, got {start_s!r}")
    if (n_beats is None) == (end_s is None):
        raise ParameterError(f"give exactly one of n_beats and end_s, got n_beats={n_beats!r}, end_s={end_s!r}")
    period_s = 60.0 / float(tempo_bpm)
    if end_s is not None:
        if isinstance(end_s, bool) or not isinstance(end_s, int | float) or not start_s <= end_s <= MAX_DURATION_S:
            raise ParameterError(f"end_s must be in [start_s, {MAX_DURATION_S:.0f}] seconds, got {end_s!r}")
        n_beats = int(np.floor((end_s - start_s) / period_s + 1e-9)) + 1
    if isinstance(n_beats, bool) or not isinstance(n_beats, int | np.integer) or not 0 <= n_beats <= MAX_EVENTS:
        raise ParameterError(f"n_beats must be a whole number in [0, {MAX_EVENTS}], got {n_beats!r}")
    return start_s + period_s * np.arange(int(n_beats))
