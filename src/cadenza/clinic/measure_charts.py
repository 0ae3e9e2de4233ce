"""A chart of one outcome measure over the sessions, goal or not (walk-through problem 4).

Readable on a phone: the instrument's name (not its code) on the title, the unit on the axis, no legend
over the plot (one series needs none), dates on the x axis.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cadenza.clinic.instruments import get_instrument
from cadenza.clinic.progress import render_figure
from cadenza.errors import NotFoundError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cadenza.clinic.dashboard import MeasureSeries

UNIT_LABELS = {"{score}": "score", "{steps}/min": "steps/min", "1": ""}


def measure_figure(series: MeasureSeries) -> Figure:
    """The measure's values by session date, with its name and which way is better in the title."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    try:
        instrument = get_instrument(series.instrument_code)
        name, unit, better = instrument.name, instrument.unit, instrument.better
    except NotFoundError:
        name, unit, better = series.instrument_code, "", None
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    axes = figure.add_subplot()
    if series.values:
        axes.plot(series.dates, series.values, marker="o", color="#1f4e9c", linewidth=1.6, gid="measurements")
        first, last = min(series.dates), max(series.dates)
        pad = max(dt.timedelta(days=3), (last - first) * 0.05)
        axes.set_xlim(first - pad, last + pad)
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    else:
        axes.text(0.5, 0.5, "no measurements yet", transform=axes.transAxes, ha="center", va="center")
    label = UNIT_LABELS.get(unit, unit)
    if label:
        axes.set_ylabel(label)
    title = name if better is None else f"{name}: {'higher' if better == 'increase' else 'lower'} is better"
    axes.set_title(title, fontsize=11)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def render_measure_chart(series: MeasureSeries, *, fmt: str = "png") -> bytes:
    """The chart as PNG or SVG bytes."""
    return render_figure(measure_figure(series), fmt=fmt)
