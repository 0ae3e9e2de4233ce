"""The tool manifests (cadenza.plugins) and the hosts that read them."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from cadenza.plugins import INSTALLED_TOOLS, Tool, installed_tools


def test_every_manifest_names_parts_that_load():
    import typer
    from fastapi import APIRouter

    from cadenza.clinic.instruments import Instrument, get_instrument

    tools = installed_tools()
    assert [t.name for t in tools] == [path.rsplit(".", 1)[1] for path in INSTALLED_TOOLS]
    for tool in tools:
        assert isinstance(tool.load("cli"), typer.Typer), tool.name
        if tool.pages:  # a tool may have no pages yet (timing and singing, issue 18: command line first)
            assert isinstance(tool.load("pages"), APIRouter), tool.name
        assert isinstance(tool.load("records"), types.ModuleType), tool.name
        for instrument in tool.load_instruments():
            assert isinstance(instrument, Instrument) and get_instrument(instrument.code) == instrument


def test_a_moved_tool_brings_its_templates():
    gait = next(t for t in installed_tools() if t.name == "gait")
    assert (gait.template_dir() / "gait" / "client_gait.html").is_file()
    assert gait.records == "cadenza.tools.gait.records"


@pytest.mark.parametrize(("fields", "match"), [
    ({"name": "Gait Analysis"}, "name"),
    ({"cli": "cadenza.tools.gait.cli"}, "cli"),
    ({"records": "cadenza.tools.gait:records"}, "records"),
    ({"instruments": ["cadenza.x:Y"]}, "instruments"),
    ({"session_title": "Analyse"}, "session_query"),
])
def test_a_malformed_manifest_is_refused(fields, match):
    with pytest.raises(ValueError, match=match):
        Tool(**{"name": "walk", "title": "Walking", "summary": "Steps.", **fields})


def test_hosts_offer_every_tool(web_app):
    from cadenza.cli.main import app

    groups = {group.name for group in app.registered_groups}
    served = {tool.path for tool in web_app.state.client_tools}
    for tool in installed_tools():
        assert tool.name in groups
        assert (tool.client_path in served) == bool(tool.pages), tool.name  # no card for a tool without pages


def test_reading_the_manifests_imports_no_tool_code():
    code = ("import sys; from cadenza.plugins import installed_tools; installed_tools(); "
            "print(sorted(m for m in sys.modules if m.startswith('cadenza.') and m.count('.') >= 3 "
            "or m.startswith(('cadenza.web', 'cadenza.cli', 'cadenza.clinic', 'scipy', 'numpy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
