import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.io.annotated_datasets import load_four_way_tabla, load_vocadito


def test_four_way_tabla(shared_data):
    clips = load_four_way_tabla(shared_data("timing", "four_way_tabla"))
    by_id = {c.clip_id: c for c in clips}
    ahk = by_id["AHK_solo-tintal-1"]
    assert ahk.split == "train" and ahk.sampling_rate_hz == 16_000
    assert {k: v.size for k, v in ahk.class_onset_times_s.items()} == {"b": 85, "d": 201, "rb": 67, "rt": 116}
    assert ahk.onset_times_s.size == 469 and np.all(np.diff(ahk.onset_times_s) > 0)
    assert by_id["SK_teentaal"].class_onset_times_s["rb"].size == 0  # an empty class file
    assert [c.clip_id for c in load_four_way_tabla(shared_data("timing"), split="test")] == ["binati_SRC", "shyaam_SRC"]


def test_vocadito(shared_data):
    (track,) = load_vocadito(shared_data("singing", "vocadito"))
    assert track.clip_id == "vocadito_1" and track.sampling_rate_hz == 44_100
    assert track.f0_hz.size == 5722 and np.count_nonzero(track.f0_hz) == 3642
    assert track.notes["A1"].shape == (59, 3) and track.notes["A2"].shape == (64, 3)


def test_a_folder_without_the_layout_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="audios"):
        load_four_way_tabla(tmp_path)
    with pytest.raises(ParameterError, match="not a folder"):
        load_vocadito(tmp_path / "missing")
