"""The improvisation workflow both faces call: a take from a MIDI file or from the browser's Web MIDI
events, its figures, and (with a session) its storage.

Nothing here opens the record unless :func:`record_take` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cadenza.clinic.models import Measurement, Therapist
from cadenza.errors import ParameterError
from cadenza.io.midi_notes import PERCUSSION_CHANNEL
from cadenza.tools.improv import records

MAX_EVENTS = 100_000  # a browser take: 20 notes/s for over an hour
MAX_PLAYER_CHARS = 60


@dataclass(frozen=True)
class ImprovRun:
    """One analysed take: where it came from, the take, the figures and (once stored) its rows."""

    file: str
    source: str  # "midi_file", "web_midi" or "audio_files"
    take: Any  # cadenza.improv.Take
    report: Any  # cadenza.improv.ImprovReport
    info: dict
    client_player: str
    stored_take_id: int | None = None
    stored: tuple[Measurement, ...] = ()

    def to_dict(self) -> dict:
        return {"file": self.file, "source": self.source, **self.info, "client_player": self.client_player,
                **self.report.to_dict(), "stored_take_id": self.stored_take_id}

    def notes_rows(self) -> list[list[float]]:
        """[onset s, duration s, pitch, velocity, player index] per note, as the record keeps them."""
        n = self.take.notes
        return [[round(float(t), 4), round(float(d), 4), int(p), int(v), int(i)]
                for t, d, p, v, i in zip(n.onset_times_s, n.durations_s, n.pitches, n.velocities, self.take.player_idx)]


def default_client_player(players: tuple[str, ...], client_player: str | None = None) -> str:
    """``client_player`` if given (it must be a player of the take), else a player named "client", else the first."""
    if client_player:
        if client_player not in players:
            raise ParameterError(f"client_player must be one of the take's players {list(players)!r}, got {client_player!r}")
        return client_player
    return "client" if "client" in players else (players[0] if players else "")


def _analyse(file: str, source: str, take, info: dict, client_player: str | None) -> ImprovRun:
    from cadenza.improv import analyze_take

    chosen = default_client_player(take.player_names, client_player)
    others = [p for p in take.player_names if p != chosen]
    pair = (others[0], chosen) if others else None  # the duet figures read "the client after the other player"
    report = analyze_take(take, players=pair)
    return ImprovRun(file, source, take, report, info, chosen)


def analyse_midi_file(path: str | Path, *, client_player: str | None = None) -> ImprovRun:
    """A MIDI file's take (players by track or channel) and its figures; nothing is stored."""
    from cadenza.io import load_midi_take

    take, info = load_midi_take(path)
    return _analyse(str(path), "midi_file", take, info, client_player)


def _analyse_midi_child(src: str, name: str, client_player: str | None) -> ImprovRun:
    """Child target of :func:`analyse_midi_upload`: parse and analyse, naming the upload, not the temp file."""
    from cadenza.errors import CadenzaError

    try:
        run = analyse_midi_file(src, client_player=client_player)
    except CadenzaError as exc:
        raise type(exc)(str(exc).replace(src, name)) from None
    return replace(run, file=name)


def analyse_midi_upload(data: bytes, *, name: str, client_player: str | None = None, limits: Any = None) -> ImprovRun:
    """An uploaded MIDI file's take and figures, parsed and analysed in a resource-limited child process
    (:func:`cadenza.io.isolated.run_isolated`: memory, CPU and wall-clock limits), as every upload is: a
    small hostile file can hold hundreds of thousands of notes. Nothing is stored."""
    from cadenza.io.isolated import run_isolated, upload_on_disk

    with upload_on_disk(data, name=name) as src:
        return run_isolated(_analyse_midi_child, src, name, client_player, limits=limits,
                            what=f"analysing {name!r}")


#: The web page takes recordings up to this long (each): a pitched part's contour costs about a second of CPU
#: per 10 s of audio, and the analysis runs inside the upload child's limits. Longer ones: the CLI.
MAX_AUDIO_UPLOAD_S = 180.0


def _check_parts(parts: Any) -> None:
    if not parts:
        raise ParameterError("give at least one player's recording (NAME=FILE)")
    for name, _, kind in parts:
        if kind not in ("drum", "pitched"):
            raise ParameterError(f"the kind of {name!r}'s recording must be 'drum' or 'pitched', got {kind!r}")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_PLAYER_CHARS:
            raise ParameterError(f"player names must be 1-{MAX_PLAYER_CHARS} characters, got {name!r}")


def analyse_audio_files(parts: Any, *, client_player: str | None = None) -> ImprovRun:
    """A take from one recording per player, ``parts`` = [(player, path, "drum" | "pitched")], and its
    figures (:mod:`cadenza.improv.audio`: one player per recording, recordings starting together).
    Nothing is stored."""
    from cadenza.io import load_audio

    _check_parts(parts)
    audios = [load_audio(path, mono=True) for _, path, _ in parts]
    return _analyse_recordings([(name, Path(str(path)).name, kind) for name, path, kind in parts], audios,
                               client_player)


