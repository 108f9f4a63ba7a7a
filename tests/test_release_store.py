"""The release store: a folder of one host, or an S3 bucket every web host shares.

On S3 (a real S3 protocol server started by the test: moto's standalone server), an upload
through one portal instance downloads byte-exact through another; downloads are recorded and
then answered with a short-lived presigned link (Range is the store's job). In either store a
file whose transaction rolls back is removed, and the sweep removes what no release refers to.
"""

import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa

from portal import audit, clock, create_app
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.licenses import service, store
from portal.licenses.models import Release, ReleaseFile
from tests.conftest import _free_port
from tests.factories import login_as, make_license, post
from tests.servers import missing

UPLOAD_PAGE = "/staff/licenses/releases/new"
BUCKET = "releases"


@pytest.fixture(scope="module")
def s3_server():
    server = Path(sys.executable).with_name("moto_server")
    if not server.exists():
        missing("moto_server (moto[server] from PyPI) is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3_credentials(monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "portal-test"),
        ("AWS_SECRET_ACCESS_KEY", "portal-test-secret"),
        ("AWS_DEFAULT_REGION", "eu-north-1"),
    ):
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(s3_server, s3_credentials):
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _instance(app_config, app, tmp_path, name, s3_server):
    instance = create_app(
        dict(
            app_config,
            PORTAL_INSTANCE_PATH=str(tmp_path / name),
            PORTAL_RELEASE_STORE=f"s3://{BUCKET}/portal",
            PORTAL_S3_ENDPOINT_URL=s3_server,
        )
    )
    instance.test_client_class = app.test_client_class
    return instance


def _upload(client, content: bytes, version="7.0"):
    from portal.licenses.service import product_by_code

    data = {
        "product": str(product_by_code("safelink").id),
        "version": version,
        "released_on": "2026-11-01",
        "end_of_life_on": "",
        "notes": "",
        "file": (io.BytesIO(content), f"safelink-{version}.zip"),
    }
    return post(client, UPLOAD_PAGE, data, page=UPLOAD_PAGE, content_type="multipart/form-data")


def test_a_release_uploaded_through_one_instance_downloads_byte_exact_through_another(
    app, app_config, tmp_path, s3_server, bucket, make_account, make_company
):
    content = os.urandom(20 * 1024 * 1024 + 12345)  # several multipart parts
    first = _instance(app_config, app, tmp_path, "first", s3_server)
    second = _instance(app_config, app, tmp_path, "second", s3_server)
    company = make_company()
    member = make_account("member", company=company)
    staff = make_account("staff_admin")
    make_license(company, "safelink", maintenance_until=None)
    db.session.commit()

    uploader = first.test_client()
    login_as(uploader, staff)
    assert _upload(uploader, content).status_code == 302
    [stored] = db.session.scalars(sa.select(ReleaseFile)).all()
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]] == [
        f"portal/{stored.storage_key}"
    ]

    customer = second.test_client()
    login_as(customer, member)
    response = customer.get(f"/downloads/files/{stored.id}")
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    with urllib.request.urlopen(response.headers["Location"]) as download:  # noqa: S310
        assert download.read() == content
        assert "safelink-7.0.zip" in download.headers["Content-Disposition"]
    # Resuming is the store's job: the portal records the start, not the resume.
    resumed = customer.get(f"/downloads/files/{stored.id}", headers={"Range": "bytes=1000-"})
    url = resumed.headers["Location"]
    request = urllib.request.Request(url, headers={"Range": "bytes=1000-"})  # noqa: S310
    with urllib.request.urlopen(request) as rest:  # noqa: S310
        assert rest.status == 206 and rest.read() == content[1000:]
    records = db.session.scalars(sa.select(DownloadRecord)).all()
    assert [record.account_id for record in records] == [member.id]


def test_an_upload_to_s3_never_holds_the_whole_file_in_memory(
    app, app_config, tmp_path, s3_server, bucket
):
    instance = _instance(app_config, app, tmp_path, "memory", s3_server)
    size = 48 * 1024 * 1024

    class Zeros(io.RawIOBase):
        left = size

        def readable(self):
            return True

        def readinto(self, buffer):
            count = min(len(buffer), self.left)
            buffer[:count] = b"\0" * count
            self.left -= count
            return count

    with instance.app_context():
        tracemalloc.start()
        stored = store.save(io.BufferedReader(Zeros(), 1024 * 1024))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.session.info.pop("portal_saved_release_files", None)
    assert stored.size == size
    assert peak < size / 2, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB file"


def test_a_file_whose_transaction_rolls_back_is_removed_from_s3(
    app, app_config, tmp_path, s3_server, bucket, monkeypatch
):
    instance = _instance(app_config, app, tmp_path, "rollback", s3_server)
    with instance.app_context():
        monkeypatch.setattr(audit, "record", _fails)
        with pytest.raises(RuntimeError):
            service.add_release(
                service.product_by_code("safelink"), "7.1", io.BytesIO(b"x" * 1000), "a.zip"
            )
        db.session.rollback()
    assert bucket.list_objects_v2(Bucket=BUCKET).get("Contents", []) == []


def _fails(*args, **kwargs):
    raise RuntimeError("the transaction fails after the file was stored")


def test_a_file_whose_transaction_rolls_back_is_removed_from_the_folder(app_ctx, monkeypatch):
    root = store.current().root
    before = set(root.iterdir()) if root.exists() else set()
    monkeypatch.setattr(audit, "record", _fails)
    with pytest.raises(RuntimeError):
        service.add_release(
            service.product_by_code("safelink"), "7.2", io.BytesIO(b"x" * 1000), "a.zip"
        )
    db.session.rollback()
    assert set(root.iterdir()) == before


def test_the_sweep_removes_old_files_no_release_refers_to(app_ctx, make_release, frozen_clock):
    kept = make_release("safelink", "7.3").files[0].storage_key
    db.session.commit()
    root = store.current().root
    orphan = root / ("0" * 32)
    orphan.write_bytes(b"left behind by a crash")
    young = root / ("1" * 32)
    young.write_bytes(b"being committed right now")
    old = (clock.now() - store.SWEEP_GRACE - timedelta(hours=1)).timestamp()
    for path in (orphan, root / kept):
        os.utime(path, (old, old))
    assert store.sweep() == 1
    assert not orphan.exists() and young.exists() and (root / kept).exists()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Release)) >= 1
