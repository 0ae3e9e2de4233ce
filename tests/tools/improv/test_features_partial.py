"""The take's figures partial (improv/_features.html), rendered without the app."""


def test_an_uncertain_metrical_level_shows_both_tempi():
    """The take's figures name the runner-up tempo only when the level is flagged ambiguous."""
    from cadenza.web.templating import templates

    partial = templates.env.get_template("improv/_features.html")
    result = {"n_notes": 80, "duration_s": 20.0, "tempo_bpm": 88.0, "pulse_clarity": 0.4, "players": [],
              "per_player": {}, "duet": None, "tempo_alternative_bpm": 110.1, "tempo_level_confidence": 0.6,
              "tempo_level_ambiguous": True}
    html = partial.render(result=result)
    assert "tempo 88.0 BPM or 110.1 BPM" in html and "level confidence 0.60" in html
    assert "110.1" not in partial.render(result={**result, "tempo_level_ambiguous": False})
