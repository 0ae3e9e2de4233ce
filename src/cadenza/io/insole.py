"""Loading in-shoe force recordings: the PhysioNet gait-in-Parkinson's format and a per-foot force CSV.

PhysioNet gaitpdb (https://physionet.org/content/gaitpdb/1.0.0/): plain text, tab-separated, no header,
19 columns at 100 Hz: time in s, 8 left-foot sensor forces (N, heel to toe), 8 right-foot ones, then the
total force under the left and the right foot.

Per-foot CSV: a header row; a time column (``time_s`` or ``time_ms``) or a rate given by the caller;
then either one total-force column per foot (``left_force_n``, ``right_force_n``) or several sensor
columns per foot (any names starting ``left``/``right`` or ``l_``/``r_``), which are added up. The unit
is the name's suffix: ``_n`` (newtons), ``_kg`` (kilogram-force) or ``_lbf``; no suffix means newtons,
and ``notes`` says so.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.errors import DataQualityError, ParameterError
from cadenza.units import STANDARD_GRAVITY_M_S2

GAITPDB_COLUMNS = 19
GAITPDB_RATE_HZ = 100.0
RATE_JITTER = 0.05  # a sampling interval may differ this much from the median one
_UNIT_TO_N = {"n": 1.0, "newton": 1.0, "newtons": 1.0, "kg": STANDARD_GRAVITY_M_S2, "kgf": STANDARD_GRAVITY_M_S2,
              "lbf": 4.4482216}
_SIDE_RE = re.compile(r"^(left|right|l|r)[_\s-]?(.*)$")
_TIME_RE = re.compile(r"^(?:time|t)(?:_(s|ms))?$")
MAX_BYTES = 200_000_000


@dataclass(frozen=True)
class InsoleRecording:
    """Total vertical force per foot (N), uniformly sampled; ``sensors_n`` keeps the per-sensor
    forces when the file has them ((8, n) per foot for gaitpdb)."""

    left_force_n: np.ndarray
    right_force_n: np.ndarray
    sampling_rate_hz: float
    source: str = ""
    file_format: str = ""
    sensors_n: dict[str, np.ndarray] | None = None
    notes: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.left_force_n.size / self.sampling_rate_hz


def _read_text(path: str | Path) -> tuple[str, str]:
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"insole file {str(p)!r} does not exist or is not a file")
    if p.stat().st_size > MAX_BYTES:
        raise DataQualityError(f"insole file {str(p)!r} is {p.stat().st_size} bytes; at most {MAX_BYTES} are read")
    try:
        return p.read_bytes().decode("utf-8-sig"), str(p)
    except UnicodeDecodeError:
        raise DataQualityError(f"insole file {str(p)!r} is not UTF-8 text") from None


def looks_like_gaitpdb(text: str) -> bool:
    """True if the first line is 19 tab-separated numbers (the PhysioNet gaitpdb layout)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    fields = first.strip().split("\t")
    if len(fields) != GAITPDB_COLUMNS:
        return False
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return True


def _rate_from_times(time_s: np.ndarray, name: str) -> float:
    if time_s.size < 2:
        raise DataQualityError(f"{name}: fewer than 2 samples")
    dt = np.diff(time_s)
    if np.any(dt <= 0):
        row = int(np.flatnonzero(dt <= 0)[0]) + 2
        raise DataQualityError(f"{name}: time does not increase at data row {row} ({time_s[row - 2]!r} then "
                               f"{time_s[row - 1]!r})")
    step = float(np.median(dt))
    off = np.abs(dt - step) > RATE_JITTER * step
    if off.any():
        row = int(np.flatnonzero(off)[0]) + 2
        raise DataQualityError(f"{name}: uneven sampling, a step of {dt[row - 2]:.4g} s at data row {row} against a "
                               f"median of {step:.4g} s (gap or dropped samples; cut the recording there)")
    return round(1.0 / step, 6)


