"""Password hashing (argon2id at OWASP's minimum or above) and the password policy."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.i18n import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 256

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Compared against when the address is unknown, so that both answers take the same time.
_DUMMY_HASH = hasher.hash("not a password of anybody, only spends the same time")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)


def spend_verification_time() -> None:
    verify(None, "x" * MIN_LENGTH)


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's frequency list, loaded once."""
    # 12 MB of word lists: loaded on the first password check, not in every process that starts.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: PLC0415

    return frozenset(FREQUENCY_LISTS["passwords"])


def policy_problem(password: str, *, email: str | None = None):
    """Why the password is refused, or None. Length and commonness only, no composition rules."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(count)d characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(count)d characters.", count=MAX_LENGTH)
    lowered = password.lower()
    if lowered in common_passwords():
        return _l("This password is among the most common ones. Choose another.")
    if email and lowered == email.lower():
        return _l("The password must not be your email address.")
    return None
