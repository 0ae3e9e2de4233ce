import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.pressure import load_suck_pressure, load_vital_signs
from cadenza.nicu.pal import PalController, simulate_suck_pressure
from cadenza.nicu.stop_rules import InfantThresholds, StopRuleEngine


def write(tmp_path, text, name="x.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@settings(max_examples=10, deadline=None)
@given(rate=st.sampled_from([50.0, 100.0, 250.0]), unit=st.sampled_from(["mmhg", "cmh2o", "kpa", "pa"]),
       negative=st.booleans(), start=st.floats(0, 1000))
def test_round_trip_units_and_sign(tmp_path_factory, rate, unit, negative, start):
    from cadenza.io.pressure import PRESSURE_UNITS_TO_MMHG

    p, _ = simulate_suck_pressure(duration_s=20, sampling_rate_hz=rate, seed=3)
    stored = p / PRESSURE_UNITS_TO_MMHG[unit] * (-1 if negative else 1)
    t = start + np.arange(p.size) / rate
    lines = [f"time_s,pressure_{unit}"] + [f"{a:.6f},{b:.8g}" for a, b in zip(t, stored)]
    path = write(tmp_path_factory.mktemp("p"), "\n".join(lines) + "\n")
    rec = load_suck_pressure(path)
    assert rec.sampling_rate_hz == pytest.approx(rate, rel=1e-4)
    assert rec.start_s == pytest.approx(start, abs=1e-5)
    assert rec.flipped == negative and rec.source_unit == unit
    np.testing.assert_allclose(rec.pressure_mmhg, p, rtol=1e-5, atol=1e-5)


def test_loaded_pressure_drives_pal(tmp_path):
    p, peaks = simulate_suck_pressure(duration_s=60, sampling_rate_hz=100, seed=9)
    lines = ["time_s,pressure_mmhg"] + [f"{i / 100:.2f},{v:.4f}" for i, v in enumerate(p)]
    rec = load_suck_pressure(write(tmp_path, "\n".join(lines)))
    pal = PalController().run(rec.pressure_mmhg, sampling_rate_hz=rec.sampling_rate_hz)
    assert pal.summary_.sucks == pytest.approx(peaks.size, abs=1)


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("t,pressure_mmhg\n0,1\n", "time_s"),
    ("time_s,pressure_psi\n0,1\n0.01,2\n", "pressure_<unit>"),
    ("time_s,pressure_mmhg\n0,1\n0.01,abc\n", "row 3"),
    ("time_s,pressure_mmhg\n0,1\n0.01,\n", "row 3.*gaps"),
    ("time_s,pressure_mmhg\n0,1\n0.01,2\n0.05,3\n0.06,3\n", "evenly spaced"),
    ("time_s,pressure_mmhg\n0,1\n0.01,2\n0.01,3\n", "increase"),
])
def test_bad_pressure_files(tmp_path, text, match):
    with pytest.raises(DataQualityError, match=match):
        load_suck_pressure(write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ParameterError, match="does not exist"):
        load_suck_pressure("/nonexistent/p.csv")


def test_wide_vitals_with_gaps_cues_and_implausible(tmp_path):
    text = ("# monitor export\ntime_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm,cue\n"
            "0,150,97,45,\n1,151,,44,\n2,0,96,,finger_splay;yawning\n3,nan,95,46,\n")
    obs = load_vital_signs(write(tmp_path, text))
    kinds = [(o.time_s, o.kind) for o in obs]
    assert (1.0, "spo2_pct") not in kinds and (2.0, "respiratory_rate_bpm") not in kinds
    assert [o.value for o in obs if o.kind == "cue"] == ["finger_splay", "yawning"]
    hr = [o.value for o in obs if o.kind == "heart_rate_bpm"]
    assert hr[2] == 0.0 and np.isnan(hr[3])  # kept: the engine must see them
    e = StopRuleEngine(InfantThresholds()).run(obs)
    assert [ev.action for ev in e.events_] == ["start", "pause"]


def test_long_vitals(tmp_path):
    text = "time_s,kind,value\n0,heart_rate_bpm,140\n0.5,cue,crying\n0,spo2_pct,95\n"
    obs = load_vital_signs(write(tmp_path, text))
    assert [o.time_s for o in obs] == [0.0, 0.0, 0.5]
    assert obs[-1].value == "crying"


@pytest.mark.parametrize("text,match", [
    ("time_s,heart_rate,spo2_pct\n0,1,2\n", "columns"),
    ("time_s,heart_rate_bpm\n0,fast\n", "row 2: heart_rate_bpm"),
    ("time_s,kind,value\n0,temp_c,37\n", "row 2: kind"),
])
def test_bad_vitals(tmp_path, text, match):
    with pytest.raises(DataQualityError, match=match):
        load_vital_signs(write(tmp_path, text))


def test_uploaded_bytes_parse_like_files(tmp_path):
    text = "time_s,heart_rate_bpm,spo2_pct\n0,150,97\n1,151,96\n"
    assert load_vital_signs(text.encode()) == load_vital_signs(write(tmp_path, text))
    rec = load_suck_pressure(b"\xef\xbb\xbftime_s,pressure_mmhg\n0,1\n0.01,2\n0.02,3\n")
    assert rec.sampling_rate_hz == pytest.approx(100.0)
    with pytest.raises(DataQualityError, match="upload row 3"):
        load_vital_signs(b"time_s,spo2_pct\n0,97\n1,low\n")
    with pytest.raises(DataQualityError, match="UTF-8"):
        load_vital_signs(b"\xff\xfe\x00t")
