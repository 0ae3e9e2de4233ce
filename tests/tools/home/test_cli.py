"""`cadenza home invite | assign | adherence | report` end to end on a fresh record, as ``ana``."""

from __future__ import annotations

import functools
import json

import pytest

PASSWORD = "cello-river-morning-42"


@pytest.fixture
def run(cli):
    run = functools.partial(cli, user="ana")
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert run("client", "add", "C001").exit_code == 0
    assert run("client", "add", "N001", "--flag", "nicu_infant").exit_code == 0
    return run


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_invite_prints_a_one_time_link_and_a_qr_code(run):
    text = run("home", "invite", "--client", "C001", "--base-url", "https://clinic.example:8443/")
    assert text.exit_code == 0, text.output
    assert "https://clinic.example:8443/me/join/" in text.output
    assert any(block in text.output for block in "█▀▄")  # the QR code, drawn in the terminal
    data = _json(run("home", "invite", "--client", "C001", "--base-url", "https://clinic.example", "--role",
                     "caregiver", "--json"))
    assert data["link"].startswith("https://clinic.example/me/join/") and data["role"] == "caregiver"


def test_assign_adherence_and_report(run, tmp_path):
    task = _json(run("home", "assign", "--client", "C001", "--title", "Walk to the beat", "--kind", "ras_walk",
                     "--tempo-bpm", "104", "--days-per-week", "4", "--rating", "mood", "--json"))
    assert task["kind"] == "ras_walk" and task["gain_cap"] == 1.0
    tapping = _json(run("home", "assign", "--client", "C001", "--title", "Tap along", "--kind", "tapping",
                        "--tempo-bpm", "90", "--tap-s", "120", "--json"))
    assert tapping["kind"] == "tapping" and 0 < tapping["gain_cap"] <= 1
    refused = run("home", "assign", "--client", "C001", "--title", "x", "--kind", "tapping", "--tempo-bpm", "90",
                  "--tap-s", "5")
    assert refused.exit_code == 2 and "tapping_tap_s" in refused.output
    adherence = _json(run("home", "adherence", "--client", "C001", "--json"))
    assert adherence["tasks"][0]["title"] == "Walk to the beat" and adherence["tasks"][0]["done_days"] == 0
    pytest.importorskip("weasyprint", reason="the pdf extra")
    out = tmp_path / "report.pdf"
    made = run("home", "report", "--client", "C001", "-o", out)
    assert made.exit_code == 0, made.output
    assert out.read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(("args", "message", "code"), [
    (["home", "invite", "--client", "N001", "--base-url", "http://x"], "NICU", 2),
    (["home", "assign", "--client", "C001", "--title", "x", "--kind", "ras_walk", "--tempo-bpm", "300"], "tempo_bpm", 2),
    (["home", "assign", "--client", "C001", "--title", "x", "--track", "999"], "track 999", 1),
    (["home", "adherence", "--client", "NOPE"], "NOPE", 1),
    (["home", "report", "--client", "C001", "-o", "r.pdf", "--month", "2026-13"], "month", 2),
])
def test_errors_name_what_was_wrong(run, args, message, code):
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
