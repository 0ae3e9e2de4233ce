"""Passwords: the policy new passwords must pass, and hashing with Argon2id (argon2-cffi's RFC 9106
low-memory profile by default)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cadenza.errors import ParameterError

MIN_PASSWORD_LENGTH = 8  # the hasher's floor; the policy for new passwords asks for more
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 128
# Short deny-list of the most common passwords long enough to pass the length rule (ASVS 6.2.4
# asks for a check against breached passwords; a full list belongs in data, not code).
_COMMON_PASSWORDS = frozenset(
    {
        "123456789012", "1234567890123", "password1234", "password12345", "passwordpassword",
        "qwertyuiop12", "qwertyuiopasdf", "iloveyou1234", "administrator", "letmein12345",
        "welcome12345", "changeme1234", "abcdefghijkl", "111111111111", "000000000000",
        "aaaaaaaaaaaa", "qwerty123456", "musictherapy", "musictherapy1", "cadenzacadenza",
    }
)

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


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Reasons ``password`` fails the policy (empty when it passes).

    The policy follows ASVS 6.2: at least 12 and at most 128 characters, no composition rules,
    not a common password, and not containing the username.

    >>> password_problems("short")
    ['password must have at least 12 characters, got 5']
    >>> password_problems("tuba-sunrise-42-marimba")
    []
    """
    problems = []
    if len(password) < MIN_PASSWORD_CHARS:
        problems.append(f"password must have at least {MIN_PASSWORD_CHARS} characters, got {len(password)}")
    if len(password) > MAX_PASSWORD_CHARS:
        problems.append(f"password must have at most {MAX_PASSWORD_CHARS} characters, got {len(password)}")
    if password.lower() in _COMMON_PASSWORDS or len(set(password)) <= 2:
        problems.append("password is too common or repetitive; choose a longer passphrase")
    if username and len(username) >= 3 and username.lower() in password.lower():
        problems.append("password must not contain the username")
    return problems


def check_password_policy(password: str, *, username: str = "") -> None:
    """Raise :class:`ParameterError` naming every problem with ``password``."""
    problems = password_problems(password, username=username)
    if problems:
        raise ParameterError("; ".join(problems))


def hash_new_password(password: str, *, username: str = "") -> str:
    """Check the policy, then hash (for a password being set, not one being verified)."""
    check_password_policy(password, username=username)
    return hash_password(password)
