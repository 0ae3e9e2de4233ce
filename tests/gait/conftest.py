"""Synthetic IMU signals with known initial contacts, shared by the gait tests."""

from __future__ import annotations

import numpy as np
import pytest

GRAVITY_M_S2 = 9.81
PEAK_DELAY_S = 0.05  # the vertical-acceleration peak follows heel strike by this much


def lower_back_signal(
    ic_times_s: np.ndarray,
    *,
    duration_s: float,
    sampling_rate_hz: float,
    rng: np.random.Generator,
    amplitude_m_s2: float = 3.0,
    noise_m_s2: float = 0.05,
) -> np.ndarray:
    """(3, n) lower-back acceleration: gravity on axis 0 plus a loading pulse after each contact."""
    t = np.arange(int(round(duration_s * sampling_rate_hz))) / sampling_rate_hz
    vertical = np.zeros_like(t)
    # The trough spans the step, so slow walking is not drawn as two bumps per step.
    narrow_s = 0.09
    broad_s = 0.35 * float(np.median(np.diff(ic_times_s))) if len(ic_times_s) > 1 else 0.25
    for ic in ic_times_s:
        centre = t - ic - PEAK_DELAY_S
        # A sharp loading peak and a broad trough of equal area: the trunk's vertical acceleration
        # averages zero over each step, as it must for a body that neither rises nor sinks.
        vertical += amplitude_m_s2 * (
            np.exp(-0.5 * (centre / narrow_s) ** 2) - narrow_s / broad_s * np.exp(-0.5 * (centre / broad_s) ** 2)
        )
    acc = np.zeros((3, t.size))
    acc[0] = GRAVITY_M_S2 + vertical
    acc[1] = 0.3 * np.sin(np.pi * np.interp(t, ic_times_s, np.arange(len(ic_times_s)))) if len(ic_times_s) > 1 else 0
    acc += rng.normal(0, noise_m_s2, acc.shape)
    return acc


def walking_times(
    *, start_s: float, n_steps: int, step_s: float, rng: np.random.Generator, jitter: float = 0.0
) -> np.ndarray:
    steps = step_s * (1 + jitter * rng.standard_normal(n_steps - 1))
    return start_s + np.concatenate([[0.0], np.cumsum(steps)])


@pytest.fixture
def make_lower_back():
    return lower_back_signal


@pytest.fixture
def make_walk():
    return walking_times


@pytest.fixture
def gait_web(db_session, tmp_path):
    """A logged-in TestClient on the test's rolled-back transaction, plus a CSRF-token getter."""
    import re

    from fastapi.testclient import TestClient
    from sqlalchemy.orm import sessionmaker

    from cadenza.clinic import passwords
    from cadenza.clinic.models import Therapist
    from cadenza.settings import Settings
    from cadenza.web.main import create_app

    factory = sessionmaker(bind=db_session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False)
    app = create_app(Settings(database_url="sqlite://", data_dir=tmp_path), session_factory=factory)

    def make_user(username: str) -> Therapist:
        user = Therapist(username=username, password_hash=passwords.hash_password("violin-harbour-sunrise-7"),
                         role="therapist", active=True)
        db_session.add(user)
        db_session.commit()
        return user

    def csrf(client: TestClient, path: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)

    def log_in(client: TestClient, username: str) -> None:
        token = csrf(client, "/login")
        client.post("/login", data={"username": username, "password": "violin-harbour-sunrise-7",
                                    "csrf_token": token, "next": "/"})

    with TestClient(app, follow_redirects=False) as client:
        yield client, make_user, log_in, csrf
