"""The tapping task's words for the person (tools/timing/home_tasks.py): reading grade 8 or lower."""

from __future__ import annotations


def test_the_summaries_are_plain_words():
    from cadenza.io.speech import load_lexicon
    from cadenza.tools.home.readability import reading_grade
    from cadenza.tools.timing.home_tasks import tapping_summary

    lexicon = load_lexicon(synthesiser_stress=False)  # cached: the family report tests load the same
    texts = [tapping_summary({"n_hits": 1, "n_beats": 30, "calibrated": False}),
             tapping_summary({"n_hits": 28, "n_beats": 30, "mean_asynchrony_ms": -31.2, "within_50ms_pct": 85.7,
                              "calibrated": False}),
             tapping_summary({"n_hits": 30, "n_beats": 30, "mean_asynchrony_ms": 12.0, "within_50ms_pct": 100.0,
                              "calibrated": True})]
    grades = [reading_grade(text, lexicon) for text in texts]
    assert max(grades) <= 8.0, list(zip(grades, texts))
