"""Secrets kept at rest, sealed under a key derived from the secret key.

Fernet (AES-128-CBC with HMAC-SHA256) under a key made with HKDF-SHA256 from `SECRET_KEY` and the
purpose, so that one purpose's sealed values cannot be opened as another's. A value sealed under
one secret key opens only under the same key: after a change of `PORTAL_SECRET_KEY` the values
sealed before it cannot be opened until they are re-sealed (`portal user reencrypt-secrets`, see
the README on rotating the secret key). `SealedString` is a column type that seals what it
stores (the TOTP secrets).
"""

import base64
import logging
from functools import cache

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

log = logging.getLogger(__name__)


class Unsealable(ValueError):
    """The value was sealed under another key or purpose, or it was changed."""


def seal(plaintext: str, purpose: str, *, secret: bytes | None = None) -> str:
    """Seal under the app's secret key (or `secret`, e.g. to test a rotation)."""
    return _fernet(secret or _secret(), purpose).encrypt(plaintext.encode()).decode("ascii")


def unseal(sealed: str, purpose: str, *, secret: bytes | None = None) -> str:
    """Open a sealed value with the app's secret key, or with `secret` (a former key)."""
    try:
        return _fernet(secret or _secret(), purpose).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise Unsealable(purpose) from error


def reseal(sealed: str, purpose: str, *, former_secret: bytes) -> str | None:
    """The value sealed under the current key: None when it already is; Unsealable when
    neither the current nor the former key opens it."""
    try:
        unseal(sealed, purpose)
    except Unsealable:
        return seal(unseal(sealed, purpose, secret=former_secret), purpose)
    return None


class SealedString(sa.types.TypeDecorator):
    """A column whose value is sealed in the database and plain in Python.

    A value the current key cannot open (sealed before a change of the secret key, and not yet
    re-sealed) loads as None, with an error in the log naming the way out, rather than failing
    every query that reads the row.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, purpose: str, length: int = 255):
        super().__init__(length)
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value, self.purpose)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return unseal(value, self.purpose)
        except Unsealable:
            log.error(
                "a sealed %s value does not open with the current secret key: run"
                " `portal user reencrypt-secrets` with the former key",
                self.purpose,
            )
            return None


def _secret() -> bytes:
    key = current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


@cache
def _fernet(secret: bytes, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"portal:{purpose}".encode()
    ).derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))
