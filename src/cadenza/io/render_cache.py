"""Rendered audio kept on disk by content key, so a costly render runs once (e.g. a song at a walk's goal tempo).

An entry is a file ``<key>.npz`` (numpy arrays, no pickles) in a cache folder under the data directory. The
key is a SHA-256 of everything the render depends on (:func:`content_key`): the source file's own SHA-256
(:func:`file_sha256`), the analysis and render versions, the parameters. Entries are written to a temporary
file and renamed into place, so two server processes rendering the same key at once each leave a whole
entry; an entry that cannot be read (cut short, corrupt) is removed and counts as missing. The folder keeps
at most ``max_entries`` entries; the least recently used go first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import ParameterError

DEFAULT_MAX_ENTRIES = 200
_READ_CHUNK_BYTES = 1 << 20


def content_key(*parts: Any) -> str:
    """A hex SHA-256 of ``parts`` (JSON-able values; floats as written, so round them first)."""
    try:
        text = json.dumps(parts, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"content_key parts must be finite JSON values, got {parts!r}: {exc}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (ParameterError naming the file if it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_READ_CHUNK_BYTES), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ParameterError(f"cannot read {str(path)!r} to key its render: {exc.strerror or exc}") from None
    return digest.hexdigest()


def _entry(folder: Path, key: str) -> Path:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ParameterError(f"key must be a hex SHA-256 (content_key), got {key!r}")
    return Path(folder) / f"{key}.npz"


def load_arrays(folder: str | Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key``, or None (never stored, or unreadable: then removed)."""
    path = _entry(Path(folder), key)
    try:
        with np.load(path, allow_pickle=False) as found:
            arrays = {name: found[name] for name in found.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return arrays


def store_arrays(folder: str | Path, key: str, arrays: dict[str, np.ndarray], *,
                 max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
    """Keep ``arrays`` under ``key`` (a cache: a disk that refuses is not an error for the caller's render)."""
    folder = Path(folder)
    path = _entry(folder, key)
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(value) for name, value in arrays.items()})
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".part-", suffix=".npz", delete=False) as f:
            f.write(buffer.getvalue())
            temporary = Path(f.name)
        os.replace(temporary, path)
        _prune(folder, max_entries)
    except OSError:
        return


def _prune(folder: Path, max_entries: int) -> None:
    entries = []
    for p in folder.glob("*.npz"):
        try:
            entries.append((p.stat().st_mtime, p))
        except OSError:
            continue
    for _, p in sorted(entries)[:max(len(entries) - max_entries, 0)]:
        p.unlink(missing_ok=True)
