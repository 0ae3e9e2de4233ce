"""`cadenza care ...` end to end on a fresh record, as ``ana``: the same actions and audit trail as the page."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def client_flags():
    return {"C001": [], "C002": [], "C003": []}


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_m11_the_course_of_care_from_the_command_line(clinic):
    run = clinic
    referral = _json(run("care", "referral", "--client", "C001", "--by", "neurologist", "--reason", "gait after stroke",
                         "--decision", "accepted", "--date", "2026-10-20", "--json"))
    assert referral["content"]["referred_by"] == "neurologist" and referral["client_status"] == "active"
    consent = _json(run("care", "consent", "--client", "C001", "--explained", "aims, risks, recordings", "--by",
                        "legal_representative", "--role", "spouse", "--date", "2026-10-21", "--json"))
    assessed = _json(run("care", "assess", "--client", "C001", "--summary", "keeps a beat", "--domain",
                         "gross_motor=inconsistent:shuffles", "--likes", "Glenn Miller", "--date", "2026-10-21", "--json"))
    assert assessed["content"]["domains"]["gross_motor"] == {"rating": "inconsistent", "note": "shuffles"}
    assert assessed["content"]["music_preferences"] == ["Glenn Miller"]
    planned = _json(run("care", "plan", "--client", "C001", "--intervention", "ras_gait_training", "--per-week", "3",
                        "--minutes", "30", "--objective", "10 m with the cue", "--date", "2026-10-22", "--json"))
    assert planned["content"]["sessions_per_week"] == 3
    signed = run("care", "sign", "--client", "C001", str(consent["id"]))
    assert signed.exit_code == 0 and "sha256" in signed.output
    assert run("care", "addendum", "--client", "C001", str(consent["id"]), "Spouse holds lasting power of attorney.").exit_code == 0
    assert run("care", "withdraw", "--client", "C001", str(consent["id"]), "--date", "2026-11-25").exit_code == 0
    shown = _json(run("care", "show", "--client", "C001", str(consent["id"])))
    assert shown["intact"] and shown["withdrawn_date"] == "2026-11-25" and len(shown["addenda"]) == 1
    listing = _json(run("care", "list", "--client", "C001", "--json"))
    assert [d["kind"] for d in listing["documents"]] == ["referral", "consent", "assessment", "plan"]
    out = _json(run("care", "discharge", "--client", "C001", "--reason", "goals_met", "--criteria", "walks 1.0 m/s",
                    "--summary", "walks to the shop", "--date", "2026-11-30", "--json"))
    assert out["client_status"] == "discharged"
    assert run("care", "status", "--client", "C001").output.strip() == "C001: discharged"
    assert run("care", "status", "--client", "C001", "--set", "active").output.strip() == "C001: active"
    refused = run("care", "pdf", "--client", "C001", str(consent["id"]), "-o", "consent.pdf")
    assert refused.exit_code == 2 and "only a discharge summary is printed" in refused.output

    # A group session, and errors named by field, on the same record.
    made = _json(run("care", "group", "--title", "Singing", "--intervention", "singing", "--minutes", "45",
                     "--attended", "C001:led a song", "--attended", "C002", "--absent", "C003:ill", "--date",
                     "2026-11-03", "--json"))
    assert [m["attended"] for m in made["members"]] == [True, True, False]
    assert made["members"][2]["session_id"] is None and made["members"][0]["session_id"] is not None
    bad = run("care", "referral", "--client", "C001", "--by", " ", "--reason", "x")
    assert bad.exit_code == 2 and "referred_by must not be empty" in bad.output
    missing = run("care", "group", "--title", "g", "--intervention", "singing", "--minutes", "30", "--attended", "NOPE")
    assert missing.exit_code == 1 and "NOPE" in missing.output
    assert run("care", "sign", "--client", "C001", "999").exit_code == 1
    date = run("care", "referral", "--client", "C001", "--by", "GP", "--reason", "x", "--date", "soon")
    assert date.exit_code == 2 and "--date must be a date" in date.output

    # Last, as it needs the pdf extra: the discharge summary printed (audited as an export).
    pytest.importorskip("weasyprint", reason="the pdf extra")
    printed = run("care", "pdf", "--client", "C001", str(out["id"]), "-o", "discharge.pdf")
    assert printed.exit_code == 0, printed.output
    with open("discharge.pdf", "rb") as handle:
        assert handle.read(5) == b"%PDF-"
