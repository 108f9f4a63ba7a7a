"""The Ed25519 key that signs every machine-endpoint answer and every offline license file.

The private key is read once, when the portal is set up, from `PORTAL_SIGNING_KEY_FILE` (in
development a key made once in the instance folder). Its key id is the first 16 hex digits of
the SHA-256 of the raw public key, so every instance with the same key names it the same way.

Rotation: point `PORTAL_SIGNING_KEY_FILE` at a new key and restart. Each process records its
public key in `signing_keys` the first time it answers an API request; `GET /api/v1/signing-keys`
publishes the key in use as active and each former key, inactive, until
`PORTAL_SIGNING_KEY_GRACE_DAYS` after a newer key was first used, so that answers and license
files signed with it still verify during the change.
"""

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.config import ConfigurationError
from portal.db import db
from portal.machines.models import SigningKey

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

_STATE = "portal_signing"
HEADER = "Portal-Signature"


@dataclass
class Signer:
    private_key: Ed25519PrivateKey
    key_id: str
    public_key_pem: str
    recorded: bool = field(default=False)

    def signature(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def header(self, body: bytes) -> str:
        """`Portal-Signature: keyid=<id>, ed25519=<base64 signature of the body bytes>`."""
        encoded = base64.b64encode(self.signature(body)).decode("ascii")
        return f"keyid={self.key_id}, ed25519={encoded}"


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def load(path: str) -> Signer:
    """The signer of a PEM (PKCS#8) Ed25519 private key file; a clear error for anything else."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigurationError(f"PORTAL_SIGNING_KEY_FILE {path}: {error.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            f"PORTAL_SIGNING_KEY_FILE {path} is not an unencrypted Ed25519 private key in PEM"
        )
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return Signer(private_key=key, key_id=key_id_of(raw), public_key_pem=pem)


def new_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def init_app(app) -> None:
    app.extensions[_STATE] = load(app.config["PORTAL_SIGNING_KEY_FILE"])


def signer() -> Signer:
    return current_app.extensions[_STATE]


def record_key_in_use() -> None:
    """Record this process's public key once (one query per process until it is committed)."""
    current = signer()
    if current.recorded:
        return
    known = db.session.scalar(sa.select(SigningKey.id).where(SigningKey.key_id == current.key_id))
    if known is not None:
        current.recorded = True
        return
    # Processes that start together race to record the same key: the first one wins.
    insert = _INSERTS[db.session.get_bind().dialect.name]
    db.session.execute(
        insert(SigningKey)
        .values(
            key_id=current.key_id, public_key_pem=current.public_key_pem, first_used_dt=clock.now()
        )
        .on_conflict_do_nothing(index_elements=[SigningKey.key_id])
    )


@dataclass(frozen=True)
class PublishedKey:
    id: str
    public_key_pem: str
    active: bool


def published_keys(now: datetime | None = None) -> list[PublishedKey]:
    """The key in use, then the former keys still within their grace period, newest first."""
    now = now or clock.now()
    current = signer()
    grace = timedelta(days=current_app.config["PORTAL_SIGNING_KEY_GRACE_DAYS"])
    known = db.session.scalars(
        sa.select(SigningKey).order_by(SigningKey.first_used_dt.desc(), SigningKey.id.desc())
    ).all()
    keys = [PublishedKey(current.key_id, current.public_key_pem, True)]
    # A key retired when the next newer key was first used (the newest: now, if it is not ours).
    retired = now
    for key in known:
        if key.key_id != current.key_id and now - retired < grace:
            keys.append(PublishedKey(key.key_id, key.public_key_pem, False))
        retired = key.first_used_dt
    return keys
