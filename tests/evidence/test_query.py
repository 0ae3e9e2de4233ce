"""The evidence catalog: completeness rules, the issue's 12 papers, honest claims, queries."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import pytest

from cadenza.errors import NotFoundError, ParameterError
from cadenza.evidence.query import (
    evidence_for_intervention,
    find_entries,
    get_entry,
    get_intervention,
    intervention_evidence,
    list_entries,
    list_interventions,
    load_catalog,
    parse_catalog,
)

ISSUE_DOIS = {
    "10.1002/14651858.CD006908.pub2", "10.1002/14651858.CD006911.pub3", "10.1002/14651858.CD006577.pub3",
    "10.1002/14651858.CD004843.pub2", "10.1002/14651858.CD004517.pub3", "10.1002/14651858.CD003477.pub4",
    "10.1002/14651858.CD006787.pub3", "10.1002/mds.870110213", "10.1525/mp.2008.25.4.315",
    "10.1542/peds.2016-0971", "10.1002/14651858.CD004381.pub3", "10.1001/jama.2017.9478",
}


def _raw() -> dict:
    return tomllib.loads(resources.files("cadenza.evidence").joinpath("catalog.toml").read_text("utf-8"))


# Added later, each for a recommendation that cites it: the insomnia review (self-care sleep playlist, issue 17);
# the clinical review's W10 (Ghai 2019, the RAS dose), W13 (the 2022 autism update) and U2 (Haslbeck 2023, NICU).
ADDED_DOIS = {"10.1002/14651858.CD010459.pub3", "10.1038/s41598-019-38723-3", "10.1002/14651858.CD004381.pub4",
              "10.1002/14651858.CD013472.pub2"}


def test_catalog_holds_exactly_the_twelve_papers_and_those_added_since():
    assert {e.doi for e in list_entries()} == ISSUE_DOIS | ADDED_DOIS


def test_every_entry_has_a_caveat_a_doi_and_outcomes():
    for entry in list_entries():
        assert len(entry.caveat) > 40, entry.id
        assert entry.doi.startswith("10."), entry.id
        assert entry.outcomes, entry.id


@pytest.mark.parametrize("field", ["caveat", "doi"])
def test_entry_without_caveat_or_doi_is_refused(field):
    data = _raw()
    data["entry"][0][field] = "  "
    with pytest.raises(ParameterError, match=field):
        parse_catalog(data)


def test_intervention_linking_an_unknown_entry_is_refused():
    data = _raw()
    data["intervention"][0]["supporting"] = ["nobody2099"]
    with pytest.raises(ParameterError, match="nobody2099"):
        parse_catalog(data)


def test_intervention_without_evidence_must_say_so():
    data = copy.deepcopy(_raw())
    songwriting = next(i for i in data["intervention"] if i["code"] == "songwriting")
    songwriting["evidence_note"] = ""
    with pytest.raises(ParameterError, match="songwriting"):
        parse_catalog(data)


def test_every_intervention_is_active_or_receptive_and_links_resolve():
    modes = {i.code: i.mode for i in list_interventions()}
    assert modes["receptive_listening"] == "receptive"
    assert modes["ras_gait_training"] == "active"
    assert modes["mit"] == "active"
    for intervention in list_interventions():
        supporting, against = evidence_for_intervention(intervention.code)
        assert supporting or intervention.evidence_note


def test_no_overclaiming_for_autism():
    time_a = get_entry("bieleninik2017_time_a")
    assert any(o.direction == "no_difference" and o.favours == "neither" for o in time_a.outcomes)
    assert "364" in time_a.caveat
    autism = get_entry("geretsegger2014_autism")
    assert "does not cure autism" in autism.caveat and "TIME-A" in autism.caveat
    for code in ("drumming_improvisation", "autism_social_music"):
        assert "bieleninik2017_time_a" not in get_intervention(code).supporting


def test_dementia_entry_keeps_its_nuance():
    dementia = {o.name: o for o in get_entry("vandersteen2018_dementia").outcomes}
    assert dementia["depressive symptoms"].direction == "decrease"
    assert dementia["agitation or aggression"].direction == "no_difference"
    assert dementia["cognition"].direction == "uncertain"


def test_thaut_figures():
    notes = {o.name: o.note for o in get_entry("thaut1996_parkinson_ras").outcomes}
    assert "25 %" in notes["gait velocity"] and "12 %" in notes["stride length"] and "10 %" in notes["cadence"]


def test_queries():
    anxiety = {e.id for e in find_entries("anxiety")}
    assert {"bradt2013_preoperative", "bradt2016_cancer", "bradt2013_coronary"} <= anxiety
    assert "thaut1996_parkinson_ras" not in anxiety
    assert [e.id for e in find_entries(condition="autism")] == [
        "geretsegger2014_autism", "geretsegger2022_autism", "bieleninik2017_time_a"]
    assert {e.id for e in find_entries(intervention="ras")} == {"magee2017_brain_injury", "thaut1996_parkinson_ras",
                                                                 "ghai2019_stroke_ras"}
    assert {e.id for e in find_entries(intervention="mit")} == {"schlaug2008_mit"}
    assert {e.id for e in find_entries(intervention="drumming_improvisation")} == {
        "aalbers2017_depression", "bieleninik2017_time_a"}
    assert [e.id for e in find_entries(outcome="opioid")] == ["cepeda2006_pain"]
    assert find_entries("xylophone") == []
    assert [e.id for e in find_entries("singing")] == ["vandersteen2018_dementia", "schlaug2008_mit"]
    assert {e.id for e in find_entries("songwriting")} == set()  # no entry tests it, and none is invented
    assert len(find_entries()) == len(ISSUE_DOIS | ADDED_DOIS)
    assert [e.id for e in find_entries(condition="insomnia")] == ["jespersen2022_insomnia"]


def test_bad_queries_name_the_argument():
    with pytest.raises(ParameterError, match="condition"):
        find_entries(condition="  ")
    with pytest.raises(NotFoundError, match="karaoke"):
        get_intervention("karaoke")


def test_catalog_is_parsed_once():
    assert load_catalog() is load_catalog()


# ---- clinical review: catalog findings (W10, W13, W14, U2, M10) and the whole-evidence query (W8/W9) ----

def test_w13_autism_caveat_names_the_core_areas_and_cites_the_2022_update():
    caveat = get_entry("geretsegger2014_autism").caveat
    assert "not a treatment for the core symptoms" not in caveat  # the wording the review found understated
    assert "core areas" in caveat and "overall symptom severity" in caveat and "geretsegger2022_autism" in caveat
    update = get_entry("geretsegger2022_autism")
    assert update.doi == "10.1002/14651858.CD004381.pub4" and update.year == 2022
    assert {o.name for o in update.outcomes} >= {"global improvement", "autism severity", "quality of life"}
    assert "geretsegger2022_autism" in get_intervention("autism_social_music").supporting


@pytest.mark.parametrize(("entry_id", "outcome", "direction"), [
    ("aalbers2017_depression", "functioning", "increase"),
    ("bradt2013_coronary", "respiratory rate", "decrease"),
    ("bradt2016_cancer", "mood", "increase"),
    ("bradt2016_cancer", "fatigue", "decrease"),
    ("vandersteen2018_dementia", "emotional wellbeing and quality of life", "increase"),
    ("vandersteen2018_dementia", "anxiety", "decrease"),
])
def test_w14_outcomes_the_reviews_name_are_in_the_catalog(entry_id, outcome, direction):
    outcomes = {o.name: o for o in get_entry(entry_id).outcomes}
    assert outcomes[outcome].direction == direction


def test_w14_dementia_outcomes_carry_their_certainty():
    outcomes = {o.name: o for o in get_entry("vandersteen2018_dementia").outcomes}
    assert outcomes["anxiety"].certainty == "low"
    assert outcomes["emotional wellbeing and quality of life"].certainty == "low"


def test_w10_ghai_2019_is_the_source_of_the_ras_dose():
    ghai = get_entry("ghai2019_stroke_ras")
    assert ghai.doi == "10.1038/s41598-019-38723-3" and "20-45 minute" in ghai.caveat and "3-5 times a week" in ghai.caveat
    assert "ghai2019_stroke_ras" in get_intervention("ras_gait_training").supporting


def test_u2_haslbeck_2023_is_in_the_catalog_and_cited_for_nicu_music():
    entry = get_entry("haslbeck2023_preterm")
    assert entry.doi == "10.1002/14651858.CD013472.pub2" and entry.certainty
    for code in ("nicu_lullaby", "nicu_pal"):
        assert get_intervention(code).supporting[0] == "haslbeck2023_preterm"


M10_CODES = ("timp", "pse", "mustim", "therapeutic_singing", "omrex", "gim", "music_assisted_relaxation",
             "lyric_analysis")


@pytest.mark.parametrize("code", M10_CODES)
def test_m10_nmt_and_common_methods_are_codes_with_an_honest_note(code):
    intervention = get_intervention(code)
    assert len(intervention.evidence_note) > 60
    if not intervention.supporting:  # nothing tests it on its own: the note says so, it borrows no result
        assert "No catalog entry tests" in intervention.evidence_note


def test_w8_w9_intervention_evidence_is_whole_and_matched_to_the_client():
    ev = intervention_evidence("receptive_listening", conditions=["Dementia"])
    assert [e.id for e in ev.supporting][0] == "vandersteen2018_dementia"  # the client's condition first
    assert len(ev.supporting) == 4 and ev.matching_ids == {"vandersteen2018_dementia"}
    drumming = intervention_evidence("drumming_improvisation")
    assert [e.id for e in drumming.not_supporting] == ["bieleninik2017_time_a"] and drumming.note
    with pytest.raises(ParameterError, match="conditions"):
        intervention_evidence("singing", conditions="dementia")
