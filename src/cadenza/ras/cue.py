"""Cue tracks for a session: metronome or the person's own music, at a planned tempo, verified.

Every rendered cue reports how far its beats are from the planned grid. Click mode re-reads the
onset samples from the rendered clicks (must be 0 samples off). Music mode re-detects beats in the warped
music (before any click overlay) with the project's beat tracker and reports median and maximum error in ms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import ParameterError
from cadenza.render.clicks import (
    CUE_SOUNDS,
    find_cue_onsets_idx,
    render_click_track,
    tempo_curve_beat_times_s,
)
from cadenza.render.loudness import (
    DEFAULT_TARGET_LUFS,
    measure_loudness_lufs,
    normalize_loudness,
    plan_loudness_gain,
)
from cadenza.render.mix import mix_overlay
from cadenza.safety.flags import audio_policy
from cadenza.units import s_to_idx

MAX_CUE_MINUTES = 90.0
LOUDNESS_EXCERPT_S = 20.0  # a metronome is periodic: 20 s (7+ beats even at 20 BPM) measures its loudness


@dataclass(frozen=True)
class CueVerification:
    """How far a rendered cue's beats are from the planned grid (re-detected in the output)."""

    method: str  # "click onsets" or "beat tracker"
    n_beats_checked: int
    max_error_samples: int | None  # click mode
    median_error_ms: float
    max_error_ms: float
    matched_fraction: float = 1.0
    checked_s: float = float("nan")


@dataclass(frozen=True)
class CueTrack:
    """A rendered session cue: samples, the beat grid, its verification, loudness, level at the ear and dose."""

    samples: np.ndarray
    sampling_rate_hz: int
    beat_times_s: np.ndarray  # the planned grid the cue is built on
    verification: CueVerification
    loudness_lufs: float
    peak_limited: bool
    warnings: tuple[str, ...] = field(default=())
    mode: str = "click"
    level_dba: float = float("nan")  # estimated at the ear with the given (or default) calibration
    dose_percent: float = float("nan")  # share of the weekly listening allowance this cue uses once
    level_capped: bool = False  # True if the policy's ear-level cap turned the cue down

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sampling_rate_hz


def parse_ramp(text: str) -> tuple[float, float]:
    """``"96:104"`` -> (96.0, 104.0).

    >>> parse_ramp("96:104")
    (96.0, 104.0)
    """
    parts = str(text).split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = float(parts[0]), float(parts[1])
    except ValueError:
        raise ParameterError(f"ramp must look like START_BPM:END_BPM (e.g. 96:104), got {text!r}") from None
    return start, end


