"""The home programme's workflows, called by the therapist's page, the person's app and ``cadenza home``.

Therapist side: invite a client or caregiver (a link and its QR code), assign a task whose music is
checked and whose loudness is capped for this listener, end a task, revoke a device, and read
adherence (planned vs done, before/after change, alerts). Person side: today's programme, a task's
audio within the cap, and a completion stored exactly once with its listening time in the hearing-dose
ledger.

Loudness: a track's level at the ear at full volume is measured here with the project's meter and the
client's calibration (:func:`cadenza.render.levels.measure_levels`); the gain cap is the gain that
brings that level to the listener's ceiling from their safety flags (:func:`cadenza.safety.flags.audio_policy`),
never above 1. The browser's volume control cannot go above the cap, and the server refuses a
completion that reports a louder gain.
"""

from __future__ import annotations

import datetime as dt
import io as _bytes
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic import listening
from cadenza.clinic.models import Base, Client, Therapist, utcnow
from cadenza.errors import NotFoundError, ParameterError
from cadenza.safety.flags import AudioPolicy
from cadenza.tools.home import records
from cadenza.tools.home.records import RATINGS, HomeTask, PersonDevice, TaskCompletion

if TYPE_CHECKING:
    from cadenza.clinic.dashboard_lists import ClientLine

RAS_LOOP_BEATS = 8
RAS_TEMPO_BPM = (40.0, 180.0)
CUE_SAMPLING_RATE_HZ = 22_050
GAIN_TOLERANCE = 1e-3  # a float sent back from the browser may differ from the cap in the last digits
# Ratings where a higher number after the task is worse than before (mood: higher is better).
HIGHER_IS_WORSE = {"vas_anxiety": True, "nrs_pain": True, "mood": False}


# --- listener and loudness --------------------------------------------------------------------------------

def listener(db: Session, client: Client) -> tuple[AudioPolicy, Any]:
    """The client's audio policy (from their safety flags and age) and latest calibration (the record's
    :func:`~cadenza.clinic.listening.listener_of`, for a client the caller has authorised)."""
    found = listening.listener_of(db, client=client)
    return found.policy, found.calibration


def refuse_nicu(policy: AudioPolicy) -> None:
    if policy.nicu_limits:
        raise ParameterError("home programmes are not for NICU infants: NICU music is given by staff under the "
                             "unit's sound limits (see the NICU page)")


def gain_cap(samples, *, sampling_rate_hz: int, policy: AudioPolicy, calibration) -> tuple[float, float]:
    """``(gain, level_dba)``: the linear gain (<= 1) that keeps ``samples`` at or below the listener's
    ceiling, and their level at the ear at full volume (Leq, dB(A))."""
    from cadenza.render.levels import gain_db_to_reach, measure_levels

    report = measure_levels(samples, sampling_rate_hz=sampling_rate_hz, level_offset_db=calibration.level_offset_db)
    gain_db = gain_db_to_reach(report, leq_dba=policy.max_level_dba)
    return float(10 ** (min(gain_db, 0.0) / 20)), float(report.leq_dba)


def _library_tracks(db: Session, client: Client, track_ids: list[int]) -> dict[int, Any]:
    """The client's library rows for ``track_ids``, read through the record (the library tool's table)."""
    table = Base.metadata.tables.get("library_track")
    if table is None:
        raise ParameterError("the music library is not installed, so listening tasks cannot name tracks")
    rows = db.execute(select(table).where(table.c.client_id == client.id, table.c.id.in_(track_ids))).mappings()
    return {row["id"]: row for row in rows}


def playable_tracks(db: Session, client: Client) -> list[Any]:
    """The client's tracks a listening task may use: analysed, present on disk, never red-flagged."""
    table = Base.metadata.tables.get("library_track")
    if table is None:
        return []
    rows = db.execute(select(table).where(table.c.client_id == client.id, table.c.red_flag.is_(False),
                                          table.c.problem == "").order_by(table.c.title, table.c.id)).mappings()
    return [row for row in rows if Path(row["path"]).is_file()]


