"""CPU seconds per process group, read from Linux's /proc around a benchmark run (issue 23).

A group is a root process and every live descendant: its own user and system time, plus the time of the
children it has already waited for (``cutime``/``cstime``), so a worker that exits during the run is still
counted. The machine's busy time comes from ``/proc/stat``; what the named groups do not explain is the
rest of the machine (other jobs, the kernel's own threads).

    split = CpuSplit({"workers": server_pid, "postgres": postmaster_pid, "generator": os.getpid()},
                     alone=("generator",))   # this process only: the server is its child
    split.start(); ...; figures = split.stop()   # {"workers": s, ..., "machine busy": s, "elsewhere": s}
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on: the name may hold spaces


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def group_cpu_s(root_pid: int, tree: dict[int, list[int]] | None = None, *, alone: bool = False) -> float:
    """User + system seconds of ``root_pid``, its live descendants and the children they have reaped
    (``alone``: of that one process only, e.g. a load generator whose children are the server)."""
    if alone:
        fields = _stat_fields(root_pid)
        return 0.0 if fields is None else sum(int(f) for f in fields[11:13]) / TICKS_PER_S
    tree = _children() if tree is None else tree
    total_ticks, stack, seen = 0, [root_pid], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        fields = _stat_fields(pid)
        if fields is None:
            continue
        total_ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        stack.extend(tree.get(pid, ()))
    return total_ticks / TICKS_PER_S


def machine_busy_s() -> float:
    """Every core's non-idle time since boot (``/proc/stat``'s first line less idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICKS_PER_S  # guest time is already inside user time


class CpuSplit:
    """CPU seconds each named process group spent between :meth:`start` and :meth:`stop`."""

    def __init__(self, roots: dict[str, int], *, alone: tuple[str, ...] = ()) -> None:
        if not roots:
            raise ValueError("roots: name at least one process group")
        for name, pid in roots.items():
            if not isinstance(pid, int) or pid <= 0:
                raise ValueError(f"roots[{name!r}]: {pid!r} is not a process id")
        unknown = set(alone) - set(roots)
        if unknown:
            raise ValueError(f"alone: {sorted(unknown)!r} are not among the roots {sorted(roots)!r}")
        self.roots, self.alone = dict(roots), frozenset(alone)
        self._before: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        tree = _children()
        figures = {name: group_cpu_s(pid, tree, alone=name in self.alone) for name, pid in self.roots.items()}
        figures["machine busy"] = machine_busy_s()
        return figures

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> dict[str, float]:
        if not self._before:
            raise RuntimeError("CpuSplit.stop() before start()")
        after = self._read()
        spent = {name: round(after[name] - self._before[name], 2) for name in after}
        spent["elsewhere"] = round(spent["machine busy"] - sum(spent[n] for n in self.roots), 2)
        return spent
