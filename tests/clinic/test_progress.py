"""Progress: numbers per goal, the chart read back from its SVG, the HTML summary."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import matplotlib.dates as mdates
import numpy as np
import pytest

from cadenza.clinic import service
from cadenza.clinic.models import Goal
from cadenza.clinic.progress import (
    client_progress,
    compute_progress,
    goal_progress,
    progress_figure,
    render_figure,
    render_progress_chart,
    render_progress_html,
)
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
DATES = [dt.date(2026, 10, 5), dt.date(2026, 10, 12), dt.date(2026, 10, 19), dt.date(2026, 11, 2)]


def _goal(direction="decrease", baseline=62.0, target=40.0, code="vas_anxiety"):
    return Goal(id=7, instrument_code=code, baseline=baseline, target=target, direction=direction,
                description="calmer before chemotherapy")


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "latest", "met"),
    [("decrease", 62, 40, 40, True), ("decrease", 62, 40, 40.5, False), ("decrease", 62, 40, 20, True),
     ("increase", 0.8, 1.0, 1.0, True), ("increase", 0.8, 1.0, 0.99, False)],
)
def test_target_met_respects_direction(direction, baseline, target, latest, met):
    code = "vas_anxiety" if direction == "decrease" else "gait_speed"
    progress = compute_progress(_goal(direction, baseline, target, code), [(DATES[0], baseline), (DATES[1], latest)])
    assert progress.target_met is met
    assert progress.change == pytest.approx(latest - baseline)
    expected_improvement = latest - baseline if direction == "increase" else baseline - latest
    assert progress.improvement == pytest.approx(expected_improvement)


def test_latest_not_best_decides():
    progress = compute_progress(_goal(), [(DATES[0], 35.0), (DATES[1], 50.0)])
    assert not progress.target_met
    assert progress.fraction_of_target == pytest.approx((50 - 62) / (40 - 62))


def test_no_measurements_is_nan_not_an_error():
    progress = compute_progress(_goal(), [])
    assert np.isnan(progress.latest) and np.isnan(progress.change) and not progress.target_met
    assert render_progress_chart(progress, fmt="png").startswith(b"\x89PNG")


def test_points_are_sorted_by_date():
    progress = compute_progress(_goal(), [(DATES[2], 45.0), (DATES[0], 60.0)])
    assert [p.value for p in progress.points] == [60.0, 45.0]


def _marker_positions(svg: bytes, gid: str) -> list[tuple[float, float]]:
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == gid)
    return [(float(u.get("x")), float(u.get("y"))) for u in group.iter(f"{SVG_NS}use")]


def _hline_y(svg: bytes, gid: str) -> float:
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == gid)
    path = next(group.iter(f"{SVG_NS}path"))
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d"))]
    ys = numbers[1::2]
    assert max(ys) - min(ys) < 1e-6  # horizontal
    return ys[0]


def test_chart_values_read_back_from_svg():
    values = [62.0, 55.5, 48.0, 41.25]
    progress = compute_progress(_goal(), list(zip(DATES, values, strict=True)))
    figure = progress_figure(progress)
    svg = render_figure(figure, fmt="svg")
    points_svg = _marker_positions(svg, "measurements")
    assert len(points_svg) == len(values)

    # SVG user units are points (72 per inch) with y downwards; map back to display pixels, then data.
    axes = figure.axes[0]
    scale = figure.dpi / 72.0
    height_px = figure.bbox.height
    display = np.array([(x * scale, height_px - y * scale) for x, y in points_svg])
    data = axes.transData.inverted().transform(display)
    assert data[:, 1] == pytest.approx(values, abs=0.01)
    assert data[:, 0] == pytest.approx(mdates.date2num(DATES), abs=0.01)  # days

    # Independent check without matplotlib's transform: calibrate y on the baseline and target lines.
    y_base, y_target = _hline_y(svg, "baseline"), _hline_y(svg, "target")
    slope = (62.0 - 40.0) / (y_base - y_target)
    recovered = [40.0 + (y - y_target) * slope for _, y in points_svg]
    assert recovered == pytest.approx(values, abs=0.01)


def test_target_date_line_is_drawn_at_the_target_date():
    goal = Goal(id=8, instrument_code="gait_speed", baseline=0.8, target=1.0, direction="increase",
                target_date=dt.date(2026, 12, 31), description="")
    progress = compute_progress(goal, [(DATES[0], 0.82), (DATES[3], 0.9)])
    figure = progress_figure(progress)
    svg = render_figure(figure, fmt="svg")
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == "target_date")
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", next(group.iter(f"{SVG_NS}path")).get("d"))]
    x_px = numbers[0] * figure.dpi / 72.0
    x_data = figure.axes[0].transData.inverted().transform((x_px, 0))[0]
    assert x_data == pytest.approx(mdates.date2num(dt.date(2026, 12, 31)), abs=0.01)
    assert b'id="target_date"' not in render_progress_chart(compute_progress(_goal(), [(DATES[0], 50.0)]))


def test_chart_formats():
    progress = compute_progress(_goal(), [(DATES[0], 50.0)])
    assert render_progress_chart(progress, fmt="png")[:4] == b"\x89PNG"
    svg = render_progress_chart(progress, fmt="svg")
    assert b"<svg" in svg and svg == render_progress_chart(progress, fmt="svg")  # reproducible
    with pytest.raises(ParameterError, match="fmt"):
        render_progress_chart(progress, fmt="gif")


def test_html_summary_is_readable_and_escaped():
    progress = compute_progress(
        Goal(id=3, instrument_code="gait_speed", baseline=0.8, target=1.0, direction="increase",
             description="walk to the <garden> unaided"),
        [(DATES[0], 0.85), (DATES[1], 1.02)])
    html = render_progress_html([progress], client_code="C001", generated_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    assert "Progress summary for client C001" in html
    assert "&lt;garden&gt;" in html and "<garden>" not in html
    assert '<span class="met">met</span>' in html
    assert "+0.22 m/s" in html and "110 %" in html
    assert html.count("<svg") == 1
    assert "adjunct to care" in html
    # Clinical review M6: +0.22 m/s against the 0.10 m/s MCID, with its (recalled) source.
    assert "Clinically important?" in html and "meets the MCID" in html and "Perera" in html


def test_goal_progress_from_the_database(db_session, therapist, client_record, make_therapist):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="nrs_pain",
                               baseline=7, target=4, description="pain during physiotherapy")
    at_rest = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="nrs_pain",
                                  baseline=9, target=5, description="pain at rest")
    for day, value in [(DATES[1], 6), (DATES[0], 7), (DATES[2], 4)]:
        service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=day, minutes=30,
                               intervention_code="receptive_listening",
                               measurements=[MeasurementInput("nrs_pain", value=value, goal_id=goal.id),
                                             MeasurementInput("nrs_pain", value=9, goal_id=at_rest.id)])  # the other goal's
    progress = goal_progress(db_session, actor=therapist, goal_id=goal.id)
    assert [p.value for p in progress.points] == [7.0, 6.0, 4.0]
    assert progress.target_met
    assert [p.goal_id for p in client_progress(db_session, actor=therapist, client_id=client_record.id)] == [
        goal.id, at_rest.id]
    with pytest.raises(NotFoundError):
        goal_progress(db_session, actor=make_therapist("other"), goal_id=goal.id)