def _check_tracks(db: Session, client: Client, track_ids: list[int], policy: AudioPolicy, calibration) -> dict:
    from cadenza.io.audio import load_audio

    if not track_ids:
        raise ParameterError("track_ids must name at least one track of the client's library")
    if len(track_ids) > records.MAX_TRACKS_PER_TASK:
        raise ParameterError(f"track_ids must name at most {records.MAX_TRACKS_PER_TASK} tracks, got {len(track_ids)}")
    found = _library_tracks(db, client, track_ids)
    gains: dict[str, float] = {}
    levels: dict[str, float] = {}
    for track_id in track_ids:
        row = found.get(track_id)
        if row is None:
            raise NotFoundError(f"track {track_id!r} not found in this client's library")
        if row["red_flag"]:
            raise ParameterError(f"track {track_id} ({row['title'] or Path(row['path']).name}) is red-flagged and never plays")
        audio = load_audio(row["path"])
        gains[str(track_id)], levels[str(track_id)] = gain_cap(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                                                               policy=policy, calibration=calibration)
    return {"track_ids": list(dict.fromkeys(track_ids)), "gains": gains, "levels_dba": levels}


def ras_loop(tempo_bpm: float, *, policy: AudioPolicy, calibration) -> tuple[Any, float]:
    """:data:`RAS_LOOP_BEATS` cue beats at ``tempo_bpm``, one loop long, within the listener's cap;
    returns ``(samples, level_dba)``. The browser loops it on the audio clock."""
    import numpy as np

    from cadenza.render.clicks import constant_beat_times_s, render_click_track
    from cadenza.safety.enforce import apply_audio_policy

    duration_s = RAS_LOOP_BEATS * 60.0 / tempo_bpm
    beats = constant_beat_times_s(tempo_bpm=tempo_bpm, duration_s=duration_s - 1e-9)
    track = render_click_track(beats, duration_s=duration_s, sampling_rate_hz=CUE_SAMPLING_RATE_HZ, accent_every=4)
    capped = apply_audio_policy(np.asarray(track.samples), sampling_rate_hz=CUE_SAMPLING_RATE_HZ, policy=policy,
                                calibration=calibration)
    return capped.samples, float(capped.report.leq_dba)


def _mit_phrase(db: Session, client: Client, phrase_id: Any) -> Any:
    """A phrase of ``client``'s MIT bank, read through the record (the MIT tool's table)."""
    table = Base.metadata.tables.get("mit_phrase")
    if table is None:
        raise ParameterError("MIT is not installed, so MIT practice cannot be assigned")
    if isinstance(phrase_id, bool) or not isinstance(phrase_id, int):
        raise ParameterError(f"phrase_id must be the id of a phrase in the client's MIT bank, got {phrase_id!r}")
    row = db.execute(select(table).where(table.c.id == phrase_id, table.c.client_id == client.id)).mappings().first()
    if row is None or not row["active"]:
        raise NotFoundError(f"MIT phrase {phrase_id!r} not found in this client's phrase bank")
    return row


def _check_mit_level(level: Any) -> int:
    if isinstance(level, bool) or level not in (1, 2, 3):
        raise ParameterError(f"mit_level must be 1, 2 or 3, got {level!r}")
    return int(level)


def mit_phrases(db: Session, client: Client) -> list[Any]:
    """The client's active MIT phrases (for the assignment form), read through the record."""
    table = Base.metadata.tables.get("mit_phrase")
    if table is None:
        return []
    return list(db.execute(select(table).where(table.c.client_id == client.id, table.c.active.is_(True))
                           .order_by(table.c.id)).mappings())


def mit_model(text: str, *, level: int, policy: AudioPolicy, calibration) -> tuple[Any, float]:
    """The phrase intoned as the model to repeat (with a tap on each syllable), within the listener's cap;
    returns ``(samples (2, n) at the speech rate, level_dba)``. Needs espeak-ng (MIT's speech synthesis)."""
    import numpy as np

    from cadenza.io.speech import prepare_cue_material
    from cadenza.mit.cues import render_model_with_taps
    from cadenza.safety.enforce import apply_audio_policy

    material = prepare_cue_material(text)
    stereo, _ = render_model_with_taps(material, level=level)
    capped = apply_audio_policy(np.asarray(stereo), sampling_rate_hz=material.sampling_rate_hz, policy=policy,
                                calibration=calibration)
    return (capped.samples, material.sampling_rate_hz), float(capped.report.leq_dba)


