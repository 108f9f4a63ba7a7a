"""Secrets kept at rest, sealed under a key derived from the secret key.

Fernet (AES-128-CBC with HMAC-SHA256) under a key made with HKDF-SHA256 from `SECRET_KEY` and the
purpose, so that one purpose's sealed values cannot be opened as another's. A value sealed under
one secret key opens only under the same key: after a change of `PORTAL_SECRET_KEY` the values
sealed before it cannot be opened (see the README on rotating the secret key).
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class Unsealable(ValueError):
    """The value was sealed under another key or purpose, or it was changed."""


def seal(plaintext: str, purpose: str) -> str:
    return _fernet(_secret(), purpose).encrypt(plaintext.encode()).decode("ascii")


def unseal(sealed: str, purpose: str) -> str:
    try:
        return _fernet(_secret(), purpose).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise Unsealable(purpose) from error


def _secret() -> bytes:
    key = current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


@cache
def _fernet(secret: bytes, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"portal:{purpose}".encode()
    ).derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))
