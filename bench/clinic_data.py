"""A realistic clinic network's record, generated fast, for the load and scale benchmarks (issue 23).

Usage:

    .venv/bin/python bench/clinic_data.py URL [--therapists 100] [--clients 10000] [--years 5] [--json]

What it writes (into a migrated, empty database at URL):

- ``--therapists`` accounts (the first is an admin; one password for all: :data:`PASSWORD`, hashed once);
- ``--clients`` clients, each with a therapist, a birth year and one or two conditions drawn from the
  populations music therapists see (dementia, depression, Parkinson's, stroke, anxiety, pain, autism);
- per client one episode of care that starts anywhere in the last ``--years`` years and lasts a geometric
  number of weeks (mean 20), weekly sessions attended 80 % of the time, one or two goals on instruments that
  fit the condition, one measurement per goal at most sessions; SOAP notes of a few sentences, signed (with
  the note hash the record computes) except the last few weeks' 30 %;
- audit events as the record writes them (a ``create`` per client, goal, session and measurement, a
  ``read`` per session), sealed into the audit chain with the installation's key, so ``cadenza audit
  verify`` passes on the result.

Ids are assigned here and PostgreSQL's sequences are moved past them afterwards. Rows go in with plain
``INSERT`` batches (no ORM), in one transaction per batch of clients.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace

PASSWORD = "load-test-passphrase-2026"
BIRTH_YEARS = {"dementia": (1925, 1960), "parkinson's disease": (1930, 1975), "stroke": (1930, 1990),
               "autism": (2008, 2019)}  # others: adults 1940-2006
CONDITIONS = {  # condition -> (share of clients, instruments its goals use, interventions)
    "dementia": (0.22, ("stai6", "vas_anxiety"), ("receptive_listening", "singing", "reminiscence_listening")),
    "depression": (0.20, ("phq9",), ("drumming_improvisation", "songwriting", "receptive_listening")),
    "anxiety": (0.16, ("gad7", "stai6", "vas_anxiety"), ("receptive_listening", "pre_procedure_listening")),
    "parkinson's disease": (0.12, ("cadence", "gait_speed"), ("ras_gait_training", "singing")),
    "stroke": (0.12, ("cadence", "gait_speed", "mit_score_pct"), ("ras_gait_training", "mit")),
    "chronic pain": (0.10, ("nrs_pain",), ("receptive_listening",)),
    "autism": (0.08, ("vas_anxiety",), ("autism_social_music", "singing")),
}
SENTENCES = ("Engaged well with the opening song.", "Chose the instruments without prompting.",
             "Rated anxiety lower after the listening block.", "Walked to the cue with fewer hesitations.",
             "Sang the chorus with the therapist.", "Needed two reminders to stay with the pulse.",
             "Family member joined for the last ten minutes.", "Plan: continue weekly, review goals in four weeks.")


@dataclass(frozen=True)
class Generated:
    therapists: int
    clients: int
    goals: int
    sessions: int
    measurements: int
    audit_events: int
    seconds: float


def _instrument_plan(known: set[str]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The condition table restricted to instruments and interventions this record knows."""
    from cadenza.evidence.query import list_interventions

    interventions = {i.code for i in list_interventions()}
    plan = {}
    for condition, (_, instruments, used) in CONDITIONS.items():
        kept_instruments = tuple(i for i in instruments if i in known) or ("vas_anxiety",)
        kept_interventions = tuple(i for i in used if i in interventions) or ("receptive_listening",)
        plan[condition] = (kept_instruments, kept_interventions)
    return plan


def _value(rng: random.Random, code: str, weeks_in: int) -> tuple[float, str]:
    from cadenza.clinic.instruments import get_instrument

    instrument = get_instrument(code)
    low, high = instrument.minimum, instrument.maximum
    span = min(high - low, 300.0)  # open-ended scales (cadence) vary in a plausible band
    base = low + span * rng.uniform(0.35, 0.75)
    better = -1.0 if instrument.better == "decrease" else 1.0
    value = min(high, max(low, base + better * span * min(weeks_in, 20) * 0.006 + rng.gauss(0, span * 0.04)))
    return float(round(value) if instrument.integer else round(value, 2)), instrument.unit  # stored as a float


