"""The hearing-safety tool's records: what its page reads, and its measure.

The tables it writes (calibrations and the weekly dose ledger) belong to the record core,
:mod:`cadenza.clinic.listening`, because every audio tool reads them; this module adds the page's one
audited read of a client (:func:`safety_overview`) and the weekly-dose instrument.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cadenza.clinic import access, corrections, listening
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.listening import Listener, SoundDoseEntry, WeekEntry
from cadenza.clinic.models import Client, Therapist
from cadenza.safety.calibration import Calibration
from cadenza.safety.dose import WeeklyDose
from cadenza.safety.flags import AudioPolicy

WEEKLY_DOSE_PCT = register_instrument(Instrument(
    code="sound_dose_week_pct", name="Weekly sound dose (WHO/ITU-T H.870)", unit="%", minimum=0, maximum=10_000,
    better="decrease", source="cadenza.safety.dose; local code"))


@dataclass(frozen=True)
class SafetyOverview:
    """Everything the hearing-safety page shows, read with one audited access to the client."""

    listener: Listener
    week: WeeklyDose
    entries: list[WeekEntry]

    @property
    def client(self) -> Client:
        return self.listener.client

    @property
    def policy(self) -> AudioPolicy:
        return self.listener.policy

    @property
    def calibration(self) -> Calibration:
        return self.listener.calibration


def overview_of(db: Session, *, client: Client, now: dt.datetime | None = None) -> SafetyOverview:
    """:func:`safety_overview` of a client the caller has already authorised (no audit row of its own)."""
    week, entries = listening.week_in_detail(db, client=client, now=now)
    return SafetyOverview(listening.listener_of(db, client=client), week, entries)


def safety_overview(db: Session, *, actor: Therapist, client_id: int,
                    now: dt.datetime | None = None) -> SafetyOverview:
    """The client's listener (policy, latest calibration) and rolling 7-day dose with the entries it counts
    (newest first; :func:`cadenza.clinic.listening.week_in_detail`), read with one audited access."""
    if now is not None:
        listening.aware(now, "now")  # refused before the client is read
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    return overview_of(db, client=client, now=now)


# --- corrections (walk-through problem 2: a typo in the ledger warned for a week) ------------------


def remove_dose_entry(db: Session, *, actor: Therapist, entry_id: int, reason: str,
                      client_id: int | None = None) -> SoundDoseEntry:
    """Take a wrong listening period out of the weekly dose (kept with the reason, restorable)."""
    return corrections.remove_row(db, actor=actor, model=SoundDoseEntry, row_id=entry_id, entity="sound_dose_entry",
                                  what="dose entry", reason=reason, client_id=client_id)


def restore_dose_entry(db: Session, *, actor: Therapist, entry_id: int, reason: str = "",
                       client_id: int | None = None) -> SoundDoseEntry:
    return corrections.restore_row(db, actor=actor, model=SoundDoseEntry, row_id=entry_id, entity="sound_dose_entry",
                                   what="dose entry", reason=reason, client_id=client_id)


def removed_dose_entries(db: Session, *, client: Client) -> list[SoundDoseEntry]:
    """``client``'s removed ledger entries (authorised by the caller), newest removal first."""
    return corrections.removed_rows(db, client=client, model=SoundDoseEntry)
