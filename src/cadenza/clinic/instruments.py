"""Outcome instruments: validation, scoring, severity bands, codes.

Each instrument is data (:class:`Instrument`); :func:`score_instrument` validates a raw entry and
returns a :class:`Score` ready to store as a measurement. Each clinical tool lists its own measures
in its manifest (``instruments`` in ``cadenza/tools/<tool>/__init__.py``); the catalogue registers them
with :func:`register_instrument` on first look-up.

Sources (see docs/clinic.md): LOINC codes and scoring rules from the project's research notes
(``clinical_anchors.md`` §7): NRS pain 72514-3, PHQ-9 total 44261-6, GAD-7 total 70274-6. STAI-6 after
Marteau & Bekker 1992 (Br J Clin Psychol 31:301-306). NRS pain bands after Serlin et al. 1995
(Pain 61:277-284). VAS anxiety, STAI-6 and the gait measures have no confirmed LOINC code and use
Cadenza-local codes.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cadenza.errors import ConflictError, NotFoundError, ParameterError

LOCAL_CODE_SYSTEM = "https://cadenza.example.org/fhir/CodeSystem/instrument"


@dataclass(frozen=True)
class Band:
    """A severity band: totals from ``lower`` (inclusive) up to the next band's lower bound."""

    lower: float
    label: str


@dataclass(frozen=True)
class Score:
    """A validated, scored entry, in the instrument's unit."""

    instrument_code: str
    value: float
    unit: str
    item_responses: dict[str, int] | None = None
    severity_band: str | None = None
    safety_followup: bool = False
    timed_distance_m: float | None = None  # timed walks only: the distance the time was taken over


# Clinical review H2: the 10-metre walk test times only the middle 6 m, between the 2-m and 8-m marks
# (acceleration and deceleration excluded), so gait speed = 6 m / time (Rehabilitation Measures
# Database, "10 Meter Walk Test"; Physiopedia: "time is measured for the intermediate 6 meters").
# Dividing 10 m by that time overstates the speed 1.67-fold.
TEN_METRE_WALK_TIMED_DISTANCE_M = 6.0
MAX_TIMED_DISTANCE_M = 100.0

# Clinical review H1: any answer above "not at all" on PHQ-9 item 9 (thoughts of being better off dead
# or of self-harm) needs a structured suicide-risk assessment before the person leaves, not "before
# the next session" (Crit Care Nurse 40(1):92; item 9 predicts suicide attempts, Psychiatr Serv 2013,
# doi 10.1176/appi.ps.201200587).
PHQ9_ITEM9_PROMPT = (
    "PHQ-9 item 9 (thoughts of being better off dead or of hurting oneself) was answered above "
    "'not at all': a structured suicide-risk assessment (e.g. the C-SSRS) is needed before the person "
    "leaves this session, following your local crisis protocol."
)
GENERIC_SAFETY_PROMPT = "A safety item was flagged: follow your local protocol before the person leaves this session."


def safety_prompt(instrument_code: str) -> str:
    """What the therapist must do now when ``instrument_code``'s safety item is flagged.

    >>> safety_prompt("phq9").endswith("following your local crisis protocol.")
    True
    """
    try:
        instrument = get_instrument(instrument_code)
    except Exception:  # an instrument no longer in the catalogue: the generic rule still applies
        return GENERIC_SAFETY_PROMPT
    return instrument.safety_prompt or GENERIC_SAFETY_PROMPT


