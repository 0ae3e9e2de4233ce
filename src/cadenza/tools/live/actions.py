"""The live-walk workflow both faces call: take a batch of motion samples, answer with the next beats.

The WebSocket (``pages``) and ``cadenza live replay`` (``cli``) only move messages; checking a batch,
running the science (:class:`cadenza.ras.live.LiveCueSession`), acknowledging it once and saving the
walk's results come from here.

Each batch carries a sequence number. A batch at or below the walk's newest one is acknowledged again
and not processed (the device re-sends what it had not seen acknowledged when it reconnects), so no
sample counts twice and none is lost while the device keeps it. The running science lives in this
process (:data:`RUNNING`); the row is saved every ``SAVE_EVERY_S``, when the socket closes and when the
walk ends, with the science itself (:mod:`cadenza.ras.live_state`) and the newest batch it took in. A
phone that reconnects to another server process (another worker, or after a restart) carries the walk on
from the row; a process that still holds an older copy (the row has a newer batch) drops it and reads the
row. What a lost process took in after its last save is lost (at most ``SAVE_EVERY_S``): the detector sees
a gap there.

One socket owns a walk at a time: the newest to stream. Each socket takes the walk's next lease number with
its first message (``records.claim_socket_lease``, on the row, so it holds across server processes). A socket whose number is
no longer the newest takes no more batches and never saves; it is closed with :data:`SUPERSEDED_CLOSE_CODE`
(the page keeps its fixed-tempo cue and does not reconnect). In this process the older socket hears of it at
once (:func:`register_socket`); on another process it finds out from the row, at its next batch after
``LEASE_CHECK_S`` or at its next save, whichever comes first, and the save itself checks the lease with the
row locked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import CadenzaError, ParameterError
from cadenza.ras.controller import BOUNDS_FRACTION
from cadenza.ras.live import LiveCueSession, LiveUpdate
from sqlalchemy.orm import Session

from cadenza.clinic.models import Therapist
from cadenza.clinic.people import PersonDevice
from cadenza.tools.live import records
from cadenza.tools.live.records import LiveCueWalk

MAX_BATCH_SAMPLES = 2_000  # ~30 s of DeviceMotion at 60 Hz: a reconnecting phone re-sends in batches this size
MAX_ACC_M_S2 = 50 * 9.81  # beyond any human movement: a corrupt or hostile number
SAVE_EVERY_S = 2.0
IDLE_FORGET_S = 30 * 60.0  # a walk left without a batch this long is dropped from memory (its row was saved)
LIVE_LOOKAHEAD_S = 2.0
LEASE_CHECK_S = 0.5  # how stale another process's view of who owns a walk may get before a batch re-reads it
SUPERSEDED_CLOSE_CODE = 4001  # an application close code (4000-4999): a newer connection streams this walk
SUPERSEDED_REASON = "superseded: a newer connection streams this walk"


class Superseded(CadenzaError):
    """A newer socket owns the walk: this one takes no more batches."""


@dataclass
class Running:
    """One walk's science in this process, and the newest batch it took in."""

    walk_id: int
    live: LiveCueSession
    last_seq: int = -1
    saved_at: float = 0.0
    active_at: float = 0.0
    # Two sockets of one walk (a phone reconnecting before the server saw the old one drop) take turns.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


RUNNING: dict[int, Running] = {}
_LOCK = threading.Lock()
# The sockets open in this process: walk id -> (lease number, what to call when a newer socket takes the walk).
_SOCKETS: dict[int, tuple[int, Callable[[], None]]] = {}
log = logging.getLogger(__name__)


def _science_for(row: LiveCueWalk) -> LiveCueSession:
    """The walk's science as its row last saved it, or a fresh one (no snapshot, or one this server cannot read)."""
    from cadenza.ras.live_state import restore

    fresh = LiveCueSession(preferred_cadence_spm=row.preferred_cadence_spm, goal_cadence_spm=row.goal_cadence_spm,
                           placement=row.placement, lookahead_s=LIVE_LOOKAHEAD_S)
    if row.live_state:
        try:
            return restore(row.live_state, like=fresh)
        except ParameterError as exc:
            log.warning("live walk %s: saved state not used, starting afresh: %s", row.id, exc)
    return fresh


def running_for(row: LiveCueWalk) -> Running:
    """The walk's running science in this process (created on first use, e.g. after a restart)."""
    now = time.monotonic()
    with _LOCK:
        for walk_id in [k for k, r in RUNNING.items() if now - r.active_at > IDLE_FORGET_S]:
            del RUNNING[walk_id]  # abandoned: saved when its socket closed; it carries on if it comes back
        found = RUNNING.get(row.id)
        if found is not None and row.last_seq > found.last_seq:
            found = None  # the walk went on in another process since: this copy is old
        if found is None:
            found = RUNNING[row.id] = Running(row.id, _science_for(row), last_seq=row.last_seq, saved_at=now)
        found.active_at = now
        return found


