"""A standard MIDI file's notes as an improvisation take: who played what, when, how loud, how long.

Each player is a track when more than one track holds notes (a type-1 file, one track per instrument),
else a channel when more than one channel is used (a type-0 file of a duet on two channels), else the
one player. Players are named after their track name when the file gives distinct names, else
``"track N"`` / ``"channel N"`` (1-based, as a keyboard's display shows them). Channel 10 is GM
percussion: its players get no tonal figures. Times come from the file's tempo map (mido).
"""

from __future__ import annotations

from pathlib import Path

from cadenza.errors import DataQualityError
from cadenza.improv.events import Take, make_take
from cadenza.io.event_files import _existing_file

PERCUSSION_CHANNEL = 9  # 0-based: GM channel 10


def _seconds_of(midi) -> object:
    """tick -> seconds with the file's tempo map (every set_tempo of every track; 120 BPM before the first)."""
    import bisect

    changes = sorted({(tick, m.tempo) for t in midi.tracks for tick, m in _absolute(t) if m.type == "set_tempo"})
    ticks, tempos, starts_s = [0], [500_000], [0.0]
    for tick, tempo in changes:
        starts_s.append(starts_s[-1] + (tick - ticks[-1]) * tempos[-1] / 1e6 / midi.ticks_per_beat)
        ticks.append(tick)
        tempos.append(tempo)

    def seconds(tick: int) -> float:
        i = bisect.bisect_right(ticks, tick) - 1
        return starts_s[i] + (tick - ticks[i]) * tempos[i] / 1e6 / midi.ticks_per_beat

    return seconds


def _absolute(track):
    tick = 0
    for message in track:
        tick += message.time
        yield tick, message


def _collect(midi) -> list[tuple[float, float, int, int, int, int]]:
    """(onset s, duration s or NaN, pitch, velocity, channel, track) of every note, sorted by onset."""
    seconds = _seconds_of(midi)
    notes = []
    for track_no, track in enumerate(midi.tracks):
        sounding: dict[tuple[int, int], int] = {}
        for tick, message in _absolute(track):
            if message.type not in ("note_on", "note_off"):
                continue
            now_s = seconds(tick)
            key = (message.channel, message.note)
            if key in sounding:  # a note-off, or a new note-on of a sounding key, ends the note
                k = sounding.pop(key)
                notes[k] = notes[k][:1] + (now_s - notes[k][0],) + notes[k][2:]
            if message.type == "note_on" and message.velocity > 0:
                sounding[key] = len(notes)
                notes.append((now_s, float("nan"), message.note, message.velocity, message.channel, track_no))
    return sorted(notes, key=lambda n: n[0])


def load_midi_take(path: str | Path) -> tuple[Take, dict]:
    """The take of a MIDI file and facts about the file (``tempo_marking_bpm``: its first tempo
    meta-event, never used by the analysis; ``players_from``: "tracks", "channels" or "one").

    Raises :class:`ParameterError` for a missing file and :class:`DataQualityError` for one that is not
    a readable MIDI file.
    """
    import mido

    path = _existing_file(path, what="MIDI file")
    try:
        midi = mido.MidiFile(str(path))
        track_names = [next((m.name for m in t if m.type == "track_name"), "").strip() for t in midi.tracks]
        tempo_us = next((m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"), None)
        notes = _collect(midi)
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise DataQualityError(f"cannot read MIDI file {str(path)!r}: {exc}") from exc
    tracks = sorted({n[5] for n in notes})
    channels = sorted({n[4] for n in notes})
    if len(tracks) > 1:
        names = [track_names[t] for t in tracks]
        distinct = all(names) and len(set(names)) == len(names)
        label = {t: (track_names[t] if distinct else f"track {t + 1}") for t in tracks}
        players = [label[n[5]] for n in notes]
        percussion = {label[n[5]] for n in notes if n[4] == PERCUSSION_CHANNEL}
        source = "tracks"
    elif len(channels) > 1:
        players = [f"channel {n[4] + 1}" for n in notes]
        percussion = {f"channel {PERCUSSION_CHANNEL + 1}"} & set(players)
        source = "channels"
    else:
        name = (track_names[tracks[0]] if tracks and track_names[tracks[0]] else "player 1")
        players = [name] * len(notes)
        percussion = {name} if channels == [PERCUSSION_CHANNEL] else set()
        source = "one"
    take = make_take([n[0] for n in notes], pitches=[n[2] for n in notes], velocities=[n[3] for n in notes],
                     durations_s=[n[1] if n[1] == n[1] else 0.1 for n in notes], players=players,
                     percussion_players=sorted(percussion))
    info = {"tempo_marking_bpm": round(mido.tempo2bpm(tempo_us), 3) if tempo_us else None, "players_from": source}
    return take, info
