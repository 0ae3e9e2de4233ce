"""The layering in STYLE.md, enforced: lower layers never import higher ones."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_layers_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_help_is_fast_and_complete():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cadenza.cli.main", "--help"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    heavy = [name for name in ("librosa", "matplotlib.pyplot", "mobgap") if f" {name}\n" in result.stderr]
    assert not heavy, f"`cadenza --help` imports {heavy}; import them inside commands"