MIT_MODEL_RENDER_VERSION = 1  # bump when the model's synthesis or capping changes: cached renders are then redone


def mit_model_wav(db: Session, device: PersonDevice, task: HomeTask, *, cache_dir: Path | None = None) -> bytes:
    """The task's phrase intoned with taps as a 16-bit WAV within the listener's cap. With ``cache_dir`` it is
    rendered once per (phrase, level, level cap, calibration, render version) and kept there by content key
    (:mod:`cadenza.io.render_cache`): a practice opened every day does not synthesise it again."""
    import numpy as np
    import soundfile

    from cadenza.io.render_cache import content_key, load_arrays, store_arrays

    if task.kind != "mit_practice":
        raise NotFoundError("this task has no MIT model")
    policy, calibration = listener(db, records.client_of_device(db, device))
    refuse_nicu(policy)
    key = content_key("mit_model", MIT_MODEL_RENDER_VERSION, task.music["text"], int(task.music["level"]),
                      round(float(policy.max_level_dba), 3), round(float(calibration.tone_level_dba), 3),
                      round(float(calibration.tone_rms_dbfs), 3))
    cached = load_arrays(cache_dir, key) if cache_dir is not None else None
    if cached is not None and {"samples", "rate"} <= set(cached):
        samples, rate = cached["samples"], int(cached["rate"])
    else:
        (samples, rate), _ = mit_model(task.music["text"], level=int(task.music["level"]), policy=policy,
                                       calibration=calibration)
        if cache_dir is not None:
            store_arrays(cache_dir, key, {"samples": np.asarray(samples, dtype=np.float32), "rate": np.asarray(rate)})
    buffer = _bytes.BytesIO()
    soundfile.write(buffer, np.asarray(samples).T, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


MAX_ATTEMPT_BYTES = 2 * 1024 * 1024  # a WAV of the person's try (a few seconds, 16 kHz mono, base64 in JSON)


def score_attempt(task: HomeTask, attempt_b64: Any) -> dict[str, Any]:
    """Score the person's recorded try of an MIT phrase on the server, in the limited child process:
    syllables on the target rhythm and the two-pitch pattern; "no attempt found" is never a score."""
    from cadenza.io.base64_field import decode_base64_field
    from cadenza.io.isolated_analysis import analyse_attempt_bytes_isolated
    from cadenza.io.speech import load_lexicon
    from cadenza.mit.melody import compose_melody
    from cadenza.mit.syllables import syllabify_phrase

    data = decode_base64_field(attempt_b64, field="attempt_wav_b64", max_bytes=MAX_ATTEMPT_BYTES, holds="WAV")
    level = int(task.music["level"])
    melody = compose_melody(syllabify_phrase(task.music["text"], lexicon=load_lexicon()), level=level,
                            sprechgesang=level == 3)
    analysis = analyse_attempt_bytes_isolated(data, melody=melody, name="attempt.wav")
    if not analysis.attempt_found:
        return {"attempt_found": False, "problem": analysis.attempt_problem}
    return {"attempt_found": True, "timing_match_pct": round(100 * analysis.timing_match, 1),
            "pitch_pattern_followed": bool(analysis.pitch_pattern_followed), "problem": ""}


def _check_tempo(tempo_bpm: Any) -> float:
    low, high = RAS_TEMPO_BPM
    if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, (int, float)) or not math.isfinite(tempo_bpm) \
            or not low <= tempo_bpm <= high:
        raise ParameterError(f"tempo_bpm must be a cue tempo from {low:g} to {high:g} beats per minute, got {tempo_bpm!r}")
    return float(tempo_bpm)


# --- kinds other tools provide ----------------------------------------------------------------------------

def provided_kinds() -> dict[str, Any]:
    """The home-task kinds the installed tools provide (:class:`cadenza.plugins.TaskKind`) that the record
    can store, by code: home reads them from the manifests and never imports those tools."""
    from cadenza.plugins import installed_task_kinds

    return {code: kind for code, kind in installed_task_kinds().items() if code in records.PROVIDED_KINDS}


