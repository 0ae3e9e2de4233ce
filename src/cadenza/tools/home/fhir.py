"""The home programme in FHIR R4B: one ``CarePlan`` (its activities are the tasks, with their schedule)
and one ``Observation`` per completion (the ratings before and after as components, the minutes played
as the value), each ``basedOn`` the CarePlan. A measured task's completion (tapping, singing) also names
the figures it produced, the Observations of its client-recorded session, as ``hasMember`` (the record's
export gives that session as patient-reported). Called by the record's export through the manifest's
``fhir`` hook; the client is already authorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.models import Client, Measurement, TherapySession
from cadenza.tools.home import records
from cadenza.tools.home.records import RATINGS, HomeTask, TaskCompletion

BASE = "https://cadenza.example.org/fhir"
TASK_SYSTEM = f"{BASE}/CodeSystem/home-task"
RATING_SYSTEM = f"{BASE}/CodeSystem/home-rating"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
TASK_NAMES = {"listening": "Listening to their own music at home", "relaxation": "Music-assisted relaxation at home",
              "ras_walk": "Walking to a rhythmic cue at home (RAS)",
              "mit_practice": "Melodic Intonation Therapy practice at home"}


def _task_name(kind: str) -> str:
    """The display name of a task kind: the home programme's own, or the title the providing tool gives."""
    from cadenza.tools.home.actions import provided_kinds

    provided = provided_kinds().get(kind)
    return TASK_NAMES.get(kind) or (f"{provided.title} at home" if provided else kind)


def _instant(moment) -> str:
    return records._aware(moment).isoformat()


def _activity(task: HomeTask) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "kind": "Task",
        "code": {"coding": [{"system": TASK_SYSTEM, "code": task.kind, "display": _task_name(task.kind)}],
                 "text": task.title},
        "status": "in-progress" if task.active else "stopped",
        "scheduledTiming": {"repeat": {"frequency": task.days_per_week, "period": 1, "periodUnit": "wk",
                                       "duration": task.minutes, "durationUnit": "min",
                                       "boundsPeriod": {"start": task.start_date.isoformat(),
                                                        **({"end": task.end_date.isoformat()} if task.end_date else {})}}},
        "description": task.instructions or task.title,
    }
    return {"detail": detail}


def _observation(completion: TaskCompletion, task: HomeTask, patient_id: str, plan_id: str,
                 measured: Sequence[int] = ()) -> dict[str, Any]:
    components = []
    for phase, values in (("before", completion.before), ("after", completion.after)):
        for code, value in values.items():
            label, low, high, _, _ = RATINGS[code]
            components.append({
                "code": {"coding": [{"system": RATING_SYSTEM, "code": f"{code}-{phase}",
                                     "display": f"{label} ({phase} the task)"}]},
                "valueQuantity": {"value": value, "unit": "{score}", "system": "http://unitsofmeasure.org",
                                  "code": "{score}"},
                "referenceRange": [{"low": {"value": low}, "high": {"value": high}}],
            })
    return {
        "resourceType": "Observation",
        "id": f"home-completion-{completion.id}",
        "status": "final",
        "basedOn": [{"reference": f"CarePlan/{plan_id}"}],
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [{"system": TASK_SYSTEM, "code": f"{task.kind}-done", "display": f"{_task_name(task.kind)}: done"}],
                 "text": task.title},
        "subject": {"reference": f"Patient/{patient_id}"},
        "performer": [{"reference": f"Patient/{patient_id}"}],  # reported by the person (or their caregiver)
        "effectiveDateTime": _instant(completion.completed_at),
        "issued": _instant(completion.received_at),
        "valueQuantity": {"value": round(completion.played_s / 60, 2), "unit": "min", "system": "http://unitsofmeasure.org",
                          "code": "min"},
        **({"component": components} if components else {}),
        **({"hasMember": [{"reference": f"Observation/observation-{mid}"} for mid in measured]} if measured else {}),
    }


def resources(db: Session, client: Client, patient_id: str) -> list[dict[str, Any]]:
    tasks = records.client_tasks(db, client.id)
    if not tasks:
        return []
    plan_id = f"home-programme-{client.id}"
    plan = {
        "resourceType": "CarePlan",
        "id": plan_id,
        "status": "active" if any(t.active for t in tasks) else "completed",
        "intent": "plan",
        "title": "Home programme",
        "description": "Music tasks between sessions, followed by the person in their app; an adjunct to care.",
        "subject": {"reference": f"Patient/{patient_id}"},
        "created": _instant(min(t.created_at for t in tasks)),
        "activity": [_activity(t) for t in tasks],
    }
    by_id = {t.id: t for t in tasks}
    completions = records.client_completions(db, client.id)
    measured: dict[int, list[int]] = {}  # session id -> its measurements' ids (removed ones are not exported)
    session_ids = sorted({c.session_id for c in completions if c.session_id is not None})
    if session_ids:
        for measurement_id, session_id in db.execute(
                select(Measurement.id, Measurement.session_id).join(TherapySession)
                .where(TherapySession.id.in_(session_ids)).order_by(Measurement.id)):
            measured.setdefault(session_id, []).append(measurement_id)
    observations = [_observation(c, by_id[c.task_id], patient_id, plan_id, measured.get(c.session_id, []))
                    for c in completions]
    return [plan, *observations]