def register_socket(walk_id: int, lease: int, on_superseded: Callable[[], None]) -> None:
    """Note this process's socket ``lease`` for the walk; an older socket of the walk here is told at once
    (``on_superseded``, called from this thread). A socket that is itself older than one known here is told too."""
    with _LOCK:
        known = _SOCKETS.get(walk_id)
        if known is not None and known[0] > lease:
            older = on_superseded
        else:
            older = known[1] if known is not None else None
            _SOCKETS[walk_id] = (lease, on_superseded)
    if older is not None:
        older()


def unregister_socket(walk_id: int, lease: int) -> None:
    with _LOCK:
        known = _SOCKETS.get(walk_id)
        if known is not None and known[0] == lease:
            del _SOCKETS[walk_id]


def forget_unowned(walk_id: int) -> None:
    """Drop this process's copy of a walk no socket here owns any more (a newer socket streams it elsewhere and
    saves it; the row is then the walk's state, not this copy)."""
    with _LOCK:
        if walk_id not in _SOCKETS:
            RUNNING.pop(walk_id, None)


def superseded_here(walk_id: int, lease: int) -> bool:
    """A newer socket of the walk is open in this process."""
    known = _SOCKETS.get(walk_id)
    return known is not None and known[0] > lease


CLICK_HZ, CLICK_S, CLICK_SAMPLING_RATE_HZ = 1000.0, 0.04, 48_000  # the page's click (static/live.js), accented


def click_loop(tempo_bpm: float, *, seconds: float = 10.0):
    """The page's loudest cue (the accented 1 kHz click, 2 ms rise, decay to -60 dB in 40 ms) at ``tempo_bpm``."""
    rate = CLICK_SAMPLING_RATE_HZ
    t = np.arange(int(CLICK_S * rate)) / rate
    envelope = np.where(t < 0.002, t / 0.002, np.exp(np.log(0.001) * (t - 0.002) / (CLICK_S - 0.002)))
    click = np.sin(2 * np.pi * CLICK_HZ * t) * envelope
    out = np.zeros(int(seconds * rate))
    for start in np.arange(0, seconds - CLICK_S, 60.0 / tempo_bpm):
        i = int(start * rate)
        out[i:i + click.size] += click
    return out


def walk_gain_cap(db: Session, row: LiveCueWalk) -> float:
    """The page's output gain (<= 1) that keeps its loudest cue at or below the listener's level cap, for the
    walk's fastest tempo; the client is already authorised by the caller (the page)."""
    from cadenza.clinic import listening
    from cadenza.clinic.models import Client
    from cadenza.render.levels import gain_db_to_reach, measure_levels

    client = db.get(Client, row.client_id)
    found = listening.listener_of(db, client=client)
    if found.policy.nicu_limits:
        raise ParameterError("live cueing while walking is not for NICU infants")
    fastest_bpm = row.preferred_cadence_spm * (1 + BOUNDS_FRACTION)
    report = measure_levels(click_loop(fastest_bpm), sampling_rate_hz=CLICK_SAMPLING_RATE_HZ,
                            level_offset_db=found.calibration.level_offset_db)
    gain_db = gain_db_to_reach(report, leq_dba=found.policy.max_level_dba)
    return float(10 ** (min(gain_db, 0.0) / 20))


@dataclass(frozen=True)
class MusicCue:
    """The walk's song at its goal tempo within the listener's cap, as WAV bytes, and its beats in them."""

    wav: bytes
    beat_times_s: list[float]
    tempo_bpm: float
    level_dba: float
    title: str


def walk_music(db: Session, row: LiveCueWalk, *, cache_dir: Path | None = None) -> MusicCue:
    """The walk's chosen song rendered at the goal tempo (WSOLA, pitch kept; ``ras/live_music.py``) and brought
    within the listener's level cap, for the page to play beat by beat; the client is already authorised by
    the caller. A walk without a song, or a song that cannot be the cue, is a ParameterError saying why.

    With ``cache_dir`` the render is kept there by content key (:func:`song_at_tempo`), and so is the capped
    WAV for the listener's cap and calibration: a walk's page fetching it again, or another walk of the same
    song at the same goal tempo, reads it instead of rendering it."""
    from cadenza.clinic import listening
    from cadenza.clinic.models import Client

    if row.music_track_id is None:
        raise ParameterError(f"live walk {row.id!r} is cued with clicks; no song was chosen for it")
    track = records.music_track(db, client_id=row.client_id, track_id=row.music_track_id)
    found = listening.listener_of(db, client=db.get(Client, row.client_id))
    if found.policy.nicu_limits:
        raise ParameterError("live cueing while walking is not for NICU infants")
    return capped_song(track, tempo_bpm=row.goal_cadence_spm, policy=found.policy, calibration=found.calibration,
                       cache_dir=cache_dir)


