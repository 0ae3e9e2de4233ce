"""Authorisation-matrix samples for improvisation (cadenza/tools/improv/pages.py)."""

from __future__ import annotations

import json


def _events() -> list[dict]:
    return [{"t": 0.5 * k + (0.05 if k % 2 else 0.0), "d": 0.2, "p": 60 + k % 7, "v": 80,
             "who": "client" if k % 2 else "therapist"} for k in range(40)]


def midi_file() -> dict:
    """A two-track duet (therapist, client) as a MIDI upload."""
    import io

    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    for name, channel in (("therapist", 0), ("client", 1)):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        for k in range(16):
            track.append(mido.Message("note_on", channel=channel, note=60 + k % 5, velocity=80, time=0 if k == 0 else 240))
            track.append(mido.Message("note_off", channel=channel, note=60 + k % 5, velocity=0, time=240))
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return {"midi": ("duet.mid", buffer.getvalue(), "audio/midi")}


def drum_recording() -> dict:
    """Eight noise bursts half a second apart, as one player's WAV upload."""
    import io

    import numpy as np
    import soundfile as sf

    rate_hz = 16_000
    x = np.zeros(5 * rate_hz)
    t = np.arange(int(0.1 * rate_hz)) / rate_hz
    burst = np.random.default_rng(1).standard_normal(t.size) * np.exp(-t / 0.03) * np.minimum(1.0, (0.1 - t) / 0.01)
    for k in range(8):
        x[int((0.5 + 0.5 * k) * rate_hz):][:t.size] += 0.5 * burst
    buffer = io.BytesIO()
    sf.write(buffer, x, rate_hz, format="WAV", subtype="PCM_16")
    return {"audio_1": ("drum.wav", buffer.getvalue(), "audio/wav")}


def make_take(db, actor, client_id) -> dict:
    """A stored take of the owner's client, on a new session."""
    import datetime as dt

    from cadenza.clinic import service
    from cadenza.tools.improv import actions

    session = service.record_session(db, actor=actor, client_id=client_id, session_date=dt.date(2026, 12, 1),
                                     minutes=30, intervention_code="drumming_improvisation")
    run = actions.record_take(db, actor=actor, run=actions.analyse_events(_events()), session_id=session.id)
    return {"take_id": run.stored_take_id}


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/improv"): {"form": {}, "files": midi_file},
    ("POST", "/clients/{client_id}/improv/audio"): {"form": {"kind_1": "drum"}, "files": drum_recording},
    # form values are formatted with the route's ids: the JSON's braces are doubled
    ("POST", "/clients/{client_id}/improv/capture"): {
        "form": {"events": json.dumps(_events()).replace("{", "{{").replace("}", "}}")}},
    ("GET", "/clients/{client_id}/improv/takes/{take_id}"): {"setup": make_take},
}
