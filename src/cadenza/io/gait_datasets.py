"""Loaders for the two real gait datasets kept in ``../shared/data/gait/``, with their references.

* ``mobgap_lab``: lower-back (L5) IMU at 100 Hz with the INDIP reference (initial contacts with
  left/right labels, continuous walking periods with their average cadence). Layout as in mobgap's
  example data: ``<cohort>/<participant>/data.mat`` anywhere below the folder.
* ``gaitmap_healthy``: one IMU on each foot at 204.8 Hz with motion-capture initial contacts.

Both return arrays with time on the last axis: acceleration in m/s^2, angular rate in deg/s.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cadenza.errors import DataQualityError, ParameterError
from cadenza.gait.scoring import BoutScore, score_bout
from cadenza.units import STANDARD_GRAVITY_M_S2

GAITMAP_SAMPLING_RATE_HZ = 204.8
GAITMAP_MOCAP_RATE_HZ = 100.0
LOWER_BACK_AXES = ("is", "ml", "pa")  # sensor x, y, z of the MM+ in mobgap's body-frame names
FOOT_AXES = ("x", "y", "z")  # gaitmap foot frame: x to the toe, y to the left, z up
_DUPLICATE_IC_S = 0.05  # two reference contacts closer than this are one contact recorded twice


@dataclass(frozen=True)
class ReferenceBout:
    """One reference walking bout (INDIP ``ContinuousWalkingPeriod``, mobgap's "wb" level)."""

    start_s: float
    end_s: float
    cadence_spm: float
    ic_times_s: np.ndarray
    ic_sides: tuple[str, ...]
    n_strides: int
    walking_speed_m_s: float

    def score(self, detected_ic_times_s: np.ndarray) -> BoutScore:
        """Detected contacts scored against this bout by the benchmark's rule (see ``score_bout``)."""
        return score_bout(detected_ic_times_s, start_s=self.start_s, end_s=self.end_s,
                          reference_cadence_spm=self.cadence_spm, n_reference=self.ic_times_s.size)


@dataclass(frozen=True)
class LowerBackRecording:
    """One test/trial of one participant: lower-back IMU plus reference bouts."""

    recording_id: str
    cohort: str
    participant_id: str
    test: str
    trial: str
    acc_m_s2: np.ndarray  # (3, n): is, ml, pa
    gyr_deg_s: np.ndarray  # (3, n)
    sampling_rate_hz: float
    reference_bouts: tuple[ReferenceBout, ...]
    sensor_height_m: float | None = None

    @property
    def duration_s(self) -> float:
        return self.acc_m_s2.shape[-1] / self.sampling_rate_hz

    @property
    def reference_ic_times_s(self) -> np.ndarray:
        if not self.reference_bouts:
            return np.empty(0)
        return np.sort(np.concatenate([b.ic_times_s for b in self.reference_bouts]))


@dataclass(frozen=True)
class FootRecording:
    """Both feet of the gaitmap healthy example, with motion-capture initial contacts per foot."""

    sampling_rate_hz: float
    acc_m_s2: dict[str, np.ndarray]  # side -> (3, n), foot frame x/y/z
    gyr_deg_s: dict[str, np.ndarray]  # side -> (3, n)
    reference_ic_times_s: dict[str, np.ndarray]  # side -> sorted IC times (s)
    stride_times_s: dict[str, np.ndarray] = field(default_factory=dict)  # per-stride duration, mocap

    @property
    def duration_s(self) -> float:
        return next(iter(self.acc_m_s2.values())).shape[-1] / self.sampling_rate_hz


def _as_list(value) -> list:
    """MATLAB structs load as a dict for one element, a list for several, an empty array for none."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype != object:
        return []
    return list(value)


def _scalar(value) -> float:
    """A MATLAB scalar as float; empty or non-numeric fields (seen in patient recordings) give NaN."""
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return float("nan")
    return float(arr[0]) if arr.size == 1 else float("nan")


def _reference_bout(wb: dict) -> ReferenceBout:
    try:
        ic_s = np.atleast_1d(np.asarray(wb.get("InitialContact_Event", []), dtype=float)).ravel()
    except (TypeError, ValueError):
        ic_s = np.empty(0)
    sides = np.atleast_1d(np.asarray(wb.get("InitialContact_LeftRight", []), dtype=object)).ravel()
    if sides.size != ic_s.size:  # a side list of the wrong length carries no usable labels
        sides = np.array(["unknown"] * ic_s.size, dtype=object)
    keep = np.isfinite(ic_s)
    ic_s, sides = ic_s[keep], sides[keep]
    order = np.argsort(ic_s, kind="stable")
    ic_s, sides = ic_s[order], sides[order]
    if ic_s.size:
        dup = np.concatenate([[False], np.diff(ic_s) < _DUPLICATE_IC_S])
        ic_s, sides = ic_s[~dup], sides[~dup]
    n_strides = _scalar(wb.get("NumberStrides", np.nan))
    return ReferenceBout(
        start_s=_scalar(wb.get("Start")),
        end_s=_scalar(wb.get("End")),
        cadence_spm=_scalar(wb.get("Cadence")),
        ic_times_s=ic_s,
        ic_sides=tuple(str(s).lower() for s in sides),
        n_strides=int(n_strides) if np.isfinite(n_strides) else 0,
        walking_speed_m_s=_scalar(wb.get("WalkingSpeed", np.nan)),
    )


def load_mobgap_lab_participant(path: str | Path) -> list[LowerBackRecording]:
    """All tests/trials in one mobgap-layout ``data.mat`` (``.../<cohort>/<participant>/data.mat``).

    Acceleration is converted from g to m/s^2. Reference contacts that are NaN are dropped and
    duplicates (closer than 50 ms) are kept once, as mobgap does.
    """
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"path {str(path)!r} is not a file; expected a mobgap-layout data.mat")
    try:
        data = loadmat(str(path), simplify_cells=True)["data"]
    except (KeyError, ValueError, OSError, NotImplementedError) as exc:
        raise DataQualityError(f"cannot read {str(path)!r} as a mobgap data.mat: {exc}") from exc
    cohort, participant = path.parent.parent.name, path.parent.name
    recordings: list[LowerBackRecording] = []
    for measure in sorted(k for k in data if k.startswith("TimeMeasure")):
        for test, trials in sorted(data[measure].items()):
            if not isinstance(trials, dict):
                continue
            for trial, content in sorted(trials.items()):
                if not isinstance(content, dict) or "SU" not in content:
                    continue
                su = content["SU"].get("LowerBack")
                if su is None:
                    continue
                rate = su["Fs"]["Acc"] if isinstance(su["Fs"], dict) else su["Fs"]
                acc = np.asarray(su["Acc"], dtype=float).T * STANDARD_GRAVITY_M_S2
                gyr = np.asarray(su["Gyr"], dtype=float).T
                indip = content.get("Standards", {}).get("INDIP", {})
                bouts = tuple(
                    _reference_bout(wb) for wb in _as_list(indip.get("ContinuousWalkingPeriod", []))
                )
                height = content.get("SensorHeight", data[measure].get("SensorHeight"))
                recordings.append(
                    LowerBackRecording(
                        recording_id=f"{cohort}/{participant}/{test}/{trial}",
                        cohort=cohort,
                        participant_id=participant,
                        test=test,
                        trial=trial,
                        acc_m_s2=acc,
                        gyr_deg_s=gyr,
                        sampling_rate_hz=float(rate),
                        reference_bouts=bouts,
                        sensor_height_m=float(height) / 100 if np.isscalar(height) else None,
                    )
                )
    return recordings


def load_mobgap_lab(data_dir: str | Path) -> list[LowerBackRecording]:
    """Every recording below ``data_dir`` laid out like mobgap's lab example (any cohort/participant)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ParameterError(f"data_dir {str(data_dir)!r} is not a folder")
    recordings: list[LowerBackRecording] = []
    for path in sorted(data_dir.rglob("data.mat")):
        recordings.extend(load_mobgap_lab_participant(path))
    return recordings


def _read_two_header_csv(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        try:
            top, second = next(reader), next(reader)
        except StopIteration:
            raise DataQualityError(f"{str(path)!r} has fewer than two header rows") from None
    columns = list(zip(top[1:], second[1:], strict=True))
    values = np.loadtxt(path, delimiter=",", skiprows=2, ndmin=2)
    return columns, values[:, 1:]


def load_gaitmap_healthy(folder: str | Path) -> FootRecording:
    """The gaitmap healthy example: both feet (204.8 Hz) and the mocap initial contacts per foot."""
    folder = Path(folder)
    imu_path = folder / "imu_sample.csv"
    events_path = folder / "stride_events_sample.csv"
    for p in (imu_path, events_path):
        if not p.is_file():
            raise ParameterError(f"folder {str(folder)!r} lacks {p.name}; expected the gaitmap example")
    columns, values = _read_two_header_csv(imu_path)
    index = {col: i for i, col in enumerate(columns)}
    acc: dict[str, np.ndarray] = {}
    gyr: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        sensor = f"{side}_sensor"
        acc[side] = np.stack([values[:, index[(sensor, f"acc_{a}")]] for a in FOOT_AXES])
        gyr[side] = np.stack([values[:, index[(sensor, f"gyr_{a}")]] for a in FOOT_AXES])
    with events_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    ic: dict[str, np.ndarray] = {}
    stride: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        mine = [r for r in rows if r["foot"] == side]
        idx = np.array([float(r[k]) for r in mine for k in ("ic", "pre_ic")])
        ic[side] = np.unique(idx[np.isfinite(idx)]) / GAITMAP_SAMPLING_RATE_HZ
        stride[side] = np.array(
            [(float(r["end"]) - float(r["start"])) / GAITMAP_SAMPLING_RATE_HZ for r in mine]
        )
    return FootRecording(
        sampling_rate_hz=GAITMAP_SAMPLING_RATE_HZ,
        acc_m_s2=acc,
        gyr_deg_s=gyr,
        reference_ic_times_s=ic,
        stride_times_s=stride,
    )