def _render_key(track: records.MusicTrack, tempo_bpm: float) -> str:
    from cadenza.io.render_cache import content_key, file_sha256
    from cadenza.ras.live_music import LIVE_MUSIC_MAX_S, LIVE_MUSIC_VERSION

    return content_key("live-music", LIVE_MUSIC_VERSION, LIVE_MUSIC_MAX_S, file_sha256(track.path),
                       track.analysis_version, [round(b, 6) for b in track.beat_times_s], round(float(tempo_bpm), 6))


def song_at_tempo(track: records.MusicTrack, *, tempo_bpm: float, cache_dir: Path | None = None):
    """The track rendered at ``tempo_bpm`` (:func:`cadenza.ras.live_music.render_live_music`), once per song
    file, stored beats, analysis version, tempo and render version when ``cache_dir`` is given."""
    from cadenza.io.audio import load_audio
    from cadenza.io.render_cache import load_arrays, store_arrays
    from cadenza.ras.live_music import LiveMusic, render_live_music

    key = _render_key(track, tempo_bpm) if cache_dir is not None else None
    if key is not None:
        hit = load_arrays(cache_dir, key)
        if hit is not None and {"samples", "beat_times_s", "figures"} <= hit.keys():
            rate, tempo, rate_min, rate_max = (float(v) for v in hit["figures"])
            return LiveMusic(samples=hit["samples"], sampling_rate_hz=int(rate), beat_times_s=hit["beat_times_s"],
                             tempo_bpm=tempo, rate_min=rate_min, rate_max=rate_max)
    audio = load_audio(track.path)
    music = render_live_music(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                              source_beat_times_s=np.asarray(track.beat_times_s), tempo_bpm=tempo_bpm)
    if key is not None:
        store_arrays(cache_dir, key, {
            "samples": np.asarray(music.samples, dtype=np.float32), "beat_times_s": music.beat_times_s,
            "figures": np.array([music.sampling_rate_hz, music.tempo_bpm, music.rate_min, music.rate_max], float)})
    return music


def capped_song(track: records.MusicTrack, *, tempo_bpm: float, policy, calibration,
                cache_dir: Path | None = None) -> MusicCue:
    """The track at ``tempo_bpm`` within the listener's cap, as the WAV the page fetches (cached by content key,
    with the cap and calibration in the key, when ``cache_dir`` is given)."""
    from cadenza.io.render_cache import content_key, load_arrays, store_arrays
    from cadenza.io.speech import encode_wav_bytes
    from cadenza.safety.enforce import apply_audio_policy

    key = (content_key("live-music-wav", _render_key(track, tempo_bpm), repr(policy), repr(calibration))
           if cache_dir is not None else None)
    if key is not None:
        hit = load_arrays(cache_dir, key)
        if hit is not None and {"wav", "beat_times_s", "figures"} <= hit.keys():
            tempo, level = (float(v) for v in hit["figures"])
            return MusicCue(wav=hit["wav"].tobytes(), beat_times_s=[float(b) for b in hit["beat_times_s"]],
                            tempo_bpm=tempo, level_dba=level, title=track.title)
    music = song_at_tempo(track, tempo_bpm=tempo_bpm, cache_dir=cache_dir)
    capped = apply_audio_policy(music.samples, sampling_rate_hz=music.sampling_rate_hz, policy=policy,
                                calibration=calibration)
    samples = np.asarray(capped.samples, dtype=np.float32)
    cue = MusicCue(wav=encode_wav_bytes(samples, sampling_rate_hz=capped.sampling_rate_hz),
                   beat_times_s=[round(float(b), 6) for b in music.beat_times_s], tempo_bpm=music.tempo_bpm,
                   level_dba=float(capped.report.leq_dba), title=track.title)
    if key is not None:
        store_arrays(cache_dir, key, {"wav": np.frombuffer(cue.wav, dtype=np.uint8),
                                      "beat_times_s": np.asarray(cue.beat_times_s),
                                      "figures": np.array([cue.tempo_bpm, cue.level_dba])})
    return cue


