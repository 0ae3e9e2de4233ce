"""Field validators shared by the JSON API's request models (pydantic), so each refusal is a 422 naming
the field instead of a database error (security probe H4)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator


def no_nul(text: str) -> str:
    """PostgreSQL text cannot hold NUL: refuse it as a 422 rather than fail in the driver (500)."""
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


def utc_convertible(value: dt.datetime) -> dt.datetime:
    """A timezone-aware datetime whose UTC value exists (year 1-9999), e.g. not ``9999-12-31T23:59:59-12:00``.

    Stored timestamps are converted to UTC; without this check the conversion overflows in the
    database layer (a 500) instead of being refused here.
    """
    if value.tzinfo is not None:
        try:
            value.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise ValueError(f"{value.isoformat()} is out of range once converted to UTC "
                             "(years 1-9999 only)") from None
    return value


UtcConvertible = Annotated[dt.datetime, AfterValidator(utc_convertible)]
