"""JSON output of CLI commands: numpy values as plain numbers, NaN and infinities as null."""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any, *, digits: int | None = None) -> Any:
    """A copy of ``value`` that ``json.dumps`` writes as valid JSON; floats rounded to ``digits`` if given.

    >>> import numpy as np
    >>> json_safe({"r": np.float64(0.123456), "gap": float("nan"), "n": np.int64(3), "t": np.array([1.0, 2.5])},
    ...           digits=3)
    {'r': 0.123, 'gap': None, 'n': 3, 't': [1.0, 2.5]}
    """
    import numpy as np

    if isinstance(value, dict):
        return {k: json_safe(v, digits=digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, digits=digits) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist(), digits=digits)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        if not math.isfinite(number):
            return None
        return number if digits is None else round(number, digits)
    return value
