"""One name per thing (issue 14): `--client CODE` and `--session ID` in the commands that store, and both
spellings of analyse/analyze accepted, the old ones kept as hidden aliases for one release."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cadenza.cli.main import app

runner = CliRunner()
ENV = {"COLUMNS": "250"}


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env=ENV)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", [("gait", "analyze"), ("gait", "speed"), ("ras", "sync")])
def test_storing_commands_take_session_and_hide_the_old_spelling(command):
    shown = _help(*command)
    assert "--session" in shown and "--store-session" not in shown


def test_ras_plan_takes_the_client_code():
    shown = _help("ras", "plan")
    assert "--client" in shown and "--store-client" not in shown


@pytest.mark.parametrize(("shown", "hidden"), [(("gait", "analyze"), ("gait", "analyse")),
                                               (("mit", "analyse"), ("mit", "analyze")),
                                               (("analyze",), ("analyse",))])
def test_both_spellings_of_analyse_work_and_one_is_listed(shown, hidden):
    assert _help(*shown) and _help(*hidden)  # both run
    group = _help(*shown[:-1]) if len(shown) > 1 else _help()
    assert f" {hidden[-1]} " not in group  # the alias is not listed


def test_ras_plan_stores_on_the_client_named_by_code(cli):
    import json

    assert cli("admin", "create", "ana", "--password-stdin", input="cello-river-morning-42\n").exit_code == 0
    assert cli("client", "add", "C007", user="ana").exit_code == 0
    result = cli("ras", "plan", "--client", "C007", "--cadence", "96", "--json", user="ana")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stored"]