def generate(url: str, *, therapists: int = 100, clients: int = 10_000, years: float = 5.0, seed: int = 20261207,
             batch_clients: int = 250, today: dt.date | None = None) -> Generated:
    from sqlalchemy import insert, select, text

    from cadenza.clinic import service
    from cadenza.clinic.audit_chain import AuditSeal, append_seals, audit_key
    from cadenza.clinic.db import make_engine
    from cadenza.clinic.instruments import get_instrument, list_instruments
    from cadenza.clinic.models import (AuditEvent, Client, Goal, Measurement, SessionIntervention, Therapist,
                                       TherapySession)
    from cadenza.clinic.passwords import hash_password

    started = time.perf_counter()
    rng = random.Random(seed)
    today = today or dt.date.today()
    first_day = today - dt.timedelta(days=round(365.25 * years))
    plan = _instrument_plan({i.code for i in list_instruments()})
    conditions = list(CONDITIONS)
    weights = [CONDITIONS[c][0] for c in conditions]
    engine = make_engine(url)
    key = audit_key(url)
    counts = dict(goals=0, sessions=0, measurements=0, audit=0)
    with engine.begin() as connection:
        if connection.scalar(select(Therapist.id).limit(1)) is not None:
            raise SystemExit(f"clinic_data: {url!r} already has accounts; generate into an empty, migrated database")
        password_hash = hash_password(PASSWORD)
        connection.execute(insert(Therapist), [
            {"id": t + 1, "username": f"mt{t:03d}", "password_hash": password_hash,
             "role": "admin" if t == 0 else "therapist", "active": True, "qualification": "MT-BC",
             "created_at": dt.datetime.combine(first_day, dt.time(9), dt.UTC)} for t in range(therapists)])
    usernames = {t + 1: f"mt{t:03d}" for t in range(therapists)}
    ids = dict(goal=0, session=0, measurement=0, audit=0, intervention=0)

    def event(at: dt.datetime, actor: int, action: str, entity: str, entity_id: int, client_id: int) -> dict:
        ids["audit"] += 1
        return {"id": ids["audit"], "actor_id": actor, "actor_username": usernames[actor], "action": action,
                "entity": entity, "entity_id": entity_id, "client_id": client_id, "at": at}

    for first in range(0, clients, batch_clients):
        rows: dict[str, list[dict]] = {"client": [], "goal": [], "session": [], "intervention": [], "measurement": [],
                                       "audit": []}
        for c in range(first, min(clients, first + batch_clients)):
            client_id = c + 1
            therapist_id = 1 + (c % therapists)
            condition = rng.choices(conditions, weights)[0]
            instruments, interventions = plan[condition]
            start = first_day + dt.timedelta(days=rng.randrange(max(1, (today - first_day).days - 7)))
            opened = dt.datetime.combine(start, dt.time(9, rng.randrange(60)), dt.UTC)
            birth_year = rng.randint(*BIRTH_YEARS.get(condition, (1940, 2006)))
            age = start.year - birth_year - 1  # the youngest the client can be at the first session
            instruments = tuple(i for i in instruments if (get_instrument(i).min_age_years or 0) <= age) \
                or ("vas_anxiety",)
            rows["client"].append({"id": client_id, "therapist_id": therapist_id, "code": f"CL{client_id:05d}",
                                   "birth_year": birth_year, "conditions": [condition],
                                   "safety_flags": [], "created_at": opened, "updated_at": opened})
            rows["audit"].append(event(opened, therapist_id, "create", "client", client_id, client_id))
            goals = []
            for code in rng.sample(instruments, k=min(len(instruments), rng.choice((1, 1, 2)))):
                ids["goal"] += 1
                baseline, _ = _value(rng, code, 0)
                direction = get_instrument(code).better or "increase"
                target = baseline * (0.7 if direction == "decrease" else 1.15)
                goals.append((ids["goal"], code))
                rows["goal"].append({"id": ids["goal"], "client_id": client_id, "instrument_code": code,
                                     "description": f"{code} toward target", "baseline": baseline,
                                     "target": round(target, 1), "direction": direction, "created_at": opened})
                rows["audit"].append(event(opened, therapist_id, "create", "goal", ids["goal"], client_id))
            weeks = min(int(rng.expovariate(1 / 20)) + 1, 104)
            for week in range(weeks):
                day = start + dt.timedelta(days=7 * week + 1)
                if day >= today:
                    break
                if rng.random() > 0.8:
                    continue
                ids["session"] += 1
                session_id = ids["session"]
                at = dt.datetime.combine(day, dt.time(10 + rng.randrange(7)), dt.UTC)
                recent = (today - day).days < 28
                signed = not (recent and rng.random() < 0.3)
                session = {"id": session_id, "client_id": client_id, "therapist_id": therapist_id,
                           "session_date": day, "minutes": rng.choice((30, 45, 45, 60)),
                           "intervention_code": rng.choice(interventions), "setting": "",
                           "soap_subjective": rng.choice(SENTENCES), "soap_objective": rng.choice(SENTENCES),
                           "soap_assessment": rng.choice(SENTENCES), "soap_plan": SENTENCES[-1],
                           "created_at": at, "version": 1, "updated_at": None,
                           "signed_at": at + dt.timedelta(hours=2) if signed else None,
                           "signed_by_id": therapist_id if signed else None, "content_sha256": None}
                measured = []
                for goal_id, code in goals:
                    if rng.random() < 0.75:
                        ids["measurement"] += 1
                        value, unit = _value(rng, code, week)
                        measured.append({"id": ids["measurement"], "session_id": session_id,
                                         "client_id": client_id, "goal_id": goal_id, "instrument_code": code,
                                         "value": value, "unit": unit, "item_responses": None,
                                         "severity_band": None, "safety_followup": False,
                                         "timed_distance_m": None, "measured_at": at, "created_at": at})
                ids["intervention"] += 1
                rows["intervention"].append({"id": ids["intervention"], "session_id": session_id, "position": 0,
                                             "intervention_code": session["intervention_code"],
                                             "minutes": session["minutes"]})
                if signed:
                    row = SimpleNamespace(**session, measurements=[SimpleNamespace(**m) for m in measured],
                                          intervention_minutes=[(session["intervention_code"], session["minutes"])])
                    session["content_sha256"] = service.content_sha256(
                        service.note_content(row, signed_by_username=usernames[therapist_id]))
                rows["session"].append(session)
                rows["measurement"].extend(measured)
                rows["audit"].append(event(at, therapist_id, "create", "therapy_session", session_id, client_id))
                for m in measured:
                    rows["audit"].append(event(at, therapist_id, "create", "measurement", m["id"], client_id))
                rows["audit"].append(event(at + dt.timedelta(minutes=5), therapist_id, "read", "client",
                                           client_id, client_id))
        with engine.begin() as connection:
            connection.execute(insert(Client), rows["client"])
            if rows["goal"]:
                connection.execute(insert(Goal), rows["goal"])
            if rows["session"]:
                connection.execute(insert(TherapySession), rows["session"])
                connection.execute(insert(SessionIntervention), rows["intervention"])
            if rows["measurement"]:
                connection.execute(insert(Measurement), rows["measurement"])
            connection.execute(insert(AuditEvent), rows["audit"])
            append_seals(connection, [e["id"] for e in rows["audit"]], key=key)
        counts["goals"] += len(rows["goal"])
        counts["sessions"] += len(rows["session"])
        counts["measurements"] += len(rows["measurement"])
        counts["audit"] += len(rows["audit"])
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in (Therapist, Client, Goal, TherapySession, SessionIntervention, Measurement, AuditEvent):
                name = table.__tablename__
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                        f"COALESCE((SELECT max(id) FROM {name}), 1))"))
            connection.execute(text("ANALYZE"))
    engine.dispose()
    del AuditSeal  # imported so its table is part of the metadata the record declares
    return Generated(therapists=therapists, clients=clients, goals=counts["goals"], sessions=counts["sessions"],
                     measurements=counts["measurements"], audit_events=counts["audit"],
                     seconds=time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a migrated, empty database (SQLite or PostgreSQL URL)")
    parser.add_argument("--therapists", type=int, default=100)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (1 <= args.therapists <= 10_000 and 1 <= args.clients <= 1_000_000 and 0 < args.years <= 50):
        print("clinic_data: need 1..10000 --therapists, 1..1000000 --clients, 0 < --years <= 50", file=sys.stderr)
        return 2
    from cadenza.clinic.db import migrate

    migrate(args.url)
    made = generate(args.url, therapists=args.therapists, clients=args.clients, years=args.years, seed=args.seed)
    if args.json:
        print(json.dumps(made.__dict__))
    else:
        print(f"{made.therapists} therapists, {made.clients} clients, {made.goals} goals, {made.sessions} sessions, "
              f"{made.measurements} measurements, {made.audit_events} audit events in {made.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