def offered_kinds() -> tuple[str, ...]:
    return records.TASK_KINDS + tuple(provided_kinds())


def is_measured(task: HomeTask) -> bool:
    """Whether ``task`` is of a kind another tool measures (tapping, singing)."""
    return task.kind in records.PROVIDED_KINDS


# --- the therapist's side ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Invitation:
    invite: records.PersonInvite
    token: str
    path: str  # /me/join/<token>; the page makes the absolute link from the request's address

    def qr_data_uri(self, base_url: str) -> str:
        """The link as a QR code, an SVG ``data:`` URI for an ``<img>`` (the CSP allows ``data:`` images)."""
        import segno

        return segno.make(base_url.rstrip("/") + self.path, error="m").svg_data_uri(scale=4, dark="#000", light="#fff")


def invite(db: Session, *, actor: Therapist, client: Client, role: str = "client", label: str = "") -> Invitation:
    policy, _ = listener(db, client)
    refuse_nicu(policy)
    row, token = records.create_invite(db, actor=actor, client=client, role=role, label=label)
    return Invitation(row, token, f"/me/join/{token}")


def assign_task(db: Session, *, actor: Therapist, client: Client, kind: str, title: str, instructions: str = "",
                days_per_week: int, minutes: int, ratings: list[str], track_ids: list[int] | None = None,
                tempo_bpm: float | None = None, phrase_id: int | None = None, mit_level: int | None = None,
                kind_values: dict[str, Any] | None = None,
                start_date: dt.date | None = None, end_date: dt.date | None = None) -> HomeTask:
    """Check the task's music for this listener, cap its loudness, and store it.

    ``listening``/``relaxation`` take ``track_ids`` of the client's library, ``ras_walk`` a ``tempo_bpm``,
    ``mit_practice`` a ``phrase_id`` of the client's MIT phrase bank and the ``mit_level`` (1-3) to practise.
    A kind another tool provides (:func:`provided_kinds`, e.g. ``tapping``) takes ``kind_values``, its own
    fields named without the kind's prefix (``{"tempo_bpm": "90", "tap_s": "120"}``), checked by that tool;
    an error names the form's field (``tapping_tempo_bpm ...``).
    """
    policy, calibration = listener(db, client)
    refuse_nicu(policy)
    if kind == "ras_walk":
        tempo = _check_tempo(tempo_bpm)
        _, level = ras_loop(tempo, policy=policy, calibration=calibration)
        music: dict[str, Any] = {"tempo_bpm": tempo, "level_dba": level}
    elif kind == "mit_practice":
        phrase = _mit_phrase(db, client, phrase_id)
        mit_level = _check_mit_level(mit_level)
        _, level = mit_model(phrase["text"], level=mit_level, policy=policy, calibration=calibration)
        music = {"phrase_id": phrase["id"], "text": phrase["text"], "level": mit_level, "level_dba": level}
    elif kind in ("listening", "relaxation"):
        music = _check_tracks(db, client, list(track_ids or []), policy, calibration)
    elif kind in provided_kinds():
        try:
            music = provided_kinds()[kind].load("prepare")(db, client, dict(kind_values or {}))
        except ParameterError as exc:
            raise ParameterError(f"{kind}_{exc}") from None
    else:
        raise ParameterError(f"kind must be one of {offered_kinds()}, got {kind!r}")
    return records.add_task(db, actor=actor, client=client, kind=kind, title=title, instructions=instructions,
                            days_per_week=days_per_week, minutes=minutes, music=music, ratings=ratings,
                            start_date=start_date or utcnow().date(), end_date=end_date)


@dataclass
class TaskAdherence:
    task: HomeTask
    planned: int
    done: int
    last_done: dt.date | None
    change: dict[str, float] = field(default_factory=dict)  # mean (after - before) per rating code
    worse_after: int = 0  # completions whose after-rating was worse than the before-rating

    @property
    def percent(self) -> float | None:
        return None if self.planned == 0 else 100.0 * min(self.done, self.planned) / self.planned


