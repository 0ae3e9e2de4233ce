"""Authorisation-matrix samples for gait analysis (cadenza/tools/gait/pages.py)."""

from __future__ import annotations


def walk_csv() -> dict:
    """Authorisation-matrix upload: 19 s at the lower back, 24 steps 0.6 s apart (a loading pulse after
    each contact), small enough to analyse quickly."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from cadenza.io.imu import save_imu_csv

    rate_hz = 100
    t = np.arange(19 * rate_hz) / rate_hz
    contacts_s = 2.0 + 0.6 * np.arange(24)
    vertical = sum(3.0 * (np.exp(-0.5 * ((t - c - 0.05) / 0.09) ** 2)
                          - 0.09 / 0.21 * np.exp(-0.5 * ((t - c - 0.05) / 0.21) ** 2)) for c in contacts_s)
    acc = np.zeros((3, t.size))
    acc[0] = 9.81 + vertical
    acc[1] = 0.3 * np.sin(np.pi * np.interp(t, contacts_s, np.arange(contacts_s.size)))
    acc += np.random.default_rng(7).normal(0, 0.05, acc.shape)
    with tempfile.TemporaryDirectory() as folder:
        data = save_imu_csv(Path(folder) / "walk.csv", acc, sampling_rate_hz=rate_hz).read_bytes()
    return {"recording": ("walk.csv", data, "text/csv")}


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/gait"): {"form": {"placement": "lower-back"}, "files": walk_csv},
}
