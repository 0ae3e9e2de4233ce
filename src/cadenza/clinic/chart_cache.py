"""Chart images cached by their content: the same data never goes through matplotlib twice.

A chart's key is the SHA-256 of its kind, its format and the ``repr`` of the plain dataclass it is drawn
from (dates, values, goal numbers), so any change to the data is a new key and nothing needs invalidating.
The key doubles as the HTTP ``ETag``: a browser that already holds the image gets ``304 Not Modified``
after the data is read, without a render. The cache is per process and bounded (:data:`MAX_ENTRIES`
images, least recently used dropped first); it holds no identifiers beyond the numbers the image shows.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

MAX_ENTRIES = 512  # a chart PNG is 20-40 kB: at most about 20 MB per process

_images: OrderedDict[str, bytes] = OrderedDict()
_lock = threading.Lock()
_renders = 0


def chart_key(kind: str, fmt: str, data: object) -> str:
    """The content key (and ETag value) of a chart of ``kind`` in ``fmt`` drawn from the dataclass ``data``."""
    return hashlib.sha256(f"{kind}\0{fmt}\0{data!r}".encode()).hexdigest()[:32]


def cached_chart(key: str, render: Callable[[], bytes]) -> bytes:
    """The image for ``key``, rendered by ``render()`` only when no copy is kept."""
    global _renders
    with _lock:
        image = _images.get(key)
        if image is not None:
            _images.move_to_end(key)
            return image
    image = render()  # outside the lock: two first requests may both render, neither waits on the other
    with _lock:
        _renders += 1
        _images[key] = image
        _images.move_to_end(key)
        while len(_images) > MAX_ENTRIES:
            _images.popitem(last=False)
    return image


def renders() -> int:
    """How many charts this process has rendered (the rest came from the cache)."""
    return _renders