@dataclass
class Adherence:
    since: dt.date
    today: dt.date
    tasks: list[TaskAdherence]
    alerts: list[str]
    completions: list[TaskCompletion]


def _planned_days(task: HomeTask, since: dt.date, today: dt.date) -> int:
    start = max(since, task.start_date)
    end = min(today, task.end_date) if task.end_date else today
    if end < start:
        return 0
    days = (end - start).days + 1
    return math.floor(days * task.days_per_week / 7 + 1e-9)


def _window(today: dt.date | None, weeks: int) -> tuple[dt.date, dt.date, dt.datetime]:
    today = today or utcnow().date()
    since = today - dt.timedelta(days=7 * weeks - 1)
    return today, since, dt.datetime.combine(since, dt.time(), tzinfo=dt.timezone.utc)


def adherence(db: Session, client: Client, *, today: dt.date | None = None, weeks: int = 4) -> Adherence:
    """Planned vs done per task over the last ``weeks`` weeks, before/after change, and alerts for missed
    days and for a task after which the person felt worse."""
    today, since, start = _window(today, weeks)
    completions = records.client_completions(db, client.id, since=start)
    return _adherence(records.client_tasks(db, client.id), completions, since=since, today=today)


def _adherence(tasks: list[HomeTask], completions: list[TaskCompletion], *, since: dt.date,
               today: dt.date) -> Adherence:
    rows: list[TaskAdherence] = []
    alerts: list[str] = []
    for task in tasks:
        mine = [c for c in completions if c.task_id == task.id]
        days = sorted({records._aware(c.completed_at).date() for c in mine})
        row = TaskAdherence(task, _planned_days(task, since, today) if task.active else 0, len(days),
                            days[-1] if days else None)
        for code in task.ratings:
            pairs = [(c.before[code], c.after[code]) for c in mine if code in c.before and code in c.after]
            if pairs:
                row.change[code] = sum(a - b for b, a in pairs) / len(pairs)
            worse = sum(1 for b, a in pairs if (a > b if HIGHER_IS_WORSE[code] else a < b))
            row.worse_after += worse
        rows.append(row)
        if not task.active:
            continue
        week_start = max(today - dt.timedelta(days=6), task.start_date)
        planned_week = _planned_days(task, week_start, today)
        done_week = sum(1 for d in days if d >= week_start)
        if planned_week >= 2 and done_week * 2 < planned_week:
            alerts.append(f"“{task.title}”: done on {done_week} of {planned_week} planned days in the last week")
        if row.worse_after:
            alerts.append(f"“{task.title}”: {row.worse_after} time(s) a rating was worse after the task than before")
    return Adherence(since, today, rows, alerts, completions)


def overview_lines(db: Session, client: Client) -> list[str]:
    """The client page's and the progress report's lines about the home programme (manifest ``overview``)."""
    return overview_lines_of_clients(db, [client])[client.id]


def overview_lines_of_clients(db: Session, clients: Sequence[Client | ClientLine]) -> dict[int, list[str]]:
    """:func:`overview_lines` of many clients (already authorised; only their ids are read) in at most three
    queries: the dashboard's alerts (manifest ``overview_many``)."""
    today, since, start = _window(None, 4)
    tasks = records.tasks_of_clients(db, [client.id for client in clients])
    busy = [client.id for client in clients if any(task.active for task in tasks.get(client.id, ()))]
    completions = records.completions_of_clients(db, busy, since=start)
    devices = records.devices_of_clients(db, busy)
    lines: dict[int, list[str]] = {}
    for client in clients:
        if client.id not in busy:
            lines[client.id] = []
            continue
        result = _adherence(tasks[client.id], completions.get(client.id, []), since=since, today=today)
        active = [row for row in result.tasks if row.task.active]
        planned = sum(row.planned for row in active)
        done = sum(min(row.done, row.planned) for row in active)
        device_count = sum(1 for d in devices.get(client.id, ()) if d.revoked_at is None)
        lines[client.id] = [
            f"{len(active)} home task(s), {device_count} device(s); last 4 weeks: done on {done} of {planned} "
            f"planned days" + (f" ({100 * done / planned:.0f} %)" if planned else "")
        ] + [f"Alert: {alert}" for alert in result.alerts]
    return lines


