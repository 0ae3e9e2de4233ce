"""The timing workflow: a file's hits, the cue they were played to, the block's report; with a session,
its storage.

A file is an audio recording (hits found by :func:`cadenza.timing.detect_onsets`), a MIDI file (its
note-ons) or a times file (one time per line, optionally a side ``L``/``R`` per hit; touch or key events
exported by a device). The cue is a tempo (``cue_bpm`` from ``cue_start_s``, for ``cue_beats`` beats or
to the end of the recording) or a file of cue times. Nothing here opens the record unless
:func:`record_timing` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from cadenza.clinic.models import Measurement, Therapist
from cadenza.errors import ParameterError
from cadenza.tools.timing import records

MIDI_SUFFIXES = (".mid", ".midi")
TIMES_SUFFIXES = (".txt", ".csv", ".tsv")


@dataclass(frozen=True)
class TimingRun:
    """One analysed file: where the hits came from, the hits, the cue and the report."""

    file: str
    source: str  # "audio", "midi" or "times"
    onset_times_s: np.ndarray
    cue_times_s: np.ndarray | None
    cue: dict
    report: object  # cadenza.timing.TimingReport
    duration_s: float | None = None
    stored: tuple[Measurement, ...] = ()

    def to_dict(self) -> dict:
        out = {"file": self.file, "source": self.source,
               "onset_times_s": [round(float(t), 5) for t in self.onset_times_s], "cue_spec": self.cue}
        if self.duration_s is not None:
            out["duration_s"] = round(self.duration_s, 3)
        out.update(self.report.to_dict())
        return out


def load_hits(path: str | Path, *, threshold: float | None = None,
              instant: str = "attack") -> tuple[str, np.ndarray, list[str] | None, float | None]:
    """(source, hit times s, sides or None, duration s or None) of a file, by its suffix; ``instant`` is
    which instant of an audio hit is reported (:func:`cadenza.timing.detect_onsets`)."""
    from cadenza.timing.events import clean_event_times

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        from cadenza.io.event_files import load_midi_onsets

        return "midi", clean_event_times(load_midi_onsets(path)), None, None
    if suffix in TIMES_SUFFIXES:
        from cadenza.io.event_files import load_event_times

        times, sides = load_event_times(path)
        return "times", times, sides, None
    from cadenza.io.audio import load_audio
    from cadenza.timing.onsets import DEFAULT_THRESHOLD, detect_onsets

    audio = load_audio(path, mono=True)
    onsets = detect_onsets(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                           threshold=DEFAULT_THRESHOLD if threshold is None else threshold, instant=instant)
    return "audio", onsets, None, audio.duration_s


def make_cue(*, cue_bpm: float | None, cue_times_file: str | Path | None, cue_start_s: float = 0.0,
             cue_beats: int | None = None, end_s: float | None = None,
             latency_ms: float = 0.0) -> tuple[np.ndarray | None, dict]:
    """The heard cue times (s) and a description of the cue, or (None, {}) without a cue.

    ``latency_ms`` (the output latency of the device that played the cue, from a calibration) is added
    to every cue time: the cue is heard that much later than it was scheduled.
    """
    from cadenza.timing.events import make_cue_times

    if cue_bpm is not None and cue_times_file is not None:
        raise ParameterError("give one of cue_bpm and cue_times_file, not both")
    if not -2000.0 <= latency_ms <= 2000.0:
        raise ParameterError(f"latency_ms must be in [-2000, 2000] ms (a Bluetooth output adds up to about 650 ms), "
                             f"got {latency_ms!r}")
    if cue_bpm is not None:
        if cue_beats is None and end_s is None:
            raise ParameterError("a cue given by its tempo needs its number of beats or the recording's length")
        times = make_cue_times(tempo_bpm=cue_bpm, start_s=cue_start_s, n_beats=cue_beats,
                               end_s=None if cue_beats is not None else max(end_s, cue_start_s))
        spec = {"source": "tempo", "tempo_bpm": cue_bpm, "start_s": cue_start_s, "n_beats": int(times.size)}
    elif cue_times_file is not None:
        from cadenza.io.event_files import load_event_times

        times, _ = load_event_times(cue_times_file)
        spec = {"source": "file", "file": str(cue_times_file), "n_beats": int(times.size)}
    else:
        return None, {}
    spec["latency_ms"] = latency_ms
    return times + latency_ms / 1000.0, spec


def analyse_timing_file(path: str | Path, *, cue_bpm: float | None = None, cue_times_file: str | Path | None = None,
                        cue_start_s: float = 0.0, cue_beats: int | None = None, latency_ms: float = 0.0,
                        skip_beats: int = 0, threshold: float | None = None, seed: int = 0,
                        instant: str = "attack") -> TimingRun:
    """Hits of one file against its cue, and the block's report; nothing is stored."""
    from cadenza.timing.analysis import analyze_timing

    source, hits, sides, duration_s = load_hits(path, threshold=threshold, instant=instant)
    end_s = duration_s if duration_s is not None else (float(hits.max()) if hits.size else cue_start_s)
    cue_times, spec = make_cue(cue_bpm=cue_bpm, cue_times_file=cue_times_file, cue_start_s=cue_start_s,
                               cue_beats=cue_beats, end_s=end_s, latency_ms=latency_ms)
    report = analyze_timing(hits, cue_times_s=cue_times, sides=sides, skip_beats=skip_beats, rng=seed)
    return TimingRun(str(path), source, report.hit_times_s, cue_times, spec, report, duration_s)


