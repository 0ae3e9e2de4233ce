"""cli/_listener.py: the one listener option set every audio command shares, and how it resolves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from cadenza.cli._listener import ListenerOptions, emit_json, listener_options, one_client


def _app(**options) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @listener_options(**options)
    def show(track: Annotated[Path, typer.Argument()], listening: ListenerOptions,
             loud: Annotated[bool, typer.Option()] = False) -> None:
        emit_json({"track": str(track), "loud": loud, "client": listening.client, "flags": listening.flags,
                   "calibration_dba": listening.calibration_dba, "device": listening.device,
                   "as_user": listening.as_user, "as_json": listening.as_json})

    @app.command()
    def other() -> None:  # a second command keeps `show` a named subcommand
        pass

    return app


def test_the_command_receives_the_options_as_one_object():
    result = CliRunner().invoke(_app(), ["show", "a.wav", "--client", "C001", "--flag", "seizures", "--flag",
                                         "hearing_loss", "--calibration-dba", "72", "--device", "tablet",
                                         "--as", "ana", "--json", "--loud"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"track": "a.wav", "loud": True, "client": "C001",
                                         "flags": ["seizures", "hearing_loss"], "calibration_dba": 72.0,
                                         "device": "tablet", "as_user": "ana", "as_json": True}
    plain = json.loads(CliRunner().invoke(_app(), ["show", "b.wav"], env={"CADENZA_USER": "bo"}).output)
    assert plain["client"] is None and plain["flags"] == [] and plain["as_user"] == "bo" and not plain["as_json"]


def test_options_can_be_left_out():
    app = _app(calibration=False, device_help=None)
    help_text = CliRunner().invoke(app, ["show", "--help"], env={"COLUMNS": "200"}).output
    for option in ("--client", "--flag", "--as", "--json", "--loud"):
        assert option in help_text
    assert "--calibration-dba" not in help_text and "--device" not in help_text
    assert CliRunner().invoke(app, ["show", "a.wav", "--device", "x"]).exit_code == 2


def test_a_listener_without_a_client_needs_no_record():
    options = ListenerOptions(flags=["nicu_infant"], calibration_dba=66.0)
    listener = options.resolve()
    assert listener.code is None and listener.policy.nicu_limits and not listener.calibration.is_default
    assert options.notes == []
    default = ListenerOptions()
    assert default.resolve().calibration.is_default and "Uncalibrated" in default.notes[0]
    with pytest.raises(typer.Exit) as stopped:
        ListenerOptions(flags=["epilepsy"]).resolve()
    assert stopped.value.exit_code == 2


def test_one_client_from_the_new_or_the_older_spelling():
    assert one_client("C001", None, old_name="--listener") == "C001"
    assert one_client(None, "C001", old_name="--listener") == "C001"
    assert one_client("C001", "C001", old_name="--listener") == "C001"
    for given in (("C001", "C002"), (None, None)):
        with pytest.raises(typer.Exit) as stopped:
            one_client(*given, old_name="--listener")
        assert stopped.value.exit_code == 2
