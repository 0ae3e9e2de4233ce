"""The NICU workflows both faces call: sounds rendered for an infant within NICU limits, the stop rules run
with the infant's own thresholds and logged, PAL sessions run and kept.

``cadenza nicu ...`` and the pages under ``/clients/{client_id}/nicu`` only parse their input and present
the result; the rules come from here, so they are the same from both:

- **Every render is measured against the NICU limits** (A-weighted, from its own samples and the
  listener's calibration) and refused if any limit fails: :func:`lullaby`, :func:`parent_recording` and
  :func:`womb_sound` pass the listener's calibration and the limits to the science, which enforces them.
- **Stop-rule thresholds are the infant's own** when the clinician set them: :func:`thresholds_for` (stored,
  then any given by hand, else the defaults, said so); :func:`monitor_vitals` runs the rules with them and
  logs the decisions; :func:`set_thresholds` merges new values into the stored ones.
- **PAL starts music by itself**, so it is refused for a listener whose policy forbids auto-play
  (:func:`run_pal`); :func:`record_pal` keeps a session and its stop-rule decisions.
- **PAL below 34 weeks postmenstrual age needs a clinician's override** with a reason (clinical review M1;
  Standley 2010: PAL lengthened tube feeding at 32 weeks): :func:`pal_age_gate`, applied by
  :func:`record_pal` and by the command before it runs; the override is kept on the session and audited.
  The infant's ages are set with :func:`set_age`.

The listener (flags, audio policy, calibration) is :class:`cadenza.clinic.listening.Listener`; the pages
read it once per request with :func:`nicu_listener`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cadenza.clinic import access, listening
from cadenza.clinic.listening import Listener
from cadenza.clinic.models import Client, Therapist
from cadenza.errors import NotFoundError, ParameterError
from cadenza.nicu.age import InfantAge, PalAgeCheck, check_pal_age, parse_weeks_days
from cadenza.nicu.stop_rules import InfantThresholds, StopEvent
from cadenza.tools.nicu import records

if TYPE_CHECKING:  # the science modules pull in numpy/scipy: imported inside the functions
    import numpy as np

    from cadenza.nicu.limits import NicuLimits
    from cadenza.nicu.pal import PalController, PalSummary
    from cadenza.nicu.stop_rules import Observation

THRESHOLD_FIELDS = ("hr_min_bpm", "hr_max_bpm", "spo2_min_pct", "rr_min_bpm", "rr_max_bpm")
DEFAULT_THRESHOLDS_NOTE = ("Using default stop-rule thresholds; have the clinician set this infant's own "
                           "(`cadenza nicu thresholds --client CODE ...`).")


# --- the listener --------------------------------------------------------------------------------


def nicu_listener(db: Session, *, actor: Therapist, client_id: int) -> Listener:
    """The NICU infant ``client_id`` as a listener, read once (one audit row); a client without the
    ``nicu_infant`` flag has no NICU tools (NotFoundError, as for a missing client)."""
    listener = listening.resolve_listener(db, actor=actor, client_id=client_id)
    if not listener.policy.nicu_limits:
        raise NotFoundError(f"NICU tools are for clients with the nicu_infant flag; {listener.code!r} has none")
    return listener


def not_nicu_note(listener: Listener) -> str | None:
    """What to tell someone rendering NICU sounds for a client without the ``nicu_infant`` flag."""
    if listener.code and not listener.policy.nicu_limits:
        return f"Client {listener.code} has no nicu_infant flag; NICU limits applied anyway."
    return None


# --- sounds --------------------------------------------------------------------------------------


def limits_for(leq_dba: float | None = None) -> NicuLimits:
    """The NICU limits, or stricter ones with a lower Leq cap for this infant (never above the standard)."""
    from cadenza.nicu.limits import NICU_LIMITS

    return NICU_LIMITS if leq_dba is None else NICU_LIMITS.with_target(leq_dba=leq_dba)


def lullaby(listener: Listener, *, tune: str = "twinkle", minutes: float = 10.0, tempo_bpm: float = 60.0,
            transpose_semitones: int = 0, leq_dba: float | None = None, fades: bool = True) -> Any:
    """A lullaby for this listener within NICU limits at their calibration (a ``LullabyRender``)."""
    from cadenza.nicu.lullaby import render_lullaby

    return render_lullaby(tune=tune, minutes=minutes, tempo_bpm=tempo_bpm, transpose_semitones=transpose_semitones,
                          calibration=listener.calibration, limits=limits_for(leq_dba), fades=fades)


def parent_recording(samples: np.ndarray, *, sampling_rate_hz: int, listener: Listener,
                     leq_dba: float | None = None) -> Any:
    """A parent's singing or humming cleaned and levelled within NICU limits (a ``NicuRender``)."""
    from cadenza.nicu.lullaby import prepare_parent_recording

    return prepare_parent_recording(samples, sampling_rate_hz=sampling_rate_hz, calibration=listener.calibration,
                                    limits=limits_for(leq_dba))


