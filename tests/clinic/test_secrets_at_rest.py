"""Encryption at rest (T39): the data key, sealed values, sealed streams and sealed two-factor secrets."""

from __future__ import annotations

import base64
import io
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from cadenza.clinic import auth, secrets_at_rest
from cadenza.clinic.secrets_at_rest import (
    KEY_ENV, SealingWriter, data_key, open_sealed, open_sealed_stream, read_key_file, seal,
)
from cadenza.errors import DataQualityError, ParameterError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.fixture
def no_env_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    secrets_at_rest._KEY_CACHE.clear()
    yield
    secrets_at_rest._KEY_CACHE.clear()


# --- sealed values ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=300), purpose=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1,
                                                          max_size=12))
def test_seal_round_trips_and_hides_the_plaintext(plaintext, purpose):
    blob = seal(plaintext, purpose=purpose, key=KEY)
    assert len(blob) == 1 + 12 + len(plaintext) + 16
    assert blob[0] == secrets_at_rest.SEAL_VERSION
    assert open_sealed(blob, purpose=purpose, key=KEY) == plaintext
    if len(plaintext) >= 8:
        assert plaintext not in blob


def test_each_seal_uses_a_fresh_nonce():
    blobs = {seal(b"JBSWY3DPEHPK3PXP", purpose="totp", key=KEY) for _ in range(50)}
    assert len(blobs) == 50


def test_wrong_key_and_wrong_purpose_are_refused_without_showing_the_key():
    blob = seal(b"secret text", purpose="totp", key=KEY)
    with pytest.raises(DataQualityError, match="data key is not the one") as wrong_key:
        open_sealed(blob, purpose="totp", key=OTHER_KEY)
    for key in (KEY, OTHER_KEY):
        assert key.hex() not in str(wrong_key.value) and key.hex()[:16] not in str(wrong_key.value)
    with pytest.raises(DataQualityError, match="sealed backup value"):
        open_sealed(blob, purpose="backup", key=KEY)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_is_refused(data):
    blob = bytearray(seal(b"a two-factor secret", purpose="totp", key=KEY))
    index = data.draw(st.integers(0, len(blob) - 1))
    blob[index] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(DataQualityError, match="sealed totp value"):
        open_sealed(bytes(blob), purpose="totp", key=KEY)


def test_bad_arguments_name_themselves():
    with pytest.raises(ParameterError, match="purpose"):
        seal(b"x", purpose="", key=KEY)
    with pytest.raises(ParameterError, match="key must be 32 bytes"):
        seal(b"x", purpose="totp", key=b"short")
    with pytest.raises(ParameterError, match="plaintext must be bytes"):
        seal("text", purpose="totp", key=KEY)  # type: ignore[arg-type]
    with pytest.raises(DataQualityError, match="too short"):
        open_sealed(b"\x01abc", purpose="totp", key=KEY)


# --- the key ------------------------------------------------------------------------------------------


def test_key_file_is_created_0600_next_to_the_sqlite_file_and_reused(tmp_path, no_env_key):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    with pytest.raises(ParameterError, match="no data key"):
        data_key(url, create=False)
    key = data_key(url)
    path = tmp_path / "data.key"
    assert len(key) == 32 and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key.hex()
    secrets_at_rest._KEY_CACHE.clear()
    assert data_key(url, create=False) == key  # read back from the file
    assert read_key_file(path) == key
    assert not (tmp_path / "audit.key").exists() or (tmp_path / "audit.key").read_text() != path.read_text()


def test_server_database_key_lives_in_the_data_dir(tmp_path, no_env_key, monkeypatch):
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    key = data_key("postgresql+psycopg://u@localhost/cadenza")
    assert (tmp_path / "data" / "data.key").read_text().strip() == key.hex()


def test_environment_key_wins_and_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, OTHER_KEY.hex())
    assert data_key(f"sqlite:///{tmp_path / 'x.sqlite3'}") == OTHER_KEY
    assert not (tmp_path / "data.key").exists()
    monkeypatch.setenv(KEY_ENV, "too-short")
    with pytest.raises(ParameterError, match=KEY_ENV):
        data_key("sqlite://")


def test_a_malformed_key_file_is_refused(tmp_path, no_env_key):
    bad = tmp_path / "data.key"
    bad.write_text("not hex at all\n")
    with pytest.raises(ParameterError, match="data key file"):
        data_key(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    with pytest.raises(ParameterError, match="key_file"):
        read_key_file(bad)
    with pytest.raises(ParameterError, match="does not exist"):
        read_key_file(tmp_path / "missing.key")


# --- sealed streams -----------------------------------------------------------------------------------


def _sealed_stream(data: bytes, *, chunk_bytes: int, key: bytes = KEY, writes: int = 3) -> bytes:
    sink = io.BytesIO()
    writer = SealingWriter(sink, key=key, purpose="backup", chunk_bytes=chunk_bytes)
    step = max(1, len(data) // writes)
    for start in range(0, len(data), step):
        writer.write(data[start:start + step])
    writer.close()
    return sink.getvalue()


def _opened(blob: bytes, *, key: bytes = KEY) -> bytes:
    return b"".join(open_sealed_stream(io.BytesIO(blob), key=key, purpose="backup"))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2000), chunk_bytes=st.integers(1, 300), writes=st.integers(1, 7))
