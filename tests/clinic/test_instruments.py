"""Instrument scoring: known answers at every band boundary, and validation as properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.clinic import service
from cadenza.clinic.instruments import (
    Band,
    Instrument,
    get_instrument,
    gait_speed_from_walk_time,
    list_instruments,
    register_instrument,
    score_instrument,
)
from cadenza.clinic.models import AuditEvent, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ConflictError, ParameterError


def _items_with_total(n_items: int, total: int, *, last: int | None = None) -> list[int]:
    """Answers 0..3 summing to ``total``; ``last`` pins the final item (PHQ-9 item 9)."""
    answers = [0] * n_items
    remaining = total
    if last is not None:
        answers[-1] = last
        remaining -= last
    for i in range(n_items - (1 if last is not None else 0)):
        answers[i] = min(3, remaining)
        remaining -= answers[i]
    assert remaining == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "moderately severe"), (19, "moderately severe"), (20, "severe"), (27, "severe")],
)
def test_phq9_bands_at_every_boundary(total, band):
    item9 = max(0, total - 24)  # 27 needs item 9 > 0
    score = score_instrument("phq9", items=_items_with_total(9, total, last=item9))
    assert (score.value, score.severity_band, score.safety_followup) == (float(total), band, item9 > 0)


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_above_zero_flags_safety_followup(item9):
    score = score_instrument("phq9", items=_items_with_total(9, item9, last=item9))
    assert score.safety_followup
    assert score.severity_band == "minimal"


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "severe"), (21, "severe")],
)
def test_gad7_bands_at_every_boundary(total, band):
    score = score_instrument("gad7", items=_items_with_total(7, total))
    assert (score.value, score.severity_band, score.safety_followup) == (float(total), band, False)


@pytest.mark.parametrize(
    ("value", "band"), [(0, "none"), (1, "mild"), (4, "mild"), (5, "moderate"), (6, "moderate"), (7, "severe"), (10, "severe")]
)
def test_nrs_pain_bands_at_every_boundary(value, band):
    score = score_instrument("nrs_pain", value=value)
    assert (score.value, score.severity_band) == (float(value), band)
    assert get_instrument("nrs_pain").loinc == "72514-3"


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        # calm, tense, upset, relaxed, content, worried; positive items (calm, relaxed, content) reversed
        ((4, 1, 1, 4, 4, 1), 20.0),  # least anxious possible
        ((1, 4, 4, 1, 1, 4), 80.0),  # most anxious possible
        ((1, 1, 1, 1, 1, 1), 15 * 20 / 6),  # 4+1+1+4+4+1 = 15: reversal matters
    ],
)
def test_stai6_reverse_scoring_and_proration(answers, expected):
    names = ("calm", "tense", "upset", "relaxed", "content", "worried")
    assert score_instrument("stai6", items=list(answers)).value == pytest.approx(expected)
    assert score_instrument("stai6", items=dict(zip(names, answers, strict=True))).value == pytest.approx(expected)


def test_stai6_hand_computed_example():
    # calm=3 -> 2, tense=2, upset=1, relaxed=3 -> 2, content=2 -> 3, worried=3: sum 13, x 20/6 = 43.33
    items = {"calm": 3, "tense": 2, "upset": 1, "relaxed": 3, "content": 2, "worried": 3}
    assert score_instrument("stai6", items=items).value == pytest.approx(13 * 20 / 6)


@pytest.mark.parametrize(("code", "low", "high"), [("vas_anxiety", 0, 100), ("gait_speed", 0, 3.0),
                                                   ("cadence", 0, 250), ("stride_length", 0, 3.0)])
def test_single_value_instruments_accept_their_range(code, low, high):
    assert score_instrument(code, value=low).value == low
    assert score_instrument(code, value=high).value == high
    with pytest.raises(ParameterError, match=code):
        score_instrument(code, value=high * 1.01 + 0.01)
    with pytest.raises(ParameterError, match=code):
        score_instrument(code, value=-0.01)


def test_gait_speed_from_ten_metre_walk():
    assert gait_speed_from_walk_time(7.5) == pytest.approx(0.8)  # the middle 6 m are timed (review H2)
    assert gait_speed_from_walk_time(12.5, distance_m=10.0) == pytest.approx(0.8)
    with pytest.raises(ParameterError, match="walk_time_s"):
        gait_speed_from_walk_time(0.0)


def test_unit_mixups_get_a_hint():
    with pytest.raises(ParameterError, match="km/h"):
        score_instrument("gait_speed", value=4.5)
    with pytest.raises(ParameterError, match="unit 'cm'"):
        score_instrument("stride_length", value=1.2, unit="cm")


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        ([0] * 8, "needs 9 item answers"),
        ({f"q{i}": 0 for i in range(1, 9)}, r"\['q9'\] are missing"),
        ({f"q{i}": 0 for i in range(1, 11)}, r"no item\(s\) \['q10'\]"),
        ([0, 0, 0, 0, 0, 0, 0, 0, 1.5], "'q9' must be a whole number 0..3, got 1.5"),
        ([0, 0, 0, 0, 0, 0, 0, 0, "1"], "'q9'"),
        ([0, 0, 0, 0, 0, 0, 0, 0, True], "'q9'"),
    ],
)
def test_missing_extra_and_bad_items_are_named(items, fragment):
    with pytest.raises(ParameterError, match=fragment):
        score_instrument("phq9", items=items)


def test_questionnaire_needs_items_and_single_value_refuses_them():
    with pytest.raises(ParameterError, match="items are required"):
        score_instrument("gad7", value=12)
    with pytest.raises(ParameterError, match="single value"):
        score_instrument("cadence", items=[1, 2])
    with pytest.raises(ParameterError, match="unknown instrument_code 'moca'"):
        score_instrument("moca", value=20)


def test_register_instrument_extends_the_catalog():
    custom = Instrument(code="test_sync_index", name="Test sync", unit="1", minimum=0, maximum=1, better="increase",
                        bands=(Band(0, "low"), Band(0.5, "high")))
    register_instrument(custom)
    register_instrument(custom)  # idempotent
    assert score_instrument("test_sync_index", value=0.7).severity_band == "high"
    assert custom in list_instruments()
    with pytest.raises(ConflictError, match="test_sync_index"):
        register_instrument(Instrument(code="test_sync_index", name="Other", unit="1", minimum=0, maximum=2, better=None))
    with pytest.raises(ParameterError, match="minimum"):
        register_instrument(Instrument(code="test_bad", name="Bad", unit="1", minimum=1, maximum=1, better=None))


# --- properties --------------------------------------------------------------------------------

_RANGES = {i.code: (i.minimum, i.maximum) for i in list_instruments() if i.items is None}


@st.composite
def out_of_range_value(draw):
    code = draw(st.sampled_from(sorted(c for c in _RANGES if not c.startswith("test_"))))
    low, high = _RANGES[code]
    bad = draw(st.one_of(
        st.floats(max_value=low, exclude_max=True, allow_nan=False, allow_infinity=True),
        st.floats(min_value=high, exclude_min=True, allow_nan=False, allow_infinity=True),
        st.just(math.nan),
    ))
    return code, bad


@st.composite
def bad_questionnaire(draw):
    code = draw(st.sampled_from(["phq9", "gad7", "stai6"]))
    instrument = get_instrument(code)
    answers = {name: draw(st.integers(instrument.item_min, instrument.item_max)) for name in instrument.items}
    kind = draw(st.sampled_from(["range", "missing", "extra"]))
    if kind == "range":
        name = draw(st.sampled_from(instrument.items))
        answers[name] = draw(st.one_of(st.integers(max_value=instrument.item_min - 1),
                                       st.integers(min_value=instrument.item_max + 1)))
    elif kind == "missing":
        del answers[draw(st.sampled_from(instrument.items))]
    else:
        answers[draw(st.text(min_size=1, max_size=5).filter(lambda k: k not in instrument.items))] = 1
    return code, answers


@given(case=out_of_range_value())
@settings(max_examples=60, deadline=None)
def test_any_out_of_range_value_is_rejected(case):
    code, bad = case
    with pytest.raises(ParameterError, match=code):
        score_instrument(code, value=bad)


@given(case=bad_questionnaire())
@settings(max_examples=60, deadline=None)
def test_any_bad_questionnaire_is_rejected(case):
    code, answers = case
    with pytest.raises(ParameterError, match=code):
        score_instrument(code, items=answers)


@given(case=st.one_of(out_of_range_value(), bad_questionnaire()), good_first=st.booleans())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_rejected_input_leaves_the_database_unchanged(db_session, client_record, therapist, case, good_first):
    code, bad = case
    entry = MeasurementInput(code, items=bad) if isinstance(bad, dict) else MeasurementInput(code, value=bad)
    measurements = [MeasurementInput("vas_anxiety", value=50), entry] if good_first else [entry]
    counts = [service.count_rows(db_session, m) for m in (TherapySession, Measurement, AuditEvent)]
    with pytest.raises(ParameterError, match=code):
        service.record_session(db_session, actor=therapist, client_id=client_record.id,
                               session_date=__import__("datetime").date(2026, 11, 25), minutes=30,
                               intervention_code="receptive_listening", measurements=measurements)
    assert [service.count_rows(db_session, m) for m in (TherapySession, Measurement, AuditEvent)] == counts


def test_numpy_numbers_are_accepted_and_stored_as_python_numbers():
    import numpy as np

    speed = score_instrument("gait_speed", value=np.float32(1.25))
    assert speed.value == 1.25 and type(speed.value) is float
    phq = score_instrument("phq9", items=np.array([1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=np.int64).tolist())
    assert phq.value == 1.0
    gad = score_instrument("gad7", items={f"q{i}": np.int64(1) for i in range(1, 8)})
    assert gad.value == 7.0 and all(type(v) is int for v in gad.item_responses.values())


# --- clinical review M12: licence notes --------------------------------------------------------------


def test_m12_instruments_that_carry_a_licence_say_so():
    stai = get_instrument("stai6")
    assert "Mind Garden" in stai.licence and "permission" in stai.licence
    for code in ("phq9", "gad7"):
        assert "without copyright restriction" in get_instrument(code).licence
    assert get_instrument("nrs_pain").licence == ""  # no terms known: nothing claimed
