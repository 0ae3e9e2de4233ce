"""Goal playlists: iso order, shapes, durations, ratings, red flags, walking, exports."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.music.playlist_formats import render_m3u8, render_xspf
from cadenza.music.playlists import (
    CurrentState,
    PhaseSpec,
    TrackFeatures,
    build_playlist,
    is_monotone,
    phase_directions,
    state_to_start,
)


def library(rng, n=120):
    """A varied library: tempi 55-170 BPM, energy loosely rising with tempo, 2-6 min tracks."""
    tempo = rng.uniform(55, 170, n)
    energy = np.clip((tempo - 55) / 115 + rng.normal(0, 0.12, n), 0, 1)
    dur = rng.uniform(120, 360, n)
    return [TrackFeatures(track_id=f"t{i:03d}", duration_s=float(dur[i]), tempo_bpm=float(tempo[i]),
                          energy=float(energy[i]), loudness_lufs=-20.0, loudness_range_lu=float(rng.uniform(2, 12)),
                          title=f"Song {i}", artist="Someone", path=f"/music/song{i}.flac")
            for i in range(n)]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), arousal=st.floats(4, 10), minutes=st.integers(10, 60),
       goal=st.sampled_from(["relax", "sleep", "pre_procedure", "energise", "focus"]))
def test_iso_sequence_is_monotone_and_fills_the_time(seed, arousal, minutes, goal):
    tracks = library(np.random.default_rng(seed))
    pl = build_playlist(tracks, goal=goal, minutes=minutes, state=CurrentState(arousal_0_10=arousal), shape="iso")
    tempi = [e.track.tempo_bpm for e in pl.entries]
    (direction,) = phase_directions(pl.phases, pl.start_tempo_bpm)  # a flat plan (goal = start) settles down
    assert direction == (1 if pl.phases[0].end_tempo_bpm > 1.005 * pl.start_tempo_bpm else -1)
    assert is_monotone(tempi, direction=direction)
    longest = max(e.track.duration_s for e in pl.entries)
    assert abs(pl.total_s - 60 * minutes) <= longest
    assert len({e.track.track_id for e in pl.entries}) == len(pl.entries)  # no repeats


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from(["U", "L", "J"]))
def test_shapes_move_in_runs(seed, shape):
    tracks = library(np.random.default_rng(seed))
    goal = "energise" if shape == "J" else "relax"
    arousal = 2 if shape == "J" else 8
    pl = build_playlist(tracks, goal=goal, minutes=20, state=CurrentState(arousal_0_10=arousal), shape=shape)
    tempi = np.array([e.track.tempo_bpm for e in pl.entries])
    if shape == "L":
        assert is_monotone(tempi, direction=-1)
    elif shape == "J":
        assert is_monotone(tempi, direction=+1)
    else:  # U: down then up, one turning point
        turn = int(np.argmin(tempi))
        assert is_monotone(tempi[:turn + 1], direction=-1) and is_monotone(tempi[turn:], direction=+1)
    assert abs(pl.total_s - 1200) <= max(e.track.duration_s for e in pl.entries)


def test_relax_ends_slow_and_calm(rng):
    pl = build_playlist(library(rng, 200), goal="sleep", minutes=30, state=CurrentState(arousal_0_10=8))
    last = pl.entries[-1].track
    assert last.tempo_bpm < 80 and last.energy < 0.35
    assert pl.entries[0].track.tempo_bpm > last.tempo_bpm + 20  # started near the aroused state
    times_s, tempo, energy = pl.planned_curve()
    assert tempo[0] == pytest.approx(pl.start_tempo_bpm) and tempo[-1] == pytest.approx(62.0)
    assert times_s[-1] == pytest.approx(1800.0)


def test_rated_favourite_beats_unrated_twin():
    base = dict(duration_s=240.0, energy=0.2, loudness_lufs=-20.0, loudness_range_lu=4.0)
    tracks = [TrackFeatures("fav", tempo_bpm=70.0, **base), TrackFeatures("plain", tempo_bpm=69.0, **base),
              TrackFeatures("fast", tempo_bpm=150.0, **{**base, "energy": 0.9})]
    pl = build_playlist(tracks, goal="relax", minutes=4, state=CurrentState(arousal_0_10=2), shape="iso",
                        ratings={"fav": 5})
    assert [e.track.track_id for e in pl.entries] == ["fav"]
    # and the other way round: a disliked twin loses to the unrated one
    pl = build_playlist(tracks, goal="relax", minutes=4, state=CurrentState(arousal_0_10=2), shape="iso",
                        ratings={"fav": 1})
    assert [e.track.track_id for e in pl.entries] == ["plain"]


def test_ratings_outweigh_features_across_the_library(rng):
    tracks = library(rng, 150)
    favourites = {t.track_id: 5 for t in tracks if 65 <= t.tempo_bpm <= 100}
    pl = build_playlist(tracks, goal="relax", minutes=30, state=CurrentState(arousal_0_10=6), ratings=favourites)
    chosen = [e.track.track_id for e in pl.entries]
    assert sum(tid in favourites for tid in chosen) >= 0.7 * len(chosen)


def test_red_flags_are_never_chosen(rng):
    tracks = library(rng, 40)
    flagged = {t.track_id for t in tracks[:20]}
    pl = build_playlist(tracks, goal="relax", minutes=60, state=CurrentState(arousal_0_10=5), excluded=flagged)
    assert not flagged & {e.track.track_id for e in pl.entries}
    assert any("red-flag" in w for w in pl.warnings)


def test_walk_matches_cadence_or_stretches(rng):
    tracks = library(rng, 300)
    pl = build_playlist(tracks, goal="walk", minutes=15, cadence_spm=110.0)
    assert pl.entries
    for e in pl.entries:
        ratio = 110.0 / e.track.tempo_bpm
        assert abs(ratio - 1) <= 0.08
        if abs(ratio - 1) <= 0.03:
            assert e.stretch_ratio == 1.0
        else:
            assert e.stretch_ratio == pytest.approx(ratio)
            assert e.track.tempo_bpm * e.stretch_ratio == pytest.approx(110.0)
    with pytest.raises(ParameterError, match="cadence_spm"):
        build_playlist(tracks, goal="walk", minutes=15)


def test_small_library_runs_out_with_a_warning(rng):
    pl = build_playlist(library(rng, 3), goal="relax", minutes=120, state=CurrentState(arousal_0_10=5))
    assert len(pl.entries) == 3 and any("ran out" in w for w in pl.warnings)
    empty = build_playlist([], goal="relax", minutes=20, state=CurrentState(arousal_0_10=5))
    assert empty.entries == [] and empty.warnings


def test_custom_phases_and_validation(rng):
    tracks = library(rng)
    phases = (PhaseSpec("descend", 0.5, 70.0, 0.2), PhaseSpec("hold", 0.5, 70.0, 0.2))
    pl = build_playlist(tracks, goal="relax", minutes=20, state=CurrentState(heart_rate_bpm=100), phases=phases)
    assert pl.phases == phases and pl.start_tempo_bpm == 100.0
    with pytest.raises(ParameterError, match="phases"):
        build_playlist(tracks, goal="relax", minutes=20, phases=(PhaseSpec("x", 0.5, 70, 0.2),))
    with pytest.raises(ParameterError, match="goal"):
        build_playlist(tracks, goal="party", minutes=20)
    with pytest.raises(ParameterError, match="minutes"):
        build_playlist(tracks, goal="relax", minutes=0)
    with pytest.raises(ParameterError, match="ratings"):
        build_playlist(tracks, goal="relax", minutes=20, ratings={"t001": 9})
    with pytest.raises(ParameterError, match="arousal_0_10"):
        state_to_start(CurrentState(arousal_0_10=11))
    with pytest.raises(ParameterError, match="heart_rate_bpm"):
        state_to_start(CurrentState(heart_rate_bpm=5))


def test_phase_directions():
    assert phase_directions([PhaseSpec("d", .4, 70, .2), PhaseSpec("h", .3, 70, .2), PhaseSpec("r", .3, 90, .4)], 120) == [-1, -1, 1]
    assert phase_directions([PhaseSpec("h", .6, 60, .2), PhaseSpec("r", .4, 100, .6)], 60) == [1, 1]


def test_exports_round_trip(rng):
    tracks = library(rng, 30)
    tracks[0] = TrackFeatures("t000", 200.0, 70.0, 0.2, title="Café & <Crème>", artist="Zoë", path="/music/a b.flac")
    pl = build_playlist(tracks, goal="relax", minutes=20, state=CurrentState(arousal_0_10=3), ratings={"t000": 5})
    m3u = render_m3u8(pl, title="Relax")
    lines = m3u.splitlines()
    assert lines[0] == "#EXTM3U"
    paths = [line for line in lines if not line.startswith("#")]
    assert paths == [e.track.path for e in pl.entries]
    root = ET.fromstring(render_xspf(pl, title="Relax"))
    ns = {"x": "http://xspf.org/ns/0/"}
    durations = [int(d.text) for d in root.findall(".//x:track/x:duration", ns)]
    assert sum(durations) == pytest.approx(1000 * pl.total_s, abs=len(durations))
    titles = [t.text for t in root.findall(".//x:track/x:title", ns)]
    assert "Café & <Crème>" in titles
    assert "file:///music/a%20b.flac" in [loc.text for loc in root.findall(".//x:location", ns)]


def test_steps_are_bounded_when_the_library_allows_and_flagged_when_not():
    # A dense ladder of tempi/energies/loudness: every step can stay within the bounds.
    ladder = [TrackFeatures(f"l{i}", 120.0, 130.0 * 0.96 ** i, 0.8 - 0.03 * i, loudness_lufs=-12.0 - 0.5 * i,
                            loudness_range_lu=3.0) for i in range(25)]
    pl = build_playlist(ladder, goal="sleep", minutes=20, state=CurrentState(arousal_0_10=10), shape="iso")
    assert not [w for w in pl.warnings if "large step" in w]
    # A gap in the library: the jump is chosen but reported, with the loudness jump named.
    gap = [TrackFeatures("fast", 300.0, 130.0, 0.8, loudness_lufs=-8.0),
           TrackFeatures("slow", 300.0, 65.0, 0.2, loudness_lufs=-24.0)]
    pl = build_playlist(gap, goal="sleep", minutes=10, state=CurrentState(arousal_0_10=10), shape="iso")
    steps = [w for w in pl.warnings if "large step" in w]
    assert len(steps) == 1 and "tempo 130->65" in steps[0] and "loudness -8->-24" in steps[0]


def test_u5_heart_rate_as_starting_tempo_is_labelled_a_project_mapping(rng):
    assert state_to_start(CurrentState(heart_rate_bpm=88))[0] == 88.0
    pl = build_playlist(library(rng, 40), goal="relax", minutes=10, state=CurrentState(heart_rate_bpm=88))
    mapping = [s for s in pl.sources if s.startswith("Project mapping")]
    assert len(mapping) == 1 and "heart rate is used directly as the starting tempo" in mapping[0]
