"""The ``cadenza`` command. Each command group lives in its own module; heavy libraries
(librosa, scipy.signal, matplotlib) are imported inside commands so ``--help`` stays fast."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="cadenza",
    help="Cadenza: music-therapy toolkit and clinical record. An adjunct to care, not a cure.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

# (module under cadenza.cli, command-group name); each module exposes ``app: typer.Typer``.
_GROUPS: list[tuple[str, str]] = [
    ("server", ""),  # top-level commands: serve, migrate
    ("admin", "admin"),
    ("records", "client"),
    ("evidence", "evidence"),
    ("gait", "gait"),
    ("ras", "ras"),
    ("library", "library"),
    ("mit", "mit"),
    ("nicu", "nicu"),
    ("safety", "safety"),
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
    # Modules may also expose top-level commands (e.g. `cadenza analyze`, `cadenza playlist`).
    for _command in getattr(_module, "top_level", typer.Typer()).registered_commands:
        app.registered_commands.append(_command)


if __name__ == "__main__":  # pragma: no cover
    app()