# --- the person's side ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TodayTask:
    task: HomeTask
    done_today: bool
    done_this_week: int


def programme(db: Session, device: PersonDevice, *, today: dt.date | None = None) -> list[TodayTask]:
    """The device's client's active tasks, with what has been done today and this week."""
    today = today or utcnow().date()
    week_start = today - dt.timedelta(days=today.weekday())
    since = dt.datetime.combine(week_start, dt.time(), tzinfo=dt.timezone.utc)
    done = records.device_completions(db, device, since=since)
    out = []
    for task in records.client_tasks(db, device.client_id, active_only=True):
        if task.start_date > today or (task.end_date and task.end_date < today):
            continue
        days = {records._aware(c.completed_at).date() for c in done if c.task_id == task.id}
        out.append(TodayTask(task, today in days, len(days)))
    return out


@dataclass(frozen=True)
class TrackView:
    id: int
    title: str
    artist: str
    gain_cap: float
    tempo_bpm: float | None
    energy: float | None


def task_tracks(db: Session, device: PersonDevice, task: HomeTask) -> list[TrackView]:
    """The task's tracks that may play now (a track red-flagged since it was assigned is left out)."""
    if task.kind == "ras_walk":
        return []
    client = records.client_of_device(db, device)
    found = _library_tracks(db, client, [int(t) for t in task.music.get("track_ids", [])])
    out = []
    for track_id in task.music.get("track_ids", []):
        row = found.get(track_id)
        if row is None or row["red_flag"]:
            continue
        out.append(TrackView(track_id, row["title"] or Path(row["path"]).stem, row["artist"],
                             float(task.music["gains"][str(track_id)]), _tempo_used_bpm(row), row["energy"]))
    return out


def _tempo_used_bpm(row: Any) -> float | None:
    """The therapist's corrected tempo of a library row when there is one, else the analysed tempo."""
    corrected = row.get("tempo_corrected_bpm")
    return corrected if corrected is not None else row["tempo_bpm"]


def track_file(db: Session, device: PersonDevice, task: HomeTask, track_id: Any) -> Path:
    """The audio file of one of the task's tracks, if it may play now; else the same 404."""
    client = records.client_of_device(db, device)
    if not isinstance(track_id, int) or track_id not in task.music.get("track_ids", []):
        raise NotFoundError(f"track {track_id!r} not found")
    row = _library_tracks(db, client, [track_id]).get(track_id)
    if row is None or row["red_flag"] or not Path(row["path"]).is_file():
        raise NotFoundError(f"track {track_id!r} not found")
    records.audit_device(db, device, "read", "library_track", entity_id=track_id)
    return Path(row["path"])


