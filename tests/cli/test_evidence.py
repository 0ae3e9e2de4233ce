"""`cadenza evidence`: readable table and JSON."""

import json

from typer.testing import CliRunner

from cadenza.cli.main import app


def test_evidence_anxiety_table():
    result = CliRunner().invoke(app, ["evidence", "anxiety"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "Evidence: anxiety" in result.output
    assert "10.1002/14651858.CD006908.pub2" in result.output
    assert "Thaut" not in result.output
    assert "adjunct to care" in result.output


def test_evidence_json_is_complete():
    result = CliRunner().invoke(app, ["evidence", "anxiety", "--json"])
    entries = json.loads(result.output)
    assert {e["id"] for e in entries} >= {"bradt2013_preoperative", "bradt2016_cancer"}
    assert all(e["caveat"] and e["doi_url"].startswith("https://doi.org/10.") for e in entries)


def test_evidence_filters_and_interventions():
    ras = json.loads(CliRunner().invoke(app, ["evidence", "--intervention", "ras", "--json"]).output)
    assert {e["id"] for e in ras} == {"magee2017_brain_injury", "thaut1996_parkinson_ras", "ghai2019_stroke_ras"}
    listing = json.loads(CliRunner().invoke(app, ["evidence", "--interventions", "--json"]).output)
    assert {i["mode"] for i in listing} == {"active", "receptive"}
    none = CliRunner().invoke(app, ["evidence", "xylophone"])
    assert none.exit_code == 0 and "No evidence entries" in none.output
