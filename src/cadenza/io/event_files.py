"""Event and cue times from files: a column of times (text or CSV) and MIDI note-ons.

A times file holds one time in seconds per line, or a CSV whose first column is the time (a header
row and further columns, e.g. a side label, are allowed). Blank lines and ``#`` comments are skipped.
A MIDI file gives the times of its note-on events (velocity > 0) on every track, in seconds with the
file's tempo map (mido).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from cadenza.errors import DataQualityError, ParameterError

MAX_FILE_BYTES = 20_000_000  # a times file or a MIDI file of a tapping block is far smaller


def _existing_file(path: str | Path, *, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{what} {str(path)!r} does not exist or is not a file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataQualityError(f"{what} {str(path)!r} is larger than {MAX_FILE_BYTES} bytes")
    return path


def load_event_times(path: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """Times (s, in file order) from a text or CSV file, and the second column's labels if it has one
    (e.g. ``L``/``R`` per hit), else None.

    Raises :class:`ParameterError` for a missing file and :class:`DataQualityError` naming the line
    that is not a time.
    """
    path = _existing_file(path, what="times file")
    times: list[float] = []
    labels: list[str] = []
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    dialect = csv.excel_tab if "\t" in text and "," not in text else csv.excel
    for line_no, row in enumerate(csv.reader(text.splitlines(), dialect), start=1):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if len(cells) == 1 and " " in cells[0]:
            cells = cells[0].split()
        try:
            value = float(cells[0])
        except ValueError:
            if not times:  # a header row
                continue
            raise DataQualityError(f"times file {str(path)!r} line {line_no}: {cells[0]!r} is not a time in seconds") from None
        times.append(value)
        labels.append(cells[1] if len(cells) > 1 else "")
    has_labels = bool(labels) and all(labels)
    return np.asarray(times, dtype=float), (labels if has_labels else None)


def load_midi_onsets(path: str | Path) -> np.ndarray:
    """Sorted note-on times (s) of every track of a standard MIDI file."""
    import mido

    path = _existing_file(path, what="MIDI file")
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise DataQualityError(f"cannot read MIDI file {str(path)!r}: {exc}") from exc
    times, now_s = [], 0.0
    for message in midi:  # merged tracks, delta times in seconds
        now_s += message.time
        if message.type == "note_on" and message.velocity > 0:
            times.append(now_s)
    return np.asarray(sorted(times), dtype=float)
