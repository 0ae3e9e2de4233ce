"""The monthly family and caregiver report: the goals, the home programme done, how the person felt
before and after, and what music can and cannot do, in plain words (reading grade 8 or lower,
measured by :func:`cadenza.tools.home.readability.reading_grade` in the tests).

Every number in the report comes from a record entry and the report says which: goal values name
their measurement ids, task figures name their completion ids (the last section, "Where the numbers
come from"). The client is identified by their code only; no name is stored or printed.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.models import Client, Goal, Measurement, TherapySession, utcnow
from cadenza.clinic.service import goal_measurement_where
from cadenza.errors import ParameterError
from cadenza.tools.home import records
from cadenza.tools.home.actions import HIGHER_IS_WORSE, _planned_days
from cadenza.tools.home.records import RATINGS, TaskCompletion

# What each rating is called in the report's plain words, and its scale.
PLAIN_RATING = {"vas_anxiety": ("worry", 100), "nrs_pain": ("pain", 10), "mood": ("mood", 10)}
EVIDENCE_IDS = {"listening": ("bradt2013_preoperative", "cepeda2006_pain", "aalbers2017_depression"),
                "relaxation": ("bradt2013_preoperative", "jespersen2022_insomnia"),
                "ras_walk": ("thaut1996_parkinson_ras",), "mit_practice": ("schlaug2008_mit",)}


@dataclass(frozen=True)
class GoalLine:
    goal_id: int
    what: str  # the goal in the therapist's words, else the measure's name
    baseline: float
    target: float
    latest: float | None
    latest_on: dt.date | None
    measurement_ids: tuple[int, ...]  # this month's values of the goal, oldest first
    better: str  # "higher" or "lower"


@dataclass(frozen=True)
class RatingChange:
    code: str
    before: float
    after: float
    pairs: int  # completions with both ratings


@dataclass
class TaskLine:
    task_id: int
    title: str
    planned_days: int
    done_days: int
    completion_ids: tuple[int, ...]
    changes: list[RatingChange] = field(default_factory=list)


@dataclass
class FamilyReport:
    client_code: str
    month_start: dt.date
    month_end: dt.date
    made_at: dt.datetime
    goals: list[GoalLine]
    tasks: list[TaskLine]
    completions: list[TaskCompletion]
    evidence: list[Any]  # catalog entries cited
    chart_uri: str  # the days done per week, an SVG data URI ("" without completions)

    @property
    def month_name(self) -> str:
        return f"{calendar.month_name[self.month_start.month]} {self.month_start.year}"


def parse_month(value: str | None, *, today: dt.date | None = None) -> dt.date:
    """The first day of ``value`` (``YYYY-MM``); the current month when empty."""
    today = today or utcnow().date()
    if not value:
        return today.replace(day=1)
    try:
        start = dt.datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise ParameterError(f"month must be YYYY-MM, e.g. 2026-11, got {value[:20]!r}") from None
    if start > today:
        raise ParameterError(f"month must not be in the future, got {value!r}")
    return start


def build_report(db: Session, client: Client, *, month: dt.date, now: dt.datetime | None = None) -> FamilyReport:
    """The report of ``client`` (already authorised by the caller) for the month starting ``month``."""
    from cadenza.evidence.query import get_entry

    now = now or utcnow()
    start = month.replace(day=1)
    end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    last_day = min(end, now.date())
    since = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    completions = [c for c in records.client_completions(db, client.id, since=since)
                   if records._aware(c.completed_at) < until]
    tasks = []
    for task in records.client_tasks(db, client.id):
        mine = [c for c in completions if c.task_id == task.id]
        planned = _planned_days(task, start, last_day)
        if not mine and (planned == 0 or not task.active):
            continue
        line = TaskLine(task.id, task.title, planned, len({records._aware(c.completed_at).date() for c in mine}),
                        tuple(c.id for c in mine))
        for code in task.ratings:
            pairs = [(c.before[code], c.after[code]) for c in mine if code in c.before and code in c.after]
            if pairs:
                line.changes.append(RatingChange(code, fmean(b for b, _ in pairs), fmean(a for _, a in pairs), len(pairs)))
        tasks.append(line)
    kinds = {task.kind for task in records.client_tasks(db, client.id) if any(t.task_id == task.id for t in tasks)}
    cited = []
    for kind in sorted(kinds):
        for entry_id in EVIDENCE_IDS.get(kind, ()):
            if entry_id not in [e.id for e in cited]:
                cited.append(get_entry(entry_id))
    return FamilyReport(client.code, start, end, now, _goal_lines(db, client, start, end), tasks, completions, cited,
                        _chart(tasks, completions, start, end))


def _goal_lines(db: Session, client: Client, start: dt.date, end: dt.date) -> list[GoalLine]:
    from cadenza.clinic.instruments import get_instrument

    lines = []
    for goal in db.scalars(select(Goal).where(Goal.client_id == client.id).order_by(Goal.id)):
        rows = db.execute(
            select(Measurement.id, Measurement.value, TherapySession.session_date)
            .join(TherapySession, Measurement.session_id == TherapySession.id)
            .where(*goal_measurement_where(goal), TherapySession.session_date <= end)  # as progress counts them
            .order_by(TherapySession.session_date, Measurement.id)).all()
        latest = rows[-1] if rows else None
        this_month = tuple(r.id for r in rows if r.session_date >= start)
        lines.append(GoalLine(goal.id, goal.description or get_instrument(goal.instrument_code).name, goal.baseline,
                              goal.target, latest.value if latest else None, latest.session_date if latest else None,
                              this_month, "higher" if goal.direction == "increase" else "lower"))
    return lines


def _chart(tasks: list[TaskLine], completions: list[TaskCompletion], start: dt.date, end: dt.date) -> str:
    """Days done per week for each task: a small bar chart as an SVG data URI (readable in print)."""
    if not completions:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    weeks = []
    day = start
    while day <= end:
        weeks.append(day)
        day += dt.timedelta(days=7)
    fig = Figure(figsize=(6.0, 2.6))
    ax = fig.subplots()
    width = 0.8 / max(len(tasks), 1)
    for i, task in enumerate(tasks):
        days = {records._aware(c.completed_at).date() for c in completions if c.task_id == task.task_id}
        counts = [sum(1 for d in days if w <= d < w + dt.timedelta(days=7)) for w in weeks]
        ax.bar([k + i * width for k in range(len(weeks))], counts, width=width, label=task.title)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(weeks))], [f"from {w.day} {w:%b}" for w in weeks])
    ax.set_ylabel("days done")
    ax.set_ylim(0, 7)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue().encode()).decode()


def plain_change(change: RatingChange) -> str:
    """One sentence on a before/after change, e.g. "Worry was 52 out of 100 before and 31 after (a better result)"."""
    word, top = PLAIN_RATING[change.code]
    worse = (change.after > change.before) if HIGHER_IS_WORSE[change.code] else (change.after < change.before)
    verdict = "about the same" if math.isclose(change.before, change.after, abs_tol=0.05 * top) else (
        "worse" if worse else "better")
    return (f"{word.capitalize()} was {change.before:.0f} out of {top} before and {change.after:.0f} after, on average "
            f"over {change.pairs} time{'s' if change.pairs != 1 else ''}. That is {verdict}.")


def render_html(report: FamilyReport) -> str:
    from cadenza.web.templating import templates

    return templates.env.get_template("home/family_report.html").render(
        r=report, plain_change=plain_change, ratings=RATINGS)


def render_pdf(report: FamilyReport) -> bytes:
    """The report as a PDF (WeasyPrint, the ``pdf`` extra: ``pip install cadenza[pdf]``)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint installed without Pango
        raise ParameterError(f"the PDF needs WeasyPrint and Pango (pip install 'cadenza[pdf]'): {exc}") from None
    from pathlib import Path

    static = Path(__file__).with_name("static")  # report.css
    return weasyprint.HTML(string=render_html(report), base_url=str(static) + "/").write_pdf()


