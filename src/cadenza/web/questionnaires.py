"""What a person reads when filling in a questionnaire: the instructions, each item's text and the answer
labels (walk-through problem 3: "Q1 ... Q9" with bare 0-3 options cannot be administered from the screen).

The scoring lives in :mod:`cadenza.clinic.instruments`; this is only the wording the form shows, keyed by
the instrument's item names.

Licences: the PHQ-9 and GAD-7 were developed by Drs. Robert L. Spitzer, Janet B. W. Williams, Kurt
Kroenke and colleagues with an educational grant from Pfizer Inc.; no permission is required to
reproduce, translate, display or distribute them (phqscreeners.com). The STAI is copyrighted (Mind
Garden): its six-item short form (Marteau & Bekker 1992) is shown here only by the feeling each item
names and the generic four-point answer scale, not by the published item wording.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Questionnaire:
    instructions: str
    items: dict[str, str]
    answers: dict[int, str]


_TWO_WEEKS = {0: "Not at all", 1: "Several days", 2: "More than half the days", 3: "Nearly every day"}

QUESTIONNAIRES: dict[str, Questionnaire] = {
    "phq9": Questionnaire(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        {
            "q1": "Little interest or pleasure in doing things",
            "q2": "Feeling down, depressed, or hopeless",
            "q3": "Trouble falling or staying asleep, or sleeping too much",
            "q4": "Feeling tired or having little energy",
            "q5": "Poor appetite or overeating",
            "q6": "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
            "q7": "Trouble concentrating on things, such as reading the newspaper or watching television",
            "q8": "Moving or speaking so slowly that other people could have noticed; or the opposite, being so "
                  "fidgety or restless that you have been moving around a lot more than usual",
            "q9": "Thoughts that you would be better off dead, or of hurting yourself in some way",
        },
        _TWO_WEEKS,
    ),
    "gad7": Questionnaire(
        "Over the last 2 weeks, how often have you been bothered by the following problems?",
        {
            "q1": "Feeling nervous, anxious, or on edge",
            "q2": "Not being able to stop or control worrying",
            "q3": "Worrying too much about different things",
            "q4": "Trouble relaxing",
            "q5": "Being so restless that it is hard to sit still",
            "q6": "Becoming easily annoyed or irritable",
            "q7": "Feeling afraid, as if something awful might happen",
        },
        _TWO_WEEKS,
    ),
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
