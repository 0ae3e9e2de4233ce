"""Measures that domains register are known in any process, not only after their module was imported."""

import subprocess
import sys

import pytest

from cadenza.errors import NotFoundError


def test_a_fresh_process_knows_every_domain_measure():
    code = (
        "from cadenza.clinic.instruments import get_instrument, list_instruments\n"
        "print(get_instrument('mit_score_pct').code)\n"
        "print(sorted(i.code for i in list_instruments()))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, listing = result.stdout.splitlines()
    assert first == "mit_score_pct"
    for expected in ("'stai6'", "'mit_score_pct'", "'ras_sync_r'", "'pal_sucks_per_min'", "'sound_dose_week_pct'"):
        assert expected in listing


def test_unknown_codes_still_fail_with_the_code_named():
    from cadenza.clinic.instruments import get_instrument

    with pytest.raises(NotFoundError, match="no_such_measure"):
        get_instrument("no_such_measure")
    with pytest.raises(NotFoundError):
        get_instrument(["not", "hashable"])
