"""Generic IMU CSV loader: accelerometer (and optional gyroscope) columns with timestamps or a rate.

A header row names the columns. Recognised names (case and punctuation ignored):

* time: ``time``, ``t``, ``timestamp``, ``seconds``, with an optional unit suffix ``_s``, ``_ms``,
  ``_us``, ``_ns``; an unsuffixed epoch timestamp in ms/us/ns is recognised by its size;
* acceleration: ``acc_x``/``accel_x``/``ax``/``x`` ... with an optional unit suffix ``_g`` or
  ``_m_s2``; otherwise the unit is detected from the median magnitude (~1 -> g, ~9.8 -> m/s^2);
* angular rate: ``gyr_x``/``gyro_x``/``gx`` ... with an optional ``_deg_s`` or ``_rad_s`` suffix
  (deg/s assumed otherwise, and said so in ``notes``).

The result is uniformly sampled with time on the last axis. Timestamp jitter is removed by linear
interpolation; a gap of more than 1.5 sampling periods is filled with NaN (never invented data)
and reported in ``notes``, so the analysis can stop bouts there.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.errors import DataQualityError, ParameterError
from cadenza.units import STANDARD_GRAVITY_M_S2

ACC_UNITS = ("auto", "m/s^2", "g")
GYR_UNITS = ("auto", "deg/s", "rad/s")
GAP_FACTOR = 1.5
# Gap filling never makes a record more than 10x its rows (plus a minute): beyond that it is mostly
# NaN, and a few rows with a wrong time unit would otherwise become a huge array.
MAX_GAP_FILL_RATIO, MAX_GAP_FILL_SLACK_S = 10, 60.0
RATE_MISMATCH = 0.05
_TIME_NAMES = {"t", "time", "timestamp", "seconds", "sec", "elapsed", "elapsedtime", "unixtime"}
_TIME_SCALE = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_ACC_RE = re.compile(r"^(?:acc|accel|acceleration|accelerometer|a|)_?([xyz])(?:_(.+))?$")
_GYR_RE = re.compile(r"^(?:gyr|gyro|gyroscope|angularvelocity|angular_velocity|g|w|omega)_?([xyz])(?:_(.+))?$")
_ACC_SUFFIX = {"g": "g", "ms2": "m/s^2", "m_s2": "m/s^2", "mps2": "m/s^2", "m_s_2": "m/s^2"}
_GYR_SUFFIX = {"deg_s": "deg/s", "dps": "deg/s", "degs": "deg/s", "rad_s": "rad/s", "rads": "rad/s", "radps": "rad/s"}


@dataclass(frozen=True)
class ImuRecording:
    """A uniformly sampled IMU recording; ``notes`` say what the loader detected or repaired."""

    acc_m_s2: np.ndarray  # (3, n)
    sampling_rate_hz: float
    gyr_deg_s: np.ndarray | None = None  # (3, n)
    source: str = ""
    notes: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.acc_m_s2.shape[-1] / self.sampling_rate_hz


def _normalise(name: str) -> str:
    name = name.strip().lower().replace("^", "").replace("/", "_").replace("(", "_").replace(")", "")
    name = re.sub(r"[^a-z0-9_]+", "_", name)
    return re.sub(r"_+", "_", name).strip("_")


def _classify(header: list[str]) -> tuple[int | None, float | None, dict, dict, str | None, str | None]:
    time_col, time_scale = None, None
    acc: dict[str, int] = {}
    gyr: dict[str, int] = {}
    acc_unit = gyr_unit = None
    for i, raw in enumerate(header):
        name = _normalise(raw)
        base, _, suffix = name.partition("_")
        if time_col is None and (name in _TIME_NAMES or (base in _TIME_NAMES and suffix in _TIME_SCALE)):
            time_col, time_scale = i, _TIME_SCALE.get(suffix) if suffix else None
            continue
        if m := _GYR_RE.match(name):
            if name.startswith("g_") and m.group(2) is None:
                pass  # "g_x" alone is too ambiguous to call a gyroscope
            else:
                gyr.setdefault(m.group(1), i)
                if m.group(2):
                    gyr_unit = _GYR_SUFFIX.get(m.group(2), gyr_unit)
                continue
        if m := _ACC_RE.match(name):
            acc.setdefault(m.group(1), i)
            if m.group(2):
                acc_unit = _ACC_SUFFIX.get(m.group(2), acc_unit)
    return time_col, time_scale, acc, gyr, acc_unit, gyr_unit


def _read_rows(text: str, path: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise DataQualityError(f"IMU file {str(path)!r} holds no rows")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    return [h.strip() for h in rows[0]], rows[1:]


def _to_float(rows: list[list[str]], cols: list[int], path: str) -> np.ndarray:
    width = max(cols) + 1
    short = [i for i, r in enumerate(rows) if len(r) < width]
    if short:
        raise DataQualityError(f"IMU file {str(path)!r}: row {short[0] + 2} has {len(rows[short[0]])} cells, expected {width}")
    cells = np.array([[r[c].strip() for c in cols] for r in rows], dtype=object)
    cells[cells == ""] = "nan"
    try:
        return cells.astype(float).T
    except ValueError:
        for i, row in enumerate(cells):
            for j, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    raise DataQualityError(
                        f"IMU file {str(path)!r}: row {i + 2} column {cols[j] + 1} holds {cell!r}, not a number"
                    ) from None
        raise


def _resolve_acc_unit(acc: np.ndarray, declared: str | None, requested: str, notes: list[str]) -> str:
    norm = np.linalg.norm(acc, axis=0)
    median = float(np.median(norm[np.isfinite(norm)])) if np.isfinite(norm).any() else float("nan")
    looks = "g" if 0.5 <= median <= 2.0 else "m/s^2" if 4.0 <= median <= 20.0 else None
    unit = requested if requested != "auto" else declared
    if unit is None:
        if looks is None:
            raise DataQualityError(
                f"cannot tell the acceleration unit: median |acc| = {median:.3g}, expected ~1 (g) or ~9.81 "
                "(m/s^2); pass acc_unit='g' or acc_unit='m/s^2' (or check for milli-g / raw counts)"
            )
        notes.append(f"acceleration unit detected as {looks} (median |acc| = {median:.2f})")
        return looks
    if looks is not None and looks != unit:
        raise ParameterError(
            f"acc_unit is {unit!r} but the median |acc| is {median:.2f}, which looks like {looks}; "
            "check the unit (at rest |acc| is 1 g = 9.81 m/s^2)"
        )
    return unit


def _check_options(sampling_rate_hz: float | None, acc_unit: str, gyr_unit: str) -> None:
    if acc_unit not in ACC_UNITS:
        raise ParameterError(f"acc_unit must be one of {ACC_UNITS!r}, got {acc_unit!r}")
    if gyr_unit not in GYR_UNITS:
        raise ParameterError(f"gyr_unit must be one of {GYR_UNITS!r}, got {gyr_unit!r}")
    if sampling_rate_hz is not None and not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
        raise ParameterError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz!r}")


def load_imu_csv(
    path: str | Path,
    *,
    sampling_rate_hz: float | None = None,
    acc_unit: str = "auto",
    gyr_unit: str = "auto",
) -> ImuRecording:
    """Load an IMU CSV as acceleration in m/s^2 (and angular rate in deg/s), uniformly sampled.

    Give ``sampling_rate_hz`` if the file has no time column; if both are present they must agree.
    """
    path = Path(path)
    _check_options(sampling_rate_hz, acc_unit, gyr_unit)
    if not path.is_file():
        raise ParameterError(f"IMU file {str(path)!r} does not exist or is not a file")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    return parse_imu_csv(text, source=str(path), sampling_rate_hz=sampling_rate_hz, acc_unit=acc_unit, gyr_unit=gyr_unit)


def parse_imu_csv(
    text: str,
    *,
    source: str = "upload",
    sampling_rate_hz: float | None = None,
    acc_unit: str = "auto",
    gyr_unit: str = "auto",
) -> ImuRecording:
    """:func:`load_imu_csv` on CSV text already in memory (an upload); ``source`` names it in errors."""
    path = source
    _check_options(sampling_rate_hz, acc_unit, gyr_unit)
    header, rows = _read_rows(text, path)
    time_col, time_scale, acc_cols, gyr_cols, acc_declared, gyr_declared = _classify(header)
    if set(acc_cols) != {"x", "y", "z"}:
        raise DataQualityError(
            f"IMU file {str(path)!r}: no acceleration x/y/z columns found in header {header!r}; "
            "name them e.g. acc_x, acc_y, acc_z (optionally acc_x_g or acc_x_m_s2)"
        )
    if len(rows) < 2:
        raise DataQualityError(f"IMU file {str(path)!r} has {len(rows)} data row(s); too short to analyse")
    notes: list[str] = []
    acc = _to_float(rows, [acc_cols[a] for a in "xyz"], path)
    gyr = _to_float(rows, [gyr_cols[a] for a in "xyz"], path) if set(gyr_cols) == {"x", "y", "z"} else None

    unit = _resolve_acc_unit(acc, acc_declared, acc_unit, notes)
    if unit == "g":
        acc = acc * STANDARD_GRAVITY_M_S2
    if gyr is not None:
        g_unit = gyr_unit if gyr_unit != "auto" else gyr_declared
        if g_unit is None:
            g_unit = "deg/s"
            notes.append("gyroscope unit not declared; assumed deg/s (pass gyr_unit='rad/s' if it is rad/s)")
        if g_unit == "rad/s":
            gyr = np.rad2deg(gyr)

    if time_col is None:
        if sampling_rate_hz is None:
            raise ParameterError(
                f"IMU file {str(path)!r} has no time column; pass sampling_rate_hz (CLI: --rate HZ)"
            )
        return ImuRecording(acc, float(sampling_rate_hz), gyr, str(path), tuple(notes))

    times = _to_float(rows, [time_col], path)[0]
    if not np.all(np.isfinite(times)):
        bad = int(np.flatnonzero(~np.isfinite(times))[0])
        raise DataQualityError(f"IMU file {str(path)!r}: timestamp missing in row {bad + 2}")
    if time_scale is None:
        span = abs(times[0])
        time_scale = 1e-9 if span > 1e17 else 1e-6 if span > 1e14 else 1e-3 if span > 1e11 else 1.0
        if time_scale != 1.0:
            notes.append(f"timestamps read as epoch with scale {time_scale:g} s")
    times = (times - times[0]) * time_scale
    steps = np.diff(times)
    if np.any(steps <= 0):
        bad = int(np.flatnonzero(steps <= 0)[0])
        raise DataQualityError(
            f"IMU file {str(path)!r}: timestamps do not increase at row {bad + 3} "
            f"({times[bad]:.4f} s then {times[bad + 1]:.4f} s); sort the file or remove duplicates"
        )
    rate = round(1.0 / float(np.median(steps)), 3)  # timestamps in ms carry float noise
    period = 1.0 / rate
    if sampling_rate_hz is not None:
        if abs(rate - sampling_rate_hz) > RATE_MISMATCH * sampling_rate_hz:
            raise ParameterError(
                f"sampling_rate_hz={sampling_rate_hz!r} disagrees with the timestamps ({rate:.2f} Hz); "
                "drop the rate or check the time unit"
            )
        rate, period = float(sampling_rate_hz), 1.0 / float(sampling_rate_hz)
    gaps = np.flatnonzero(steps > GAP_FACTOR * period)
    regular = steps[steps <= GAP_FACTOR * period]
    jitter = float(np.max(np.abs(regular - period))) if regular.size else 0.0
    if gaps.size == 0 and jitter < 0.01 * period:
        return ImuRecording(acc, rate, gyr, str(path), tuple(notes))

    n_grid = int(times[-1] / period) + 1
    if n_grid > MAX_GAP_FILL_RATIO * times.size + int(MAX_GAP_FILL_SLACK_S * rate):
        raise DataQualityError(
            f"IMU file {str(path)!r}: {times.size} rows span {times[-1]:.4g} s at {rate:g} Hz, so filling the "
            f"gaps would make {n_grid} samples, mostly empty; check the time unit, or cut the file at the gap"
        )
    grid = np.arange(0.0, times[-1] + 0.5 * period, period)
    right = np.clip(np.searchsorted(times, grid), 1, times.size - 1)
    nearest_gap = np.minimum(np.abs(times[right] - grid), np.abs(grid - times[right - 1]))
    in_gap = (nearest_gap > 0.75 * period) & (times[right] - times[right - 1] > GAP_FACTOR * period)

    def regrid(values: np.ndarray) -> np.ndarray:
        out = np.stack([np.interp(grid, times, ch) for ch in values])
        out[:, in_gap] = np.nan
        return out

    acc, gyr = regrid(acc), (regrid(gyr) if gyr is not None else None)
    if gaps.size:
        longest = float(steps[gaps].max())
        notes.append(
            f"{gaps.size} gap(s) in the timestamps (longest {longest:.3f} s, first at {times[gaps[0]]:.3f} s); "
            "filled with NaN"
        )
    if jitter >= 0.01 * period:
        notes.append(f"timestamps jitter by up to {jitter * 1000:.1f} ms; resampled to a uniform {rate:.2f} Hz grid")
    return ImuRecording(acc, rate, gyr, str(path), tuple(notes))


def save_imu_csv(
    path: str | Path, acc_m_s2: np.ndarray, *, sampling_rate_hz: float, gyr_deg_s: np.ndarray | None = None
) -> Path:
    """Write acceleration (m/s^2) and optional angular rate (deg/s) with a ``time_s`` column."""
    path = Path(path)
    acc = np.asarray(acc_m_s2, dtype=float)
    if acc.ndim != 2 or acc.shape[0] != 3:
        raise ParameterError(f"acc_m_s2 must have shape (3, n), got {acc.shape!r}")
    columns = [np.arange(acc.shape[1]) / sampling_rate_hz, *acc]
    header = ["time_s", "acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2"]
    if gyr_deg_s is not None:
        columns += list(np.asarray(gyr_deg_s, dtype=float))
        header += ["gyr_x_deg_s", "gyr_y_deg_s", "gyr_z_deg_s"]
    np.savetxt(path, np.column_stack(columns), delimiter=",", header=",".join(header), comments="", fmt="%.9g")
    return path
