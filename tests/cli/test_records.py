"""`cadenza admin` and `cadenza client` end to end on a temporary SQLite data directory."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.cli.records import parse_measure
from cadenza.errors import ParameterError

PASSWORD = "a perfectly long passphrase"


@pytest.fixture
def run(cli):
    return cli


def test_admin_create_first_is_admin_then_therapist(run):
    first = run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    assert "ana (admin)" in first.output
    second = run("admin", "create", "bo", input=f"{PASSWORD}\n{PASSWORD}\n")  # prompt + confirmation
    assert second.exit_code == 0, second.output
    assert "bo (therapist)" in second.output
    listing = run("admin", "list")
    assert "ana" in listing.output and "bo" in listing.output


def test_admin_create_rejects_weak_password_and_duplicates(run):
    weak = run("admin", "create", "ana", "--password-stdin", input="short\n")
    assert weak.exit_code == 2 and "password" in weak.output
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    dup = run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n")
    assert dup.exit_code == 1 and "already taken" in dup.output


def test_client_workflow_and_exports(run, tmp_path):
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert run("admin", "create", "bo", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    added = run("client", "add", "C7", "--birth-year", "1944", "--condition", "Parkinson's disease",
                "--flag", "hearing_loss", user="ana")
    assert added.exit_code == 0, added.output
    goal = run("client", "goal", "C7", "--instrument", "gait_speed", "--baseline", "0.8", "--target", "1.0",
               "--by", "2027-01-31", user="ana")
    assert goal.exit_code == 0, goal.output
    session = run("client", "session", "C7", "--date", "2026-11-02", "--minutes", "45",
                  "--intervention", "ras_gait_training", "-P", "raise tempo",
                  "-m", "gait_speed=0.91@1", "-m", "phq9=0,1,0,0,0,0,0,0,2", user="ana")
    assert session.exit_code == 0, session.output
    # clinical review H1: a positive PHQ-9 item 9 asks for action before the person leaves, not "next session"
    flat = " ".join(session.output.split())
    assert "structured suicide-risk assessment" in flat and "before the person leaves this session" in flat
    assert "next session" not in flat
    assert "evidence: thaut1996_parkinson_ras, magee2017_brain_injury" in " ".join(session.output.split())
    assert "ghai2019_stroke_ras (doi:10.1038/s41598-019-38723-3): Pooled 38" in flat  # W8/W9: each caveat, in the CLI too
    shown = run("client", "show", "C7", user="ana")
    assert "Hearing loss" in shown.output and "ras_gait_training" in shown.output

    # bo cannot see ana's client, and the error does not say it exists
    hidden = run("client", "show", "C7", user="bo")
    assert hidden.exit_code == 1 and "not found" in hidden.output

    fhir = run("client", "export", "C7", "--fhir", user="ana")
    assert fhir.exit_code == 0, fhir.output
    bundle = json.loads(fhir.output)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Observation") == 2 and "Goal" in kinds

    out = tmp_path / "m.csv"
    assert run("client", "export", "C7", "--csv", "-o", str(out), user="ana").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["instrument_code"], r["value"]) for r in rows] == [("gait_speed", "0.91"), ("phq9", "3.0")]

    html, chart = tmp_path / "p.html", tmp_path / "p.svg"
    prog = run("client", "progress", "C7", "--html", str(html), "--chart", str(chart), user="ana")
    assert prog.exit_code == 0, prog.output
    assert "baseline 0.8, target 1, latest 0.91 (+0.11): not yet met" in prog.output
    assert "meets the MCID" in " ".join(prog.output.split())  # review M6: +0.11 m/s against 0.10 (recalled)
    assert "<svg" in chart.read_text() and "Progress summary for client C7" in html.read_text()

    png = tmp_path / "p.png"
    assert run("client", "progress", "C7", "--chart", str(png), "--goal", "1", user="ana").exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    missing = run("client", "progress", "C7", "--chart", str(png), "--goal", "99", user="ana")
    assert missing.exit_code == 2 and "no goal 99" in missing.output

    trail = run("client", "audit", "C7", user="ana")
    assert "export" in trail.output and "ana" in trail.output
    short = run("client", "audit", "C7", "--limit", "2", user="ana")  # newest first, one page, the next's cursor
    before = int(re.search(r"Older events: --before (\d+)", short.output)[1])
    older = run("client", "audit", "C7", "--limit", "2", "--before", str(before), user="ana")
    assert older.exit_code == 0 and "Older events: --before" in older.output
    assert int(re.search(r"--before (\d+)", older.output)[1]) < before


def test_bad_session_input_exits_2_and_stores_nothing(run):
    run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n")
    run("client", "add", "C8", user="ana")
    bad = run("client", "session", "C8", "--minutes", "30", "--intervention", "singing",
              "-m", "vas_anxiety=40", "-m", "gad7=1,1,1", user="ana")
    assert bad.exit_code == 2
    assert "gad7 needs 7 item answers" in bad.output
    shown = run("client", "show", "C8", user="ana")
    assert "singing" not in shown.output
    # several interventions: the main one takes the minutes the others leave (issue 16)
    bad_also = run("client", "session", "C8", "--minutes", "30", "--intervention", "singing", "--also", "drums",
                   user="ana")
    assert bad_also.exit_code == 2 and "--also must be CODE:MINUTES" in bad_also.output
    two = run("client", "session", "C8", "--minutes", "30", "--intervention", "singing", "--also", "songwriting:10",
              user="ana")
    assert two.exit_code == 0, two.output
    assert "Interventions: singing 20 min, songwriting 10 min" in two.output


def test_w15_client_add_warns_on_a_name_like_code(run):
    run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n")
    warned = run("client", "add", "JohnSmith1950", user="ana")
    assert warned.exit_code == 0 and "may contain a name" in warned.output
    assert "may contain" not in run("client", "add", "C9", user="ana").output


def test_missing_acting_user_is_explained(run):
    result = run("client", "list")
    assert result.exit_code == 1 and "--as USERNAME" in result.output


def test_export_needs_exactly_one_format(run):
    run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n")
    assert run("client", "export", "C1", user="ana").exit_code == 2


@pytest.mark.parametrize(("spec", "fragment"), [("gait_speed", "CODE=VALUE"), ("gait_speed=fast", "numbers"),
                                               ("gait_speed=1,2", "one value"), ("x=1", "unknown instrument"),
                                               ("cadence=100@g", "goal id")])
def test_parse_measure_errors(spec, fragment):
    with pytest.raises(ParameterError, match=fragment):
        parse_measure(spec)


def test_every_command_has_help(run):
    for args in (["--help"], ["client", "--help"], ["admin", "--help"], ["evidence", "--help"], ["serve", "--help"],
                 ["migrate", "--help"], ["client", "session", "--help"], ["client", "export", "--help"],
                 ["admin", "create", "--help"]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


@given(value=st.floats(0, 250, allow_nan=False), goal=st.one_of(st.none(), st.integers(1, 10**6)))
@settings(max_examples=50, deadline=None)
def test_parse_measure_round_trips_values(value, goal):
    spec = f"cadence={value!r}" + (f"@{goal}" if goal is not None else "")
    parsed = parse_measure(spec)
    assert (parsed.instrument_code, parsed.value, parsed.goal_id) == ("cadence", value, goal)
