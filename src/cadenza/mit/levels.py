"""The MIT protocol levels and their steps, after the Helm-Estabrooks MIT kit.

Level I: humming (not scored), unison intoning, unison with fading, immediate repetition and a probe
question, each 0/1 (max 4). Level II: introduce the item (not scored), unison with fading 0/1, delayed
repetition 0-2 with a back-up step, probe question 0-2 (max 5). Level III: delayed repetition 0-2,
introduce Sprechgesang (not scored), Sprechgesang with fading 0-2, delayed spoken repetition 0-2,
probe question 0-2 (max 8). Sources: Helm-Estabrooks, Nicholas & Morgan, *Melodic Intonation Therapy*
kit (1989), as encoded in a public clinical app; Norton et al. 2009 (Ann NY Acad Sci 1169:431-436).

What each step *plays* is described by a :class:`CueSpec`; :mod:`cadenza.mit.cues` renders it. The delay
before a delayed repetition (6 s) and the phrase lengths per level are conventions of this project.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cadenza.errors import ParameterError


class Model(StrEnum):
    """What the therapist's model sounds like."""

    HUM = "hum"
    INTONED = "intoned"
    SPRECHGESANG = "sprechgesang"
    SPOKEN = "spoken"
    QUESTION = "question"


@dataclass(frozen=True)
class CueSpec:
    """The audio of one step: the model, how often, whether it fades out, then the person's turn."""

    model: Model
    repeats: int = 1
    fade_out: bool = False
    delay_s: float = 0.0  # silence between the model and the person's turn
    response_slot: bool = False  # leave room (with taps) for the person to answer
    taps: bool = True


@dataclass(frozen=True)
class Step:
    """One step of an MIT level: its code, title, points, instructions for the therapist and what it plays."""

    code: str
    title: str
    max_points: int
    instructions: str
    cue: CueSpec
    backup_step: bool = False

    @property
    def scored(self) -> bool:
        return self.max_points > 0


DELAY_S = 6.0
DEFAULT_PROBE_QUESTION = "What did you say?"

LEVELS: dict[int, tuple[Step, ...]] = {
    1: (
        Step("humming", "Humming", 0,
             "Hum the melody while tapping the person's left hand once per syllable; the person listens.",
             CueSpec(Model.HUM, repeats=2)),
        Step("unison", "Unison intoning", 1,
             "Intone the phrase together while tapping each syllable.", CueSpec(Model.INTONED)),
        Step("unison_fading", "Unison with fading", 1,
             "Start together, then fade your voice out halfway; the person finishes alone. Keep tapping.",
             CueSpec(Model.INTONED, fade_out=True)),
        Step("immediate_repetition", "Immediate repetition", 1,
             "Intone the phrase alone; the person repeats it straight away while you tap.",
             CueSpec(Model.INTONED, response_slot=True)),
        Step("probe", "Response to a probe question", 1,
             "Intone the probe question; the person answers with the phrase.",
             CueSpec(Model.QUESTION, response_slot=True)),
    ),
    2: (
        Step("introduce", "Introduce the item", 0,
             "Intone the phrase twice while tapping.", CueSpec(Model.INTONED, repeats=2)),
        Step("unison_fading", "Unison with fading", 1,
             "Start together, fade your voice out halfway; keep tapping.", CueSpec(Model.INTONED, fade_out=True)),
        Step("delayed_repetition", "Delayed repetition", 2,
             "Intone the phrase, wait about 6 s, then the person intones it. If it fails, go back to unison "
             "with fading once (back-up step) and try again: 2 first time, 1 after the back-up, 0 otherwise.",
             CueSpec(Model.INTONED, delay_s=DELAY_S, response_slot=True), backup_step=True),
        Step("probe", "Response to a probe question", 2,
             "Intone the probe question; 2 for the phrase intoned correctly, 1 if after a back-up.",
             CueSpec(Model.QUESTION, response_slot=True)),
    ),
    3: (
        Step("delayed_repetition", "Delayed repetition", 2,
             "Intone the phrase, wait about 6 s, then the person intones it (back-up: unison with fading).",
             CueSpec(Model.INTONED, delay_s=DELAY_S, response_slot=True), backup_step=True),
        Step("introduce_sprechgesang", "Introduce Sprechgesang", 0,
             "Say the phrase twice in Sprechgesang: speech rhythm, exaggerated pitch.",
             CueSpec(Model.SPRECHGESANG, repeats=2)),
        Step("sprechgesang_fading", "Sprechgesang with fading", 2,
             "Start together in Sprechgesang, fade out halfway; the person finishes.",
             CueSpec(Model.SPRECHGESANG, fade_out=True)),
        Step("delayed_spoken_repetition", "Delayed spoken repetition", 2,
             "Say the phrase normally, wait about 6 s, then the person says it.",
             CueSpec(Model.SPOKEN, delay_s=DELAY_S, response_slot=True, taps=False)),
        Step("probe", "Response to a probe question", 2,
             "Ask the probe question in normal speech; the person answers with the phrase.",
             CueSpec(Model.QUESTION, response_slot=True, taps=False)),
    ),
}

# Phrase length in syllables per level: start short (2-4) and grow (Norton et al. 2009). Convention.
LEVEL_SYLLABLE_RANGE = {1: (2, 4), 2: (3, 6), 3: (4, 9)}


def check_level(level: int) -> int:
    if level not in LEVELS:
        raise ParameterError(f"level must be 1, 2 or 3 (MIT levels I-III), got {level!r}")
    return level


def level_steps(level: int) -> tuple[Step, ...]:
    """The steps of a level, in order.

    >>> [s.code for s in level_steps(2)]
    ['introduce', 'unison_fading', 'delayed_repetition', 'probe']
    """
    return LEVELS[check_level(level)]


def get_step(level: int, code: str) -> Step:
    """The step ``code`` (e.g. ``"probe"``) of ``level``; :class:`ParameterError` listing the level's codes otherwise."""
    for step in level_steps(level):
        if step.code == code:
            return step
    known = ", ".join(s.code for s in level_steps(level))
    raise ParameterError(f"step {code!r} is not a step of level {level}; expected one of: {known}")


def max_points(level: int) -> int:
    """Points possible per phrase at a level: 4, 5 and 8.

    >>> [max_points(level) for level in (1, 2, 3)]
    [4, 5, 8]
    """
    return sum(s.max_points for s in level_steps(level))


def phrase_length_notes(n_syllables: int, *, level: int) -> tuple[str, ...]:
    """Advice when a phrase is outside the usual length for the level (empty when it fits)."""
    lo, hi = LEVEL_SYLLABLE_RANGE[check_level(level)]
    if n_syllables < lo:
        return (f"{n_syllables} syllable(s) is short for level {level} (usual {lo}-{hi}).",)
    if n_syllables > hi:
        return (f"{n_syllables} syllables is long for level {level} (usual {lo}-{hi}); "
                "start with shorter phrases and let them grow.",)
    return ()
