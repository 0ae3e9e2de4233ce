"""Reminiscence playlists: bump weighting, family picks, red flags, response log re-ranking."""

from __future__ import annotations

import pytest

from cadenza.errors import ParameterError
from cadenza.music.playlists import TrackFeatures
from cadenza.music.reminiscence import (
    SongResponse,
    build_reminiscence_playlist,
    reminiscence_weight,
    response_scores,
    suggested_red_flags,
)

BIRTH = 1941


def songs():
    years = [1930, 1950, 1955, 1958, 1962, 1968, 1975, 1990, 2005, None]
    return [TrackFeatures(f"s{i}", duration_s=180.0, tempo_bpm=70.0 + 5 * i, energy=0.3, year=y, title=f"S{i}")
            for i, y in enumerate(years)]


@pytest.mark.parametrize(("year", "weight"), [(1954, 1.0), (1960, 1.0), (1951, 0.75), (1971, 0.75),
                                              (1946, 0.3), (1981, 0.3), (1990, 0.0), (1930, 0.0)])
def test_bump_weights(year, weight):
    assert reminiscence_weight(year, birth_year=BIRTH) == weight


def test_bump_songs_fill_the_list_first():
    pl = build_reminiscence_playlist(songs(), minutes=9, birth_year=BIRTH)
    chosen = {e.track.year for e in pl.entries}
    assert chosen == {1955, 1958, 1962}  # ages 14, 17, 21: the core bump first
    tempi = [e.track.tempo_bpm for e in pl.entries]
    assert tempi == sorted(tempi, reverse=True)  # faster to slower
    assert abs(pl.total_s - 540) <= 180


def test_family_pick_and_note_and_red_flag():
    pl = build_reminiscence_playlist(songs(), minutes=9, birth_year=BIRTH,
                                     family_picks={"s8": "their wedding song"}, red_flags={"s2"})
    ids = [e.track.track_id for e in pl.entries]
    assert "s8" in ids and "s2" not in ids
    assert "their wedding song" in next(e.reason for e in pl.entries if e.track.track_id == "s8")
    assert any("red-flag" in w for w in pl.warnings)


def test_response_log_reranks():
    bad = [SongResponse("s3", engagement_0_3=0, mood_minus2_plus2=-1, agitation_0_3=1)] * 2
    good = [SongResponse("s7", engagement_0_3=3, mood_minus2_plus2=2, agitation_0_3=0, sang_along=True)]
    before = {e.track.track_id for e in build_reminiscence_playlist(songs(), minutes=9, birth_year=BIRTH).entries}
    after = {e.track.track_id for e in build_reminiscence_playlist(songs(), minutes=9, birth_year=BIRTH,
                                                                   responses=bad + good).entries}
    assert "s3" in before and "s3" not in after
    assert "s7" not in before and "s7" in after
    assert response_scores(good)["s7"] == pytest.approx(2.0)


def test_agitation_suggests_red_flag_and_validation():
    r = [SongResponse("s1", 1, -2, 3), SongResponse("s2", 2, 1, 0)]
    assert suggested_red_flags(r) == {"s1"}
    pl = build_reminiscence_playlist(songs(), minutes=9, birth_year=BIRTH, responses=r)
    assert any("agitation" in w for w in pl.warnings)
    with pytest.raises(ParameterError, match="agitation_0_3"):
        SongResponse("s1", 1, 0, 7)
    with pytest.raises(ParameterError, match="birth_year"):
        reminiscence_weight(1950, birth_year=12)


def test_u3_u4_bump_weights_and_the_wind_down_order_are_labelled_conventions():
    pl = build_reminiscence_playlist(songs(), minutes=9, birth_year=BIRTH)
    assert pl.shape == "wind-down"  # not called the iso principle: no current state is asked for
    conventions = [s for s in pl.sources if s.startswith("Project convention")]
    assert len(conventions) == 2
    assert any("healthy adults, not people with dementia" in s for s in conventions)  # Rao 2021's population
    assert any("Not the iso principle" in s for s in conventions)
    assert not any(s.startswith("Iso principle") for s in pl.sources)