def parse_batch(message: Any) -> tuple[int, np.ndarray, np.ndarray]:
    """``{"seq": int, "t_ms": [...], "acc": [[x...], [y...], [z...]]}`` -> (seq, times_s, acc (3, k) m/s^2).

    Every problem is a ParameterError naming the field and what was wrong; nothing is partly used.
    """
    if not isinstance(message, dict):
        raise ParameterError(f"a batch must be a JSON object, got {type(message).__name__}")
    seq = message.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**31:
        raise ParameterError(f"seq must be an integer within 0-2^31, got {seq!r}")
    t_ms, acc = message.get("t_ms"), message.get("acc")
    if not isinstance(t_ms, list) or len(t_ms) > MAX_BATCH_SAMPLES:
        raise ParameterError(f"t_ms must be a list of at most {MAX_BATCH_SAMPLES} times (ms), "
                             f"got {type(t_ms).__name__} of {len(t_ms) if isinstance(t_ms, list) else '?'}")
    if not isinstance(acc, list) or len(acc) != 3 or not all(isinstance(a, list) and len(a) == len(t_ms) for a in acc):
        raise ParameterError(f"acc must be three lists (x, y, z in m/s^2) as long as t_ms ({len(t_ms)})")
    try:
        times = np.asarray(t_ms, dtype=float)
        values = np.asarray(acc, dtype=float).reshape(3, len(t_ms))
    except (TypeError, ValueError):
        raise ParameterError("t_ms and acc must hold numbers only") from None
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise ParameterError("t_ms must be finite and strictly increasing (the DeviceMotion timeStamp in ms)")
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_ACC_M_S2)
    if np.any(bad & np.isfinite(values)):
        raise ParameterError(f"acc must be in m/s^2 with |value| <= {MAX_ACC_M_S2:g}; got "
                             f"{float(np.nanmax(np.abs(values))):.1f} (g or mg given?)")
    return seq, times / 1000.0, values  # NaN (a sensor that gave none) passes: the detector skips it


def take_batch(running: Running, message: Any, *, lease: int | None = None) -> dict[str, Any]:
    """One batch of the walk: the reply for the device (``ack``, beats in device ms, steps, tempo, freeze).
    From a socket (``lease``), Superseded when a newer socket of the walk is open in this process."""
    seq, times_s, acc = parse_batch(message)
    with running.lock:
        if lease is not None and superseded_here(running.walk_id, lease):
            raise Superseded(f"live walk {running.walk_id!r}: {SUPERSEDED_REASON}")
        return _take_parsed(running, seq, times_s, acc)


def _take_parsed(running: Running, seq: int, times_s: np.ndarray, acc: np.ndarray) -> dict[str, Any]:
    running.active_at = time.monotonic()
    live = running.live
    if seq <= running.last_seq:
        return {"ack": seq, "duplicate": True, "beats_ms": [], "steps_ms": [], "tempo_bpm": _num(live.tempo_bpm),
                "frozen": live.frozen}
    last_t = live.steps.last_sample_time_s
    if np.isfinite(last_t) and times_s.size and times_s[0] <= last_t:
        keep = times_s > last_t  # overlapping re-send: the samples already taken are dropped, once
        times_s, acc = times_s[keep], acc[:, keep]
    try:
        update: LiveUpdate = live.push(times_s, acc)
    except ParameterError as exc:
        # A batch the science refuses is acknowledged with the reason, so the phone does not send it again.
        running.last_seq = seq
        return {"ack": seq, "error": str(exc), "beats_ms": [], "steps_ms": []}
    running.last_seq = seq
    return {
        "ack": seq,
        "beats_ms": [round(b * 1000.0, 3) for b in update.beat_times_s],
        "steps_ms": [round(s * 1000.0, 3) for s in update.step_times_s],
        "release_ms": _num(update.processed_until_s * 1000.0),
        "tempo_bpm": _num(update.tempo_bpm),
        "frozen": update.frozen,
        "freeze_events": [[kind, round(t * 1000.0, 1)] for kind, t in update.freeze_events],
        "n_steps": len(live.steps.step_times_s_),
    }


def save_due(running: Running) -> bool:
    return time.monotonic() - running.saved_at >= SAVE_EVERY_S


def save(db: Session, row: LiveCueWalk, running: Running, *, lease: int | None = None) -> bool:
    """Write the running walk's results onto its row (locked by the caller), unless another process has carried
    it further or, for a socket's save (``lease``), a newer socket owns the walk. False when not saved because
    the socket is superseded."""
    if lease is not None and row.socket_lease != lease:
        return False
    with running.lock:
        if row.last_seq > running.last_seq:
            return True  # e.g. an old socket noticed closing after the phone reconnected elsewhere
        records.save_progress(db, row, running.live, last_seq=running.last_seq)
    running.saved_at = time.monotonic()
    return True


def finish(db: Session, row: LiveCueWalk, *, actor: Therapist | None = None,
           device: PersonDevice | None = None) -> dict[str, Any]:
    """End the walk: last steps, outcomes on the row (and on its session for a therapist's walk)."""
    with _LOCK:
        running = RUNNING.pop(row.id, None)
    if running is None:
        stored = records.close_walk(db, row, None, actor=actor, device=device)
    else:
        with running.lock:
            row.last_seq = running.last_seq
            stored = records.close_walk(db, row, running.live, actor=actor, device=device)
    return {"closed": True, "summary": row.summary, "stored": [m.instrument_code for m in stored]}


def _num(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None
