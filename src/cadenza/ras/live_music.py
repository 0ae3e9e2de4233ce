"""The person's own music as the live cue: a song rendered once at the goal tempo, played beat by beat.

The server renders the chosen song at the walk's goal tempo with the project's WSOLA time-stretch
(:func:`cadenza.ras.music_mode.warp_music_to_tempo`, pitch kept), so its beats sit on a steady grid in
the buffer (:func:`render_live_music`). The device plays that buffer in beat-length segments: the
segment from buffer beat ``j`` to buffer beat ``j + 1`` starts exactly on the server's ``k``-th beat
(:func:`schedule_segments`). While the cue holds at the goal the beats are one buffer beat apart, and
the segments join without a seam. During a ramp a beat comes a little early (the segment is cut there) or
a little late (a short silence); the controller moves the tempo by a few % per beat at most, so the cut
or the gap is a few % of a beat. ``static/live.js`` of the live tool does the same, one beat at a time.

The buffer loops from its first beat to its last. So that the loop point is not heard as a click, the
buffer's last ``LOOP_FADE_S`` cross-fade (equal power) into the music just before its first beat
(:func:`crossfade_loop`): the last sample played before the loop is then the song's sample just before the
first beat, and the join is as smooth as the song itself. The beats do not move.

Numpy in, dataclasses out; no I/O. Rhythmic cueing is an adjunct to gait rehabilitation, not a cure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

LIVE_MUSIC_MAX_S = 60.0  # the rendered buffer's length: it loops, and a phone decodes it whole
MIN_BUFFER_BEATS = 4
LOOP_FADE_S = 0.05  # the equal-power cross-fade at the loop point (at most a quarter of a beat)
LIVE_MUSIC_VERSION = 2  # 2: the loop point cross-faded. Bump when the rendered buffer changes (caches key on it)


@dataclass(frozen=True)
class LiveMusic:
    """A song at one tempo: samples, and where its beats sit in them (seconds from the buffer's start)."""

    samples: np.ndarray  # (n,) or (channels, n), float32
    sampling_rate_hz: int
    beat_times_s: np.ndarray
    tempo_bpm: float
    rate_min: float
    rate_max: float


@dataclass(frozen=True)
class MusicSegment:
    """One beat of music: buffer samples ``[offset, offset + length)`` played from sample ``start`` on.

    ``start_sample`` counts on the clock of the beat times (``round(beat_s * rate)``); ``segment`` is the
    buffer beat it begins on. ``length_samples`` is shorter than the buffer's beat when the next beat
    came early (``cut``); a later next beat leaves a gap of ``gap_samples``.
    """

    beat_s: float
    start_sample: int
    segment: int
    offset_sample: int
    length_samples: int
    cut_samples: int
    gap_samples: int


def render_live_music(samples: np.ndarray, *, sampling_rate_hz: int, source_beat_times_s: np.ndarray,
                      tempo_bpm: float, max_s: float = LIVE_MUSIC_MAX_S, method: str = "wsola") -> LiveMusic:
    """``samples`` stretched beat by beat so every source beat falls on a grid at ``tempo_bpm``.

    Only the song's first ``max_s`` seconds *after stretching* are kept, cut on a beat; the device loops
    the buffer from its first beat to its last. ``source_beat_times_s`` are the beats to step on (a
    therapist's tempo correction already applied).
    """
    from cadenza.ras.music_mode import warp_music_to_tempo

    if not np.isfinite(tempo_bpm) or not 20.0 <= tempo_bpm <= 300.0:
        raise ParameterError(f"tempo_bpm must be within 20-300 beats/min, got {tempo_bpm!r}")
    if not np.isfinite(max_s) or max_s <= 0:
        raise ParameterError(f"max_s must be > 0 seconds, got {max_s!r}")
    samples = np.asarray(samples, dtype=np.float32)
    beats = np.asarray(source_beat_times_s, dtype=float)
    if samples.ndim not in (1, 2) or samples.shape[-1] < sampling_rate_hz:
        raise ParameterError(f"samples must hold at least 1 s of audio as (n,) or (channels, n), got shape {samples.shape!r}")
    if beats.ndim != 1 or beats.size < MIN_BUFFER_BEATS or not np.all(np.isfinite(beats)):
        raise ParameterError(f"source_beat_times_s must hold at least {MIN_BUFFER_BEATS} finite beats, got {beats.size}")
    # Stretch only what the buffer keeps (plus one beat): a whole song would cost seconds for nothing.
    song_ibi = float(np.median(np.diff(beats)))
    rate = song_ibi / (60.0 / tempo_bpm)
    keep_s = min(samples.shape[-1] / sampling_rate_hz, (max_s + 2 * 60.0 / tempo_bpm) * rate + beats[0])
    n_keep = int(keep_s * sampling_rate_hz)
    warped = warp_music_to_tempo(samples[..., :n_keep], sampling_rate_hz=sampling_rate_hz,
                                 source_beat_times_s=beats[beats < keep_s], tempo_bpm=tempo_bpm, method=method)
    grid = warped.target_beat_times_s
    out_s = warped.samples.shape[-1] / sampling_rate_hz
    grid = grid[grid <= min(out_s, max_s + grid[0])]
    if grid.size < MIN_BUFFER_BEATS:
        raise ParameterError(f"the song gave {grid.size} beats at {tempo_bpm:g} beats/min; at least "
                             f"{MIN_BUFFER_BEATS} are needed (is it very short?)")
    end = int(round(grid[-1] * sampling_rate_hz))
    start = int(round(grid[0] * sampling_rate_hz))
    fade = min(int(round(LOOP_FADE_S * sampling_rate_hz)), int(0.25 * (end - start) / (grid.size - 1)))
    looped = crossfade_loop(warped.samples[..., :end], loop_start_idx=start, fade_samples=fade,
                            after=warped.samples[..., end:end + fade])
    return LiveMusic(samples=looped, sampling_rate_hz=int(sampling_rate_hz),
                     beat_times_s=grid, tempo_bpm=float(tempo_bpm), rate_min=warped.rate_min,
                     rate_max=warped.rate_max)


def crossfade_loop(samples: np.ndarray, *, loop_start_idx: int, fade_samples: int,
                   after: np.ndarray | None = None) -> np.ndarray:
    """``samples`` that play from ``loop_start_idx`` to their end and then again from ``loop_start_idx``, with
    the loop point cross-faded (equal power: the gains are cos and sin of a quarter turn) so it joins as
    smoothly as the music itself.

    The last ``fade_samples`` fade into the ``fade_samples`` before ``loop_start_idx``, ending on the sample
    just before it; only those last samples change. When fewer samples than that precede the loop start,
    and ``after`` (what the music would have gone on with past the end) is long enough, the first
    ``fade_samples`` from the loop start fade in from ``after`` instead; else the fade is as long as the
    samples before the loop start allow. A copy is returned, the same shape and dtype.
    """
    x = np.asarray(samples)
    n = x.shape[-1]
    if x.ndim not in (1, 2):
        raise ParameterError(f"samples must be (n,) or (channels, n), got shape {x.shape!r}")
    if not isinstance(loop_start_idx, (int, np.integer)) or not 0 <= loop_start_idx < n:
        raise ParameterError(f"loop_start_idx must be a sample index within 0-{n - 1}, got {loop_start_idx!r}")
    if not isinstance(fade_samples, (int, np.integer)) or fade_samples < 0:
        raise ParameterError(f"fade_samples must be a whole number of samples >= 0, got {fade_samples!r}")
    out = x.copy()
    fade = min(int(fade_samples), (n - int(loop_start_idx)) // 2)
    tail_room = min(fade, int(loop_start_idx))
    follow = None if after is None else np.asarray(after)
    if tail_room < fade and follow is not None and follow.shape[-1] >= fade and follow.shape[:-1] == x.shape[:-1]:
        theta = 0.5 * np.pi * np.arange(fade) / fade  # the head starts on ``after`` and ends on the music
        head = slice(int(loop_start_idx), int(loop_start_idx) + fade)
        out[..., head] = x[..., head] * np.sin(theta) + follow[..., :fade] * np.cos(theta)
        return out
    if tail_room == 0:
        return out
    theta = 0.5 * np.pi * np.arange(1, tail_room + 1) / tail_room  # the tail ends on the sample before the loop start
    out[..., n - tail_room:] = (x[..., n - tail_room:] * np.cos(theta)
                                + x[..., int(loop_start_idx) - tail_room:int(loop_start_idx)] * np.sin(theta))
    return out


def schedule_segments(beat_times_s: np.ndarray, buffer_beat_times_s: np.ndarray, *, sampling_rate_hz: int,
                      first_segment: int = 0) -> list[MusicSegment]:
    """The music segment to start on each beat of ``beat_times_s`` (the server's beats, one clock).

    Beat ``k`` plays buffer segment ``(first_segment + k) mod m`` (``m`` = buffer beats - 1: the buffer
    loops from its first beat to its last). A segment lasts its buffer beat, or until the next beat if
    that comes first, so segments never overlap. The last beat's segment plays whole (the next beat is
    not known yet; the device cuts it when it is).
    """
    beats = np.asarray(beat_times_s, dtype=float)
    grid = np.asarray(buffer_beat_times_s, dtype=float)
    if beats.ndim != 1 or not np.all(np.isfinite(beats)) or np.any(np.diff(beats) <= 0):
        raise ParameterError("beat_times_s must be finite and strictly increasing (seconds)")
    if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0) or grid[0] < 0:
        raise ParameterError(f"buffer_beat_times_s must be >= 2 finite, increasing, non-negative times, got {grid!r}")
    if not isinstance(sampling_rate_hz, (int, np.integer)) or sampling_rate_hz <= 0:
        raise ParameterError(f"sampling_rate_hz must be a positive integer, got {sampling_rate_hz!r}")
    grid_samples = np.round(grid * sampling_rate_hz).astype(np.int64)
    if np.any(np.diff(grid_samples) <= 0):
        raise ParameterError("buffer_beat_times_s are closer than one sample apart")
    n_segments = grid.size - 1
    starts = np.round(beats * sampling_rate_hz).astype(np.int64)
    out = []
    for k, beat in enumerate(beats):
        segment = (first_segment + k) % n_segments
        natural = int(grid_samples[segment + 1] - grid_samples[segment])
        room = int(starts[k + 1] - starts[k]) if k + 1 < beats.size else natural
        length = min(natural, room)
        out.append(MusicSegment(beat_s=float(beat), start_sample=int(starts[k]), segment=int(segment),
                                offset_sample=int(grid_samples[segment]), length_samples=length,
                                cut_samples=natural - length, gap_samples=max(room - natural, 0)))
    return out