def cue_tempo_knots(
    *, tempo_bpm: float | None = None, ramp_bpm: tuple[float, float] | None = None, duration_s: float,
    ramp_duration_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Knots of a constant tempo or a linear ramp (over ``ramp_duration_s``, default the whole cue)."""
    if (tempo_bpm is None) == (ramp_bpm is None):
        raise ParameterError("give exactly one of tempo_bpm or ramp_bpm")
    if ramp_bpm is None:
        return np.array([0.0]), np.array([float(tempo_bpm)])
    ramp_s = duration_s if ramp_duration_s is None else ramp_duration_s
    if not np.isfinite(ramp_s) or ramp_s <= 0:
        raise ParameterError(f"ramp_duration_s must be > 0, got {ramp_duration_s!r}")
    return np.array([0.0, float(ramp_s)]), np.array([float(ramp_bpm[0]), float(ramp_bpm[1])])


def _respect_level_cap(samples: np.ndarray, *, sampling_rate_hz: int, policy, calibration, excerpt_s: float):
    """Estimated ear level and weekly dose (``cadenza.safety.dose``); turn the cue down if it is above the
    policy's ear-level cap. The level is estimated on the first ``excerpt_s`` (a cue is steady)."""
    from cadenza.safety.dose import assess_track, dose_fraction

    mode = "sensitive" if policy.nicu_limits else "adult"
    head = samples[..., : int(excerpt_s * sampling_rate_hz)]
    dose = assess_track(head, sampling_rate_hz=sampling_rate_hz, calibration=calibration, mode=mode,
                        max_level_dba=policy.max_level_dba)
    duration_s = samples.shape[-1] / sampling_rate_hz
    if dose.gain_db_to_cap < 0:
        samples = (samples * np.float32(10 ** (dose.gain_db_to_cap / 20))).astype(np.float32)
    level = dose.level_dba + dose.gain_db_to_cap
    fraction = dose_fraction(level, duration_s, mode=mode) if np.isfinite(level) else 0.0
    return samples, float(level), 100.0 * float(fraction), dose.gain_db_to_cap < 0


def _check_common(duration_s: float, sampling_rate_hz: int, sound: str, accent_every: int) -> None:
    if not np.isfinite(duration_s) or not 0 < duration_s <= MAX_CUE_MINUTES * 60:
        raise ParameterError(f"duration_s must be in (0, {MAX_CUE_MINUTES * 60:g}] s, got {duration_s!r} (minutes given as seconds?)")
    if sampling_rate_hz not in (16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 88_200, 96_000):
        raise ParameterError(f"sampling_rate_hz must be a standard audio rate such as 44100 or 48000, got {sampling_rate_hz!r}")
    if sound not in CUE_SOUNDS:
        raise ParameterError(f"sound must be one of {CUE_SOUNDS}, got {sound!r}")
    if not isinstance(accent_every, (int, np.integer)) or accent_every < 0:
        raise ParameterError(f"accent_every must be an integer >= 0, got {accent_every!r}")


def verify_click_onsets(clicks: np.ndarray, beat_times_s: np.ndarray, *, sampling_rate_hz: int) -> CueVerification:
    """Re-read the onsets of a click-only track and compare with the planned beats, in samples."""
    onsets = find_cue_onsets_idx(clicks, sampling_rate_hz=sampling_rate_hz)
    planned = s_to_idx(beat_times_s, sampling_rate_hz=sampling_rate_hz)
    if onsets.size != planned.size:
        # A missing or extra onset is the worst kind of error; report it as such.
        return CueVerification(method="click onsets", n_beats_checked=int(planned.size), max_error_samples=None,
                               median_error_ms=float("nan"), max_error_ms=float("inf"), matched_fraction=0.0)
    err = np.abs(onsets - planned)
    return CueVerification(method="click onsets", n_beats_checked=int(planned.size),
                           max_error_samples=int(err.max()) if err.size else 0,
                           median_error_ms=float(np.median(err) / sampling_rate_hz * 1e3) if err.size else 0.0,
                           max_error_ms=float(err.max() / sampling_rate_hz * 1e3) if err.size else 0.0)


def render_click_cue(
    *,
    duration_s: float,
    sampling_rate_hz: int = 44_100,
    tempo_bpm: float | None = None,
    ramp_bpm: tuple[float, float] | None = None,
    ramp_duration_s: float | None = None,
    knot_times_s: np.ndarray | None = None,
    knot_tempi_bpm: np.ndarray | None = None,
    sound: str = "woodblock",
    accent_every: int = 0,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    safety_flags: Iterable[str] = (),
    calibration=None,
) -> CueTrack:
    """A metronome cue at a constant tempo, a ramp, or a plan's knots; beats exact to the sample.

    ``calibration`` (:class:`cadenza.safety.calibration.Calibration`, default the conservative default)
    turns digital level into an ear-level estimate; the cue is turned down if it is above the
    listener's policy cap, and its weekly-dose share is reported."""
    _check_common(duration_s, sampling_rate_hz, sound, accent_every)
    policy = audio_policy(safety_flags)
    if knot_tempi_bpm is None:
        knot_times_s, knot_tempi_bpm = cue_tempo_knots(tempo_bpm=tempo_bpm, ramp_bpm=ramp_bpm, duration_s=duration_s,
                                                       ramp_duration_s=ramp_duration_s)
    beats = tempo_curve_beat_times_s(knot_times_s, knot_tempi_bpm, duration_s=duration_s)
    # Loudness is measured on the first minute rendered at unit gain; the gain then goes into the
    # cue sounds, so the 30-minute track is written once at its final level.
    excerpt_s = min(duration_s, LOUDNESS_EXCERPT_S)
    head = beats[beats < excerpt_s]
    probe = render_click_track(head, duration_s=excerpt_s, sampling_rate_hz=sampling_rate_hz, sound=sound,
                               accent_every=accent_every)
    measured = measure_loudness_lufs(probe.samples, sampling_rate_hz=sampling_rate_hz)
    peak = float(np.max(np.abs(probe.samples))) if probe.samples.size else 0.0
    level = plan_loudness_gain(measured, peak=peak, target_lufs=target_lufs, max_level_dba=policy.max_level_dba)
    gain = 10 ** (level.gain_db / 20)  # the peak ceiling is already inside level.gain_db
    track = render_click_track(beats, duration_s=duration_s, sampling_rate_hz=sampling_rate_hz, sound=sound,
                               accent_every=accent_every, gain=gain)
    verification = verify_click_onsets(track.samples, beats, sampling_rate_hz=sampling_rate_hz)
    samples, level_dba, dose_pct, capped = _respect_level_cap(track.samples, sampling_rate_hz=sampling_rate_hz,
                                                              policy=policy, calibration=calibration,
                                                              excerpt_s=excerpt_s)
    lufs = float(measured + 20 * np.log10(gain)) if gain > 0 else float("nan")
    if capped:
        lufs -= 20 * np.log10(float(np.max(np.abs(track.samples))) / max(float(np.max(np.abs(samples))), 1e-12))
    return CueTrack(samples=samples, sampling_rate_hz=sampling_rate_hz, beat_times_s=beats,
                    verification=verification, loudness_lufs=lufs, peak_limited=level.peak_limited,
                    warnings=policy.warnings, mode="click", level_dba=level_dba, dose_percent=dose_pct,
                    level_capped=capped)


def render_music_cue(
    samples: np.ndarray,
    *,
    sampling_rate_hz: int,
    tempo_bpm: float | None = None,
    ramp_bpm: tuple[float, float] | None = None,
    ramp_duration_s: float | None = None,
    duration_s: float | None = None,
    source_beat_times_s: np.ndarray | None = None,
    method: str = "wsola",
    click_overlay: bool = False,
    overlay_gain_db: float = -6.0,
    sound: str = "click",
    accent_every: int = 0,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    safety_flags: Iterable[str] = (),
    verify_s: float = 120.0,
    calibration=None,
    stretcher=None,
) -> CueTrack:
    """The person's song, beat-synchronously stretched to the cue tempo (see :mod:`.music_mode`).

    ``source_beat_times_s`` defaults to the project's beat tracker on the song. The output is verified
    by re-detecting its beats over the first ``verify_s`` seconds (0 skips the check).
    """
    from cadenza.ras.music_mode import (
        choose_beat_level,
        repair_beats,
        verify_with_beat_tracker,
        warp_music_to_tempo,
    )

    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim not in (1, 2) or samples.shape[-1] < sampling_rate_hz:
        raise ParameterError(f"samples must hold at least 1 s of audio as (n,) or (channels, n), got shape {samples.shape!r}")
    policy = audio_policy(safety_flags)
    warnings = list(policy.warnings)
    if source_beat_times_s is None:
        from cadenza.music.beats import track_beats

        mono = samples if samples.ndim == 1 else samples.mean(axis=0)
        found = track_beats(mono, sampling_rate_hz=sampling_rate_hz)
        source_beat_times_s = repair_beats(np.asarray(found.beat_times_s, dtype=float))
        if source_beat_times_s.size < 4:
            raise ParameterError("no steady beat was found in the song; choose a song with a clearer beat")
        # Tracked beats may sit at any metrical level: step on the level nearest the cue tempo.
        first_tempo = float(tempo_bpm if tempo_bpm is not None else (ramp_bpm[0] if ramp_bpm else 100.0))
        source_beat_times_s, level = choose_beat_level(source_beat_times_s, tempo_bpm=first_tempo)
        if level != 1.0:
            warnings.append(f"Steps fall on {'every other beat' if level < 1 else 'every half beat'} of the song, "
                            "the metrical level nearest the cue tempo.")
    song_bpm = 60.0 / float(np.median(np.diff(source_beat_times_s)))
    knot_times, knot_tempi = cue_tempo_knots(tempo_bpm=tempo_bpm, ramp_bpm=ramp_bpm,
                                             duration_s=duration_s or samples.shape[-1] / sampling_rate_hz,
                                             ramp_duration_s=ramp_duration_s)
    change = knot_tempi / song_bpm
    if np.any(np.abs(np.log(change)) > np.log(1.25)):
        warnings.append(
            f"The song's tempo ({song_bpm:.0f} BPM) is more than 25 % from the cue tempo; stretching that far "
            "sounds unnatural. A song nearer the target tempo will sound better."
        )
    warped = warp_music_to_tempo(samples, sampling_rate_hz=sampling_rate_hz, source_beat_times_s=source_beat_times_s,
                                 knot_times_s=knot_times, knot_tempi_bpm=knot_tempi, duration_s=duration_s,
                                 method=method, stretcher=stretcher)
    out = warped.samples
    music_only = out  # what the warp placed: verified alone, since overlaid clicks sit on the grid by construction
    n = out.shape[-1]
    if click_overlay:
        beats = warped.target_beat_times_s
        beats = beats[beats < n / sampling_rate_hz]
        clicks = render_click_track(beats, duration_s=n / sampling_rate_hz, sampling_rate_hz=sampling_rate_hz,
                                    sound=sound, accent_every=accent_every)
        peak_music = float(np.max(np.abs(out))) or 1.0
        out = mix_overlay(out, clicks.samples * peak_music, overlay_gain_db=overlay_gain_db)
    loud = normalize_loudness(out, sampling_rate_hz=sampling_rate_hz, target_lufs=target_lufs,
                              max_level_dba=policy.max_level_dba)
    final, level_dba, dose_pct, capped = _respect_level_cap(loud.samples, sampling_rate_hz=sampling_rate_hz,
                                                            policy=policy, calibration=calibration,
                                                            excerpt_s=LOUDNESS_EXCERPT_S * 3)
    if verify_s > 0:
        # The warped music, not the mix: the tracker's attack-lag correction reads a click just before each
        # music beat as a slow rise and would report the mix ~12 ms early (dev035 at 150 BPM). Gain and the
        # level cap move no sample in time, so the music's beats are the output's.
        check = verify_with_beat_tracker(music_only, sampling_rate_hz=sampling_rate_hz,
                                         target_beat_times_s=warped.target_beat_times_s, max_check_s=verify_s)
        verification = CueVerification(method="beat tracker", n_beats_checked=check["n_detected"],
                                        max_error_samples=None, median_error_ms=check["median_error_ms"],
                                        max_error_ms=check["max_error_ms"], matched_fraction=check["matched_fraction"],
                                        checked_s=check["checked_s"])
    else:
        verification = CueVerification(method="not checked", n_beats_checked=0, max_error_samples=None,
                                        median_error_ms=float("nan"), max_error_ms=float("nan"), matched_fraction=0.0)
    lufs = loud.output_lufs
    if capped:
        lufs -= 20 * np.log10(float(np.max(np.abs(loud.samples))) / max(float(np.max(np.abs(final))), 1e-12))
    return CueTrack(samples=final, sampling_rate_hz=sampling_rate_hz, beat_times_s=warped.target_beat_times_s,
                    verification=verification, loudness_lufs=lufs, peak_limited=loud.peak_limited,
                    warnings=tuple(warnings), mode="music", level_dba=level_dba, dose_percent=dose_pct,
                    level_capped=capped)