def _analyse_recordings(parts: Any, audios: Any, client_player: str | None) -> ImprovRun:
    """The take and figures of decoded recordings, ``parts`` = [(player, file name, kind)] beside ``audios``."""
    from cadenza.improv import take_from_audio

    take = take_from_audio([(name, audio.samples, audio.sampling_rate_hz, kind == "pitched")
                            for (name, _, kind), audio in zip(parts, audios, strict=True)])
    label = " + ".join(filename for _, filename, _ in parts)
    return _analyse(label, "audio_files", take, {"players_from": "recordings",
                                                 "kinds": {name: kind for name, _, kind in parts}}, client_player)


def _analyse_audio_child(srcs: list[str], parts: Any, client_player: str | None, max_duration_s: float) -> ImprovRun:
    """Child target of :func:`analyse_audio_uploads`: decode (bounded by duration), analyse, name the uploads."""
    from cadenza.io.isolated import load_audio_named

    audios = []
    for src, (_, filename, _) in zip(srcs, parts, strict=True):
        audio = load_audio_named(src, name=filename, mono=True)
        duration_s = audio.samples.shape[-1] / audio.sampling_rate_hz
        if duration_s > max_duration_s:
            raise ParameterError(f"recording {filename!r} is {duration_s:.0f} s long; the page takes at most "
                                 f"{max_duration_s:g} s per player (use `cadenza improv audio` for longer ones)")
        audios.append(audio)
    return _analyse_recordings(parts, audios, client_player)


def analyse_audio_uploads(parts: Any, *, client_player: str | None = None, limits: Any = None,
                          max_duration_s: float = MAX_AUDIO_UPLOAD_S) -> ImprovRun:
    """:func:`analyse_audio_files` for uploads, ``parts`` = [(player, data bytes, file name, kind)]: decoded and
    analysed in one resource-limited child process (memory, CPU, wall clock), as every upload is."""
    from contextlib import ExitStack

    from cadenza.io.isolated import run_isolated, upload_on_disk

    _check_parts([(name, None, kind) for name, _, _, kind in parts])
    with ExitStack() as stack:
        srcs = [stack.enter_context(upload_on_disk(data, name=filename)) for _, data, filename, _ in parts]
        meta = [(name, filename, kind) for name, _, filename, kind in parts]
        return run_isolated(_analyse_audio_child, srcs, meta, client_player, float(max_duration_s), limits=limits,
                            what="analysing the recordings")


def take_from_events(events: Any) -> Any:
    """A take from the browser's JSON: a list of ``{"t": onset s, "d": duration s, "p": pitch,
    "v": velocity, "who": player}``, each optionally with ``"c"``, the MIDI channel (0-15) it came on; anything
    else is refused naming the event and the field. A player whose every note came on channel index 9 (GM
    channel 10: an e-drum kit, drum pads) is percussion, as in a MIDI file: kit roles for the tempo, no tonal
    figures."""
    from cadenza.improv import make_take

    if not isinstance(events, list):
        raise ParameterError(f"events must be a list of notes, got {type(events).__name__}")
    if len(events) > MAX_EVENTS:
        raise ParameterError(f"events holds {len(events)} notes, more than the {MAX_EVENTS} allowed")
    cols: dict[str, list] = {"t": [], "d": [], "p": [], "v": [], "who": []}
    channels: dict[str, set] = {}  # player -> the channels their notes came on (None: not sent)
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise ParameterError(f"events[{i}] must be an object, got {event!r:.60}")
        for key in cols:
            value = event.get(key)
            if key == "who":
                if not isinstance(value, str) or not value.strip() or len(value) > MAX_PLAYER_CHARS:
                    raise ParameterError(f"events[{i}].who must name the player in 1-{MAX_PLAYER_CHARS} characters, "
                                         f"got {value!r:.80}")
                value = value.strip()
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(f"events[{i}].{key} must be a number, got {value!r:.60}")
            cols[key].append(value)
        channel = event.get("c")
        if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= 15):
            raise ParameterError(f"events[{i}].c must be a MIDI channel 0-15, got {channel!r:.60}")
        channels.setdefault(cols["who"][-1], set()).add(channel)
    percussion = [name for name, seen in channels.items() if seen == {PERCUSSION_CHANNEL}]
    return make_take(cols["t"], durations_s=cols["d"], pitches=cols["p"], velocities=cols["v"], players=cols["who"],
                     percussion_players=percussion)


def analyse_events(events: Any, *, client_player: str | None = None) -> ImprovRun:
    """The browser's take and its figures; nothing is stored."""
    return _analyse("web-midi", "web_midi", take_from_events(events), {"players_from": "web_midi"}, client_player)


def record_take(db: Session, *, actor: Therapist, run: ImprovRun, session_id: int, label: str = "") -> ImprovRun:
    """Store the take and the client's figures on the session (see :func:`records.store_take`)."""
    if run.take.notes.n_notes == 0:
        raise ParameterError("the take has no notes: nothing to store")
    take, stored = records.store_take(
        db, actor=actor, session_id=session_id, source=run.source, label=label or Path(run.file).name,
        players=list(run.take.player_names), client_player=run.client_player, notes=run.notes_rows(),
        features=run.report.to_dict())
    return replace(run, stored_take_id=take.id, stored=tuple(stored))