@dataclass(frozen=True)
class Instrument:
    """An outcome measure.

    ``items`` names the questionnaire items in order (None for a single value); every item is an
    integer ``item_min..item_max``. ``reverse_items`` are scored ``item_min + item_max - x``.
    ``scorer`` maps the (reverse-scored) item values to the total; the default is their sum.
    ``safety_item``/``safety_threshold``: an answer at or above the threshold flags a safety follow-up.
    ``better`` is the direction of improvement ("increase", "decrease") or None if it depends on the goal.
    ``loinc``/``loinc_display``: the LOINC code of the value and its official display name (FHIR receivers
    compare displays with LOINC's; our own ``name`` is for people). ``item_loinc``, ``answer_loinc`` and
    ``loinc_panel`` are a questionnaire's LOINC question codes, answer codes (one per answer value,
    ``item_min`` first) and panel, exported with each item answer (clinical review W4).
    ``integer``: every value is a whole number (a 0-10 rating, a sum of item scores), so goals are too.
    ``licence``: who holds the instrument's copyright and on what terms it may be used, shown wherever
    the instrument is offered.
    ``min_age_years``/``max_age_years``: the ages the instrument is for (``age_note`` says why); a client
    certainly outside them is refused (:func:`check_age`).
    ``timed_distance_m``: for a speed from a timed walk, the distance timed by default; every measurement
    of the instrument then stores the distance it was timed over (None for every other instrument).
    """

    code: str
    name: str
    unit: str
    minimum: float
    maximum: float
    better: str | None
    loinc: str | None = None
    loinc_display: str | None = None  # the code's official LOINC display name, exported as the coding's display
    integer: bool = False
    items: tuple[str, ...] | None = None
    item_texts: tuple[str, ...] | None = None  # each item's question, in item order
    item_loinc: tuple[str, ...] | None = None  # each item's LOINC question code, in item order
    answer_loinc: tuple[tuple[str, str], ...] | None = None  # (LA code, display) for item_min..item_max
    loinc_panel: tuple[str, str] | None = None  # (code, official display) of the LOINC panel
    item_min: int = 0
    item_max: int = 3
    reverse_items: frozenset[str] = frozenset()
    bands: tuple[Band, ...] = ()
    safety_item: str | None = None
    safety_threshold: int = 1
    safety_prompt: str = ""  # what the therapist must do now when the safety item is flagged
    timed_distance_m: float | None = None
    licence: str = ""  # the instrument's copyright and terms of use, where it carries any (review M12)
    min_age_years: int | None = None  # youngest age the instrument is for (review M13)
    max_age_years: int | None = None
    age_note: str = ""  # where the age range comes from
    scorer: Callable[[Mapping[str, int]], float] | None = field(default=None, compare=False)
    source: str = ""

    def band_of(self, value: float) -> str | None:
        label = None
        for band in self.bands:
            if value >= band.lower:
                label = band.label
        return label


_REGISTRY: dict[str, Instrument] = {}


def register_instrument(instrument: Instrument) -> Instrument:
    """Add an instrument to the catalog; re-registering the same definition is a no-op.

    >>> register_instrument(get_instrument("cadence")).unit
    '{steps}/min'
    """
    if not isinstance(instrument, Instrument):
        raise ParameterError(f"instrument must be an Instrument, got {type(instrument).__name__}")
    if not instrument.code or not instrument.code.replace("_", "").replace("-", "").isalnum():
        raise ParameterError(f"instrument code must be non-empty letters, digits, '_' or '-', got {instrument.code!r}")
    if not instrument.minimum < instrument.maximum:
        raise ParameterError(
            f"instrument {instrument.code!r}: minimum {instrument.minimum!r} must be < maximum {instrument.maximum!r}"
        )
    if instrument.better not in (None, "increase", "decrease"):
        raise ParameterError(f"instrument {instrument.code!r}: better must be 'increase', 'decrease' or None, got {instrument.better!r}")
    n_items = len(instrument.items or ())
    for name in ("item_texts", "item_loinc"):
        given = getattr(instrument, name)
        if given is not None and len(given) != n_items:
            raise ParameterError(f"instrument {instrument.code!r}: {name} must name each of its {n_items} items, "
                                 f"got {len(given)}")
    n_answers = instrument.item_max - instrument.item_min + 1
    if instrument.answer_loinc is not None and len(instrument.answer_loinc) != n_answers:
        raise ParameterError(f"instrument {instrument.code!r}: answer_loinc must code each of its {n_answers} answers "
                             f"{instrument.item_min}..{instrument.item_max}, got {len(instrument.answer_loinc)}")
    existing = _REGISTRY.get(instrument.code)
    if existing is not None and existing != instrument:
        raise ConflictError(f"instrument code {instrument.code!r} is already registered with a different definition")
    _REGISTRY[instrument.code] = instrument
    return instrument


