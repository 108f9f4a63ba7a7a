"""The release store: where release files live, named by random keys, never by a request.

`PORTAL_RELEASE_STORE` is a folder (one host) or `s3://bucket/prefix`: any S3-compatible store
(AWS, MinIO, Ceph) that every web host shares, with `PORTAL_S3_ENDPOINT_URL` and boto3's
standard credential and region variables. Uploads stream into the store while their size and
SHA-256 are computed (multipart on S3); nothing holds a whole file in memory. A file saved by a
transaction that then rolls back is removed again, and `sweep()` (a daily job) removes what no
release file refers to once it is older than `SWEEP_GRACE`.
"""

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import boto3
import sqlalchemy as sa
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app
from sqlalchemy.orm import Session

from portal import clock
from portal.db import db
from portal.licenses.models import ReleaseFile

CHUNK_SIZE = 1024 * 1024
# Objects no release refers to are kept this long (an upload may be committing right now).
SWEEP_GRACE = timedelta(days=1)
# A presigned download link works this long: enough to start the download, not to share it.
PRESIGNED_SECONDS = 60
# One part in memory at a time: parts are read and sent one after the other (boto3's threads
# would read the whole stream ahead of the network into memory).
MULTIPART = TransferConfig(
    multipart_threshold=8 * CHUNK_SIZE, multipart_chunksize=8 * CHUNK_SIZE, use_threads=False
)
_SAVED = "portal_saved_release_files"


class StoreError(RuntimeError):
    pass


class FileTooLarge(StoreError):
    pass


@dataclass(frozen=True)
class StoredFile:
    storage_key: str
    size: int
    sha256: str


class _Measured:
    """A reader that counts and hashes what passes through it, and stops at `max_size`."""

    def __init__(self, source: BinaryIO, max_size: int | None):
        self.source = source
        self.max_size = max_size
        self.size = 0
        self.digest = hashlib.sha256()

    def read(self, amount: int = -1) -> bytes:
        chunk = self.source.read(amount if amount and amount > 0 else CHUNK_SIZE)
        self.size += len(chunk)
        if self.max_size is not None and self.size > self.max_size:
            raise FileTooLarge(f"the file is larger than {self.max_size} bytes")
        self.digest.update(chunk)
        return chunk


def _new_key() -> str:
    return secrets.token_hex(16)


def _check_key(storage_key: str) -> str:
    if not storage_key.isalnum():
        raise StoreError("invalid storage key")
    return storage_key


class FolderStore:
    """Files in a folder of this host."""

    def __init__(self, root: str):
        self.root = Path(root)

    def path_of(self, storage_key: str) -> Path:
        return self.root / _check_key(storage_key)

    def save(self, source: BinaryIO, max_size: int | None) -> StoredFile:
        self.root.mkdir(parents=True, exist_ok=True)
        storage_key = _new_key()
        partial = self.root / f".{storage_key}.partial"
        measured = _Measured(source, max_size)
        try:
            with partial.open("xb") as target:
                while chunk := measured.read(CHUNK_SIZE):
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
            partial.rename(self.root / storage_key)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredFile(storage_key, measured.size, measured.digest.hexdigest())

    def exists(self, storage_key: str) -> bool:
        return self.path_of(storage_key).is_file()

    def remove(self, storage_key: str) -> None:
        self.path_of(storage_key).unlink(missing_ok=True)

    def stored(self) -> Iterator[tuple[str, datetime]]:
        if not self.root.is_dir():
            return
        for path in self.root.iterdir():
            if path.name.isalnum() and path.is_file():
                yield path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)


class S3Store:
    """Objects in an S3 bucket, under a prefix; downloads are presigned links to them."""

    def __init__(self, url: str, endpoint_url: str | None):
        parts = urlsplit(url)
        if not parts.netloc:
            raise StoreError(f"{url!r} names no bucket (s3://bucket/prefix)")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _object(self, storage_key: str) -> str:
        key = _check_key(storage_key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, source: BinaryIO, max_size: int | None) -> StoredFile:
        storage_key = _new_key()
        measured = _Measured(source, max_size)
        try:
            # A failed multipart upload is aborted by boto3: no part stays behind.
            self.client.upload_fileobj(
                measured, self.bucket, self._object(storage_key), Config=MULTIPART
            )
        except (BotoCoreError, ClientError) as error:
            raise StoreError(f"the release store refused the file: {error}") from error
        return StoredFile(storage_key, measured.size, measured.digest.hexdigest())

    def exists(self, storage_key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(storage_key))
        except ClientError:
            return False
        return True

    def remove(self, storage_key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(storage_key))

    def stored(self) -> Iterator[tuple[str, datetime]]:
        start = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        ):
            for item in page.get("Contents", []):
                name = item["Key"][len(start) :]
                if name.isalnum():
                    yield name, item["LastModified"]

    def download_url(self, storage_key: str, disposition: str) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._object(storage_key),
                "ResponseContentDisposition": disposition,
            },
            ExpiresIn=PRESIGNED_SECONDS,
        )


def current() -> FolderStore | S3Store:
    """The store of this app, made once from its configuration."""
    store = current_app.extensions.get("portal_release_store")
    if store is None:
        location = current_app.config["PORTAL_RELEASE_STORE"]
        if location.startswith("s3://"):
            store = S3Store(location, current_app.config.get("PORTAL_S3_ENDPOINT_URL"))
        else:
            store = FolderStore(location)
        current_app.extensions["portal_release_store"] = store
    return store


def save(source: BinaryIO, *, max_size: int | None = None) -> StoredFile:
    """Stream `source` into the store; removed again if the current transaction rolls back."""
    stored = current().save(source, max_size)
    db.session.info.setdefault(_SAVED, []).append(stored.storage_key)
    return stored


def path_of(storage_key: str) -> Path:
    """The file of a folder store (the portal or nginx sends it from there)."""
    store = current()
    if not isinstance(store, FolderStore):
        raise StoreError("the release store is not a folder")
    return store.path_of(storage_key)


def remove(storage_key: str) -> None:
    current().remove(storage_key)


def sweep(now: datetime | None = None) -> int:
    """Remove stored files no release file refers to, once older than SWEEP_GRACE; how many."""
    cutoff = (now or clock.now()) - SWEEP_GRACE
    store = current()
    candidates = [key for key, modified in store.stored() if modified < cutoff]
    if not candidates:
        return 0
    referred = set(
        db.session.scalars(
            sa.select(ReleaseFile.storage_key).where(ReleaseFile.storage_key.in_(candidates))
        )
    )
    removed = 0
    for key in candidates:
        if key not in referred:
            store.remove(key)
            removed += 1
    return removed


# A file saved in a transaction that rolls back is removed; a commit keeps it.


@sa.event.listens_for(Session, "after_commit")
def _keep_saved(session):
    session.info.pop(_SAVED, None)


@sa.event.listens_for(Session, "after_soft_rollback")
def _remove_saved(session, previous_transaction):
    if previous_transaction.parent is not None:
        return  # a SAVEPOINT: the outer transaction may still commit what it saved
    for storage_key in session.info.pop(_SAVED, []):
        # What cannot be removed now, the daily sweep removes.
        with contextlib.suppress(OSError, StoreError, BotoCoreError, ClientError):
            current().remove(storage_key)
