"""The Daphnet freezing-of-gait text format (Bächlin et al. 2010; UCI "Daphnet Freezing of Gait").

One file per recording run, ``S<ss>R<rr>.txt``: space-separated integers, no header, 64 Hz, eleven
columns: time (ms), then forward / vertical / lateral acceleration in milli-g of the ankle (shank),
the thigh (just above the knee) and the trunk (at the hip), then the annotation: 0 outside the
experiment, 1 experiment without freeze, 2 freeze. See ``../shared/data/gait/daphnet/README.md``.

The loader returns acceleration in m/s^2, ``(3, n)`` per placement in Cadenza's names (``"shank"``,
``"thigh"``, ``"lower-back"`` for the trunk sensor), axes in the file's order (forward, vertical,
lateral). Samples are put on the 64 Hz grid by their timestamps: a gap becomes NaN (never
interpolated), and a sensor reading exactly (0, 0, 0) mg, which a worn accelerometer cannot (gravity),
is a sensor not yet set up or dead and becomes NaN too; ``notes`` say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.errors import DataQualityError, ParameterError
from cadenza.units import STANDARD_GRAVITY_M_S2

DAPHNET_SAMPLING_RATE_HZ = 64.0
DAPHNET_PLACEMENTS = ("shank", "thigh", "lower-back")  # file columns 2-4, 5-7, 8-10
DAPHNET_AXES = ("forward", "vertical", "lateral")
LABEL_OUTSIDE, LABEL_WALKING, LABEL_FREEZE = 0, 1, 2
_NAME_RE = re.compile(r"S(\d+)R(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class DaphnetRecording:
    """One Daphnet run: acceleration per placement (m/s^2, ``(3, n)``), the per-sample annotation
    (0 outside the protocol, 1 no freeze, 2 freeze) and what the loader noticed."""

    acc_m_s2: dict[str, np.ndarray]
    annotation: np.ndarray  # (n,) int8; -1 where the grid had no sample (a gap)
    sampling_rate_hz: float
    subject_id: str = ""
    run_id: str = ""
    source: str = ""
    notes: tuple[str, ...] = ()

    @property
    def n_samples(self) -> int:
        return int(self.annotation.size)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate_hz

    @property
    def in_protocol(self) -> np.ndarray:
        """Samples inside the experiment (labels 1 and 2): the only ones to evaluate on."""
        return self.annotation >= LABEL_WALKING

    @property
    def freeze_episodes_s(self) -> np.ndarray:
        """Annotated freezes as ``(k, 2)`` [start_s, end_s): maximal runs of label-2 samples."""
        frozen = (self.annotation == LABEL_FREEZE).astype(np.int8)
        edges = np.diff(np.concatenate([[0], frozen, [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        return np.column_stack([starts, stops]).astype(float).reshape(-1, 2) / self.sampling_rate_hz


def parse_daphnet(text: str, *, source: str = "upload") -> DaphnetRecording:
    """:func:`load_daphnet` on text already in memory; ``source`` names it in errors and notes."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if not rows:
        raise DataQualityError(f"Daphnet file {source!r} holds no rows")
    widths = {len(r) for r in rows}
    if widths != {11}:
        bad = next(i for i, r in enumerate(rows) if len(r) != 11)
        raise DataQualityError(
            f"Daphnet file {source!r}: row {bad + 1} has {len(rows[bad])} columns, expected 11 "
            "(time ms, 3 x 3 accelerations in mg, annotation)")
    try:
        data = np.array(rows, dtype=float)
    except ValueError:
        raise DataQualityError(f"Daphnet file {source!r} holds a value that is not a number") from None
    return _from_array(data, source=source)


def load_daphnet(path: str | Path) -> DaphnetRecording:
    """Load one Daphnet ``S<ss>R<rr>.txt`` file (see the module docstring for the format)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Daphnet file {str(path)!r} does not exist or is not a file")
    try:
        data = np.loadtxt(path, dtype=float, ndmin=2)
    except ValueError as exc:
        raise DataQualityError(f"Daphnet file {str(path)!r} is not 11 numeric columns: {exc}") from None
    if data.shape[1] != 11:
        raise DataQualityError(f"Daphnet file {str(path)!r} has {data.shape[1]} columns, expected 11")
    return _from_array(data, source=str(path))


def _from_array(data: np.ndarray, *, source: str) -> DaphnetRecording:
    rate = DAPHNET_SAMPLING_RATE_HZ
    notes: list[str] = []
    time_ms = data[:, 0]
    if np.any(np.diff(time_ms) <= 0):
        bad = int(np.flatnonzero(np.diff(time_ms) <= 0)[0])
        raise DataQualityError(f"Daphnet file {source!r}: time does not increase at row {bad + 2}")
    labels = data[:, 10]
    if not np.all(np.isin(labels, (LABEL_OUTSIDE, LABEL_WALKING, LABEL_FREEZE))):
        bad = int(np.flatnonzero(~np.isin(labels, (0, 1, 2)))[0])
        raise DataQualityError(f"Daphnet file {source!r}: annotation {labels[bad]!r} in row {bad + 1} is not 0, 1 or 2")
    # Timestamps are whole milliseconds (15 or 16 ms apart at 64 Hz): place each row on the grid.
    idx = np.rint((time_ms - time_ms[0]) * rate / 1000.0).astype(np.int64)
    if np.any(np.diff(idx) == 0):
        raise DataQualityError(f"Daphnet file {source!r}: two rows fall on one 64 Hz sample; is it 64 Hz?")
    n = int(idx[-1]) + 1
    if n > 2 * data.shape[0] + int(60 * rate):
        raise DataQualityError(f"Daphnet file {source!r}: {data.shape[0]} rows span {time_ms[-1] - time_ms[0]:.0f} ms; "
                               "check that the first column is time in milliseconds")
    if n != data.shape[0]:
        notes.append(f"{n - data.shape[0]} missing sample(s) in the timestamps; filled with NaN")
    annotation = np.full(n, -1, dtype=np.int8)
    annotation[idx] = labels.astype(np.int8)
    acc: dict[str, np.ndarray] = {}
    for k, name in enumerate(DAPHNET_PLACEMENTS):
        mg = data[:, 1 + 3 * k: 4 + 3 * k].T
        values = np.full((3, n), np.nan)
        values[:, idx] = mg / 1000.0 * STANDARD_GRAVITY_M_S2
        dead = np.all(mg == 0, axis=0)
        if dead.any():
            values[:, idx[dead]] = np.nan
            in_task = int(np.sum(dead & (labels > 0)))
            notes.append(f"{name}: {int(dead.sum())} sample(s) read 0 on every axis (sensor off); set to NaN"
                         + (f", {in_task} of them inside the protocol" if in_task else ""))
        acc[name] = values
    match = _NAME_RE.search(Path(source).name)
    subject_id, run_id = (f"S{match.group(1)}", f"R{match.group(2)}") if match else ("", "")
    return DaphnetRecording(acc, annotation, rate, subject_id, run_id, source, tuple(notes))


def looks_like_daphnet(path: str | Path) -> bool:
    """True if the first line of ``path`` is 11 whitespace-separated integers (the Daphnet layout)."""
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                cells = line.split()
                return len(cells) == 11 and all(re.fullmatch(r"-?\d+", c) for c in cells)
    return False


def find_daphnet_files(folder: str | Path) -> list[Path]:
    """The ``S<ss>R<rr>.txt`` files in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"Daphnet folder {str(folder)!r} does not exist or is not a folder")
    return sorted(p for p in folder.glob("*.txt") if _NAME_RE.fullmatch(p.stem))