@functools.cache
def _register_domain_instruments() -> None:
    """Register the measures of every installed tool (RAS synchronisation, MIT scores, ...), named by
    its manifest (:mod:`cadenza.plugins`), once, so any process knows them, e.g. one that only exports
    a record. The tool's records module is imported too: its tables join the record's metadata."""
    from cadenza.plugins import installed_tools

    for tool in installed_tools():
        if tool.records:
            importlib.import_module(tool.records)
        for instrument in tool.load_instruments():
            register_instrument(instrument)


def get_instrument(code: str) -> Instrument:
    if isinstance(code, str) and code not in _REGISTRY:
        _register_domain_instruments()
    try:
        return _REGISTRY[code]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_REGISTRY))
        raise NotFoundError(f"unknown instrument_code {code!r}; known: {known}") from None


def list_instruments() -> list[Instrument]:
    _register_domain_instruments()
    return sorted(_REGISTRY.values(), key=lambda i: i.code)


def score_instrument(
    code: str,
    *,
    value: float | None = None,
    items: Mapping[str, Any] | Sequence[Any] | None = None,
    unit: str | None = None,
    timed_distance_m: float | None = None,
) -> Score:
    """Validate and score one entry: ``value`` for single-value measures, ``items`` for questionnaires.

    Items are a mapping ``{item: answer}`` or a sequence in the instrument's item order.
    ``timed_distance_m`` is the distance a timed-walk speed was timed over; it defaults to the
    instrument's (6 m for ``gait_speed``, the middle 6 m of the 10-metre walk test) and is refused for
    every other instrument.

    >>> s = score_instrument("phq9", items=[1, 1, 1, 1, 1, 0, 0, 0, 1])
    >>> (s.value, s.severity_band, s.safety_followup)
    (6.0, 'mild', True)
    >>> score_instrument("stai6", items={"calm": 4, "tense": 1, "upset": 1, "relaxed": 4, "content": 4, "worried": 1}).value
    20.0
    >>> score_instrument("gait_speed", value=0.86).timed_distance_m
    6.0
    """
    try:
        instrument = get_instrument(code)
    except NotFoundError as exc:
        raise ParameterError(str(exc)) from None
    if unit is not None and unit != instrument.unit:
        raise ParameterError(
            f"unit {unit!r} does not match instrument {code!r}, which is recorded in {instrument.unit!r}"
        )
    distance_m = _check_timed_distance(instrument, timed_distance_m)
    if instrument.items is None:
        if items is not None:
            raise ParameterError(f"instrument {code!r} takes a single value, not items; got items={items!r}")
        if value is None:
            raise ParameterError(f"value is required for instrument {code!r}")
        total = _check_value(instrument, value)
        responses = None
    else:
        if items is None:
            raise ParameterError(
                f"items are required for questionnaire {code!r} ({len(instrument.items)} items: "
                f"{', '.join(instrument.items)}); got value={value!r}"
            )
        if value is not None:
            raise ParameterError(f"give items or value for {code!r}, not both; got value={value!r}")
        responses = _check_items(instrument, items)
        scored = {
            k: (instrument.item_min + instrument.item_max - v) if k in instrument.reverse_items else v
            for k, v in responses.items()
        }
        total = float(instrument.scorer(scored) if instrument.scorer else sum(scored.values()))
        total = _check_value(instrument, total)
    followup = bool(
        responses is not None
        and instrument.safety_item is not None
        and responses[instrument.safety_item] >= instrument.safety_threshold
    )
    return Score(
        instrument_code=code,
        value=total,
        unit=instrument.unit,
        item_responses=responses,
        severity_band=instrument.band_of(total),
        safety_followup=followup,
        timed_distance_m=distance_m,
    )