def ras_cue_wav(db: Session, device: PersonDevice, task: HomeTask) -> bytes:
    """The task's cue loop as a 16-bit WAV, rendered within the listener's cap."""
    import soundfile

    if task.kind != "ras_walk":
        raise NotFoundError("this task has no cue")
    client = records.client_of_device(db, device)
    policy, calibration = listener(db, client)
    refuse_nicu(policy)
    samples, _ = ras_loop(float(task.music["tempo_bpm"]), policy=policy, calibration=calibration)
    buffer = _bytes.BytesIO()
    soundfile.write(buffer, samples, CUE_SAMPLING_RATE_HZ, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def weekly_dose(db: Session, client: Client):
    """This week's listening as a share of the safe weekly sound dose (the client is already authorised)."""
    return listening.client_weekly_dose(db, client=client)


def task_gain_cap(task: HomeTask) -> float:
    if task.kind in ("ras_walk", "mit_practice"):
        return 1.0  # the cue is rendered within the cap
    if is_measured(task):
        return float(task.music.get("gain_cap", 0.0))  # the page's own sounds, capped by the providing tool
    return max((float(g) for g in task.music.get("gains", {}).values()), default=0.0)


def _level_at(task: HomeTask, gain: float) -> float:
    """The loudest level the task's audio reached at ``gain`` (Leq, dB(A)), for the dose ledger."""
    if task.kind in ("ras_walk", "mit_practice"):
        full = float(task.music["level_dba"])
    elif is_measured(task):
        return float(task.music["level_dba"])  # at most the listener's ceiling (the cap keeps it there)
    else:
        full = max((float(v) for v in task.music.get("levels_dba", {}).values()), default=0.0)
    return full + 20 * math.log10(max(gain, 1e-6))


def _number(payload: dict, name: str, default: float = 0.0) -> float:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    return float(value)


def record_completion(db: Session, device: PersonDevice, payload: Any, *,
                      now: dt.datetime | None = None) -> tuple[TaskCompletion, bool]:
    """Store a completion sent by the device (online or from its offline queue) exactly once.

    ``payload``: ``{"client_uuid", "task_id", "completed_at" (ISO 8601 with offset), "played_s",
    "max_gain", "before": {code: value}, "after": {...}, "note"}``. Returns the row and whether it is
    new; a repeat changes nothing and adds nothing to the dose ledger.
    """
    if not isinstance(payload, dict):
        raise ParameterError(f"the completion must be a JSON object, got {type(payload).__name__}")
    client_uuid = records.check_uuid(payload.get("client_uuid"))
    task = records.device_task(db, device, payload.get("task_id"))
    try:
        completed_at = dt.datetime.fromisoformat(str(payload.get("completed_at")))
    except ValueError:
        raise ParameterError(f"completed_at must be an ISO 8601 time, got {str(payload.get('completed_at'))[:40]!r}") from None
    if completed_at.tzinfo is None:
        raise ParameterError("completed_at must carry its UTC offset")
    played_s = _number(payload, "played_s")
    max_gain = _number(payload, "max_gain")
    cap = task_gain_cap(task)
    if not 0 <= max_gain <= cap + GAIN_TOLERANCE:
        raise ParameterError(f"max_gain must be between 0 and this task's cap {cap:.4f}, got {max_gain!r}")
    before = records.check_ratings(task, "before", payload.get("before"))
    after = records.check_ratings(task, "after", payload.get("after"))
    note = payload.get("note", "")
    scores = None
    measured = None
    repeat = db.scalar(select(TaskCompletion.id).where(TaskCompletion.client_id == device.client_id,
                                                       TaskCompletion.client_uuid == client_uuid)) is not None
    if task.kind == "mit_practice" and payload.get("attempt_wav_b64") is not None and not repeat:
        scores = score_attempt(task, payload["attempt_wav_b64"])  # a repeat is not analysed again
    if is_measured(task) and payload.get("result") is not None and not repeat:
        measured = measure_result(db, device, task, payload["result"])
        scores = {**measured["scores"], "summary": measured["summary"],
                  "measured": {code: value for code, value in measured["measurements"]}}
    row, new = records.store_completion(db, device, task, client_uuid=client_uuid, completed_at=completed_at,
                                        played_s=played_s, max_gain=min(max_gain, cap), before=before, after=after,
                                        note=note if isinstance(note, str) else "", scores=scores, now=now)
    if new and measured is not None and measured["measurements"]:
        home_session = records.store_home_measurements(
            db, device, task, row, measured["measurements"],
            intervention_code=provided_kinds()[task.kind].intervention_code)
        row.scores = {**row.scores, "session_id": home_session.id}
    if new and played_s >= 1 and max_gain > 0:
        records.log_listening(db, device, level_dba=_level_at(task, min(max_gain, cap)), duration_s=played_s,
                              started_at=completed_at - dt.timedelta(seconds=played_s),
                              source={"ras_walk": "ras_cue", "mit_practice": "mit", "tapping": "ras_cue",
                                      "singing": "session"}.get(task.kind, "playlist"),
                              label=f"home task {task.id}: {task.title}"[:200])
    return row, new


def measure_result(db: Session, device: PersonDevice, task: HomeTask, result: Any) -> dict[str, Any]:
    """What the person did in a measured task (the device's raw ``result``), measured by the tool that
    provides the kind: ``{"scores", "measurements", "summary"}``. A kind whose tool is no longer
    installed cannot be measured (404, like a missing task)."""
    kind = provided_kinds().get(task.kind)
    if kind is None:
        raise NotFoundError(f"task {task.id} cannot be measured here: its tool is not installed")
    client = records.client_of_device(db, device)
    return kind.load("measure")(db, client, task.music, result, device_label=device.sound_device_name)


def rating_scales(task: HomeTask) -> list[dict[str, Any]]:
    return [{"code": code, "label": RATINGS[code][0], "low": RATINGS[code][1], "high": RATINGS[code][2],
             "low_text": RATINGS[code][3], "high_text": RATINGS[code][4]} for code in task.ratings]


# --- passkeys (WebAuthn) instead of the PIN -----------------------------------------------------------------

RP_NAME = "Cadenza: my music"


def _b64(data: bytes) -> str:
    from webauthn.helpers import bytes_to_base64url

    return bytes_to_base64url(data)


def passkey_registration_options(db: Session, invite: records.PersonInvite, *, rp_id: str) -> str:
    """Begin making a passkey on the invitation page: the options as JSON for
    ``PublicKeyCredential.parseCreationOptionsFromJSON``; the challenge is kept on the invitation."""
    import secrets

    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import AuthenticatorSelectionCriteria, ResidentKeyRequirement, UserVerificationRequirement

    challenge = secrets.token_bytes(32)
    options = generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_id=secrets.token_bytes(16), user_name=invite.label or "my music",
        challenge=challenge, authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED, user_verification=UserVerificationRequirement.REQUIRED))
    invite.webauthn_challenge = _b64(challenge)
    return options_to_json(options)