@dataclass
class ReferralLetter:
    """What the person has logged, for their doctor, with the request to see a music therapist."""

    made_at: dt.datetime
    since: dt.date
    days_used: int
    tasks: list[TaskLine]
    self_care: bool


LETTER_WEEKS = 8


def build_letter(db: Session, client: Client, *, self_care: bool, now: dt.datetime | None = None) -> ReferralLetter:
    """A referral letter from the last :data:`LETTER_WEEKS` weeks of the person's own log."""
    now = now or utcnow()
    since = now.date() - dt.timedelta(weeks=LETTER_WEEKS)
    completions = [c for c in records.client_completions(db, client.id,
                                                         since=dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
                   if records._aware(c.completed_at) <= now]
    tasks = []
    for task in records.client_tasks(db, client.id):
        mine = [c for c in completions if c.task_id == task.id]
        if not mine:
            continue
        line = TaskLine(task.id, task.title, _planned_days(task, since, now.date()),
                        len({records._aware(c.completed_at).date() for c in mine}), tuple(c.id for c in mine))
        for code in task.ratings:
            pairs = [(c.before[code], c.after[code]) for c in mine if code in c.before and code in c.after]
            if pairs:
                line.changes.append(RatingChange(code, fmean(b for b, _ in pairs), fmean(a for _, a in pairs), len(pairs)))
        tasks.append(line)
    days = len({records._aware(c.completed_at).date() for c in completions})
    return ReferralLetter(now, since, days, tasks, self_care)


def render_letter_pdf(letter: ReferralLetter) -> bytes:
    from pathlib import Path

    from cadenza.web.templating import templates

    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise ParameterError(f"the PDF needs WeasyPrint and Pango (pip install 'cadenza[pdf]'): {exc}") from None
    html = templates.env.get_template("home/referral_letter.html").render(l=letter, plain_change=plain_change)
    return weasyprint.HTML(string=html, base_url=str(Path(__file__).with_name("static")) + "/").write_pdf()
