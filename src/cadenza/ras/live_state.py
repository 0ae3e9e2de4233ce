"""A running live-cueing walk as bytes, and back: so another server process can carry the walk on.

:class:`~cadenza.ras.live.LiveCueSession` keeps everything the science needs in plain attributes: the
step detector's last 12 s of resampled samples and its running Welch sum, the controller's beats, steps and
corrections, and the freeze detector's window and state. :func:`snapshot` writes that tree as compressed
JSON (NumPy arrays as typed buffers); :func:`restore` rebuilds it. Only the classes in :data:`ALLOWED`
are ever built, by setting their attributes (no constructor or other code runs), so bytes read back from
the database cannot make the server run anything. A snapshot of another format version, or bytes that do
not decode, raise a ParameterError naming what was wrong; the caller then starts the walk's science afresh.

>>> import numpy as np
>>> from cadenza.ras.live import LiveCueSession
>>> live = LiveCueSession(preferred_cadence_spm=100, goal_cadence_spm=105)
>>> again = restore(snapshot(live))
>>> (again.goal_cadence_spm, again.controller.goal_period_s == live.controller.goal_period_s)
(105, True)
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import numpy as np

from cadenza.errors import ParameterError
from cadenza.gait.freezing import FreezeDetector, FreezeStream, _FreezeState
from cadenza.gait.steps import LowerBackStepDetector
from cadenza.gait.stream import StepStream
from cadenza.ras.controller import AdaptiveCueController
from cadenza.ras.live import LiveCueSession

FORMAT_VERSION = 1
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024  # inflated; a 30-minute walk is well under 1 MB
ALLOWED: dict[str, type] = {cls.__qualname__: cls for cls in (
    LiveCueSession, StepStream, LowerBackStepDetector, AdaptiveCueController, FreezeStream, FreezeDetector,
    _FreezeState)}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, np.generic):
        return _encode(value.item())
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ParameterError(f"cannot keep an array of dtype {value.dtype} in a live walk's snapshot")
        data = np.ascontiguousarray(value)
        return {"$a": [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode("ascii")]}
    if isinstance(value, list):
        if len(value) > 16 and all(type(v) in (float, np.float64) for v in value):
            # the walk's step, beat and asynchrony lists: one buffer, not thousands of JSON numbers
            return {"$l": base64.b64encode(np.asarray(value, dtype="<f8").tobytes()).decode("ascii")}
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": [_encode(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ParameterError("a live walk's snapshot keeps dicts with text keys only")
        return {"$d": {k: _encode(v) for k, v in value.items()}}
    name = type(value).__qualname__
    if ALLOWED.get(name) is not type(value):
        raise ParameterError(f"a live walk's snapshot cannot keep a {type(value).__module__}.{name}")
    return {"$o": name, "v": {k: _encode(v) for k, v in vars(value).items()}}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$f" in value:
        return float(value["$f"])  # only 'nan', 'inf', '-inf' are written
    if "$a" in value:
        dtype, shape, data = value["$a"]
        if np.dtype(dtype).kind not in "biuf":
            raise ParameterError(f"live walk snapshot holds an array of dtype {dtype!r}")
        return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape).copy()
    if "$l" in value:
        return np.frombuffer(base64.b64decode(value["$l"]), dtype="<f8").tolist()
    if "$t" in value:
        return tuple(_decode(v) for v in value["$t"])
    if "$d" in value:
        return {k: _decode(v) for k, v in value["$d"].items()}
    if "$o" in value:
        cls = ALLOWED.get(value["$o"])
        if cls is None:
            raise ParameterError(f"live walk snapshot names an unknown class {value['$o']!r}")
        obj = object.__new__(cls)
        obj.__dict__.update({k: _decode(v) for k, v in value["v"].items()})
        return obj
    raise ParameterError(f"live walk snapshot holds an unknown entry with keys {sorted(value)[:5]!r}")


def snapshot(live: LiveCueSession) -> bytes:
    """The walk's science as compressed bytes (see the module docstring)."""
    if not isinstance(live, LiveCueSession):
        raise ParameterError(f"live must be a LiveCueSession, got {type(live).__name__}")
    text = json.dumps({"version": FORMAT_VERSION, "live": _encode(live)}, separators=(",", ":"))
    return zlib.compress(text.encode("utf-8"), 6)


def _shape(obj: Any, path: str = "live") -> dict[str, tuple[str, ...]]:
    """Each allowed object's attribute names by path: what a server of this version builds."""
    out: dict[str, tuple[str, ...]] = {}
    if type(obj).__qualname__ in ALLOWED and hasattr(obj, "__dict__"):
        out[path] = tuple(sorted(vars(obj)))
        for name, value in vars(obj).items():
            out.update(_shape(value, f"{path}.{name}"))
    return out


def restore(data: bytes, *, like: LiveCueSession | None = None) -> LiveCueSession:
    """The :class:`LiveCueSession` a :func:`snapshot` wrote; ParameterError for anything else.

    With ``like`` (a fresh session of this server), a snapshot whose objects have other attributes (written
    by another version of the code) is refused rather than failing later in the middle of a walk.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise ParameterError(f"a live walk snapshot must be non-empty bytes, got {type(data).__name__}")
    try:
        inflate = zlib.decompressobj()
        text = inflate.decompress(bytes(data), MAX_SNAPSHOT_BYTES)
        if inflate.unconsumed_tail:
            raise ParameterError(f"live walk snapshot inflates beyond {MAX_SNAPSHOT_BYTES} bytes")
        doc = json.loads(text)
    except (zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise ParameterError(f"live walk snapshot does not decode ({type(exc).__name__}: {exc})") from None
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION:
        version = doc.get("version") if isinstance(doc, dict) else None
        raise ParameterError(f"live walk snapshot has format version {version!r}; this server reads {FORMAT_VERSION}")
    try:
        live = _decode(doc.get("live"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ParameterError(f"live walk snapshot is damaged ({type(exc).__name__}: {exc})") from None
    if not isinstance(live, LiveCueSession):
        raise ParameterError("live walk snapshot does not hold a live cueing session")
    if like is not None:
        mine, theirs = _shape(like), _shape(live)
        differ = sorted(p for p in set(mine) | set(theirs) if mine.get(p) != theirs.get(p))
        if differ:
            raise ParameterError(f"live walk snapshot was written by another version (differs at {differ[:3]!r})")
    return live
