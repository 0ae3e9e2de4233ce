"""The singing task's words for the person (tools/sing/home_tasks.py): reading grade 8 or lower."""

from __future__ import annotations


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