def _check_timed_distance(instrument: Instrument, timed_distance_m: Any) -> float | None:
    if instrument.timed_distance_m is None:
        if timed_distance_m is not None:
            raise ParameterError(
                f"timed_distance_m is only for timed walks; {instrument.code!r} takes none, got {timed_distance_m!r}"
            )
        return None
    if timed_distance_m is None:
        return instrument.timed_distance_m
    if isinstance(timed_distance_m, bool) or not isinstance(timed_distance_m, numbers.Real) \
            or not math.isfinite(timed_distance_m) or not 0 < timed_distance_m <= MAX_TIMED_DISTANCE_M:
        raise ParameterError(
            f"timed_distance_m must be the distance timed in metres, above 0 and at most {MAX_TIMED_DISTANCE_M:g} "
            f"(the 10-metre walk test times the middle {TEN_METRE_WALK_TIMED_DISTANCE_M:g} m), got {timed_distance_m!r}"
        )
    return float(timed_distance_m)


def _check_value(instrument: Instrument, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{instrument.code} value must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ParameterError(f"{instrument.code} value must be finite, got {value!r}")
    if not instrument.minimum <= number <= instrument.maximum:
        hint = _unit_hint(instrument, number)
        raise ParameterError(
            f"{instrument.code} value must be within {instrument.minimum:g}..{instrument.maximum:g} "
            f"{instrument.unit}, got {value!r}{hint}"
        )
    if instrument.integer and not number.is_integer():
        raise ParameterError(f"{instrument.code} value must be a whole number, got {value!r}")
    return number


def _unit_hint(instrument: Instrument, number: float) -> str:
    if instrument.unit == "mm" and instrument.maximum == 100 and 0 < number <= 1000:
        return " (is it in mm? a 10 cm line is 100 mm)"
    if instrument.unit == "m/s" and number > instrument.maximum:
        return " (is it in km/h or a walk time in s? use gait_speed_from_walk_time)"
    if instrument.unit == "m" and number > instrument.maximum:
        return " (is it in cm? give metres)"
    return ""


def _check_items(instrument: Instrument, items: Mapping[str, Any] | Sequence[Any]) -> dict[str, int]:
    names = instrument.items
    assert names is not None
    if isinstance(items, Mapping):
        given = dict(items)
    elif isinstance(items, Sequence) and not isinstance(items, (str, bytes)):
        if len(items) != len(names):
            raise ParameterError(
                f"{instrument.code} needs {len(names)} item answers ({', '.join(names)}), got {len(items)}: {list(items)!r}"
            )
        given = dict(zip(names, items, strict=True))
    else:
        raise ParameterError(f"{instrument.code} items must be a mapping or a list, got {items!r}")
    extra = [k for k in given if k not in names]
    if extra:
        raise ParameterError(f"{instrument.code} has no item(s) {extra!r}; its items are {', '.join(names)}")
    missing = [k for k in names if k not in given]
    if missing:
        raise ParameterError(f"{instrument.code} item(s) {missing!r} are missing")
    responses: dict[str, int] = {}
    for name in names:
        answer = given[name]
        valid = (
            not isinstance(answer, bool)
            and isinstance(answer, numbers.Real)
            and float(answer).is_integer()
            and instrument.item_min <= answer <= instrument.item_max
        )
        if not valid:
            raise ParameterError(
                f"{instrument.code} item {name!r} must be a whole number "
                f"{instrument.item_min}..{instrument.item_max}, got {answer!r}"
            )
        responses[name] = int(answer)
    return responses


def check_age(code: str, *, birth_year: int | None, on_date: dt.date, field: str = "instrument_code") -> None:
    """Refuse an instrument for a client certainly outside its age range (clinical review M13: a NICU
    infant was given the PHQ-9). Only the birth year is recorded, so the age on ``on_date`` is one of two
    values; the instrument is refused only when both fall outside the range. No birth year: no check.

    >>> check_age("phq9", birth_year=1950, on_date=dt.date(2026, 11, 2))
    >>> check_age("phq9", birth_year=2026, on_date=dt.date(2026, 11, 2))
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: instrument_code 'phq9' is for ages 13 and over (validated in adolescents 13-17, Richardson et al. 2010, Pediatrics 126:1117, and in adults, Kroenke et al. 2001); the client, born 2026, is 0 on 2026-11-02
    """
    if birth_year is None:
        return
    instrument = get_instrument(code)
    oldest = on_date.year - birth_year  # the birthday has passed this year
    youngest = oldest - 1               # it has not
    if oldest < 0:
        raise ParameterError(f"{field} {code!r}: {on_date.isoformat()} is before the client's birth year {birth_year}")
    too_young = instrument.min_age_years is not None and oldest < instrument.min_age_years
    too_old = instrument.max_age_years is not None and youngest > instrument.max_age_years
    if not (too_young or too_old):
        return
    if instrument.min_age_years is not None and instrument.max_age_years is not None:
        span = f"ages {instrument.min_age_years}-{instrument.max_age_years}"
    elif instrument.min_age_years is not None:
        span = f"ages {instrument.min_age_years} and over"
    else:
        span = f"ages up to {instrument.max_age_years}"
    age = f"{max(youngest, 0)}" if youngest == oldest or youngest < 0 else f"{youngest} or {oldest}"
    note = f" ({instrument.age_note})" if instrument.age_note else ""
    raise ParameterError(
        f"{field} {code!r} is for {span}{note}; the client, born {birth_year}, is {age} on {on_date.isoformat()}")


def timed_distance_note(instrument_code: str, timed_distance_m: float | None) -> str:
    """What to print next to a value so a timed-walk speed is never read without its distance.

    >>> timed_distance_note("gait_speed", 6.0)
    'timed over 6 m'
    >>> timed_distance_note("gait_speed", None)
    'timed distance not recorded'
    >>> timed_distance_note("phq9", None)
    ''
    """
    if timed_distance_m is not None:
        return f"timed over {timed_distance_m:g} m"
    try:
        timed = get_instrument(instrument_code).timed_distance_m is not None
    except NotFoundError:
        return ""
    return "timed distance not recorded" if timed else ""


def gait_speed_from_walk_time(walk_time_s: float, *, distance_m: float = TEN_METRE_WALK_TIMED_DISTANCE_M) -> float:
    """Gait speed (m/s) from the time taken to walk the timed ``distance_m``.

    The default is the 10-metre walk test, whose time covers only the middle 6 m (clinical review H2);
    pass the distance actually timed for any other protocol.

    >>> gait_speed_from_walk_time(7.5)
    0.8
    >>> gait_speed_from_walk_time(8.0, distance_m=10.0)
    1.25
    """
    for name, number in (("walk_time_s", walk_time_s), ("distance_m", distance_m)):
        if isinstance(number, bool) or not isinstance(number, numbers.Real) or not math.isfinite(number) or number <= 0:
            raise ParameterError(f"{name} must be a positive number, got {number!r}")
    return float(distance_m) / float(walk_time_s)


def _stai6_total(scored: Mapping[str, int]) -> float:
    # Marteau & Bekker 1992: sum of 6 items (positive items reversed), prorated to the 20-item STAI scale.
    return sum(scored.values()) * 20.0 / 6.0


# Official LOINC display names (clinical review W3), as published in HL7 implementation guides that quote
# LOINC: 44261-6 and 72514-3 per the review (public FSH/IG sources); 70274-6 as written in the
# Medizininformatik-Initiative PRO module and other public FSH profiles.
LOINC_DISPLAYS = {
    "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "72514-3": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    "70274-6": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
}

# PHQ-9 and GAD-7 questions and their LOINC question codes, item order (clinical review W4: the codes of
# the US Core PHQ-9 panel examples and the LHC-Forms/SDC questionnaires; the item wording as in the
# PACIO and SDC questionnaires of the panels 44249-1 and 69737-5). Both share the LOINC answer list
# LL358-3, scored 0-3. The questionnaires are free to use (Pfizer, 2010: "without copyright restriction
# and at no charge").
_PHQ9_ITEMS = (
    ("44250-9", "Little interest or pleasure in doing things"),
    ("44255-8", "Feeling down, depressed, or hopeless"),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
    ("44254-1", "Feeling tired or having little energy"),
    ("44251-7", "Poor appetite or overeating"),
    ("44258-2", "Feeling bad about yourself - or that you are a failure or have let yourself or your family down"),
    ("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television"),
    ("44253-3", "Moving or speaking so slowly that other people could have noticed. Or the opposite - being so "
                "fidgety or restless that you have been moving around a lot more than usual"),
    ("44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way"),
)
_GAD7_ITEMS = (
    ("69725-0", "Feeling nervous, anxious or on edge"),
    ("68509-9", "Not being able to stop or control worrying"),
    ("69733-4", "Worrying too much about different things"),
    ("69734-2", "Trouble relaxing"),
    ("69735-9", "Being so restless that it is hard to sit still"),
    ("69689-8", "Becoming easily annoyed or irritable"),
    ("69736-7", "Feeling afraid as if something awful might happen"),
)
FREQUENCY_ANSWERS_LL358_3 = (
    ("LA6568-5", "Not at all"), ("LA6569-3", "Several days"),
    ("LA6570-1", "More than half the days"), ("LA6571-9", "Nearly every day"),
)
PHQ9_PANEL = ("44249-1", "PHQ-9 quick depression assessment panel [Reported.PHQ]")
GAD7_PANEL = ("69737-5", "Generalized anxiety disorder 7 item (GAD-7)")

# Clinical review M12: terms of use, shown wherever an instrument is offered.
STAI_LICENCE = (
    "The STAI-6 uses six items of the State-Trait Anxiety Inventory (Form Y), copyright 1983 Consulting "
    "Psychologists Press, published by Mind Garden, Inc.; reproducing the items needs the publisher's written "
    "permission: obtain a licence from Mind Garden before using it."
)
PHQ_LICENCE = (
    "Free to use: Pfizer made the Patient Health Questionnaire (PHQ) and the GAD-7 available without copyright "
    "restriction and at no charge (announced July 2010)."
)

# Clinical review M13: the ages each instrument is for.
_PHQ9_AGE_NOTE = ("validated in adolescents 13-17, Richardson et al. 2010, Pediatrics 126:1117, and in adults, "
                  "Kroenke et al. 2001")
_SELF_REPORT_AGE_NOTE = ("self-report intensity scales (NRS-11, VAS) have supporting evidence from age 6, Birnie et al. "
                         "2019, Pain 160:5; for anxiety a project convention")
_WALKING_AGE_NOTE = "project convention: a gait measure needs someone who walks, not an infant"

_PHQ9_BANDS = (Band(0, "minimal"), Band(5, "mild"), Band(10, "moderate"), Band(15, "moderately severe"), Band(20, "severe"))
_GAD7_BANDS = (Band(0, "minimal"), Band(5, "mild"), Band(10, "moderate"), Band(15, "severe"))

CORE_INSTRUMENTS = (
    Instrument(
        code="vas_anxiety", name="Visual analogue scale, anxiety", unit="mm", minimum=0, maximum=100,
        better="decrease", min_age_years=6, age_note=_SELF_REPORT_AGE_NOTE,
        source="0-100 mm line; local code (no LOINC confirmed)",
    ),
    Instrument(
        code="stai6", name="STAI-6 state anxiety (short form)", unit="{score}", minimum=20, maximum=80,
        better="decrease", items=("calm", "tense", "upset", "relaxed", "content", "worried"),
        item_min=1, item_max=4, reverse_items=frozenset({"calm", "relaxed", "content"}), scorer=_stai6_total,
        licence=STAI_LICENCE, min_age_years=18,
        age_note="the STAI Form Y is the adult form (the State-Trait Anxiety Inventory for Adults); the short form "
                 "was developed in adults, Marteau & Bekker 1992",
        source="Marteau & Bekker 1992, Br J Clin Psychol 31:301-306; no LOINC confirmed",
    ),
    Instrument(
        code="nrs_pain", name="Numeric rating scale, pain (0-10)", unit="{score}", minimum=0, maximum=10,
        better="decrease", loinc="72514-3", loinc_display=LOINC_DISPLAYS["72514-3"], integer=True,
        min_age_years=6, age_note=_SELF_REPORT_AGE_NOTE,
        bands=(Band(0, "none"), Band(1, "mild"), Band(5, "moderate"), Band(7, "severe")),
        source="LOINC 72514-3; bands after Serlin et al. 1995, Pain 61:277-284",
    ),
    Instrument(
        code="phq9", name="Patient Health Questionnaire-9", unit="{score}", minimum=0, maximum=27,
        better="decrease", loinc="44261-6", loinc_display=LOINC_DISPLAYS["44261-6"], integer=True,
        items=tuple(f"q{i}" for i in range(1, 10)), item_texts=tuple(t for _, t in _PHQ9_ITEMS),
        item_loinc=tuple(c for c, _ in _PHQ9_ITEMS), answer_loinc=FREQUENCY_ANSWERS_LL358_3, loinc_panel=PHQ9_PANEL,
        licence=PHQ_LICENCE, min_age_years=13, age_note=_PHQ9_AGE_NOTE, bands=_PHQ9_BANDS,
        safety_item="q9", safety_threshold=1, safety_prompt=PHQ9_ITEM9_PROMPT,
        source="LOINC 44261-6 (total); cut-offs 5/10/15/20 (Kroenke et al. 2001); item 9 > 0 needs safety follow-up",
    ),
    Instrument(
        code="gad7", name="Generalized Anxiety Disorder-7", unit="{score}", minimum=0, maximum=21,
        better="decrease", loinc="70274-6", loinc_display=LOINC_DISPLAYS["70274-6"], integer=True,
        items=tuple(f"q{i}" for i in range(1, 8)), item_texts=tuple(t for _, t in _GAD7_ITEMS),
        item_loinc=tuple(c for c, _ in _GAD7_ITEMS), answer_loinc=FREQUENCY_ANSWERS_LL358_3, loinc_panel=GAD7_PANEL,
        bands=_GAD7_BANDS, licence=PHQ_LICENCE, min_age_years=13,
        age_note="project convention: the PHQ-9's adolescent floor; validated in adults, Spitzer et al. 2006",
        source="LOINC 70274-6 (total), panel 69737-5; cut-offs 5/10/15 (Spitzer et al. 2006)",
    ),
    Instrument(
        code="gait_speed", name="Gait speed", unit="m/s", minimum=0, maximum=3.0, better="increase",
        timed_distance_m=TEN_METRE_WALK_TIMED_DISTANCE_M, min_age_years=1, age_note=_WALKING_AGE_NOTE,
        source="comfortable walking speed = timed distance / time; the 10-metre walk test times the middle "
               "6 m (Rehabilitation Measures Database); the distance is stored with each value; local code",
    ),
    Instrument(
        code="cadence", name="Cadence", unit="{steps}/min", minimum=0, maximum=250, better=None,
        min_age_years=1, age_note=_WALKING_AGE_NOTE,
        source="steps per minute; the better direction depends on the goal; local code",
    ),
    Instrument(
        code="stride_length", name="Stride length", unit="m", minimum=0, maximum=3.0, better="increase",
        min_age_years=1, age_note=_WALKING_AGE_NOTE,
        source="distance between successive contacts of the same foot; local code",
    ),
)

for _instrument in CORE_INSTRUMENTS:
    register_instrument(_instrument)
