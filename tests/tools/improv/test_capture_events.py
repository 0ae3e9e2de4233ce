"""The browser's captured notes carry their MIDI channel: an e-drum kit (GM channel 10) is a percussion player."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.tools.improv import actions


def _groove(who: str, channel: int | None, *, bpm: float = 100.0, bars: int = 12) -> list[dict]:
    """Kick on 1 and 3, snare on 2 and 4, closed hi-hat on eighths (GM drum notes)."""
    beat_s, rows = 60.0 / bpm, []
    for k in range(bars * 8):
        t = 0.5 + k * beat_s / 2
        hits = [42] + ([36] if k % 4 == 0 else []) + ([38] if k % 4 == 2 else [])
        for pitch in hits:
            row = {"t": round(t, 4), "d": 0.05, "p": pitch, "v": 100 if pitch != 42 else 60, "who": who}
            if channel is not None:
                row["c"] = channel
            rows.append(row)
    return rows


def _melody(who: str, channel: int | None) -> list[dict]:
    rng = np.random.default_rng(3)
    rows = [{"t": 0.7 + 0.6 * k, "d": 0.4, "p": int(60 + rng.integers(0, 8)), "v": 70, "who": who} for k in range(40)]
    return [dict(row, c=channel) if channel is not None else row for row in rows]


def test_a_kit_on_channel_10_is_percussion_and_gets_no_tonal_figures():
    run = actions.analyse_events(_groove("client", 9) + _melody("therapist", 0), client_player="client")
    assert run.take.is_percussion("client") and not run.take.is_percussion("therapist")
    per_player = run.report.to_dict()["per_player"]
    assert per_player["client"]["pitch_range_semitones"] is None  # drum notes are no pitches
    assert per_player["therapist"]["pitch_range_semitones"] > 0
    assert abs(per_player["client"]["tempo_bpm"] - 100) < 2


@pytest.mark.parametrize("channels", [(None, None), (0, 0), ((9, 0), 0)])
def test_notes_without_a_channel_or_off_channel_10_stay_pitched(channels):
    kit_channel, melody_channel = channels
    if isinstance(kit_channel, tuple):  # one player's notes on two channels: not a kit alone
        events = _groove("client", kit_channel[0])[:50] + _groove("client", kit_channel[1])[50:]
    else:
        events = _groove("client", kit_channel)
    run = actions.analyse_events(events + _melody("therapist", melody_channel), client_player="client")
    assert not run.take.is_percussion("client") and not run.take.is_percussion("therapist")
    assert run.report.to_dict()["per_player"]["client"]["pitch_range_semitones"] is not None


@pytest.mark.parametrize("channel", [16, -1, 9.0, True, "9"])
def test_a_bad_channel_is_refused_naming_the_event(channel):
    events = _groove("client", 9)
    events[3]["c"] = channel
    with pytest.raises(ParameterError, match=r"events\[3\]\.c must be a MIDI channel 0-15"):
        actions.take_from_events(events)
