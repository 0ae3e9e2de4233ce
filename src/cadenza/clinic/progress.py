"""Progress towards measurable goals: numbers, a chart (SVG/PNG) and a readable HTML summary.

A goal's progress uses the measurements recorded *towards that goal* (``Measurement.goal_id``), in
session order. "Target met" compares the latest measurement with the target in the goal's direction
of improvement (a single good day earlier in the series does not count).

In the SVG chart the plotted elements carry ids, so the values can be read back: ``measurements``
(the series; one marker per point), ``baseline`` and ``target`` (horizontal lines) and, when the goal
has one, ``target_date`` (a vertical line).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.change import ChangeCheck, check_change
from cadenza.clinic.instruments import get_instrument
from cadenza.clinic.models import Goal, Measurement, Therapist, TherapySession, measurement_order
from cadenza.clinic.access import get_client_for_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.service import get_goal, goal_measurement_where
from cadenza.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHART_FORMATS = ("svg", "png")


@dataclass(frozen=True)
class ProgressPoint:
    session_date: dt.date
    value: float
    change: float  # value - baseline, in the instrument's unit


@dataclass(frozen=True)
class GoalProgress:
    goal_id: int
    instrument_code: str
    instrument_name: str
    unit: str
    description: str
    baseline: float
    target: float
    direction: str
    target_date: dt.date | None
    points: tuple[ProgressPoint, ...]

    @property
    def latest(self) -> float:
        return self.points[-1].value if self.points else math.nan

    @property
    def change(self) -> float:
        """Latest minus baseline (NaN before the first measurement)."""
        return self.latest - self.baseline

    @property
    def improvement(self) -> float:
        """Change signed so that positive is better, whatever the direction."""
        return self.change if self.direction == "increase" else -self.change

    @property
    def fraction_of_target(self) -> float:
        """Share of the way from baseline to target reached by the latest measurement (1.0 = reached)."""
        return self.change / (self.target - self.baseline)

    @property
    def change_check(self) -> ChangeCheck | None:
        """The change against the instrument's MCID and reliable change (clinical review M6); None without
        a measurement or a recorded threshold."""
        if not self.points:
            return None
        return check_change(self.instrument_code, baseline=self.baseline, latest=self.latest, direction=self.direction)

    @property
    def target_met(self) -> bool:
        if not self.points:
            return False
        if self.direction == "increase":
            return self.latest >= self.target
        return self.latest <= self.target


def compute_progress(goal: Goal, measurements: Sequence[tuple[dt.date, float]]) -> GoalProgress:
    """Progress of ``goal`` from ``(session_date, value)`` pairs (sorted here by date, stable).

    >>> g = Goal(id=1, instrument_code="gait_speed", baseline=0.8, target=1.0, direction="increase", description="")
    >>> p = compute_progress(g, [(dt.date(2026, 11, 2), 0.85), (dt.date(2026, 11, 9), 1.02)])
    >>> (round(p.change, 2), p.target_met, round(p.fraction_of_target, 2))
    (0.22, True, 1.1)
    """
    instrument = get_instrument(goal.instrument_code)
    points = []
    for session_date, value in sorted(measurements, key=lambda pair: pair[0]):
        if not isinstance(session_date, dt.date):
            raise ParameterError(f"session_date must be a date, got {session_date!r}")
        if not math.isfinite(value):
            raise ParameterError(f"measurement value must be finite, got {value!r}")
        points.append(ProgressPoint(session_date=session_date, value=float(value), change=float(value) - goal.baseline))
    return GoalProgress(
        goal_id=goal.id,
        instrument_code=goal.instrument_code,
        instrument_name=instrument.name,
        unit=instrument.unit,
        description=goal.description or "",
        baseline=goal.baseline,
        target=goal.target,
        direction=goal.direction,
        target_date=goal.target_date,
        points=tuple(points),
    )


def goal_progress(db: Session, *, actor: Therapist, goal_id: int) -> GoalProgress:
    """Progress of one goal the actor may see (audited as a read)."""
    goal = get_goal(db, actor=actor, goal_id=goal_id)
    rows = db.execute(
        select(TherapySession.session_date, Measurement.value)
        .join(TherapySession, Measurement.session_id == TherapySession.id)
        .where(*goal_measurement_where(goal))  # every value on the goal's instrument counts
        .order_by(*measurement_order())
    ).all()
    audit(db, actor, "read", "measurement", entity_id=None, client_id=goal.client_id)
    return compute_progress(goal, [(d, v) for d, v in rows])


def client_progress(db: Session, *, actor: Therapist, client_id: int) -> list[GoalProgress]:
    client = get_client_for_actor(db, actor=actor, client_id=client_id)
    goal_ids = db.scalars(select(Goal.id).where(Goal.client_id == client.id).order_by(Goal.id)).all()
    return [goal_progress(db, actor=actor, goal_id=goal_id) for goal_id in goal_ids]


def _unit_label(unit: str) -> str:
    return {"{score}": "score", "{steps}/min": "steps/min", "1": ""}.get(unit, unit)


CHART_MIN_PAD = dt.timedelta(days=3)


def _set_date_span(axes: Any, shown: list[dt.date]) -> None:
    """x from the first to the last date shown, padded: matplotlib's own autoscale spans years around a
    lone point once an axvline (the target date) is drawn, and 1970 when nothing is dated."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import NullLocator

    if not shown:
        axes.xaxis.set_major_locator(NullLocator())
        return
    first, last = min(shown), max(shown)
    pad = max(CHART_MIN_PAD, (last - first) * 0.05)
    axes.set_xlim(first - pad, last + pad)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))