def womb_sound(listener: Listener, *, minutes: float = 10.0, heart_rate_bpm: float = 72.0,
               breaths_per_min: float = 12.0, heartbeat_to_ocean_db: float = 0.0, leq_dba: float | None = None) -> Any:
    """Heartbeat plus breathing-rate ocean swell within NICU limits (a ``WombRender``)."""
    from cadenza.nicu.womb import render_womb_sound

    return render_womb_sound(minutes=minutes, heart_rate_bpm=heart_rate_bpm, breaths_per_min=breaths_per_min,
                             heartbeat_to_ocean_db=heartbeat_to_ocean_db, calibration=listener.calibration,
                             limits=limits_for(leq_dba))


def log_render_dose(db: Session, *, actor: Therapist, client_id: int, render: Any, source: str,
                    started_at: dt.datetime | None = None) -> listening.SoundDoseEntry:
    """Enter a render (its measured Leq for its length, from ``started_at``, default now) in the client's
    sound-dose ledger."""
    return listening.add_dose_entry(db, actor=actor, client_id=client_id, level_dba=render.report.leq_dba,
                                    duration_s=render.duration_s, started_at=started_at, source=source)


# --- stop rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdChoice:
    """The thresholds a run uses, and whether they are the infant's own (stored or given)."""

    thresholds: InfantThresholds
    notes: tuple[str, ...] = ()


def thresholds_for(stored: InfantThresholds | None, overrides: Mapping[str, float | None] | None = None
                   ) -> ThresholdChoice:
    """The infant's stored thresholds, with any values given (None values are not given) on top, else the
    defaults, with a note saying so."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    notes = (DEFAULT_THRESHOLDS_NOTE,) if stored is None and not given else ()
    return ThresholdChoice(replace(stored or InfantThresholds(), **given), notes)


def client_thresholds(db: Session, *, client: Client | None,
                      overrides: Mapping[str, float | None] | None = None) -> ThresholdChoice:
    """:func:`thresholds_for` the client (already authorised by the caller; None: no stored thresholds)."""
    stored = records.client_thresholds(db, client=client) if client is not None else None
    return thresholds_for(stored, overrides)


def set_thresholds(db: Session, *, actor: Therapist, client_id: int,
                   values: Mapping[str, float | None]) -> InfantThresholds:
    """Merge ``values`` (None: keep) into the infant's stored thresholds (or the defaults) and store them;
    refused for a client without the ``nicu_infant`` flag."""
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    thresholds = client_thresholds(db, client=client, overrides=values).thresholds
    records.set_infant_thresholds(db, actor=actor, client_id=client.id, thresholds=thresholds)
    return thresholds


@dataclass(frozen=True)
class StopRuleRun:
    """One run of the infant-led stop rules: the thresholds it used, its decisions and where it ended."""

    choice: ThresholdChoice
    events: list[StopEvent]
    final_state: str
    playing_s: float
    logged: bool = False

    @property
    def thresholds(self) -> InfantThresholds:
        return self.choice.thresholds


def run_stop_rules(observations: Iterable[Observation], choice: ThresholdChoice) -> StopRuleRun:
    """The stop rules over a vital-sign stream: when music may play, pauses, stops, and why."""
    from cadenza.nicu.stop_rules import StopRuleEngine

    engine = StopRuleEngine(choice.thresholds).run(observations)
    return StopRuleRun(choice, list(engine.events_), engine.final_state_, engine.playing_s_)


def monitor_vitals(db: Session, *, actor: Therapist, client: Client, observations: Iterable[Observation],
                   overrides: Mapping[str, float | None] | None = None, save: bool = True,
                   session_id: int | None = None) -> StopRuleRun:
    """The stop rules with the infant's own thresholds (``client`` already authorised by the caller), the
    decisions kept in the client's stop log when ``save`` (linked to ``session_id`` if given)."""
    run = run_stop_rules(observations, client_thresholds(db, client=client, overrides=overrides))
    if not save:
        return run
    records.log_stop_events(db, actor=actor, client_id=client.id, events=run.events, session_id=session_id)
    return replace(run, logged=True)