def test_stream_round_trips_for_any_length_and_chunking(data, chunk_bytes, writes):
    blob = _sealed_stream(data, chunk_bytes=chunk_bytes, writes=writes)
    chunks = max(1, -(-len(data) // chunk_bytes))
    assert len(blob) == len(secrets_at_rest.STREAM_MAGIC) + 4 + 7 + len(data) + 16 * chunks
    assert _opened(blob) == data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_stream_damage_is_refused(data):
    plain = b"client C-7731 note: the quick brown fox " * 20
    blob = bytearray(_sealed_stream(plain, chunk_bytes=100))
    kind = data.draw(st.sampled_from(["flip", "truncate", "drop_last", "swap"]))
    record = 100 + 16
    header = len(blob) - len(plain) - 16 * 9
    if kind == "flip":
        index = data.draw(st.integers(0, len(blob) - 1))
        blob[index] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        del blob[data.draw(st.integers(0, len(blob) - 1)):]
    elif kind == "drop_last":
        del blob[header + 8 * record:]
    else:
        first, second = blob[header:header + record], blob[header + record:header + 2 * record]
        blob[header:header + 2 * record] = second + first
    with pytest.raises(DataQualityError):
        _opened(bytes(blob))


def test_stream_with_a_wrong_key_fails_on_the_first_chunk():
    blob = _sealed_stream(b"x" * 1000, chunk_bytes=100)
    with pytest.raises(DataQualityError, match="chunk 0: the key is not the one"):
        next(open_sealed_stream(io.BytesIO(blob), key=OTHER_KEY, purpose="backup"))
    with pytest.raises(DataQualityError, match="signature"):
        _opened(b"PK\x03\x04 a plain zip")


# --- two-factor secrets -------------------------------------------------------------------------------


def test_the_mfa_column_holds_no_base32_secret(db_session, monkeypatch):
    from cadenza.clinic import service

    monkeypatch.setenv(KEY_ENV, KEY.hex())
    ann = service.create_therapist(db_session, actor=None, username="ann", password="correct horse battery")
    db_session.flush()
    enrolment = auth.start_mfa_enrolment(db_session, actor=ann)
    db_session.expire_all()
    stored = db_session.execute(text("SELECT secret FROM therapist_mfa WHERE therapist_id = :i"),
                                {"i": ann.id}).scalar_one()
    assert enrolment.secret not in stored and enrolment.secret[:8] not in stored
    blob = base64.b64decode(stored)
    assert open_sealed(blob, purpose="totp", key=KEY).decode() == enrolment.secret
    # The attribute still reads the secret (what login and replay checks use).
    assert db_session.get(auth.TherapistMfa, ann.id).secret == enrolment.secret
    assert auth.pending_mfa_enrolment(db_session, actor=ann).secret == enrolment.secret
    monkeypatch.setenv(KEY_ENV, OTHER_KEY.hex())  # as if the key were lost or swapped
    db_session.expire_all()
    with pytest.raises(DataQualityError, match="data key is not the one"):
        _ = db_session.get(auth.TherapistMfa, ann.id).secret


def test_migration_seals_plaintext_secrets_and_downgrade_opens_them(tmp_path, no_env_key):
    from alembic import command

    from cadenza.clinic.db import alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    config = alembic_config()

    def _to(revision: str, *, down: bool = False) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)

    _to("0010_mfa")
    plain = {1: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 2: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}
    raw = create_engine(url)
    with raw.begin() as connection:
        for therapist_id, secret in plain.items():
            connection.execute(text("INSERT INTO therapist (id, username, password_hash, role, active, created_at) "
                                    "VALUES (:i, :u, 'x', 'therapist', 1, '2026-11-25 10:00:00')"),
                               {"i": therapist_id, "u": f"t{therapist_id}"})
            connection.execute(text("INSERT INTO therapist_mfa (therapist_id, secret, created_at) "
                                    "VALUES (:i, :s, '2026-11-25 10:00:00')"), {"i": therapist_id, "s": secret})
    _to("0013_mfa_sealed")
    key = (tmp_path / "data.key").read_text().strip()
    with raw.connect() as connection:
        stored = dict(connection.execute(text("SELECT therapist_id, secret FROM therapist_mfa")).all())
    for therapist_id, secret in plain.items():
        assert secret not in stored[therapist_id]
        assert open_sealed(base64.b64decode(stored[therapist_id]), purpose="totp",
                           key=bytes.fromhex(key)).decode() == secret
    _to("0010_mfa", down=True)
    with raw.connect() as connection:
        assert dict(connection.execute(text("SELECT therapist_id, secret FROM therapist_mfa")).all()) == plain
    raw.dispose()
    engine.dispose()
    assert os.environ.get(KEY_ENV) is None
