"""Loading NICU signals from CSV: pacifier suck pressure and vital-sign / stress-cue streams.

Suck pressure: a header row with ``time_s`` and one pressure column whose name gives the unit
(``pressure_mmhg``, ``pressure_cmh2o``, ``pressure_kpa`` or ``pressure_pa``); samples evenly spaced.
Suction recorded as negative pressure is flipped so that a stronger suck is a larger number.

Vital signs, wide form: ``time_s`` plus any of ``heart_rate_bpm``, ``spo2_pct``,
``respiratory_rate_bpm`` and ``cue`` (stress-cue names, several separated by ``;``); an empty cell is
no reading. Long form: ``time_s,kind,value`` rows. Values that are not numbers are errors naming
the row; implausible numbers are kept, because the stop rules must see (and act on) them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.errors import DataQualityError, ParameterError
from cadenza.nicu.stop_rules import CUE, VITALS, Observation

PRESSURE_UNITS_TO_MMHG = {"mmhg": 1.0, "cmh2o": 0.73556, "kpa": 7.50062, "pa": 0.00750062}
MAX_JITTER_FRACTION = 0.05


@dataclass(frozen=True)
class PressureRecording:
    """A pacifier pressure signal in mmHg at a regular rate (``source_unit`` as found in the file;
    ``flipped`` when the file had suction as positive and it was turned to the project's sign)."""

    pressure_mmhg: np.ndarray
    sampling_rate_hz: float
    start_s: float
    source_unit: str
    flipped: bool

    @property
    def duration_s(self) -> float:
        return self.pressure_mmhg.size / self.sampling_rate_hz


def _open_rows(source: str | Path | bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV given as a path or as uploaded bytes (``#`` comment lines skipped)."""
    if isinstance(source, bytes):
        name = "upload"
        try:
            lines = source.decode("utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise DataQualityError("uploaded CSV is not UTF-8 text") from None
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise ParameterError(f"CSV file {name!r} does not exist or is not a file")
        with path.open(newline="", encoding="utf-8-sig") as fh:
            lines = fh.read().splitlines()
    reader = csv.reader(line for line in lines if line.strip() and not line.lstrip().startswith("#"))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DataQualityError(f"CSV file {name!r} is empty") from None
    return header, [row for row in reader]


def _name(source: str | Path | bytes) -> str:
    return "upload" if isinstance(source, bytes) else Path(source).name


def _number(text: str, *, path: str | Path | bytes, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DataQualityError(f"{_name(path)} row {line}: {column} must be a number, got {text!r}") from None


def load_suck_pressure(path: str | Path | bytes) -> PressureRecording:
    """Load an evenly sampled suck-pressure CSV (a path, or uploaded bytes) as suction magnitude in mmHg."""
    header, rows = _open_rows(path)
    if "time_s" not in header:
        raise DataQualityError(f"{_name(path)}: header must contain time_s, got {header!r}")
    pressure_cols = [h for h in header if h.startswith("pressure_")]
    if len(pressure_cols) != 1 or pressure_cols[0][len("pressure_"):] not in PRESSURE_UNITS_TO_MMHG:
        raise DataQualityError(
            f"{_name(path)}: need exactly one pressure column named pressure_<unit> with unit in "
            f"{sorted(PRESSURE_UNITS_TO_MMHG)}, got {header!r}"
        )
    col = pressure_cols[0]
    unit = col[len("pressure_"):]
    it, ip = header.index("time_s"), header.index(col)
    times, values = [], []
    for line, row in enumerate(rows, start=2):
        if len(row) <= max(it, ip) or not row[it].strip() or not row[ip].strip():
            raise DataQualityError(f"{_name(path)} row {line}: missing time_s or {col} (gaps are not allowed)")
        times.append(_number(row[it], path=path, line=line, column="time_s"))
        values.append(_number(row[ip], path=path, line=line, column=col))
    t = np.array(times)
    p = np.array(values) * PRESSURE_UNITS_TO_MMHG[unit]
    if t.size < 2:
        raise DataQualityError(f"{_name(path)}: needs at least 2 samples, got {t.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise DataQualityError(f"{_name(path)}: contains NaN or infinite values")
    dt = np.diff(t)
    if np.any(dt <= 0):
        bad = int(np.argmax(dt <= 0)) + 3
        raise DataQualityError(f"{_name(path)} row {bad}: time_s must increase")
    step = float(np.median(dt))
    if np.max(np.abs(dt - step)) > MAX_JITTER_FRACTION * step:
        bad = int(np.argmax(np.abs(dt - step))) + 3
        raise DataQualityError(
            f"{_name(path)} row {bad}: samples are not evenly spaced (step {dt[bad - 3]:.4g} s vs "
            f"{step:.4g} s); resample or cut the gap first"
        )
    flipped = bool(abs(np.percentile(p, 1)) > abs(np.percentile(p, 99)))
    if flipped:
        p = -p
    return PressureRecording(p, 1.0 / step, float(t[0]), unit, flipped)


def load_vital_signs(path: str | Path | bytes) -> list[Observation]:
    """Load vital signs and stress cues (wide or long CSV; a path or uploaded bytes) in time order."""
    header, rows = _open_rows(path)
    name = _name(path)
    if "time_s" not in header:
        raise DataQualityError(f"{name}: header must contain time_s, got {header!r}")
    it = header.index("time_s")
    obs: list[Observation] = []
    if {"kind", "value"} <= set(header):
        ik, iv = header.index("kind"), header.index("value")
        for line, row in enumerate(rows, start=2):
            t = _number(row[it], path=path, line=line, column="time_s")
            kind = row[ik].strip()
            if kind == CUE:
                obs.append(Observation(t, CUE, row[iv].strip()))
            elif kind in VITALS:
                obs.append(Observation(t, kind, _number(row[iv], path=path, line=line, column=kind)))
            else:
                raise DataQualityError(f"{name} row {line}: kind must be one of {VITALS + (CUE,)}, got {kind!r}")
    else:
        known = [h for h in header if h in VITALS or h == CUE]
        unknown = [h for h in header if h != "time_s" and h not in known]
        if unknown or not known:
            raise DataQualityError(
                f"{name}: columns must be time_s plus any of {VITALS + (CUE,)}, got {header!r}"
            )
        for line, row in enumerate(rows, start=2):
            t = _number(row[it], path=path, line=line, column="time_s")
            for col in known:
                i = header.index(col)
                cell = row[i].strip() if i < len(row) else ""
                if not cell:
                    continue
                if col == CUE:
                    obs.extend(Observation(t, CUE, c.strip()) for c in cell.split(";") if c.strip())
                else:
                    obs.append(Observation(t, col, _number(cell, path=path, line=line, column=col)))
    if any(not np.isfinite(o.time_s) for o in obs):
        raise DataQualityError(f"{name}: time_s contains NaN or infinite values")
    return sorted(obs, key=lambda o: o.time_s)
