"""Encryption at rest: the data key, sealed values (AES-256-GCM) and sealed backup streams.

The data key is found like the audit key (:mod:`cadenza.clinic.audit_chain`): ``CADENZA_DATA_KEY``
(64 hex digits) wins; otherwise a random 32-byte key kept hex-encoded in ``data.key`` (mode 0600)
next to the SQLite file, or in the data directory for a server database, created on first use. It
is never stored in the database or in a backup: a copy of either must not carry its own key.

A sealed value is ``version byte || 96-bit random nonce || AES-256-GCM(ciphertext || tag)`` with the
version byte and the *purpose* as associated data, so a value sealed for one purpose (``"totp"``)
cannot be replayed as another. A sealed stream (whole backup archives) is cut into chunks, each
sealed with a nonce built from a per-file random prefix, the chunk counter and a last-chunk flag,
so chunks cannot be reordered, dropped or truncated unnoticed while memory stays bounded.
Key material is never put into an error message.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import URL

from cadenza.clinic.audit_chain import _read_key_file, key_file_for, load_key_file
from cadenza.errors import DataQualityError, ParameterError

KEY_ENV = "CADENZA_DATA_KEY"
KEY_FILE_NAME = "data.key"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SEAL_VERSION = 1
STREAM_MAGIC = b"CDZENC\x00\x01"  # file signature + stream format version
STREAM_CHUNK_BYTES = 1024 * 1024
_STREAM_PREFIX_BYTES = 7  # + 4-byte counter + 1-byte last flag = the 12-byte GCM nonce
_STREAM_HEADER = struct.Struct(">8sI7s")  # magic, chunk size, nonce prefix
MAX_STREAM_CHUNK_BYTES = 64 * 1024 * 1024

_MEMORY_KEY = secrets.token_bytes(KEY_BYTES)  # in-memory SQLite: sealed values die with the process
_KEY_CACHE: dict[Path, bytes] = {}


# --- the key ------------------------------------------------------------------------------------------


def data_key_file_for(url: str | URL) -> Path | None:
    """Where the generated data key for the database at ``url`` lives (``None``: in-memory SQLite)."""
    audit_file = key_file_for(url)
    return None if audit_file is None else audit_file.with_name(KEY_FILE_NAME)


def parse_key(text: str, *, source: str) -> bytes:
    """A 32-byte key from its 64-hex-digit form; ``source`` names where it came from in errors."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ParameterError(f"{source} must hold a {KEY_BYTES}-byte key as {2 * KEY_BYTES} hex digits "
                             "(e.g. `openssl rand -hex 32`); it does not")
    return key


