"""Who is listening: a client's audio policy, the calibration of their playback and their weekly sound dose.

Every audio tool (RAS cues, playlists, MIT cues, NICU sounds, the hearing-safety pages) reads the listener
here, in the record core, rather than from a sibling tool:

- :class:`Listener`: the client, their safety flags, the :class:`~cadenza.safety.flags.AudioPolicy` those
  impose (:func:`policy_of`) and the latest calibration, resolved once (:func:`resolve_listener`: one
  authorisation, one audit row; :func:`listener_of` for a client the caller has already authorised).
- **Calibration** (``listening_calibration``): the level measured at the listener while the calibration
  tone played, per device.
- **The dose ledger** (``sound_dose_entry``): listening periods counted against the WHO/ITU-T H.870
  weekly allowance, in the dose mode the client's policy imposes, so a hearing-loss or NICU flag, or a
  child's birth year (H.870's children's mode; clinical review W7), makes the same listening count against
  the stricter allowance.

Services follow ``docs/clinic_api.md``: session first, ``actor=`` keyword, flush but never commit, one
authorisation check (:func:`cadenza.clinic.access.get_client_for_actor`) that also audits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import access
from cadenza.clinic.audit import audit
from cadenza.clinic.models import Base, Client, Removable, Therapist, utcnow
from cadenza.errors import ParameterError
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration
from cadenza.safety.dose import (
    PLAUSIBLE_LEVEL_DBA,
    WEEK_S,
    DoseLedger,
    DosePreview,
    WeeklyDose,
    dose_fraction,
    require_utc,
)
from cadenza.safety.flags import AudioPolicy, audio_policy, parse_flags

DOSE_SOURCES = ("manual", "ras_cue", "playlist", "mit", "nicu_lullaby", "nicu_womb", "nicu_pal", "session")
MAX_DEVICE_CHARS = 64  # listening_calibration.device is String(64)
MAX_ENTRY_DURATION_S = WEEK_S  # bounds the ledger's look-back: an entry never spans more than one rolling week


class ListeningCalibration(Base):
    """The level measured at the listener (or in the incubator) while the calibration tone played."""

    __tablename__ = "listening_calibration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    device: Mapped[str] = mapped_column(String(64))
    tone_level_dba: Mapped[float] = mapped_column(Float)
    tone_rms_dbfs: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def to_calibration(self) -> Calibration:
        return Calibration(tone_level_dba=self.tone_level_dba, tone_rms_dbfs=self.tone_rms_dbfs, device=self.device)


class SoundDoseEntry(Removable, Base):
    """One listening period in a client's weekly dose ledger."""

    __tablename__ = "sound_dose_entry"
    # The database holds every row to what add_dose_entry accepts, so rows written any other way cannot
    # break the look-back bound of _entry_rows; migration 0008_safety_checks adds the last four.
    # On PostgreSQL NaN compares above every number, so the upper bounds also refuse NaN; SQLite stores
    # NaN as NULL, which NOT NULL refuses.
    __table_args__ = (
        CheckConstraint("duration_s >= 0", name="duration_s"),
        CheckConstraint(f"duration_s <= {MAX_ENTRY_DURATION_S!r}", name="duration_s_max"),
        CheckConstraint(f"level_dba BETWEEN {PLAUSIBLE_LEVEL_DBA[0]!r} AND {PLAUSIBLE_LEVEL_DBA[1]!r}",
                        name="level_dba"),
        CheckConstraint("source IN ({})".format(", ".join(f"'{s}'" for s in DOSE_SOURCES)), name="source"),
        CheckConstraint("length(label) <= 200", name="label_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(index=True)
    duration_s: Mapped[float] = mapped_column(Float)
    level_dba: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Who removed it (clinic.corrections), without a foreign key: SQLite can drop a plain column again when
    # 0024_admin_corrections is downgraded, and record_change keeps the remover's name anyway.
    removed_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


def refuse_nul(name: str, text: object) -> None:
    """PostgreSQL text cannot hold NUL: a ParameterError naming ``name``, not a driver error."""
    if isinstance(text, str) and "\x00" in text:
        raise ParameterError(f"{name} must not contain NUL characters, got {text[:40]!r}")


def aware(value: dt.datetime | None, name: str) -> dt.datetime:
    """``value`` checked to be UTC-aware (``name`` in the message), or now."""
    return utcnow() if value is None else require_utc(value, name)


# --- the listener --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """Who the audio is for, as far as hearing safety is concerned.

    ``code`` and ``client_id`` name the client (None for a listener known only by flags given by hand);
    ``flags`` are the client's safety flags plus any given by hand; ``policy`` is what those impose
    (caps, NICU limits, auto-play, dose mode) and ``calibration`` the latest one of the playback device
    (the conservative default when none was measured). ``client`` is the authorised row, for pages.
    """

    code: str | None
    client_id: int | None
    flags: tuple[str, ...]
    policy: AudioPolicy
    calibration: Calibration
    client: Client | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The listener as JSON output shows it (client code, flags, policy, calibration)."""
        return {"client": self.code, "flags": sorted(self.flags), "policy": self.policy.as_dict(),
                "calibration": {"device": self.calibration.device, "tone_level_dba": self.calibration.tone_level_dba,
                                "is_default": self.calibration.is_default}}


def policy_of(client: Client, *, today: dt.date | None = None) -> AudioPolicy:
    """The audio policy ``client``'s record imposes: its safety flags, and its birth year (a child's weekly
    dose counts against the H.870 children's allowance, :func:`cadenza.safety.flags.may_be_child`)."""
    return audio_policy(client.safety_flags or [], birth_year=client.birth_year, today=today)


def _checked_flags(flags: Iterable[str]) -> list[str]:
    if isinstance(flags, str):
        raise ParameterError(f"flags must be a list of flag codes, not one string {flags!r}")
    flags = list(flags)
    parse_flags(flags)
    return flags


def listener_of(db: Session, *, client: Client, device: str | None = None, flags: Iterable[str] = (),
                calibration: Calibration | None = None) -> Listener:
    """The listener ``client``, already authorised (and audited) by the caller: its flags plus ``flags``,
    their policy, and ``calibration`` if given, else the latest stored one (for ``device``, if named)."""
    if not isinstance(client, Client):
        raise ParameterError(f"client must be a Client row, got {client!r}")
    extra = _checked_flags(flags)
    all_flags = tuple(sorted(set(client.safety_flags or []) | set(extra)))
    policy = audio_policy(all_flags, birth_year=client.birth_year)
    if calibration is None:
        calibration = calibration_of(db, client=client, device=device)
    return Listener(client.code, client.id, all_flags, policy, calibration, client)


def resolve_listener(db: Session, *, actor: Therapist, client_id: int, device: str | None = None,
                     flags: Iterable[str] = (), calibration: Calibration | None = None) -> Listener:
    """The listener ``client_id`` as ``actor`` may see it: one authorisation (one audit row), then
    :func:`listener_of`."""
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    return listener_of(db, client=client, device=device, flags=flags, calibration=calibration)


def listener_from_flags(flags: Iterable[str] = (), *, calibration: Calibration | None = None) -> Listener:
    """A listener known only by safety flags given by hand (no client record): their policy and
    ``calibration``, else the conservative default.

    >>> listener = listener_from_flags(["hearing_loss"])
    >>> listener.policy.max_level_dba, listener.calibration.is_default, listener.code
    (75.0, True, None)
    """
    given = tuple(sorted(set(_checked_flags(flags))))
    return Listener(None, None, given, audio_policy(given), calibration or DEFAULT_CALIBRATION)


def client_policy(db: Session, *, actor: Therapist, client_id: int) -> tuple[Client, AudioPolicy]:
    """The client and the audio policy its record imposes (one authorisation)."""
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    return client, policy_of(client)


# --- calibration -------------------------------------------------------------------------------------


def record_calibration(db: Session, *, actor: Therapist, client_id: int, measured_level_dba: float,
                       device: str = "default", tone_rms_dbfs: float = -20.0,
                       measured_at: dt.datetime | None = None) -> ListeningCalibration:
    """Store the level measured at the listener while the calibration tone played on ``device``."""
    if isinstance(device, str) and len(device.strip()) > MAX_DEVICE_CHARS:
        raise ParameterError(f"device must be a name of at most {MAX_DEVICE_CHARS} characters, got "
                             f"{len(device.strip())} characters: {device[:40]!r}...")
    refuse_nul("device", device)
    cal = Calibration.from_measurement(measured_level_dba, device=device, tone_rms_dbfs=tone_rms_dbfs)
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    row = ListeningCalibration(client_id=client.id, device=cal.device, tone_level_dba=cal.tone_level_dba,
                               tone_rms_dbfs=cal.tone_rms_dbfs, measured_at=aware(measured_at, "measured_at"))
    db.add(row)
    db.flush()
    audit(db, actor, "create", "listening_calibration", entity_id=row.id, client_id=client.id)
    return row


def latest_calibration(db: Session, *, actor: Therapist, client_id: int, device: str | None = None) -> Calibration:
    """The newest calibration for this client (and device), else the conservative default."""
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    return calibration_of(db, client=client, device=device)


def calibration_of(db: Session, *, client: Client, device: str | None = None) -> Calibration:
    """:func:`latest_calibration` of a client already authorised by the caller (no audit row of its own)."""
    query = select(ListeningCalibration).where(ListeningCalibration.client_id == client.id)
    if device is not None:
        query = query.where(ListeningCalibration.device == device)
    row = db.scalars(query.order_by(ListeningCalibration.measured_at.desc(), ListeningCalibration.id.desc())).first()
    return row.to_calibration() if row else DEFAULT_CALIBRATION


# --- dose ledger -------------------------------------------------------------------------------------


def check_entry(*, level_dba: float, duration_s: float, source: str = "manual", label: str = "") -> None:
    """The rules of one ledger entry (a ParameterError naming the bad argument): a plausible level, a
    duration of at most one week, a known source and a label of at most 200 characters."""
    dose_fraction(level_dba, duration_s)  # validates both, naming the bad one
    if duration_s > MAX_ENTRY_DURATION_S:
        raise ParameterError(f"duration_s must be at most {MAX_ENTRY_DURATION_S:.0f} s (one week; record longer "
                             f"listening as several periods), got {duration_s!r}")
    if source not in DOSE_SOURCES:
        raise ParameterError(f"source must be one of {DOSE_SOURCES}, got {source!r}")
    if not isinstance(label, str):
        raise ParameterError(f"label must be text, got {label!r}")
    if len(label) > 200:
        raise ParameterError(f"label must be at most 200 characters, got {len(label)}")
    refuse_nul("label", label)


def add_dose_entry(db: Session, *, actor: Therapist, client_id: int, level_dba: float, duration_s: float,
                   started_at: dt.datetime | None = None, source: str = "manual", label: str = "") -> SoundDoseEntry:
    """Enter one listening period (level at the ear, dB(A)) starting at ``started_at`` (default now) in
    the client's ledger."""
    check_entry(level_dba=level_dba, duration_s=duration_s, source=source, label=label)
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    row = SoundDoseEntry(client_id=client.id, started_at=aware(started_at, "started_at"),
                         duration_s=float(duration_s), level_dba=float(level_dba), source=source, label=label)
    db.add(row)
    db.flush()
    audit(db, actor, "create", "sound_dose_entry", entity_id=row.id, client_id=client.id)
    return row


def _entry_rows(db: Session, client: Client, *, since: dt.datetime | None) -> list[SoundDoseEntry]:
    query = select(SoundDoseEntry).where(SoundDoseEntry.client_id == client.id)
    if since is not None:
        # No entry is longer than MAX_ENTRY_DURATION_S, so one that started earlier than this ended before `since`.
        query = query.where(SoundDoseEntry.started_at >= since - dt.timedelta(seconds=MAX_ENTRY_DURATION_S))
    return list(db.scalars(query.order_by(SoundDoseEntry.started_at, SoundDoseEntry.id)))


def _ledger_from(client: Client, rows: Iterable[SoundDoseEntry]) -> DoseLedger:
    ledger = DoseLedger(client.code, mode=policy_of(client).dose_mode)
    for r in rows:
        ledger.add(level_dba=r.level_dba, duration_s=r.duration_s, started_at=r.started_at, label=r.label)
    return ledger


def dose_ledger_of(db: Session, *, client: Client, since: dt.datetime | None = None) -> DoseLedger:
    """:func:`dose_ledger` of a client already authorised by the caller (no audit row of its own)."""
    if since is not None:
        require_utc(since, "since")
    return _ledger_from(client, _entry_rows(db, client, since=since))


def dose_ledger(db: Session, *, actor: Therapist, client_id: int, since: dt.datetime | None = None) -> DoseLedger:
    """The client's ledger (pure object) in the dose mode its record imposes.

    With ``since`` (UTC) it holds only the entries that can overlap time from ``since`` on, read in one
    bounded query; without it, every entry the client ever had.
    """
    if since is not None:
        require_utc(since, "since")
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    return dose_ledger_of(db, client=client, since=since)


def client_weekly_dose(db: Session, *, client: Client, now: dt.datetime | None = None) -> WeeklyDose:
    """The rolling 7-day dose of a client the caller has already authorised and audited (one query, no
    further audit event): for pages that read the client once and show its dose alongside."""
    if not isinstance(client, Client):
        raise ParameterError(f"client must be a Client row, got {client!r}")
    end = aware(now, "now")
    return dose_ledger_of(db, client=client, since=end - dt.timedelta(seconds=WEEK_S)).weekly(now=end)


def weekly_dose(db: Session, *, actor: Therapist, client_id: int, now: dt.datetime | None = None) -> WeeklyDose:
    """The client's rolling 7-day dose, as ``actor`` may see it."""
    end = aware(now, "now")
    return dose_ledger(db, actor=actor, client_id=client_id,
                       since=end - dt.timedelta(seconds=WEEK_S)).weekly(now=end)


@dataclass(frozen=True)
class WeekEntry:
    """A ledger entry as the rolling week sees it: only the part inside the window counts."""

    entry: SoundDoseEntry
    in_week_s: float
    week_percent: float
    started_before_week: bool


def week_in_detail(db: Session, *, client: Client, now: dt.datetime | None = None
                   ) -> tuple[WeeklyDose, list[WeekEntry]]:
    """The rolling 7-day dose of ``client`` (already authorised by the caller) and the entries it counts,
    newest first.

    The listed entries and the weekly total come from the same rows and the same overlap rule, so an entry
    that started before the window but runs into it is both listed and counted (its in-week part only).
    """
    end = aware(now, "now")
    rows = _entry_rows(db, client, since=end - dt.timedelta(seconds=WEEK_S))
    ledger = _ledger_from(client, rows)
    week = ledger.weekly(now=end)
    entries = []
    for row, e in zip(rows, ledger.entries, strict=True):
        in_week_s = (min(e.ended_at, week.window_end) - max(e.started_at, week.window_start)).total_seconds()
        if in_week_s > 0:  # the rule DoseLedger.weekly counts by
            percent = 100 * dose_fraction(row.level_dba, in_week_s, mode=ledger.mode)
            entries.append(WeekEntry(row, in_week_s, percent, e.started_at < week.window_start))
    entries.reverse()
    return week, entries


def preview_session_dose(db: Session, *, actor: Therapist, client_id: int, level_dba: float, duration_s: float,
                         now: dt.datetime | None = None) -> DosePreview:
    """What a planned session at ``level_dba`` for ``duration_s`` would bring the rolling week to."""
    end = aware(now, "now")
    return dose_ledger(db, actor=actor, client_id=client_id, since=end - dt.timedelta(seconds=WEEK_S)).preview(
        level_dba=level_dba, duration_s=duration_s, now=end)
