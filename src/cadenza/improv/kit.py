"""What a drum kit's roles say about the beat: the backbeat, the foot's pulse and the bar.

A drummer's kit plays roles a velocity cannot show. Three of them mark the beat level in most styles,
and all are read from General MIDI percussion note numbers (channel 10; the Roland TD-11 mapping of
the Groove MIDI files is the same for these voices):

- **backbeat** (:func:`backbeat_alignment`): the snare's accents and the kick alternate on the beat,
  snare on 2 and 4 against a kick on 1 and 3 (rock, funk, soul, hip-hop, pop). At the beat level the
  loud snares and the kicks each sit at one phase of the two-beat cycle, half a cycle apart; at double
  time both fall on its beat 1 (no half cycle between them); at half time the snares on 2 and 4 fall a
  quarter and three quarters into its two-beat cycle and cancel out. The value is the product of the
  two resultant lengths and of how far apart their phases are, in 8-s windows so drift does not blur it.
- **foot pulse** (:func:`foot_pulse`): the hi-hat pedal (the "chick" of a jazz, rock or 5/4 groove)
  kept on every beat. The value is how well the pedal notes sit on the candidate's beat grid times
  the share of its beats that hold one: half time splits them between its beats and off-beats, double
  time leaves every other beat without one.
- **meter** (:func:`meter_consistency`): the kick and snare's figure repeats every bar, and a beat
  divides the bar: cos(2 pi bar / period) is 1 when the bar holds a whole number of the candidate's
  beats and -1 when it holds a half (half time of a 3/4 bar: 1.5 beats). A bar of two or more beats
  and a half is not held against a level (at most 0): 5/8 and 7/8 counted in quarter notes hold 2.5
  and 3.5 beats at the written beat. The bar is read from the
  kick and snare's onset autocorrelation (:func:`cadenza.improv.pulse.estimate_bar_s`), so a level
  that splits the bar is implausible. Only 3:2-related levels differ: the beat, half and double time
  of a 4/4 bar all divide it.

None is a tempo on its own: they are features of the metrical-level score of
:func:`cadenza.improv.pulse.estimate_pulse`, which weighs them with the others (fitted on the
development drum performances) when the notes are a drum kit's; without a kick and a snare, or without
a pedal, or without a bar, the feature is 0 and has no say.

>>> beat_s = 0.5; t = np.arange(64) * beat_s  # kick on 1 and 3, snare on 2 and 4, at 120 BPM
>>> pitches = np.where(np.arange(64) % 2 == 0, 36, 38)
>>> backbeat_alignment(t, np.full(64, 100.0), pitches, [0.5, 1.0, 0.25]).round(2).tolist()  # beat; half; double
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

KICK_PITCHES = (35, 36)
SNARE_PITCHES = (37, 38, 40)  # head, cross-stick, rim
BAR_PITCHES = KICK_PITCHES + SNARE_PITCHES  # the voices whose figure marks the bar
FOOT_HAT_PITCHES = (44,)  # hi-hat pedal
WINDOW_S = 8.0
MIN_ROLE_NOTES = 4  # fewer kicks, snares or pedal notes say nothing


def _window_sums(times_s: np.ndarray, weights: np.ndarray, period_s: float, start_s: float,
                 n_windows: int) -> tuple[np.ndarray, np.ndarray]:
    """Per :data:`WINDOW_S` window from ``start_s``: (sum of weighted phasors at the period, sum of weights)."""
    window = np.floor((times_s - start_s) / WINDOW_S).astype(int)
    phasor = weights * np.exp(2j * np.pi * times_s / period_s)
    return (np.bincount(window, weights=phasor.real, minlength=n_windows)
            + 1j * np.bincount(window, weights=phasor.imag, minlength=n_windows),
            np.bincount(window, weights=weights, minlength=n_windows))


def backbeat_alignment(onset_times_s: np.ndarray, velocities: np.ndarray, pitches: np.ndarray,
                       period_s: np.ndarray | float) -> np.ndarray:
    """Backbeat (0-1) of each candidate beat period: in each :data:`WINDOW_S` window, the loud snares'
    (at or above the snare's median velocity) and the kicks' resultant lengths at two periods, times
    (1 - cos of their phase difference) / 2; averaged over windows by snare weight. 0 without
    :data:`MIN_ROLE_NOTES` kicks and snares."""
    periods = np.atleast_1d(np.asarray(period_s, dtype=float))
    t, v, p = (np.asarray(x) for x in (onset_times_s, velocities, pitches))
    out = np.zeros(periods.size)
    snare, kick = np.isin(p, SNARE_PITCHES), np.isin(p, KICK_PITCHES)
    if snare.sum() < MIN_ROLE_NOTES or kick.sum() < MIN_ROLE_NOTES:
        return out
    loud = v[snare] >= np.median(v[snare])
    ts, ws = t[snare][loud], v[snare][loud].astype(float)
    tk, wk = t[kick], v[kick].astype(float)
    start_s = float(t.min())
    n_windows = int((float(t.max()) - start_s) // WINDOW_S) + 1
    for i, period in enumerate(periods):
        zs, total_s = _window_sums(ts, ws, 2 * period, start_s, n_windows)
        zk, total_k = _window_sums(tk, wk, 2 * period, start_s, n_windows)
        both = (total_s > 0) & (total_k > 0)
        if not both.any():
            continue
        apart = (1 - np.cos(np.angle(zs[both]) - np.angle(zk[both]))) / 2
        value = np.abs(zs[both]) / total_s[both] * np.abs(zk[both]) / total_k[both] * apart
        out[i] = float(np.sum(value * total_s[both]) / np.sum(total_s[both]))
    return np.clip(out, 0.0, 1.0)


def foot_pulse(onset_times_s: np.ndarray, pitches: np.ndarray, period_s: np.ndarray | float) -> np.ndarray:
    """Foot pulse (0-1) of each candidate beat period: the hi-hat pedal notes' resultant length at the
    period (summed over :data:`WINDOW_S` windows) times the share of the period's beats, from the
    first note to the last, holding a pedal note within an eighth of a period of the window's mean
    phase. 0 with fewer than 2 x :data:`MIN_ROLE_NOTES` pedal notes.

    >>> t = np.arange(40) * 0.5; p = np.full(40, 44)  # the pedal on every beat at 120 BPM
    >>> foot_pulse(t, p, [0.5, 1.0, 0.25]).round(1).tolist()  # the beat; half time; double time
    [1.0, 0.0, 0.5]
    """
    periods = np.atleast_1d(np.asarray(period_s, dtype=float))
    t, p = np.asarray(onset_times_s, dtype=float), np.asarray(pitches)
    out = np.zeros(periods.size)
    foot = np.isin(p, FOOT_HAT_PITCHES)
    if foot.sum() < 2 * MIN_ROLE_NOTES:
        return out
    tf, ones = t[foot], np.ones(int(foot.sum()))
    start_s = float(t.min())
    n_windows = int((float(t.max()) - start_s) // WINDOW_S) + 1
    window = np.floor((tf - start_s) / WINDOW_S).astype(int)
    span_s = float(np.ptp(t))
    for i, period in enumerate(periods):
        z, total = _window_sums(tf, ones, period, start_s, n_windows)
        resultant = float(np.abs(z).sum() / total.sum())
        offset_s = (np.angle(z) / (2 * np.pi) * period)[window]
        beat = np.round((tf - offset_s) / period)
        near = np.abs(tf - offset_s - beat * period) < period / 8
        share = min(np.unique(beat[near]).size / (np.floor(span_s / period) + 1), 1.0)
        out[i] = resultant * share
    return np.clip(out, 0.0, 1.0)


def meter_consistency(bar_s: float, period_s: np.ndarray | float) -> np.ndarray:
    """Meter consistency (-1..1) of each candidate beat period with a bar of ``bar_s`` seconds:
    cos(2 pi bar / period), 1 when the bar holds a whole number of beats, -1 when it holds one and a
    half (half time of a 3/4 bar); a bar of two or more beats scores at least 0, so two and a half or
    three and a half (5/8 or 7/8 counted in quarter notes) are not held against the written beat; 0 for
    every candidate when there is no bar (NaN).

    >>> meter_consistency(1.5, [0.5, 1.0, 0.25]).round(2).tolist()  # a 3/4 bar at 120 BPM: beat; half; double
    [1.0, -1.0, 1.0]
    >>> meter_consistency(1.25, [0.5, 0.25]).round(2).tolist()  # 5/8 at 120 quarters a minute: quarter; eighth
    [0.0, 1.0]
    """
    periods = np.atleast_1d(np.asarray(period_s, dtype=float))
    if not np.isfinite(bar_s):
        return np.zeros(periods.size)
    beats_per_bar = bar_s / periods
    consistency = np.cos(2 * np.pi * beats_per_bar)
    return np.where(beats_per_bar >= 2.0, np.maximum(consistency, 0.0), consistency)