def read_key_file(path: str | Path) -> bytes:
    """The key in a ``data.key`` file given explicitly (``--key-file`` on a new machine)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"key_file {str(path)!r} does not exist or is not a file")
    return parse_key(path.read_text(), source=f"key_file {str(path)!r}")


def data_key(url: str | URL, *, create: bool = True) -> bytes:
    """The data-encryption key for the database at ``url`` (see the module docstring for where it lives)."""
    env_key = os.environ.get(KEY_ENV)
    if env_key:
        return parse_key(env_key, source=KEY_ENV)
    path = data_key_file_for(url)
    if path is None:
        return _MEMORY_KEY
    return load_key_file(path, cache=_KEY_CACHE, create=create, read=_read_data_key_file,
                         missing=f"no data key: {path} does not exist and {KEY_ENV} is unset; encrypted "
                                 "values cannot be read without the key they were sealed with")


def _read_data_key_file(path: Path) -> bytes:
    try:
        return _read_key_file(path)
    except ParameterError:
        raise ParameterError(f"data key file {path} must hold {KEY_BYTES} bytes as {2 * KEY_BYTES} hex digits") from None


def _default_key() -> bytes:
    from cadenza.settings import Settings

    return data_key(Settings.from_env().database_url)


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ParameterError(f"key must be {KEY_BYTES} bytes, got {type(key).__name__} of length "
                             f"{len(key) if isinstance(key, bytes) else 'n/a'}")
    return key


def _check_purpose(purpose: str) -> bytes:
    if not isinstance(purpose, str) or not purpose or not purpose.isascii():
        raise ParameterError(f"purpose must be a non-empty ASCII string, got {purpose!r}")
    return purpose.encode("ascii")


# --- sealed values ------------------------------------------------------------------------------------


def seal(plaintext: bytes, *, purpose: str, key: bytes | None = None) -> bytes:
    """Encrypt and authenticate ``plaintext`` for ``purpose`` (default key: the configured database's).

    >>> key = bytes(32)
    >>> blob = seal(b"JBSWY3DPEHPK3PXP", purpose="totp", key=key)
    >>> len(blob) == 1 + 12 + 16 + 16, b"JBSWY3DP" in blob
    (True, False)
    >>> open_sealed(blob, purpose="totp", key=key)
    b'JBSWY3DPEHPK3PXP'
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not isinstance(plaintext, bytes | bytearray):
        raise ParameterError(f"plaintext must be bytes, got {type(plaintext).__name__}")
    aad = bytes([SEAL_VERSION]) + _check_purpose(purpose)
    key = _check_key(_default_key() if key is None else key)
    nonce = secrets.token_bytes(NONCE_BYTES)
    return bytes([SEAL_VERSION]) + nonce + AESGCM(key).encrypt(nonce, bytes(plaintext), aad)


def open_sealed(blob: bytes, *, purpose: str, key: bytes | None = None) -> bytes:
    """The plaintext of a :func:`seal` blob; :class:`DataQualityError` on a wrong key, purpose or damage."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    purpose_bytes = _check_purpose(purpose)
    if not isinstance(blob, bytes | bytearray) or len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
        raise DataQualityError(f"sealed {purpose} value is too short to be sealed data "
                               f"({len(blob) if isinstance(blob, bytes | bytearray) else type(blob).__name__})")
    if blob[0] != SEAL_VERSION:
        raise DataQualityError(f"sealed {purpose} value has format version {blob[0]}; this Cadenza reads {SEAL_VERSION}")
    key = _check_key(_default_key() if key is None else key)
    nonce, body = bytes(blob[1:1 + NONCE_BYTES]), bytes(blob[1 + NONCE_BYTES:])
    try:
        return AESGCM(key).decrypt(nonce, body, bytes([SEAL_VERSION]) + purpose_bytes)
    except InvalidTag:
        raise DataQualityError(f"sealed {purpose} value does not open: the data key is not the one it was "
                               "sealed with, or the value was altered") from None


# --- sealed streams -----------------------------------------------------------------------------------


def _chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class SealingWriter:
    """A write-only binary stream that seals what is written to ``sink`` in chunks (for zipfile)."""

    def __init__(self, sink: BinaryIO, *, key: bytes, purpose: str, chunk_bytes: int = STREAM_CHUNK_BYTES) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not 1 <= chunk_bytes <= MAX_STREAM_CHUNK_BYTES:
            raise ParameterError(f"chunk_bytes must be in 1..{MAX_STREAM_CHUNK_BYTES}, got {chunk_bytes!r}")
        self._aead = AESGCM(_check_key(key))
        self._sink, self._chunk = sink, chunk_bytes
        self._prefix = secrets.token_bytes(_STREAM_PREFIX_BYTES)
        self._header = _STREAM_HEADER.pack(STREAM_MAGIC, chunk_bytes, self._prefix)
        self._aad = self._header + _check_purpose(purpose)
        self._buffer = bytearray()
        self._counter = 0
        self.closed = False
        sink.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self._buffer += data
        # Keep at least one byte back: the last chunk is only known as last at close().
        while len(self._buffer) > self._chunk:
            self._emit(bytes(self._buffer[:self._chunk]), last=False)
            del self._buffer[:self._chunk]
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    def _emit(self, plain: bytes, *, last: bool) -> None:
        self._sink.write(self._aead.encrypt(_chunk_nonce(self._prefix, self._counter, last), plain, self._aad))
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._sink.flush()
            self.closed = True


def is_sealed_stream(path: str | Path) -> bool:
    """Whether the file starts with the sealed-stream signature."""
    with Path(path).open("rb") as handle:
        return handle.read(len(STREAM_MAGIC)) == STREAM_MAGIC


def open_sealed_stream(source: BinaryIO, *, key: bytes, purpose: str) -> Iterator[bytes]:
    """The plaintext chunks of a sealed stream; :class:`DataQualityError` before any chunk that fails.

    A wrong key fails on the first chunk; a flipped byte, a reordered, missing or extra chunk, or a
    truncated file fails where it is found (the caller discards what it already received).
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(_check_key(key))
    header = source.read(_STREAM_HEADER.size)
    if len(header) != _STREAM_HEADER.size or not header.startswith(STREAM_MAGIC):
        raise DataQualityError("not an encrypted Cadenza file (its signature is missing)")
    _, chunk_bytes, prefix = _STREAM_HEADER.unpack(header)
    if not 1 <= chunk_bytes <= MAX_STREAM_CHUNK_BYTES:
        raise DataQualityError(f"encrypted file declares a chunk size of {chunk_bytes} bytes; refused as damaged")
    aad = header + _check_purpose(purpose)
    counter = 0
    record = source.read(chunk_bytes + TAG_BYTES)
    while True:
        following = source.read(chunk_bytes + TAG_BYTES)
        last = not following
        if len(record) < TAG_BYTES or (not last and len(record) != chunk_bytes + TAG_BYTES):
            raise DataQualityError(f"encrypted file is truncated or damaged at chunk {counter}")
        try:
            plain = aead.decrypt(_chunk_nonce(prefix, counter, last), record, aad)
        except InvalidTag:
            what = ("the key is not the one it was encrypted with, or the file was altered" if counter == 0
                    else "the file was altered or truncated")
            raise DataQualityError(f"encrypted file does not decrypt at chunk {counter}: {what}") from None
        yield plain
        if last:
            return
        record, counter = following, counter + 1


__all__ = ["KEY_ENV", "KEY_FILE_NAME", "SealingWriter", "data_key", "data_key_file_for", "is_sealed_stream",
           "open_sealed", "open_sealed_stream", "parse_key", "read_key_file", "seal"]