def parse_gaitpdb(text: str, *, source: str = "text") -> InsoleRecording:
    """A gaitpdb record from its text (see the module docstring)."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if not rows:
        raise DataQualityError(f"{source}: empty file")
    for i, row in enumerate(rows, start=1):
        if len(row) != GAITPDB_COLUMNS:
            raise DataQualityError(f"{source}: line {i} has {len(row)} columns; the gaitpdb format has "
                                   f"{GAITPDB_COLUMNS} (time, 8 left sensors, 8 right sensors, left total, right total)")
    try:
        data = np.array(rows, dtype=float)
    except ValueError:
        for i, row in enumerate(rows, start=1):
            for j, cell in enumerate(row, start=1):
                try:
                    float(cell)
                except ValueError:
                    raise DataQualityError(f"{source}: line {i}, column {j} is {cell!r}, not a number") from None
        raise
    if not np.all(np.isfinite(data)):
        i = int(np.flatnonzero(~np.all(np.isfinite(data), axis=1))[0]) + 1
        raise DataQualityError(f"{source}: line {i} holds NaN or infinite values")
    rate = _rate_from_times(data[:, 0], source)
    notes = []
    if abs(rate - GAITPDB_RATE_HZ) > RATE_JITTER * GAITPDB_RATE_HZ:
        notes.append(f"time column gives {rate:.4g} Hz (gaitpdb records are 100 Hz)")
    return InsoleRecording(
        left_force_n=data[:, 17].copy(),
        right_force_n=data[:, 18].copy(),
        sampling_rate_hz=rate,
        source=source,
        file_format="gaitpdb",
        sensors_n={"left": data[:, 1:9].T.copy(), "right": data[:, 9:17].T.copy()},
        notes=tuple(notes),
    )


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _unit_of(rest: str) -> tuple[float, str | None]:
    parts = rest.split("_")
    if parts and parts[-1] in _UNIT_TO_N:
        return _UNIT_TO_N[parts[-1]], parts[-1]
    return 1.0, None


def parse_force_csv(text: str, *, source: str = "text", sampling_rate_hz: float | None = None) -> InsoleRecording:
    """A per-foot force CSV from its text (see the module docstring)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataQualityError(f"{source}: empty file")
    rows = list(csv.reader(lines))
    header = [_normalise(h) for h in rows[0]]
    time_col, time_scale = None, 1.0
    sides: dict[str, list[tuple[int, float]]] = {"left": [], "right": []}
    totals: dict[str, int] = {}
    unitless: list[str] = []
    for j, name in enumerate(header):
        m = _TIME_RE.match(name)
        if m:
            time_col, time_scale = j, (1e-3 if m.group(1) == "ms" else 1.0)
            continue
        m = _SIDE_RE.match(name)
        if not m or not m.group(2):
            continue
        side = "left" if m.group(1).startswith("l") else "right"
        scale, unit = _unit_of(m.group(2))
        if unit is None:
            unitless.append(rows[0][j].strip())
        sides[side].append((j, scale))
        if m.group(2).startswith(("force", "total")):
            totals[side] = j
    missing = [side for side in ("left", "right") if not sides[side]]
    if missing:
        raise DataQualityError(
            f"{source}: no {' or '.join(missing)} force column in the header {rows[0]!r}; name them "
            "left_force_n and right_force_n (or one column per sensor starting left_/right_)")
    if time_col is None and sampling_rate_hz is None:
        raise ParameterError(f"{source}: no time_s or time_ms column; give sampling_rate_hz")
    if sampling_rate_hz is not None and (not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0):
        raise ParameterError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz!r}")
    body = rows[1:]
    if len(body) < 2:
        raise DataQualityError(f"{source}: fewer than 2 data rows")
    values = np.empty((len(body), len(header)))
    wanted = [j for side in sides.values() for j, _ in side] + ([time_col] if time_col is not None else [])
    for i, row in enumerate(body, start=2):
        if len(row) < len(header):
            raise DataQualityError(f"{source}: line {i} has {len(row)} cells; the header has {len(header)}")
        for j in wanted:
            try:
                values[i - 2, j] = float(row[j])
            except ValueError:
                raise DataQualityError(f"{source}: line {i}, column {rows[0][j].strip()!r} is {row[j]!r}, "
                                       "not a number") from None
    used = values[:, wanted]
    if not np.all(np.isfinite(used)):
        i = int(np.flatnonzero(~np.all(np.isfinite(used), axis=1))[0]) + 2
        raise DataQualityError(f"{source}: line {i} holds NaN or infinite values")
    if time_col is not None:
        rate = _rate_from_times(values[:, time_col] * time_scale, source)
        if sampling_rate_hz is not None and abs(rate - sampling_rate_hz) > RATE_JITTER * sampling_rate_hz:
            raise ParameterError(f"sampling_rate_hz={sampling_rate_hz!r} but the time column gives {rate:.4g} Hz")
    else:
        rate = float(sampling_rate_hz)
    force: dict[str, np.ndarray] = {}
    sensors: dict[str, np.ndarray] = {}
    for side, cols in sides.items():
        if side in totals:
            j = totals[side]
            force[side] = values[:, j] * dict(cols)[j]
        else:
            block = np.stack([values[:, j] * scale for j, scale in cols])
            sensors[side] = block
            force[side] = block.sum(axis=0)
    notes = []
    if unitless:
        notes.append(f"no unit in {', '.join(repr(u) for u in unitless)}: read as newtons")
    if any(len(cols) > 1 for side, cols in sides.items() if side not in totals):
        notes.append("per-foot force is the sum of that foot's sensor columns")
    return InsoleRecording(force["left"], force["right"], rate, source=source, file_format="csv",
                           sensors_n=sensors or None, notes=tuple(notes))


def parse_insole(text: str, *, source: str = "upload", sampling_rate_hz: float | None = None) -> InsoleRecording:
    """A gaitpdb record or a per-foot force CSV given as text (an upload), told apart by content."""
    if looks_like_gaitpdb(text):
        return parse_gaitpdb(text, source=source)
    return parse_force_csv(text, source=source, sampling_rate_hz=sampling_rate_hz)


def load_insole(path: str | Path, *, sampling_rate_hz: float | None = None) -> InsoleRecording:
    """A gaitpdb record or a per-foot force CSV, told apart by content (see the module docstring)."""
    text, name = _read_text(path)
    return parse_insole(text, source=name, sampling_rate_hz=sampling_rate_hz)


def find_gaitpdb_files(folder: str | Path) -> list[Path]:
    """The walk records of a gaitpdb folder (``<Study><Co|Pt><nn>_<walk>.txt``), sorted."""
    pattern = re.compile(r"^(Ga|Ju|Si)(Co|Pt)\d+_\d+\.txt$")
    return sorted(p for p in Path(folder).iterdir() if pattern.match(p.name))