def progress_figure(progress: GoalProgress) -> Figure:
    """The chart as a matplotlib Figure (Agg, no pyplot): series, baseline and target lines."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.6), dpi=100)
    axes = figure.add_subplot()
    axes.axhline(progress.baseline, color="#888888", linestyle="--", linewidth=1.2,
                 label=f"baseline {progress.baseline:g}", gid="baseline")
    axes.axhline(progress.target, color="#1b7f3b", linestyle="-.", linewidth=1.2,
                 label=f"target {progress.target:g}", gid="target")
    if progress.points:
        dates = [p.session_date for p in progress.points]
        values = [p.value for p in progress.points]
        axes.plot(dates, values, marker="o", color="#1f4e9c", linewidth=1.6, label="measured", gid="measurements")
    else:
        axes.text(0.5, 0.5, "no measurements yet", transform=axes.transAxes, ha="center", va="center")
    if progress.target_date is not None:
        axes.axvline(progress.target_date, color="#1b7f3b", linestyle=":", linewidth=1.2,
                     label=f"target date {progress.target_date.isoformat()}", gid="target_date")
    _set_date_span(axes, [p.session_date for p in progress.points]
                   + ([progress.target_date] if progress.target_date else []))
    label = _unit_label(progress.unit)
    axes.set_ylabel(f"{progress.instrument_code}" + (f" ({label})" if label else ""))
    better = "higher is better" if progress.direction == "increase" else "lower is better"
    axes.set_title(f"{progress.instrument_name}: {better}", fontsize=10)
    axes.legend(loc="best", fontsize=8)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def render_figure(figure: Figure, *, fmt: str = "svg") -> bytes:
    if fmt not in CHART_FORMATS:
        raise ParameterError(f"fmt must be one of {CHART_FORMATS}, got {fmt!r}")
    import matplotlib

    buffer = io.BytesIO()
    # A fixed salt and no date make the SVG reproducible byte for byte.
    with matplotlib.rc_context({"svg.hashsalt": "cadenza", "svg.fonttype": "none"}):
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
        figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def render_progress_chart(progress: GoalProgress, *, fmt: str = "svg") -> bytes:
    """The progress chart as SVG or PNG bytes."""
    return render_figure(progress_figure(progress), fmt=fmt)


def render_progress_html(progresses: Sequence[GoalProgress], *, client_code: str,
                         generated_at: dt.datetime | None = None) -> str:
    """A self-contained HTML page: one section per goal with its numbers, verdict and inline SVG chart."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=PackageLoader("cadenza.clinic", "templates"), autoescape=select_autoescape(["html"]))
    sections = []
    for progress in progresses:
        svg = render_progress_chart(progress, fmt="svg").decode("utf-8")
        svg = svg[svg.index("<svg"):]  # drop the XML prolog and doctype for inline use
        # The SVG is matplotlib's (it escapes its text); its labels come from the instrument registry.
        sections.append({"p": progress, "svg": Markup(svg), "unit": _unit_label(progress.unit)})  # nosec B704
    return env.get_template("progress.html").render(
        client_code=client_code,
        sections=sections,
        generated_at=(generated_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )
