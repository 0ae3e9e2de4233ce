"""What a person reads when filling in a questionnaire: the instructions, each item's text and the answer
labels (walk-through problem 3: "Q1 ... Q9" with bare 0-3 options cannot be administered from the screen).

The scoring and the PHQ-9 and GAD-7 item texts (LOINC's wording) live in :mod:`cadenza.clinic.instruments`;
this adds the instructions and answer labels the form shows, keyed by the instrument's item names.

Licences: the PHQ-9 and GAD-7 were developed by Drs. Robert L. Spitzer, Janet B. W. Williams, Kurt
Kroenke and colleagues with an educational grant from Pfizer Inc.; no permission is required to
reproduce, translate, display or distribute them (phqscreeners.com). The STAI is copyrighted (Mind
Garden): its six-item short form (Marteau & Bekker 1992) is shown here only by the feeling each item
names and the generic four-point answer scale, not by the published item wording.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.clinic.instruments import FREQUENCY_ANSWERS_LL358_3, get_instrument


@dataclass(frozen=True)
class Questionnaire:
    instructions: str
    items: dict[str, str]
    answers: dict[int, str]


_TWO_WEEKS = {int(i): text for i, (_, text) in enumerate(FREQUENCY_ANSWERS_LL358_3)}

def _item_texts(code: str) -> dict[str, str]:
    """An instrument's item texts as the record holds them (the LOINC wording of the PHQ-9 and GAD-7)."""
    instrument = get_instrument(code)
    return dict(zip(instrument.items, instrument.item_texts, strict=True))


QUESTIONNAIRES: dict[str, Questionnaire] = {
    "phq9": Questionnaire("Over the last 2 weeks, how often have you been bothered by any of the following problems?",
                          _item_texts("phq9"), _TWO_WEEKS),
    "gad7": Questionnaire("Over the last 2 weeks, how often have you been bothered by the following problems?",
                          _item_texts("gad7"), _TWO_WEEKS),
    "stai6": Questionnaire(
        "How do you feel right now, at this moment?",
        {"calm": "Calm", "tense": "Tense", "upset": "Upset", "relaxed": "Relaxed", "content": "Content",
         "worried": "Worried"},
        {1: "Not at all", 2: "Somewhat", 3: "Moderately", 4: "Very much"},
    ),
}


def questionnaire(code: str) -> Questionnaire | None:
    """The wording of instrument ``code``'s form, or None (then items are shown by their names).

    >>> questionnaire("phq9").answers[3]
    'Nearly every day'
    """
    return QUESTIONNAIRES.get(code)