def record_timing(db: Session, *, actor: Therapist, run: TimingRun, session_id: int) -> TimingRun:
    """Store an analysed block's figures on the session (see :func:`records.store_timing_block`)."""
    if run.report.block is None:
        raise ParameterError("the block has no cue: only a block played to a cue can be stored")
    stored = records.store_timing_block(db, actor=actor, session_id=session_id, block=run.report.block)
    return replace(run, stored=tuple(stored))


# --- live in the browser: the page captures and schedules, the server measures ------------------------

MAX_CAPTURE_S = 180.0
CAPTURE_RATE_RANGE_HZ = (8000.0, 192_000.0)
MAX_CLOCK_S = 7 * 24 * 3600.0  # an AudioContext's clock: seconds since the page opened it
#: The block's end marker may sit this far from where the start marker's latency puts it; further, the capture
#: slipped against the audio clock during the block (skipped or repeated audio) and the block is refused.
MAX_SLIP_MS = 1.0


@dataclass(frozen=True)
class Capture:
    """Microphone samples the page captured (mono, float) and the audio-clock time (s) of the first one."""

    samples: np.ndarray
    sampling_rate_hz: float
    start_s: float

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sampling_rate_hz


def _clock_time(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) \
            or not 0 <= value <= MAX_CLOCK_S:
        raise ParameterError(f"{name} must be an audio-clock time in seconds within [0, {MAX_CLOCK_S:.0f}], got {value!r}")
    return float(value)


def parse_capture(data: bytes, *, sampling_rate_hz: object, start_s: object) -> Capture:
    """The page's capture: raw little-endian 16-bit PCM, mono, at ``sampling_rate_hz`` (the AudioContext's
    rate), whose first sample was at ``start_s`` on the audio clock. No decoder is involved."""
    low, high = CAPTURE_RATE_RANGE_HZ
    if isinstance(sampling_rate_hz, bool) or not isinstance(sampling_rate_hz, int | float) \
            or not low <= sampling_rate_hz <= high:
        raise ParameterError(f"sampling_rate_hz must be in [{low:.0f}, {high:.0f}] Hz, got {sampling_rate_hz!r}")
    start = _clock_time("capture_start_s", start_s)
    if not isinstance(data, bytes | bytearray) or len(data) % 2:
        raise ParameterError("capture must be 16-bit PCM: an even number of bytes")
    if len(data) / 2 / sampling_rate_hz > MAX_CAPTURE_S:
        raise ParameterError(f"capture is {len(data) / 2 / sampling_rate_hz:.0f} s long; at most {MAX_CAPTURE_S:.0f} s")
    samples = np.frombuffer(bytes(data), dtype="<i2").astype(np.float64) / 32768.0
    return Capture(samples, float(sampling_rate_hz), start)


