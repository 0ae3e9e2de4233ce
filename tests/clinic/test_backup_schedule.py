"""Scheduled encrypted backups, their retention rule and the restore drill (issue 23)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.clinic.backup_schedule import RetentionRule, archive_name, archive_time, kept
from cadenza.errors import ParameterError

T0 = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)
times = st.lists(st.integers(min_value=0, max_value=800 * 24).map(lambda h: T0 + dt.timedelta(hours=h)),
                 min_size=1, max_size=120, unique=True)
rules = st.builds(RetentionRule, keep_daily=st.integers(0, 10), keep_weekly=st.integers(0, 6),
                  keep_monthly=st.integers(0, 14))


@settings(max_examples=150, deadline=None)
@given(taken=times, rule=rules)
def test_the_rule_keeps_the_newest_and_at_most_one_per_period_slot(taken, rule):
    keep = kept(taken, rule)
    assert max(taken) in keep
    assert keep <= set(taken)
    assert len(keep) <= 1 + rule.keep_daily + rule.keep_weekly + rule.keep_monthly
    assert kept(keep, rule) == keep, "running the rule again deletes nothing more"


@settings(max_examples=100, deadline=None)
@given(taken=times, rule=rules)
def test_each_of_the_newest_days_weeks_and_months_keeps_its_newest_archive(taken, rule):
    keep = kept(taken, rule)
    for count, period in ((rule.keep_daily, lambda t: t.date()), (rule.keep_weekly, lambda t: t.isocalendar()[:2]),
                          (rule.keep_monthly, lambda t: (t.year, t.month))):
        newest_periods = sorted({period(t) for t in taken}, reverse=True)[:count]
        for p in newest_periods:
            assert max(t for t in taken if period(t) == p) in keep


def test_a_year_of_daily_runs_keeps_seven_days_four_weeks_twelve_months():
    taken = [T0 + dt.timedelta(days=d) for d in range(365)]
    keep = kept(taken, RetentionRule())
    assert len(keep) <= 7 + 4 + 12 and len(keep) >= 12
    newest = max(taken)
    assert all(newest - dt.timedelta(days=6) <= t for t in sorted(keep)[-7:])


@pytest.mark.parametrize("field", ["keep_daily", "keep_weekly", "keep_monthly"])
def test_a_bad_rule_names_the_field_and_value(field):
    with pytest.raises(ParameterError, match=f"{field} must be .* got -1"):
        RetentionRule(**{field: -1})


def test_names_round_trip_and_other_files_are_not_the_schedule_s():
    at = dt.datetime(2026, 12, 7, 3, 4, 5, tzinfo=dt.UTC)
    assert archive_time(archive_name(at)) == at
    for other in ("cadenza-20261207T030405Z.zip", "notes.txt", "cadenza-2026.zip.cdzenc", "x" + archive_name(at)):
        assert archive_time(other) is None


def test_scheduled_runs_apply_the_rule_and_the_drill_restores_the_newest(cli, tmp_path, monkeypatch):
    assert cli("migrate").exit_code == 0
    assert cli("admin", "create", "ops", "--password-stdin", input="violin-harbour-sunrise-7\n").exit_code == 0, \
        "needs a record with rows"
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "keep-me.txt").write_text("not a scheduled archive")
    for days_ago in (40, 9, 8, 1):  # older archives of the schedule, as earlier runs left them
        (folder / archive_name(dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago))).write_bytes(b"old")
    result = cli("backup", "scheduled", folder, "--keep-daily", "2", "--keep-weekly", "0", "--keep-monthly", "0",
                 "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    names = sorted(p.name for p in folder.iterdir())
    assert "keep-me.txt" in names
    assert len([n for n in names if archive_time(n)]) == 2 and len(run["deleted"]) == 3
    newest = run["path"]
    assert open(newest, "rb").read(8) != b"PK\x03\x04\x14\x00\x00\x00"  # sealed, not a plain zip
    drill = cli("backup", "drill", newest, "--json")
    assert drill.exit_code == 0, drill.output
    verdict = json.loads(drill.output)
    assert verdict["ok"] and verdict["chain_ok"] and verdict["rows"] > 0 and not verdict["mismatched_tables"]


def test_a_drill_on_a_damaged_archive_fails_loudly(cli, tmp_path):
    assert cli("migrate").exit_code == 0
    result = cli("backup", "scheduled", tmp_path / "b", "--json")
    assert result.exit_code == 0, result.output
    path = json.loads(result.output)["path"]
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    drill = cli("backup", "drill", path)
    assert drill.exit_code != 0
    assert "drill PASSED" not in drill.output
    assert cli("backup", "drill", tmp_path / "missing.zip").exit_code == 2
