"""The progress chart's date axis spans the data (and target date), not years around a lone point."""

from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
import pytest

from cadenza.clinic.models import Goal
from cadenza.clinic.progress import compute_progress, progress_figure

POINT = dt.date(2026, 11, 20)


def _goal(target_date=None):
    return Goal(id=3, instrument_code="gait_speed", baseline=0.8, target=1.0, direction="increase",
                description="", target_date=target_date)


def _x_span(points, target_date=None) -> tuple[dt.date, dt.date, list[dt.date]]:
    axes = progress_figure(compute_progress(_goal(target_date), points)).axes[0]
    low, high = (mdates.num2date(x).date() for x in axes.get_xlim())
    ticks = [mdates.num2date(x).date() for x in axes.get_xticks()]
    return low, high, ticks


@pytest.mark.parametrize("target_date", [None, POINT, dt.date(2026, 12, 31)])
def test_single_point_spans_days_not_years(target_date):
    low, high, ticks = _x_span([(POINT, 0.9)], target_date)
    last = max(POINT, target_date or POINT)
    assert low == POINT - dt.timedelta(days=3)
    assert last < high <= last + dt.timedelta(days=4)
    assert ticks and all(low <= t <= high for t in ticks)
    assert {t.year for t in ticks} <= {2026, 2027}


def test_series_and_target_date_are_inside_with_a_margin():
    points = [(dt.date(2026, 1, 5), 0.82), (dt.date(2026, 6, 1), 0.9)]
    low, high, _ = _x_span(points, dt.date(2026, 12, 31))
    assert dt.date(2025, 12, 10) < low < dt.date(2026, 1, 5)  # 5 % of the 360-day span before the first point
    assert dt.date(2026, 12, 31) < high < dt.date(2027, 1, 25)


def test_nothing_dated_draws_no_date_ticks():
    _, _, ticks = _x_span([])
    assert ticks == []
