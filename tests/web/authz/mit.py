"""Authorisation-matrix samples for Melodic Intonation Therapy (cadenza/tools/mit/pages.py)."""

from __future__ import annotations

import itertools

from cadenza.clinic import service
from cadenza.tools.mit import records as mit_records


def _sample_phrase(db, actor, client_id: int) -> dict:
    """The owner's phrase the matrix addresses (created once per client); MIT cues are refused for
    NICU infants, so the sample client carries no flags."""
    service.update_client(db, actor=actor, client_id=client_id, safety_flags=[])
    for phrase in mit_records.list_phrases(db, actor=actor, client_id=client_id):
        if phrase.text == "I need help":
            return {"phrase_id": phrase.id}
    return {"phrase_id": mit_records.add_phrase(db, actor=actor, client_id=client_id, text="I need help").id}


def _sample_attempt() -> dict:
    from cadenza.io.speech import encode_wav_bytes, prepare_cue_material
    from cadenza.mit.cues import render_model
    from cadenza.mit.levels import Model

    material = prepare_cue_material("I need help", question=None)
    samples, _, _ = render_model(material, Model.INTONED, level=1)
    return {"attempt": ("attempt.wav", encode_wav_bytes(samples, sampling_rate_hz=material.sampling_rate_hz),
                        "audio/wav")}


_PHRASES = itertools.count(1)


def _fresh_phrase(db, actor, client_id: int, *, removed: bool = False) -> dict:
    """A phrase of its own for each removal or restoration (the shared sample phrase stays)."""
    row = mit_records.add_phrase(db, actor=actor, client_id=client_id, text=f"Good morning number {next(_PHRASES)}")
    if removed:
        mit_records.remove_phrase(db, actor=actor, phrase_id=row.id, reason="matrix")
    return {"phrase_id": row.id}


def _removed_phrase(db, actor, client_id: int) -> dict:
    return _fresh_phrase(db, actor, client_id, removed=True)


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/mit/phrases/{phrase_id}/remove"): {"form": {"reason": "added in error"},
                                                                      "setup": _fresh_phrase},
    ("POST", "/clients/{client_id}/mit/phrases/{phrase_id}/restore"): {"form": {}, "setup": _removed_phrase},
    ("POST", "/clients/{client_id}/mit/phrases"): {"form": {"text": "I want water", "level": "1"}},
    ("GET", "/clients/{client_id}/mit/phrases/{phrase_id}/cue.wav"): {
        "setup": _sample_phrase, "query": {"level": 1, "step": "humming"}},
    ("POST", "/clients/{client_id}/mit/attempts"): {
        "setup": _sample_phrase, "form": {"phrase_id": "{phrase_id}", "level": "1"}, "files": _sample_attempt},
}
