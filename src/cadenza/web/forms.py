"""Turn submitted HTML forms into service arguments, and service errors into per-field messages.

Routes keep what was typed (``values``) and show each error next to its field (``errors``); the
service still validates everything, this only parses strings and attributes its messages.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cadenza.clinic.instruments import Instrument, gait_speed_from_walk_time, get_instrument, list_instruments
from cadenza.clinic.service import MeasurementInput

MAX_FIELD_CHARS = 20_000
# Ids and whole numbers end up in INTEGER columns (32-bit on PostgreSQL; SQLite refuses beyond 64 bits).
MIN_DB_INT = -(2**31)
MAX_DB_INT = 2**31 - 1
_SHOWN_CHARS = 40  # how much of a refused value an error message repeats


class FormValues(dict[str, str]):
    """The text fields of a submitted form, kept whole, and the fields longer than their limit.

    ``too_long`` maps each over-long field to ``(length, limit)``; :class:`FormState` turns every entry
    into an error next to that field, so nothing is saved and what was typed is shown again.
    """

    too_long: dict[str, tuple[int, int]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.too_long = {}


@dataclass
class FormState:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, (length, limit) in getattr(self.values, "too_long", {}).items():
            self.error(name, too_long_message(name, length, limit))
            self.error("_form", f"{name} is too long ({length:,} characters; the limit is {limit:,}); nothing was saved")

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def too_long_message(name: str, length: int, limit: int) -> str:
    """``"subjective is 25,000 characters; the limit is 20,000 ..."``: nothing is cut silently."""
    return (f"{name} is {length:,} characters; the limit is {limit:,}. Nothing was saved: shorten it, "
            "or split it (a signed note takes the rest as an addendum)")


def form_values(form: Mapping[str, Any], *, max_chars: Mapping[str, int] | None = None) -> FormValues:
    """Text values of a submitted form (uploads and the CSRF token left out, NUL dropped), kept whole.

    A value longer than its limit (``max_chars[name]``, else :data:`MAX_FIELD_CHARS`) is kept as typed
    and recorded in ``too_long``; a :class:`FormState` built from these values reports it as an error
    next to the field, so the form is refused (422) instead of saving a cut text.
    """
    limits = max_chars or {}
    values = FormValues()
    for key, value in form.items():
        if key == "csrf_token" or not isinstance(value, str):
            continue
        # NUL cannot be stored in PostgreSQL text and never belongs in a clinical note.
        text = value.replace("\x00", "")
        values[key] = text
        limit = limits.get(key, MAX_FIELD_CHARS)
        if len(text) > limit:
            values.too_long[key] = (len(text), limit)
    return values


def shown(raw: str) -> str:
    """``raw`` for an error message: repr, shortened if long (a refused 20,000-digit number is not echoed)."""
    return repr(raw) if len(raw) <= _SHOWN_CHARS else repr(raw[:_SHOWN_CHARS]) + f"... ({len(raw):,} characters)"


def _whole_number(state: FormState, name: str, *, required: bool) -> tuple[str | None, int | None]:
    """``(raw text, its value as ASCII digits or None)``; ``(None, None)`` for an empty field (an error if
    ``required``)."""
    raw = state.values.get(name, "").strip()
    if not raw:
        if required:
            state.error(name, f"{name} is required")
        return None, None
    return raw, _ascii_int(raw)


def parse_int(state: FormState, name: str, *, required: bool = True, minimum: int = MIN_DB_INT,
              maximum: int = MAX_DB_INT) -> int | None:
    """A whole number in ``minimum..maximum`` (by default the database's INTEGER range), else an error."""
    raw, number = _whole_number(state, name, required=required)
    if raw is None:
        return None
    if number is None:
        state.error(name, f"{name} must be a whole number, got {shown(raw)}")
        return None
    if not minimum <= number <= maximum:
        state.error(name, f"{name} must be a whole number {minimum}..{maximum}, got {shown(raw)}")
        return None
    return number


def parse_id(state: FormState, name: str, *, required: bool = True) -> int | None:
    """A record id (``session_id``, ``phrase_id``, ``goal_id``): 1..2**31-1, else an error naming ``name``."""
    raw, number = _whole_number(state, name, required=required)
    if raw is None:
        return None
    if number is None or not 1 <= number <= MAX_DB_INT:
        state.error(name, f"{name} must be a record id 1..{MAX_DB_INT}, got {shown(raw)}")
        return None
    return number


def _ascii_int(raw: str) -> int | None:
    """``raw`` as an int when it is a short run of ASCII digits (no "1_000", no Arabic digits), else None."""
    if len(raw) > 20 or not re.fullmatch(r"[+-]?[0-9]+", raw):
        return None
    return int(raw)


def parse_float(state: FormState, name: str, *, required: bool = True) -> float | None:
    """A finite number (``nan`` and ``inf`` are refused here, before any arithmetic), else an error."""
    raw = state.values.get(name, "").strip().replace(",", ".")
    if not raw:
        if required:
            state.error(name, f"{name} is required")
        return None
    try:
        number = float(raw)
    except ValueError:
        state.error(name, f"{name} must be a number, got {shown(raw)}")
        return None
    if not math.isfinite(number):
        state.error(name, f"{name} must be a finite number, got {shown(raw)}")
        return None
    return number


def parse_date(state: FormState, name: str, *, required: bool = True) -> dt.date | None:
    raw = state.values.get(name, "").strip()
    if not raw:
        if required:
            state.error(name, f"{name} is required (YYYY-MM-DD)")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        state.error(name, f"{name} must be a date YYYY-MM-DD, got {shown(raw)}")
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
    """The fields whose content means the instrument was entered (a timed walk: its speed or its time;
    the timed distance is prefilled, so it does not count)."""
    if instrument.items is None:
        if instrument.timed_distance_m is not None:
            return [f"{instrument.code}.value", f"{instrument.code}.walk_time_s"]
        return [f"{instrument.code}.value"]
    return [f"{instrument.code}.{item}" for item in instrument.items]


def measurement_form_defaults() -> dict[str, str]:
    """Prefilled measurement fields of a new session form: each timed walk's default distance."""
    return {f"{i.code}.timed_distance_m": f"{i.timed_distance_m:g}" for i in list_instruments()
            if i.timed_distance_m is not None}


def _timed_walk_value(state: FormState, instrument: Instrument) -> tuple[float | None, float | None]:
    """A timed walk's speed (typed, or computed from the walk time) and the distance timed."""
    code = instrument.code
    speed = parse_float(state, f"{code}.value", required=False)
    walk_time_s = parse_float(state, f"{code}.walk_time_s", required=False)
    distance_m = parse_float(state, f"{code}.timed_distance_m", required=False)
    if distance_m is None:
        distance_m = instrument.timed_distance_m
    if speed is not None and walk_time_s is not None:
        state.error(f"{code}.walk_time_s", f"give the speed or the walk time for {code}, not both")
        return None, distance_m
    if walk_time_s is not None:
        try:
            speed = round(gait_speed_from_walk_time(walk_time_s, distance_m=distance_m), 3)
        except ValueError as exc:  # ParameterError: a time or distance that is not positive
            state.error(f"{code}.walk_time_s" if "walk_time_s" in str(exc) else f"{code}.timed_distance_m", str(exc))
            return None, distance_m
    return speed, distance_m


def parse_measurements(state: FormState) -> tuple[list[MeasurementInput], list[str]]:
    """The instrument entries the therapist filled in, and the instrument code of each.

    An instrument counts as entered when any of its fields is non-empty; a half-filled questionnaire
    is entered, and the service then names the missing items. A timed walk is entered as its speed or
    as the time over the timed distance (6 m by default for the 10-metre walk test).
    """
    entries: list[MeasurementInput] = []
    codes: list[str] = []
    for instrument in list_instruments():
        names = instrument_fields(instrument)
        if not any(state.values.get(n, "").strip() for n in names):
            continue
        goal_id = parse_id(state, f"{instrument.code}.goal_id", required=False)
        if instrument.timed_distance_m is not None:
            value, distance_m = _timed_walk_value(state, instrument)
            if value is None:
                continue
            entries.append(MeasurementInput(instrument.code, value=value, goal_id=goal_id, timed_distance_m=distance_m))
        elif instrument.items is None:
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
                    state.error(name, f"{instrument.code} item {item!r} must be a whole number, got {shown(raw)}")
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
    elif "timed_distance_m" in detail:
        state.error(f"{code}.timed_distance_m", detail)
    elif get_instrument(code).items is None:
        state.error(f"{code}.value", detail)
    else:
        state.error(f"{code}.general", detail)
    state.error(code, detail)
    return True


INTERVENTION_MINUTES_PREFIX = "intervention_minutes."


def parse_interventions(state: FormState, *, main_code: str, minutes: int | None,
                        known_codes: Iterable[str]) -> list[tuple[str, int]] | None:
    """The session's interventions from the form: the main one (``intervention_code``) first, then every
    other intervention whose ``intervention_minutes.<code>`` field holds minutes, in ``known_codes``
    order. The main one takes its own minutes if typed, else the session's minutes the others leave.
    None when only the main one was given (one intervention for the whole session) or on an error
    (reported next to the field)."""
    others: list[tuple[str, int]] = []
    main_minutes = None
    for code in known_codes:
        name = INTERVENTION_MINUTES_PREFIX + code
        if not state.values.get(name, "").strip():
            continue
        value = parse_int(state, name, minimum=1, maximum=600)
        if value is None:
            continue
        if code == main_code:
            main_minutes = value
        else:
            others.append((code, value))
    if not state.ok or minutes is None or not main_code:
        return None
    if not others and main_minutes is None:
        return None
    if main_minutes is None:
        main_minutes = minutes - sum(m for _, m in others)
        if main_minutes < 1:
            state.error("interventions", f"the other interventions take {minutes - main_minutes} of the session's "
                                         f"{minutes} minutes, leaving none for the main intervention")
            return None
    return [(main_code, main_minutes), *others]
