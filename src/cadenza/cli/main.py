"""The ``cadenza`` command. Each command group lives in its own module (a clinical tool's in
``cadenza/tools/<tool>/cli.py``, named by the tool's manifest); heavy libraries
(librosa, scipy.signal, matplotlib) are imported inside commands so ``--help`` stays fast."""

from __future__ import annotations

import importlib

import typer

from cadenza.plugins import installed_tools

app = typer.Typer(
    name="cadenza",
    help="Cadenza: music-therapy toolkit and clinical record. An adjunct to care, not a cure.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

# The core's command groups: (module under cadenza.cli, command-group name); each module exposes
# ``app: typer.Typer``. The clinical tools' groups come from their manifests (cadenza.plugins), below.
_GROUPS: list[tuple[str, str]] = [
    ("server", ""),  # top-level commands: serve, migrate
    ("admin", "admin"),
    ("records", "client"),
    ("evidence", "evidence"),
    ("audit", "audit"),
    ("backup", "backup"),
]

for _module_name, _group in _GROUPS:
    _module = importlib.import_module(f"cadenza.cli.{_module_name}")
    if _group:
        app.add_typer(_module.app, name=_group)
    else:
        for _command in _module.app.registered_commands:
            app.registered_commands.append(_command)

# Each installed tool's group is named after the tool (``cadenza gait``); a tool may also add top-level
# commands (``cadenza analyze``, ``cadenza playlist``). The modules are loaded by name from the manifests,
# and keep their heavy imports inside the commands.
for _tool in installed_tools():
    if _tool.cli:
        app.add_typer(_tool.load("cli"), name=_tool.name)
    if _tool.cli_top_level:
        for _command in _tool.load("cli_top_level").registered_commands:
            app.registered_commands.append(_command)


if __name__ == "__main__":  # pragma: no cover
    app()
