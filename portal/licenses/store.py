"""The release store: a folder of files named by random keys, never by anything a request says."""

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

CHUNK_SIZE = 1024 * 1024


class StoreError(RuntimeError):
    pass


class FileTooLarge(StoreError):
    pass


@dataclass(frozen=True)
class StoredFile:
    storage_key: str
    size: int
    sha256: str


def store_root() -> Path:
    return Path(current_app.config["PORTAL_RELEASE_STORE"])


def path_of(storage_key: str) -> Path:
    if not storage_key.isalnum():
        raise StoreError("invalid storage key")
    return store_root() / storage_key


def save(source: BinaryIO, *, max_size: int | None = None) -> StoredFile:
    """Stream `source` into the store while its size and SHA-256 are computed."""
    root = store_root()
    root.mkdir(parents=True, exist_ok=True)
    storage_key = secrets.token_hex(16)
    partial = root / f".{storage_key}.partial"
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("xb") as target:
            while chunk := source.read(CHUNK_SIZE):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise FileTooLarge(f"the file is larger than {max_size} bytes")
                digest.update(chunk)
                target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
        partial.rename(root / storage_key)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return StoredFile(storage_key=storage_key, size=size, sha256=digest.hexdigest())


def remove(storage_key: str) -> None:
    path_of(storage_key).unlink(missing_ok=True)
