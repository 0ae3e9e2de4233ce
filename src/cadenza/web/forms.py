"""Turn submitted HTML forms into service arguments, and service errors into per-field messages.

Routes keep what was typed (``values``) and show each error next to its field (``errors``); the
service still validates everything, this only parses strings and attributes its messages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cadenza.clinic.instruments import Instrument, get_instrument, list_instruments
from cadenza.clinic.service import MeasurementInput

MAX_FIELD_CHARS = 20_000


@dataclass
class FormState:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """Text values of a submitted form (uploads and the CSRF token left out, long values cut)."""
    values = {}
    for key, value in form.items():
        if key == "csrf_token" or not isinstance(value, str):
            continue
        # NUL cannot be stored in PostgreSQL text and never belongs in a clinical note.
        values[key] = value[:MAX_FIELD_CHARS].replace("\x00", "")
    return values


def parse_int(state: FormState, name: str, *, required: bool = True) -> int | None:
    raw = state.values.get(name, "").strip()
    if not raw:
        if required:
            state.error(name, f"{name} is required")
        return None
    try:
        return int(raw)
    except ValueError:
        state.error(name, f"{name} must be a whole number, got {raw!r}")
        return None


def parse_float(state: FormState, name: str, *, required: bool = True) -> float | None:
    raw = state.values.get(name, "").strip().replace(",", ".")
    if not raw:
        if required:
            state.error(name, f"{name} is required")
        return None
    try:
        return float(raw)
    except ValueError:
        state.error(name, f"{name} must be a number, got {raw!r}")
        return None


def parse_date(state: FormState, name: str, *, required: bool = True) -> dt.date | None:
    raw = state.values.get(name, "").strip()
    if not raw:
        if required:
            state.error(name, f"{name} is required (YYYY-MM-DD)")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        state.error(name, f"{name} must be a date YYYY-MM-DD, got {raw!r}")
        return None


def parse_list(raw: str) -> list[str]:
    """Comma- or newline-separated text into a list of trimmed, non-empty strings."""
    return [part.strip() for part in re.split(r"[,\n]", raw) if part.strip()]


def attribute_error(state: FormState, message: str, fields: Iterable[str], *, fallback: str = "_form") -> None:
    """Put a service error next to the field its message names (messages start with the name)."""
    for name in fields:
        if re.search(rf"(^|\s|\b){re.escape(name)}\b", message):
            state.error(name, message)
            return
    state.error(fallback, message)


# ---- instrument entries on the session form --------------------------------------------------
# Field names: "<code>.value" for single-value instruments, "<code>.<item>" for questionnaire items,
# "<code>.goal_id" to link the entry to one of the client's goals.


def instrument_fields(instrument: Instrument) -> list[str]:
    if instrument.items is None:
        return [f"{instrument.code}.value"]
    return [f"{instrument.code}.{item}" for item in instrument.items]


def parse_measurements(state: FormState) -> tuple[list[MeasurementInput], list[str]]:
    """The instrument entries the therapist filled in, and the instrument code of each.

    An instrument counts as entered when any of its fields is non-empty; a half-filled questionnaire
    is entered, and the service then names the missing items.
    """
    entries: list[MeasurementInput] = []
    codes: list[str] = []
    for instrument in list_instruments():
        names = instrument_fields(instrument)
        if not any(state.values.get(n, "").strip() for n in names):
            continue
        goal_raw = state.values.get(f"{instrument.code}.goal_id", "").strip()
        goal_id = int(goal_raw) if goal_raw.isdigit() else None
        if instrument.items is None:
            value = parse_float(state, names[0])
            if value is None:
                continue
            entries.append(MeasurementInput(instrument.code, value=value, goal_id=goal_id))
        else:
            items: dict[str, Any] = {}
            for item, name in zip(instrument.items, names, strict=True):
                raw = state.values.get(name, "").strip()
                if not raw:
                    continue  # left out: the service reports it as missing
                try:
                    items[item] = int(raw)
                except ValueError:
                    state.error(name, f"{instrument.code} item {item!r} must be a whole number, got {raw!r}")
            entries.append(MeasurementInput(instrument.code, items=items, goal_id=goal_id))
        codes.append(instrument.code)
    return entries, codes


_MEASUREMENT_ERROR = re.compile(r"^measurements\[(\d+)\]: (.*)$", re.S)
_ITEM_IN_MESSAGE = re.compile(r"item(?:\(s\))? \[?'([A-Za-z0-9_]+)'")


def attribute_measurement_error(state: FormState, message: str, codes: list[str]) -> bool:
    """Place a ``measurements[i]: ...`` service error on that instrument (and item if named)."""
    match = _MEASUREMENT_ERROR.match(message)
    if not match or int(match.group(1)) >= len(codes):
        return False
    code, detail = codes[int(match.group(1))], match.group(2)
    item = _ITEM_IN_MESSAGE.search(detail)
    if item:
        state.error(f"{code}.{item.group(1)}", detail)
    elif "goal" in detail:
        state.error(f"{code}.goal_id", detail)
    elif get_instrument(code).items is None:
        state.error(f"{code}.value", detail)
    else:
        state.error(f"{code}.general", detail)
    state.error(code, detail)
    return True
