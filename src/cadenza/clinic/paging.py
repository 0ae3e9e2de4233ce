"""Pages of the record's lists: the page, its limits and its keyset cursors (issue 23).

Shared by the ORM pages (:mod:`cadenza.clinic.dashboard`) and the plain-row pages (:mod:`cadenza.clinic.record_rows`,
:mod:`cadenza.clinic.dashboard_lists`); no queries here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cadenza.errors import ParameterError

MAX_PAGE_SIZE = 100


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ParameterError(f"limit must be a whole number 1..{MAX_PAGE_SIZE}, got {limit!r}")


@dataclass(frozen=True)
class Page:
    """One page of a list: ``items`` out of ``total`` rows; ``next_after`` is the keyset cursor of the next page
    (the sort key of the last row, as :func:`encode_cursor` writes it), None on the last page.

    ``offset`` is where the page starts in the whole list (the rows before it, for "51-100 of 230"); the
    API still accepts an offset from old scripts, but every next/previous link pages by key, so rows written
    or removed meanwhile never shift or repeat a page.
    """

    items: list[Any]
    total: int
    limit: int
    offset: int
    next_after: str | None = None
    prev_before: str | None = None  # the cursor of the page before this one (keyset pages), None on the first

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts by position, or None on the last page."""
        end = self.offset + len(self.items)
        return end if end < self.total else None


def _check_offset(offset: int) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ParameterError(f"offset must be a whole number >= 0, got {offset!r}")


_CURSOR_TYPES = {"int": int, "str": str, "date": dt.date.fromisoformat, "datetime": dt.datetime.fromisoformat,
                 "none": lambda _: None}


def encode_cursor(values: tuple[Any, ...]) -> str:
    """An opaque, URL-safe cursor for a row's sort key (ints, strings, dates, datetimes or None)."""
    import base64
    import json

    def tag(value: Any) -> list:
        if value is None:
            return ["none", ""]
        if isinstance(value, dt.datetime):
            return ["datetime", value.isoformat()]
        if isinstance(value, dt.date):
            return ["date", value.isoformat()]
        return ["int" if isinstance(value, int) else "str", value]

    raw = json.dumps([tag(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, kinds: tuple[str, ...], name: str = "after") -> tuple[Any, ...]:
    """The sort key in ``cursor``; ``kinds`` are the expected value kinds ("none" allowed where a key may be
    NULL). A cursor that is not one of ours is refused by ``name``, never half-used."""
    import base64
    import binascii
    import json

    refused = ParameterError(f"{name} must be a cursor from this list's next/previous link, got {str(cursor)[:80]!r}")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= 4096:
        raise refused
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise refused
        values = []
        for part, wanted in zip(parts, kinds, strict=True):
            kind, raw = part
            allowed = {wanted.rstrip("?")} | ({"none"} if wanted.endswith("?") else set())
            if kind not in allowed:
                raise refused
            value = _CURSOR_TYPES[kind](raw)
            if kind in ("int", "str") and type(value) is not type(raw):
                raise refused
            values.append(value)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise refused from None
    return tuple(values)
