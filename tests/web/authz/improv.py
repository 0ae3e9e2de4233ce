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
    # form values are formatted with the route's ids: the JSON's braces are doubled
    ("POST", "/clients/{client_id}/improv/capture"): {
        "form": {"events": json.dumps(_events()).replace("{", "{{").replace("}", "}}")}},
    ("GET", "/clients/{client_id}/improv/takes/{take_id}"): {"setup": make_take},
}
