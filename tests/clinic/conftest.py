"""Fixtures the audit-chain test modules share (test_audit_chain, test_audit_sealing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cadenza.clinic.audit_chain import KEY_ENV
from cadenza.clinic.db import make_engine

AUDIT_TEST_KEY = "cadenza-test-audit-key-0123456789abcdef"


@pytest.fixture(scope="module")
def fixed_audit_key() -> Iterator[str]:
    """The module's audit-chain key, set in the environment for as long as the module runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, AUDIT_TEST_KEY)
        yield AUDIT_TEST_KEY


@pytest.fixture(scope="module")
def engine(database_url):
    """An engine on the module's database, with room for the writer threads the chain tests start."""
    engine = make_engine(database_url, pool_size=10, max_overflow=5)
    yield engine
    engine.dispose()
