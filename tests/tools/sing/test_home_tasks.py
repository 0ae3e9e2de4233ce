"""The singing task's words for the person (tools/sing/home_tasks.py): reading grade 8 or lower."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st


def test_the_summaries_are_plain_words():
    from cadenza.io.speech import load_lexicon
    from cadenza.tools.home.readability import reading_grade
    from cadenza.tools.sing.home_tasks import singing_summary

    lexicon = load_lexicon(synthesiser_stress=False)  # cached: the family report tests load the same
    texts = [singing_summary({"voiced_s": 0.0, "n_targets": 3}),
             singing_summary({"voiced_s": 2.1, "n_targets": 3, "n_in_tune": 2, "max_phonation_s": 0.8}),
             singing_summary({"voiced_s": 5.0, "n_targets": 8, "n_in_tune": 8, "max_phonation_s": 3.2})]
    grades = [reading_grade(text, lexicon) for text in texts]
    assert max(grades) <= 8.0, list(zip(grades, texts))


@settings(max_examples=40, deadline=None)
@given(pcm=st.lists(st.integers(-32768, 32767), max_size=400), rate=st.sampled_from([8000, 16_000, 48_000]))
def test_the_phones_pcm_round_trips(pcm, rate):
    import base64

    import numpy as np

    from cadenza.tools.sing.home_tasks import _samples

    text = base64.b64encode(np.asarray(pcm, dtype="<i2").tobytes()).decode()
    samples, got_rate = _samples({"pcm_b64": text, "sampling_rate_hz": rate})
    assert got_rate == rate and np.array_equal(np.round(samples * 32768).astype(int), pcm)


@settings(max_examples=25, deadline=None)
@given(result=st.one_of(st.none(), st.text(max_size=50), st.dictionaries(
    st.sampled_from(["pcm_b64", "sampling_rate_hz", "x"]),
    st.one_of(st.text(max_size=40), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none()))))
def test_hostile_results_are_refused_with_a_parameter_error_only(result):
    from cadenza.errors import ParameterError
    from cadenza.tools.sing.home_tasks import _samples

    try:
        _samples(result)
    except ParameterError:
        pass
    else:  # only a well-formed result gets through
        assert result["sampling_rate_hz"] in (8000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
