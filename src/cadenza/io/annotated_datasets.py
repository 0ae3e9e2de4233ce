"""Loaders for the annotated timing and singing recordings kept in ``../shared/data/``.

* ``four_way_tabla``: real tabla recordings with every stroke onset annotated in four stroke classes
  (Rohit, Bhattacharjee & Rao 2021, ISMIR), laid out as
  ``<root>/<split>/audios/<id>.wav`` and ``<root>/<split>/onsets/<class>/<id>.onsets`` (seconds, one per
  line; a class file may be empty).
* ``vocadito``: solo singing with frame-level F0 (``time_s, f0_hz``, 0 = unvoiced) and note annotations
  (``onset_s, pitch_hz, duration_s``; Bittner et al. 2021, arXiv:2110.05580), laid out as
  ``<root>/Audio/vocadito_<n>.wav``, ``<root>/Annotations/F0/vocadito_<n>_f0.csv`` and
  ``<root>/Annotations/Notes/vocadito_<n>_notesA1.csv`` (and ``A2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.audio import load_audio

TABLA_STROKE_CLASSES = ("b", "d", "rb", "rt")


@dataclass(frozen=True)
class AnnotatedOnsets:
    """One recording with its reference onsets (s, sorted; every class merged) and per-class onsets."""

    clip_id: str
    split: str
    samples: np.ndarray
    sampling_rate_hz: int
    onset_times_s: np.ndarray
    class_onset_times_s: dict[str, np.ndarray]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sampling_rate_hz


@dataclass(frozen=True)
class AnnotatedSinging:
    """One sung recording with its reference F0 (Hz, 0 = unvoiced) and notes (``(n, 3)``: onset s, Hz, s)."""

    clip_id: str
    samples: np.ndarray
    sampling_rate_hz: int
    f0_times_s: np.ndarray
    f0_hz: np.ndarray
    notes: dict[str, np.ndarray]  # annotator ("A1", "A2") -> (n, 3) onset_s, pitch_hz, duration_s


def _dataset_root(root: str | Path, marker: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"root {str(root)!r} is not a folder")
    found = sorted(p.parent for p in root.rglob(marker) if p.is_dir())
    if not found:
        raise ParameterError(f"root {str(root)!r} holds no {marker!r} folder or file")
    return found[0]


def _times(path: Path) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.empty(0)
    try:
        return np.atleast_1d(np.loadtxt(path, dtype=float, ndmin=1))
    except ValueError as exc:
        raise DataQualityError(f"onset file {str(path)!r} is not one time per line: {exc}") from exc


def load_four_way_tabla(root: str | Path, *, split: str | None = None) -> list[AnnotatedOnsets]:
    """Every clip of the four-way tabla layout below ``root`` (or only ``split``: "train" or "test"),
    sorted by split and id."""
    base = _dataset_root(root, "audios").parent  # <base>/<split>/audios
    clips = []
    for wav in sorted(base.glob("*/audios/*.wav")):
        clip_split = wav.parent.parent.name
        if split is not None and clip_split != split:
            continue
        onset_dir = wav.parent.parent / "onsets"
        per_class = {}
        for cls in TABLA_STROKE_CLASSES:
            path = onset_dir / cls / f"{wav.stem}.onsets"
            per_class[cls] = _times(path) if path.is_file() else np.empty(0)
        audio = load_audio(wav, mono=True)
        merged = np.sort(np.concatenate(list(per_class.values())))
        clips.append(AnnotatedOnsets(wav.stem, clip_split, audio.samples, audio.sampling_rate_hz, merged, per_class))
    return clips


def load_vocadito(root: str | Path) -> list[AnnotatedSinging]:
    """Every vocadito track below ``root`` that has audio and an F0 annotation."""
    base = _dataset_root(root, "Annotations")  # <base>/Annotations and <base>/Audio
    tracks = []
    for wav in sorted((base / "Audio").glob("*.wav")):
        f0_path = base / "Annotations" / "F0" / f"{wav.stem}_f0.csv"
        if not f0_path.is_file():
            continue
        f0 = np.loadtxt(f0_path, delimiter=",", ndmin=2)
        notes = {}
        for annotator in ("A1", "A2"):
            path = base / "Annotations" / "Notes" / f"{wav.stem}_notes{annotator}.csv"
            if path.is_file():
                notes[annotator] = np.loadtxt(path, delimiter=",", ndmin=2)
        audio = load_audio(wav, mono=True)
        tracks.append(AnnotatedSinging(wav.stem, audio.samples, audio.sampling_rate_hz, f0[:, 0], f0[:, 1], notes))
    return tracks
