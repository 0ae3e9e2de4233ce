"""Password hashing with Argon2id (argon2-cffi's RFC 9106 low-memory profile by default)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cadenza.errors import ParameterError

MIN_PASSWORD_LENGTH = 8

# Module-level so tests can swap in a cheap profile; stored hashes carry their own parameters.
HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        length = len(password) if isinstance(password, str) else type(password).__name__
        raise ParameterError(f"password must be a string of at least {MIN_PASSWORD_LENGTH} characters, got length {length}")
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
