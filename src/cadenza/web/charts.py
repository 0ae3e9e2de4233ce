"""Progress charts as PNG images (matplotlib's object API with the Agg canvas; no pyplot state)."""

from __future__ import annotations

import io

from cadenza.clinic.dashboard import GoalSeries

CHART_SIZE_IN = (6.4, 3.2)
CHART_DPI = 100


def render_goal_chart_png(series: GoalSeries, *, title: str) -> bytes:
    """Values over session dates with the baseline and target as reference lines."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=CHART_SIZE_IN, dpi=CHART_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    goal = series.goal
    ax.axhline(goal.baseline, color="#8a93a3", linestyle="--", linewidth=1, label=f"baseline {goal.baseline:g}")
    ax.axhline(goal.target, color="#1f7a3f", linestyle="-", linewidth=1.5, label=f"target {goal.target:g}")
    if series.values:
        ax.plot(series.dates, series.values, marker="o", color="#2d5fa8", linewidth=2, label="measured")
        figure.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, "no measurements yet", ha="center", va="center", transform=ax.transAxes, color="#5b6475")
        ax.set_xticks([])
    better = "lower is better" if goal.direction == "decrease" else "higher is better"
    ax.set_title(f"{title} ({better})", fontsize=11)
    ax.set_ylabel(series.unit.strip("{}") or "value")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