def loopback_wav(*, sampling_rate_hz: object) -> bytes:
    """The loopback test signal as a WAV at the page's own rate (so the browser does not resample it)."""
    from cadenza.io.speech import encode_wav_bytes
    from cadenza.timing.latency import make_loopback_signal

    low, high = CAPTURE_RATE_RANGE_HZ
    if isinstance(sampling_rate_hz, bool) or not isinstance(sampling_rate_hz, int) or not low <= sampling_rate_hz <= high:
        raise ParameterError(f"rate must be a whole number of Hz in [{low:.0f}, {high:.0f}], got {sampling_rate_hz!r}")
    signal, _, _ = make_loopback_signal(sampling_rate_hz=sampling_rate_hz)
    return encode_wav_bytes(signal, sampling_rate_hz=sampling_rate_hz)


@lru_cache(maxsize=1)
def _test_signal_lmax_at_full_scale_dba() -> float:
    from cadenza.render.levels import measure_levels
    from cadenza.timing.latency import make_loopback_signal

    signal, _, _ = make_loopback_signal(sampling_rate_hz=48_000)
    return float(measure_levels(signal, sampling_rate_hz=48_000, level_offset_db=0.0).lmax_dba)


def sound_gain_cap(listener) -> float:
    """The gain (at most 1) at which the page's loudest sound, the test signal (the cue's clicks are
    shorter and no louder), stays within the listener's level cap on their calibrated (or the conservative
    default) playback device (:class:`cadenza.clinic.listening.Listener`)."""
    level_dba = _test_signal_lmax_at_full_scale_dba() + listener.calibration.level_offset_db
    return float(min(1.0, 10 ** ((listener.policy.max_level_dba - level_dba) / 20)))


def write_loopback_signal(path: str | Path, *, sampling_rate_hz: int = 48_000) -> Path:
    """Write the loopback test signal (a WAV/FLAC file) for a device to play while it records."""
    from cadenza.io.audio import save_audio
    from cadenza.timing.latency import make_loopback_signal

    signal, _, _ = make_loopback_signal(sampling_rate_hz=sampling_rate_hz)
    return save_audio(path, signal, sampling_rate_hz=sampling_rate_hz, subtype="PCM_16")


def measure_loopback_file(path: str | Path, *, played_at_s: float = 0.0):
    """The loopback latency in a recording that holds the test signal, played ``played_at_s`` after the
    recording started (:class:`cadenza.timing.latency.LoopbackResult`); nothing is stored."""
    from cadenza.io.audio import load_audio
    from cadenza.timing.latency import measure_loopback

    audio = load_audio(path, mono=True)
    return measure_loopback(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, played_at_s=played_at_s)


def calibrate_device(db: Session, *, client, device: str, capture: Capture, played_at_s: object, measured_by: str,
                     actor: Therapist | None = None):
    """Find the loopback signal (played from ``played_at_s`` on the audio clock) in the capture and store
    the device's latency: (row, :class:`cadenza.timing.latency.LoopbackResult`). A weak or inconsistent
    signal is refused (ParameterError naming the SNR or the spread) and nothing is stored."""
    from cadenza.timing.latency import measure_loopback

    played = _clock_time("played_at_s", played_at_s)
    result = measure_loopback(capture.samples, sampling_rate_hz=capture.sampling_rate_hz,
                              played_at_s=played - capture.start_s)
    row = records.store_calibration(db, client=client, device=device, result=result,
                                    sampling_rate_hz=capture.sampling_rate_hz, measured_by=measured_by, actor=actor)
    return row, result


def calibrate_person_phone(db: Session, *, device, capture: Capture, played_at_s: object):
    """The person measures their own phone's sound delay at home (``/me/sound-check``): as
    :func:`calibrate_device`, kept under the phone's name (:attr:`PersonDevice.sound_device_name`, where the
    tapping task looks for it) and audited with the phone as the actor. (row, LoopbackResult)."""
    from cadenza.clinic.models import Client
    from cadenza.timing.latency import measure_loopback

    client = db.get(Client, device.client_id)
    played = _clock_time("played_at_s", played_at_s)
    result = measure_loopback(capture.samples, sampling_rate_hz=capture.sampling_rate_hz,
                              played_at_s=played - capture.start_s)
    row = records.store_calibration(db, client=client, device=device.sound_device_name, result=result,
                                    sampling_rate_hz=capture.sampling_rate_hz, measured_by="the person, at home",
                                    person_device=device)
    return row, result


def person_phone_calibration(db: Session, *, device):
    """The newest sound-delay calibration of the person's phone (theirs or the therapist's), or None."""
    from cadenza.clinic.models import Client

    return records.latest_calibration(db, client=db.get(Client, device.client_id), device=device.sound_device_name)


def _event_times(name: str, values: object, *, limit: int = 5000) -> np.ndarray:
    if not isinstance(values, list | tuple) or len(values) > limit:
        raise ParameterError(f"{name} must be a list of at most {limit} audio-clock times (s)")
    return np.asarray([_clock_time(name, v) for v in values], dtype=float)


def calibrate_taps(db: Session, *, client, calibration_id: object, capture: Capture, event_times_s: object,
                   actor: Therapist | None = None):
    """The tap-to-sound offset of a touch screen or keyboard: taps on it (audio-clock times of the events)
    against their sounds in the capture; stored on the calibration. (row, TapOffset)."""
    from cadenza.timing.latency import measure_tap_offset
    from cadenza.timing.onsets import detect_onsets

    events = _event_times("event_times_s", event_times_s)
    sounds = detect_onsets(capture.samples, sampling_rate_hz=capture.sampling_rate_hz) + capture.start_s
    origin = min(capture.start_s, float(events.min()) if events.size else capture.start_s)
    offset = measure_tap_offset(events - origin, sounds - origin)
    return records.store_tap_offset(db, client=client, calibration_id=calibration_id, offset=offset, actor=actor), offset


@dataclass(frozen=True)
class LiveBlock:
    """One block played live: the analysed run (times relative to ``origin_s`` on the audio clock), the
    calibration used (or None) and where the hits came from ("microphone" or "touch")."""

    run: TimingRun
    origin_s: float
    latency_ms: float
    tap_offset_ms: float | None
    input: str
    calibrated: bool
    accents: tuple[bool, ...] = ()
    sides_expected: tuple[str, ...] = ()
    loopback: object = None  # the LoopbackResult of the test signal played in this block, if it was found
    marker_problem: str = ""  # why the block's own test signal was not used (the device calibration was)
    capture_span_s: tuple[float, float] | None = None  # the capture's first and last sample on the audio clock
    slip_ms: float | None = None  # the end marker against the start marker's latency (ms), when both were played

    @property
    def hit_clock_times_s(self) -> np.ndarray:
        """The hits on the audio clock, as the microphone heard them (touch: moved by the tap offset)."""
        return self.run.onset_times_s + self.origin_s

    @property
    def hit_clock_times_text(self) -> str:
        """The hits on the audio clock, comma-separated to 0.01 ms (the page keeps them for a later look)."""
        return ",".join(f"{t:.5f}" for t in self.hit_clock_times_s)

    def per_beat(self) -> list[dict]:
        """Per cue beat: its number, the asynchrony (ms, None = missed) and early/late/on (within 30 ms)."""
        alignment = self.run.report.alignment
        out = []
        for i, value in enumerate(alignment.asynchrony_ms if alignment is not None else []):
            missed = not np.isfinite(value)
            out.append({"beat": i + 1, "asynchrony_ms": None if missed else round(float(value), 1),
                        "verdict": "missed" if missed else ("on" if abs(value) <= 30 else
                                                            ("early" if value < 0 else "late")),
                        "accent": bool(self.accents[i]) if i < len(self.accents) else False,
                        "side": self.sides_expected[i] if i < len(self.sides_expected) else ""})
        return out


def analyse_live_block(*, cue_times_s: object, capture: Capture | None = None, event_times_s: object = None,
                       event_sides: object = None, calibration=None, marker_at_s: object = None,
                       end_marker_at_s: object = None, skip_beats: int = 0,
                       accents: tuple = (), sides_expected: tuple = (), seed: int = 0) -> LiveBlock:
    """A live block: the cue's beats as the page scheduled them (audio clock, s) and the hits, either from
    the microphone ``capture`` (found by :func:`cadenza.timing.detect_onsets`, exactly as for a file) or
    from touch/key ``event_times_s`` (audio clock; optional ``event_sides`` "L"/"R").

    With a ``calibration`` (a :class:`records.TimingCalibration`) the beats are moved to where the
    microphone heard them (+ the loopback latency) and touch events to where the microphone would have
    heard the tap (- the tap-to-sound offset); without one, both are taken as they are, and the block is
    marked uncalibrated.

    ``marker_at_s``: the page played the loopback test signal at this audio-clock time at the start of the
    block (as REPP does in every trial; Jacoby et al. 2022). Found in the capture, its latency is the one
    used, so a latency that changed since the device's calibration (another output, a Bluetooth
    reconnection, a capture that skipped) does not count as the person's timing, and the signal itself
    is kept out of the hits. Not found (too weak), the device calibration is used and the reason kept;
    without a calibration the block is refused with the reason. ``end_marker_at_s``: one sweep of the test
    signal played after the block; found more than :data:`MAX_SLIP_MS` away from where the start marker's
    latency puts it, the capture slipped during the block and the block is refused (nothing is stored).
    """
    from cadenza.timing.analysis import analyze_timing
    from cadenza.timing.events import clean_event_times
    from cadenza.timing.onsets import detect_onsets

    cues = _event_times("cue_times_s", cue_times_s, limit=2000)
    if cues.size == 0:
        raise ParameterError("cue_times_s must hold the scheduled beats of the block; got none")
    if (capture is None) == (event_times_s is None):
        raise ParameterError("give the microphone capture or the touch/key events of the block, one of them")
    latency_ms = float(calibration.loopback_latency_ms) if calibration is not None else 0.0
    tap_offset_ms = None
    sides = None
    loopback = None
    marker_problem = ""
    slip_ms = None
    if capture is not None:
        origin = min(capture.start_s, float(cues.min()))
        samples = capture.samples
        if marker_at_s is not None:
            from cadenza.timing.latency import make_loopback_signal, measure_loopback

            played_s = _clock_time("marker_at_s", marker_at_s) - capture.start_s
            try:
                loopback = measure_loopback(capture.samples, sampling_rate_hz=capture.sampling_rate_hz,
                                            played_at_s=played_s)
            except ParameterError as exc:
                if calibration is None:
                    raise ParameterError(f"the test signal at the start of the block: {exc}") from exc
                marker_problem = str(exc)
            if loopback is not None:
                # The test signal is silenced before the hits are looked for: it is no hit, and its loudness
                # would set the detector's reference level.
                latency_ms = loopback.latency_ms
                rate = capture.sampling_rate_hz
                signal, _, sweep = make_loopback_signal(sampling_rate_hz=rate)
                heard = int((played_s + latency_ms / 1000.0) * rate)
                samples = samples.copy()
                samples[max(heard, 0):heard + signal.size + int(0.05 * rate)] = 0.0
                if end_marker_at_s is not None:
                    from cadenza.timing.latency import find_sweep

                    expected_s = _clock_time("end_marker_at_s", end_marker_at_s) - capture.start_s + latency_ms / 1000
                    found_s = find_sweep(samples, sampling_rate_hz=rate, expected_at_s=expected_s)
                    slip_ms = (found_s - expected_s) * 1000.0
                    if abs(slip_ms) > MAX_SLIP_MS:
                        raise ParameterError(f"the recording slipped by {slip_ms:+.1f} ms against the audio clock during "
                                             f"the block (the device skipped or repeated audio; at most "
                                             f"{MAX_SLIP_MS:g} ms): play the block again")
                    end = int(found_s * rate)
                    samples[max(end, 0):end + sweep.size + int(0.05 * rate)] = 0.0
        hits = detect_onsets(samples, sampling_rate_hz=capture.sampling_rate_hz) + (capture.start_s - origin)
        source = "microphone"
    else:
        events = _event_times("event_times_s", event_times_s)
        if event_sides is not None:
            if not isinstance(event_sides, list | tuple) or len(event_sides) != events.size \
                    or not all(s in ("L", "R") for s in event_sides):
                raise ParameterError("event_sides must give \"L\" or \"R\" for every event")
        if marker_at_s is not None:
            raise ParameterError("marker_at_s goes with a microphone capture, not with touch/key events")
        tap_offset_ms = calibration.tap_offset_ms if calibration is not None else None
        moved = events - (tap_offset_ms or 0.0) / 1000.0
        origin = min(float(cues.min()), float(moved.min()) if moved.size else float(cues.min()))
        order = np.argsort(moved, kind="stable")
        hits = moved[order] - origin
        if event_sides is not None:
            sides = [event_sides[i] for i in order]
        if sides is None:
            hits = clean_event_times(hits)
        source = "touch"
    heard = cues - origin + latency_ms / 1000.0
    report = analyze_timing(hits, cue_times_s=heard, sides=sides, skip_beats=skip_beats, rng=seed)
    spec = {"source": "live", "n_beats": int(cues.size), "latency_ms": round(latency_ms, 3)}
    run = TimingRun("live", source, report.hit_times_s, heard, spec, report,
                    capture.duration_s if capture is not None else None)
    return LiveBlock(run, origin, latency_ms, tap_offset_ms, source, calibration is not None or loopback is not None,
                     tuple(bool(a) for a in accents), tuple(sides_expected), loopback, marker_problem,
                     (capture.start_s, capture.start_s + capture.duration_s) if capture is not None else None, slip_ms)


def record_live_block(db: Session, *, actor: Therapist, client, block: LiveBlock, session_id: object) -> LiveBlock:
    """Store a live block's figures on one of ``client``'s sessions (already authorised by the caller): a
    session of another client, even one the therapist may see, is the same 404 as a missing one."""
    from cadenza.clinic.access import child_of
    from cadenza.clinic.models import TherapySession

    child_of(db, client, TherapySession, session_id, "session")
    return replace(block, run=record_timing(db, actor=actor, run=block.run, session_id=int(session_id)))


def exercise_pattern(exercise) -> tuple[tuple[bool, ...], tuple[str, ...]]:
    """Per cue beat of one block of ``exercise`` (a :class:`records.TimingExercise`): accented or not, and
    the hand ("L"/"R", alternating from the right) when it is bilateral."""
    n = exercise.n_cue_beats
    accents = tuple((i % exercise.beats_per_bar) + 1 in set(exercise.accents or []) for i in range(n))
    sides = tuple("R" if i % 2 == 0 else "L" for i in range(n)) if exercise.bilateral else ()
    return accents, sides