def join_with_passkey(db: Session, *, token: str, credential: Any, rp_id: str, origin: str,
                      label: str = "") -> tuple[PersonDevice, str]:
    """Finish the passkey made on the invitation page and turn the invitation into a device that
    opens with it (no PIN)."""
    from webauthn import base64url_to_bytes, verify_registration_response
    from webauthn.helpers.exceptions import InvalidRegistrationResponse

    invite = records.find_invite(db, token)
    if invite is None or not invite.webauthn_challenge:
        raise NotFoundError(records.INVALID_INVITE)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(invite.webauthn_challenge),
            expected_rp_id=rp_id, expected_origin=origin, require_user_verification=True)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        invite.webauthn_challenge = None
        raise ParameterError(f"the passkey could not be checked ({exc}); try again or choose a PIN") from None
    passkey = (_b64(verified.credential_id), _b64(verified.credential_public_key), int(verified.sign_count))
    return records.redeem_invite(db, token=token, pin=None, label=label, passkey=passkey)


def passkey_unlock_options(device: PersonDevice, *, rp_id: str) -> str:
    """Begin opening a device with its passkey: options JSON for ``parseRequestOptionsFromJSON``."""
    import secrets

    from webauthn import base64url_to_bytes, generate_authentication_options, options_to_json
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

    if not device.passkey_id:
        raise NotFoundError("this device has no passkey; open it with the PIN")
    challenge = secrets.token_bytes(32)
    options = generate_authentication_options(
        rp_id=rp_id, challenge=challenge, user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(device.passkey_id))])
    device.webauthn_challenge = _b64(challenge)
    return options_to_json(options)


def unlock_with_passkey(db: Session, device: PersonDevice, *, credential: Any, rp_id: str, origin: str) -> None:
    from webauthn import base64url_to_bytes, verify_authentication_response
    from webauthn.helpers.exceptions import InvalidAuthenticationResponse

    if not device.passkey_id or not device.webauthn_challenge:
        raise ParameterError("start opening with the passkey again")
    challenge, device.webauthn_challenge = device.webauthn_challenge, None  # one try per challenge
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(challenge), expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=base64url_to_bytes(device.passkey_public_key),
            credential_current_sign_count=device.passkey_sign_count, require_user_verification=True)
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        device.pin_failures += 1
        records.audit_device(db, device, "login_failed", "person_device", entity_id=device.id)
        raise ParameterError(f"the passkey did not match this device ({exc})") from None
    if _b64(verified.credential_id) != device.passkey_id:
        raise ParameterError("the passkey did not match this device")
    records.unlock_with_passkey(db, device, sign_count=verified.new_sign_count)
