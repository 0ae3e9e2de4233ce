"""Start-up time: ``cadenza --help``, ``import cadenza`` and a light submodule, median wall time over runs.

Usage: ``python bench/cli_startup.py [--runs 15] [--compare OTHER_SRC] [--json]``

Each run is a fresh process (``subprocess.run``, output discarded) after one untimed warm-up, so the
figures include interpreter start-up. ``--compare`` times a second source tree (e.g. ``src`` of a
``git worktree`` of the previous commit) with the same interpreter and packages, putting it first on
``PYTHONPATH``; the two trees alternate run by run so machine load affects both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "cadenza --help": [str(Path(sys.executable).with_name("cadenza")), "--help"],
    "python -c 'import cadenza'": [sys.executable, "-c", "import cadenza"],
    "python -c 'import cadenza.safety.flags'": [sys.executable, "-c", "import cadenza.safety.flags"],
}


def time_once(command: list[str], src: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", type=Path, help="another source tree (the folder holding cadenza/)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trees = {"this tree": ROOT / "src"}
    if args.compare:
        trees["compared"] = args.compare.resolve()
    times: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in COMMANDS}
    for name, command in COMMANDS.items():
        for src in trees.values():
            time_once(command, src)  # warm-up: file cache, .pyc files
        for _ in range(args.runs):
            for tree, src in trees.items():
                times[tree, name].append(time_once(command, src))
    rows = [{"tree": tree, "command": name, "median_ms": round(1000 * statistics.median(ts), 1),
             "min_ms": round(1000 * min(ts), 1), "max_ms": round(1000 * max(ts), 1), "runs": len(ts)}
            for (tree, name), ts in times.items()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| tree | command | median ms | min ms | max ms | runs |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['tree']} | `{row['command']}` | {row['median_ms']:.0f} | {row['min_ms']:.0f} | "
              f"{row['max_ms']:.0f} | {row['runs']} |")


if __name__ == "__main__":
    main()