# --- PAL -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PalOptions:
    """How a PAL session runs: the criterion a suck must reach, whether it adapts, how long it lasts."""

    criterion_mmhg: float = 20.0
    adapt: bool = False
    minutes: float = 15.0
    distress_times_s: tuple[float, ...] = field(default_factory=tuple)


def run_pal(pressure_mmhg: np.ndarray, *, sampling_rate_hz: float, listener: Listener,
            options: PalOptions = PalOptions()) -> PalController:
    """One PAL session over a suck-pressure recording: about 10 s of music per criterion suck, stopped at
    the first distress time; refused when the listener's policy forbids auto-play (seizure flag)."""
    from cadenza.nicu.pal import PalController

    return PalController(criterion_mmhg=options.criterion_mmhg, session_s=options.minutes * 60.0,
                         adapt=options.adapt).run(pressure_mmhg, sampling_rate_hz=sampling_rate_hz,
                                                  distress_times_s=list(options.distress_times_s),
                                                  policy=listener.policy)


def set_age(db: Session, *, actor: Therapist, client_id: int, gestational_age_at_birth: str | int,
            postmenstrual_age: str | int, assessed_on: dt.date | None = None) -> InfantAge:
    """Record the infant's gestational age at birth and postmenstrual age on ``assessed_on`` (default today),
    each as weeks+days text ('32+4') or whole days."""
    def days(value: str | int, name: str) -> int:
        return parse_weeks_days(value, name=name) if isinstance(value, str) else value

    age = InfantAge(days(gestational_age_at_birth, "gestational_age_at_birth"),
                    days(postmenstrual_age, "postmenstrual_age"), assessed_on or dt.date.today())
    records.set_infant_age(db, actor=actor, client_id=client_id, age=age)
    return age


def client_age(db: Session, *, client: Client) -> InfantAge | None:
    """The infant's recorded age (client already authorised by the caller)."""
    return records.client_infant_age(db, client=client)


def pal_age_check(db: Session, *, client: Client, on_date: dt.date | None = None) -> PalAgeCheck:
    """Whether PAL suits the infant's postmenstrual age on ``on_date`` (default today), with the Standley 2010
    result to show."""
    age = client_age(db, client=client)
    return check_pal_age(age.postmenstrual_age_on(on_date or dt.date.today()) if age is not None else None)


def pal_age_gate(db: Session, *, client: Client, on_date: dt.date | None = None,
                 override_reason: str | None = None) -> PalAgeCheck:
    """:func:`pal_age_check`, refusing PAL below 34 weeks PMA unless a clinician gives ``override_reason``."""
    check = pal_age_check(db, client=client, on_date=on_date)
    if not check.allowed and not (override_reason or "").strip():
        raise ParameterError(f"override_reason is needed: {check.message}")
    return check


def record_pal(db: Session, *, actor: Therapist, client_id: int, summary: PalSummary,
               events: Iterable[StopEvent] = (), session_id: int | None = None,
               override_reason: str | None = None, on_date: dt.date | None = None) -> records.PalSessionSummary:
    """Keep a PAL session (with ``session_id``, its criterion sucks per minute become a measurement there)
    and, if the stop rules ran alongside, their decisions. Below 34 weeks PMA (on ``on_date``, default today)
    it is refused unless ``override_reason`` says why; that reason is kept and audited."""
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    check = pal_age_gate(db, client=client, on_date=on_date, override_reason=override_reason)
    reason = override_reason.strip()[:500] if (not check.allowed and override_reason) else None
    row = records.record_pal_summary(db, actor=actor, client_id=client_id, summary=summary, session_id=session_id,
                                     pma_days=check.pma_days, age_override_reason=reason)
    events = list(events)
    if events:
        records.log_stop_events(db, actor=actor, client_id=client_id, events=events, session_id=session_id)
    return row
