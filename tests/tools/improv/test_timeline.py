"""The take's timeline picture: one lane per player, who plays when, escaped names."""

from __future__ import annotations

import re

from cadenza.tools.improv.timeline import BOTH_COLOUR, COLOURS, render_timeline


def test_lanes_notes_and_the_who_plays_strip():
    notes = [[0.5 * k, 0.2, 60 + k % 5, 100, 0] for k in range(20)]  # a plays 0-10 s
    notes += [[10.0 + 0.5 * k, 0.2, 40, 50, 1] for k in range(20)]  # b plays 10-20 s
    notes += [[15.0 + 0.5 * k, 0.2, 72, 127, 0] for k in range(4)]  # a joins in at 15 s
    svg = str(render_timeline(notes, players=["therapist", "client"], client_player="client"))
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "Timeline of 44 notes" in svg
    note_marks = re.findall(r'height="4" fill="([^"]+)"', svg)
    assert note_marks.count(COLOURS[0]) == 24 and note_marks.count(COLOURS[1]) == 20
    strip = re.findall(r'height="14" fill="([^"]+)"', svg)
    assert strip[:3] == [COLOURS[0], COLOURS[1], BOTH_COLOUR]  # a alone, then b alone, then both
    assert "therapist alone" in svg and "0:00" in svg and "0:18" in svg  # a tick every 2 s of the 19.7 s


def test_player_names_are_escaped_and_an_empty_take_draws():
    svg = str(render_timeline([[0.0, 0.1, 60, 64, 0]], players=['<img src=x onerror="alert(1)">'], client_player=""))
    assert "<img" not in svg and "&lt;img" in svg
    assert str(render_timeline([], players=["a", "b"])).startswith("<svg")
