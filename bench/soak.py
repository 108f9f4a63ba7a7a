"""Fault soak: several hosts' worth of portal under mixed traffic while parts fail (run by hand).

    .venv/bin/python bench/soak.py [--seconds 300] [--users 10] [--database-url URL]

Loopback only, everything started here and stopped at the end: two gunicorn instances of the
portal behind nginx (an upstream of both, passing a request on to the other instance when one
does not answer), one `portal scheduler` (it delivers the mails), PostgreSQL (a schema of its
own, "bench_soak", in the database of `--database-url`), a Redis and an S3 protocol server
(moto's) of its own, and an SMTP relay (aiosmtpd) in this process. Virtual users sign in, read
the license list and the downloads, download files (following the store's presigned link and
checking the SHA-256), invite people, change the license manager and upload releases, for
`--seconds`. Meanwhile, at fixed points: one gunicorn instance is killed (SIGKILL) and started
again, Redis is stopped and started again, and the SMTP relay is stopped and started again.

It then waits until the outbox is empty and reports: requests by kind, 5xx answers and broken
connections outside the kill window (target 0), that every committed action has its audit
event, that every mail was delivered exactly once, and that the store holds no object no
release refers to.
"""

import argparse
import atexit
import functools
import hashlib
import http.client
import http.cookiejar
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import boto3
import pyotp
import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCHEMA = "bench_soak"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1/test"
PASSWORD = "soak test password 2026"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
BUCKET = "soak-releases"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FILE_LINK = re.compile(r'href="[^"]*/downloads/files/(\d+)"')
PERSON_OPTION = re.compile(r'<option value="(\d+)"')
AWS = {
    "AWS_ACCESS_KEY_ID": "soak",
    "AWS_SECRET_ACCESS_KEY": "soak-secret",
    "AWS_DEFAULT_REGION": "eu-north-1",
}

SEED = f"""
from portal import create_app, transaction
from portal.accounts import service as accounts
from portal.accounts.models import CompanyRole, StaffRole, TwoFactorSecret
from portal.companies import service as companies
from portal.licenses import service as licenses
from portal import clock
import io

app = create_app()
with app.app_context(), transaction.step():
    company = companies.add_company("Soak AB", "556677-8899", actor_label="soak")
    for n in range(8):
        accounts.add_account(f"member{{n}}@soak.example", company=company,
                             company_role=CompanyRole.MEMBER, name=f"Member {{n}}",
                             password={PASSWORD!r}, actor_label="soak")
    for n in range(2):
        accounts.add_account(f"admin{{n}}@soak.example", company=company,
                             company_role=CompanyRole.ADMIN, name=f"Admin {{n}}",
                             password={PASSWORD!r}, actor_label="soak")
    staff = accounts.add_account("staff@soak.example", staff_role=StaffRole.STAFF_ADMIN,
                                 name="Staff", password={PASSWORD!r}, actor_label="soak")
    from portal.db import db
    db.session.add(TwoFactorSecret(account_id=staff.id, secret={TOTP_SECRET!r},
                                   confirmed_dt=clock.now()))
    licenses.add_license(company, licenses.product_by_code("safelink"), seats=5,
                         actor_label="soak")
    licenses.add_release(licenses.product_by_code("safelink"), "6.0",
                         io.BytesIO(b"soak installer\\n" * 20000), "safelink-6.0.zip",
                         actor_label="soak")
"""

# --- the parts ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port} after {timeout} s")


class Relay:
    """The SMTP relay: counts what it receives per recipient; can be stopped and started."""

    def __init__(self):
        self.port = free_port()
        self.received: Counter = Counter()  # (recipient, subject) -> mails
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        for recipient in envelope.rcpt_tos:
            self.received[recipient.lower(), str(message["Subject"])] += 1
        return "250 OK"

    def of(self, recipient: str, subject: str) -> int:
        return self.received[recipient, subject]

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class Server:
    """A process of the deployment, started again with the same command; all of them are
    stopped when the soak ends, however it ends."""

    started: list["Server"] = []

    def __init__(self, name: str, command: list[str], env: dict, log_dir: Path, port=None):
        self.name, self.command, self.env, self.port = name, command, env, port
        self.log = log_dir / f"{name}.log"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        Server.started.append(self)
        if self.port:
            wait_for_port(self.port)

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    @classmethod
    def stop_all(cls):
        for server in reversed(cls.started):
            server.stop()


NGINX_CONF = """
worker_processes 1;
error_log {folder}/nginx-error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/nginx-body;
    proxy_temp_path {folder}/nginx-proxy;
    fastcgi_temp_path {folder}/nginx-fastcgi;
    uwsgi_temp_path {folder}/nginx-uwsgi;
    scgi_temp_path {folder}/nginx-scgi;
    client_max_body_size 100m;
    upstream portal {{
        # One reset answer must not take an instance out: with max_fails=1, a stale connection
        # reset by the instance that stays up marked it failed too, and for fail_timeout nginx
        # had no instance left ("no live upstreams", 502).
        server 127.0.0.1:{a} max_fails=3 fail_timeout=5s;
        server 127.0.0.1:{b} max_fails=3 fail_timeout=5s;
        keepalive 16;
        # Below gunicorn's keep-alive (2 s), so nginx never reuses a connection gunicorn closed.
        keepalive_timeout 1s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://portal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_next_upstream error timeout http_502;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


# --- the users ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float
    kind: str
    status: int  # 0: no answer (a broken connection)


@dataclass
class Record:
    outcomes: list = field(default_factory=list)
    invited: list = field(default_factory=list)  # addresses whose invitation committed (302)
    designations: int = 0
    uploads: list = field(default_factory=list)  # versions whose upload committed
    downloads_checked: int = 0  # fetched from the store, SHA-256 of a stored release
    downloads_wrong: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int):
        with self.lock:
            self.outcomes.append(Outcome(time.monotonic(), kind, status))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to look at (its status and Location), not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


class FromAddress(urllib.request.HTTPHandler):
    """Connect from a loopback address of one's own: a client of its own, as nginx sees it."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(
            functools.partial(http.client.HTTPConnection, source_address=(self.source, 0)), req
        )


class User:
    def __init__(self, base: str, email: str, record: Record, source: str):
        self.base, self.email, self.record = base, email, record
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect(), FromAddress(source)
        )

    def request(self, kind: str, path: str, data: dict | None = None, *, multipart=None):
        """(status, text, headers); status 0 when no answer came."""
        body, headers = None, {}
        if multipart is not None:
            body, content_type = multipart
            headers["Content-Type"] = content_type
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                status, text, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, text, answer_headers = error.code, error.read(), error.headers
        except OSError:
            status, text, answer_headers = 0, b"", {}
        self.record.add(kind, status)
        return status, text.decode("utf-8", "replace"), answer_headers

    def token(self, path: str) -> str | None:
        _status, page, _ = self.request("page", path)
        match = CSRF.search(page)
        return match.group(1) if match else None

    def sign_in(self) -> bool:
        token = self.token("/login")
        if token is None:
            return False
        status, _, _ = self.request(
            "sign-in", "/login", {"email": self.email, "password": PASSWORD, "csrf_token": token}
        )
        if status == 302 and self.email.startswith("staff"):
            token = self.token("/login/two-factor")
            code = pyotp.TOTP(TOTP_SECRET).now()
            status, _, _ = self.request(
                "sign-in", "/login/two-factor", {"code": code, "csrf_token": token}
            )
        return status == 302


def member_work(user: User, digests: dict, stop: threading.Event):
    while not stop.is_set():
        if not user.sign_in():
            time.sleep(1)
            continue
        for _ in range(20):
            if stop.is_set():
                return
            user.request("list", "/licenses/")
            status, page, _ = user.request("list", "/downloads/")
            ids = FILE_LINK.findall(page)
            if ids:
                file_id = random.choice(ids)
                status, _, headers = user.request("download", f"/downloads/files/{file_id}")
                location = headers.get("Location")
                if status == 302 and location:
                    with urllib.request.urlopen(location, timeout=30) as stored:
                        digest = hashlib.sha256(stored.read()).hexdigest()
                    with user.record.lock:
                        user.record.downloads_checked += digest in digests
                        user.record.downloads_wrong += digest not in digests
            time.sleep(random.uniform(0.2, 0.6))


def admin_work(user: User, stop: threading.Event):
    number = 0
    while not stop.is_set():
        if not user.sign_in():
            time.sleep(1)
            continue
        for _ in range(10):
            if stop.is_set():
                return
            number += 1
            address = f"invited-{user.email.split('@')[0]}-{number}@soak.example"
            token = user.token("/company/users")
            if token:
                status, _, _ = user.request(
                    "invite",
                    "/company/users",
                    {
                        "email": address,
                        "name": "Invited Person",
                        "role": "member",
                        "csrf_token": token,
                    },
                )
                if status == 302:
                    with user.record.lock:
                        user.record.invited.append(address)
            status, page, _ = user.request("page", "/licenses/manager")
            people = PERSON_OPTION.findall(page)
            match = CSRF.search(page)
            if people and match:
                status, _, _ = user.request(
                    "manager",
                    "/licenses/manager",
                    {
                        "choice": "personal",
                        "account": random.choice(people),
                        "csrf_token": match.group(1),
                    },
                )
                if status == 302:
                    with user.record.lock:
                        user.record.designations += 1
            time.sleep(random.uniform(1, 3))


def staff_work(user: User, stop: threading.Event):
    number = 0
    while not stop.is_set():
        if not user.sign_in():
            time.sleep(2)
            continue
        for _ in range(5):
            if stop.is_set():
                return
            number += 1
            version = f"9.{number}.{secrets.token_hex(2)}"
            _status, page, _ = user.request("page", "/staff/licenses/releases/new")
            token = CSRF.search(page)
            product = re.search(r'<option value="(\d+)"[^>]*>SafeLink</option>', page)
            if token and product:
                fields = {
                    "csrf_token": token.group(1),
                    "product": product.group(1),
                    "version": version,
                    "released_on": time.strftime("%Y-%m-%d"),
                    "end_of_life_on": "",
                    "notes": "soak",
                }
                content = os.urandom(256 * 1024)
                status, _, _ = user.request(
                    "upload",
                    "/staff/licenses/releases/new",
                    multipart=_multipart(fields, "file", f"soak-{version}.zip", content),
                )
                if status == 302:
                    with user.record.lock:
                        user.record.uploads.append(version)
            time.sleep(random.uniform(5, 10))


def _multipart(fields: dict, file_field: str, filename: str, content: bytes):
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}";'
        f' filename="{filename}"\r\nContent-Type: application/zip\r\n\r\n'
    )
    body = "".join(parts).encode() + head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- the run -----------------------------------------------------------------------------------


def schema_url(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"


def reset_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_DATABASE_URL"))
    args = parser.parse_args()
    database_url = args.database_url or DEFAULT_DATABASE_URL
    folder = Path(tempfile.mkdtemp(prefix="portal-soak-"))
    folder.chmod(0o755)
    for name in ("nginx-body", "nginx-proxy", "nginx-fastcgi", "nginx-uwsgi", "nginx-scgi"):
        (folder / name).mkdir()
        (folder / name).chmod(0o777)  # nginx's workers drop root
    print(f"soak: {args.seconds} s, {args.users} users, logs in {folder}")

    reset_schema(database_url)
    relay = Relay()
    relay.start()
    redis_port, s3_port, nginx_port = free_port(), free_port(), free_port()
    ports = {"a": free_port(), "b": free_port()}
    redis_server = Server(
        "redis",
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        dict(os.environ),
        folder,
        redis_port,
    )
    s3 = Server(
        "s3",
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
        dict(os.environ),
        folder,
        s3_port,
    )
    redis_server.start()
    s3.start()
    s3_url = f"http://127.0.0.1:{s3_port}"
    bucket = boto3.client("s3", endpoint_url=s3_url, **_boto_credentials())
    bucket.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    base = f"http://127.0.0.1:{nginx_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        AWS,
        PORTAL_DATABASE_URL=schema_url(database_url),
        PORTAL_RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{redis_port}/0",
        PORTAL_SECRET_KEY="the secret key every soak process shares",
        PORTAL_MAIL_URL=f"smtp://127.0.0.1:{relay.port}",
        PORTAL_BASE_URL=base,
        PORTAL_RELEASE_STORE=f"s3://{BUCKET}/releases",
        PORTAL_S3_ENDPOINT_URL=s3_url,
        PORTAL_SCHEDULER="off",
        PORTAL_TRUSTED_PROXIES="1",
        PYTHONPATH=str(ROOT),
    )
    setup = dict(env, PORTAL_INSTANCE_PATH=str(folder / "setup"))
    subprocess.run(
        [str(BIN / "portal"), "db", "upgrade"], env=setup, cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run([sys.executable, "-c", SEED], env=setup, cwd=ROOT, check=True)
    web = {
        name: Server(
            f"gunicorn-{name}",
            [
                str(BIN / "gunicorn"),
                "--workers=2",
                "--threads=4",
                "--worker-class=gthread",
                f"--bind=127.0.0.1:{port}",
                "--log-level=warning",
                "wsgi:app",
            ],
            dict(env, PORTAL_INSTANCE_PATH=str(folder / name)),
            folder,
            port,
        )
        for name, port in ports.items()
    }
    scheduler = Server(
        "scheduler",
        [str(BIN / "portal"), "scheduler"],
        dict(env, PORTAL_INSTANCE_PATH=str(folder / "scheduler")),
        folder,
    )
    for server in (*web.values(), scheduler):
        server.start()
    (folder / "nginx.conf").write_text(
        NGINX_CONF.format(folder=folder, a=ports["a"], b=ports["b"], port=nginx_port)
    )
    nginx = Server(
        "nginx",
        ["nginx", "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
        dict(os.environ),
        folder,
        nginx_port,
    )
    nginx.start()

    record, stop = Record(), threading.Event()
    digests = _release_digests(engine := sa.create_engine(schema_url(database_url)))
    users = []
    for n in range(args.users):
        if n == 0:
            email = "staff@soak.example"
        elif n <= 2:
            email = f"admin{n - 1}@soak.example"
        else:
            email = f"member{(n - 3) % 8}@soak.example"
        users.append(User(base, email, record, f"127.0.0.{10 + n}"))
    threads = [
        threading.Thread(target=staff_work, args=(users[0], stop)),
        *(threading.Thread(target=admin_work, args=(user, stop)) for user in users[1:3]),
        *(threading.Thread(target=member_work, args=(user, digests, stop)) for user in users[3:]),
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()

    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + args.seconds * fraction - time.monotonic()))

    events = []
    at(0.3)
    kill_started = time.monotonic()
    web["b"].kill()
    events.append(("instance b killed", kill_started - started))
    at(0.4)
    web["b"].start()
    kill_ended = time.monotonic() + 2  # nginx tries b again within its fail_timeout
    events.append(("instance b started again", time.monotonic() - started))
    at(0.6)
    redis_server.kill()
    events.append(("Redis stopped", time.monotonic() - started))
    time.sleep(5)
    redis_server.start()
    events.append(("Redis started again", time.monotonic() - started))
    at(0.8)
    relay.stop()
    events.append(("SMTP relay stopped", time.monotonic() - started))
    time.sleep(10)
    relay.start()
    events.append(("SMTP relay started again", time.monotonic() - started))
    at(1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    ran = time.monotonic() - started

    waited = _wait_for_empty_outbox(engine, timeout=300)
    report = _check(engine, record, relay, bucket, kill_started, kill_ended, ran, waited)
    Server.stop_all()
    relay.stop()
    engine.dispose()
    reset_schema(database_url)
    print("events:", ", ".join(f"{name} at {when:.0f} s" for name, when in events))
    print(report)


def _boto_credentials() -> dict:
    return {
        "aws_access_key_id": AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS["AWS_DEFAULT_REGION"],
    }


class _Digests:
    """The SHA-256 of every release file, read again when one is not known yet (new uploads)."""

    def __init__(self, engine):
        self.engine = engine
        self.known: set[str] = set()
        self.lock = threading.Lock()

    def __contains__(self, digest: str) -> bool:
        with self.lock:
            if digest not in self.known:
                with self.engine.connect() as connection:
                    self.known = set(
                        connection.scalars(sa.text("SELECT sha256 FROM release_files"))
                    )
            return digest in self.known


def _release_digests(engine) -> _Digests:
    return _Digests(engine)


def _wait_for_empty_outbox(engine, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with engine.connect() as connection:
            waiting = connection.scalar(
                sa.text(
                    "SELECT count(*) FROM outbox_mails WHERE sent_dt IS NULL AND failed_dt IS NULL"
                )
            )
        if waiting == 0:
            return time.monotonic() - started
        time.sleep(2)
    return -1


def _check(engine, record, relay, bucket, kill_started, kill_ended, ran, waited) -> str:
    outside = [
        o
        for o in record.outcomes
        if (o.status >= 500 or o.status == 0) and not kill_started <= o.at <= kill_ended
    ]
    inside = [o for o in record.outcomes if (o.status >= 500 or o.status == 0) and o not in outside]
    kinds = Counter(o.kind for o in record.outcomes)
    with engine.connect() as connection:

        def count(sql, **params):
            return connection.scalar(sa.text(sql), params)

        invitations_audited = count(
            "SELECT count(*) FROM audit_events WHERE action = 'invitation.sent'"
            " AND actor_account_id IS NOT NULL"
        )
        designations_audited = count(
            "SELECT count(*) FROM audit_events WHERE action = 'manager.designated'"
            " AND actor_label IS NULL"
        )
        uploads_audited = count(
            "SELECT count(*) FROM audit_events WHERE action = 'release.published'"
            " AND actor_label IS NULL"
        )
        sent = count("SELECT count(*) FROM outbox_mails WHERE sent_dt IS NOT NULL")
        failed = count("SELECT count(*) FROM outbox_mails WHERE failed_dt IS NOT NULL")
        retried = count("SELECT count(*) FROM outbox_mails WHERE attempts > 1")
        keys = set(connection.scalars(sa.text("SELECT storage_key FROM release_files")))
    stored = {
        item["Key"].split("/", 1)[1]
        for item in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    }
    delivered = sum(relay.received.values())
    # The invitation's subject, in Swedish (the invited accounts' language).
    invited_mails = [relay.of(address, "Ditt konto i kundportalen") for address in record.invited]
    lines = [
        f"ran {ran:.0f} s; outbox empty {waited:.0f} s after the traffic stopped",
        "requests: " + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())),
        f"5xx or no answer outside the kill window: {len(outside)} (inside it: {len(inside)})",
        f"invitations committed {len(record.invited)}, audited {invitations_audited},"
        f" each mailed exactly once: {all(n == 1 for n in invited_mails)}"
        f" (counts {sorted(Counter(invited_mails).items())})",
        f"manager changes committed {record.designations}, audited {designations_audited}",
        f"uploads committed {len(record.uploads)}, audited {uploads_audited}",
        f"mails: {sent} sent by the outbox, {delivered} received by the relay, {failed} failed,"
        f" {retried} sent on a later attempt",
        f"store: {len(stored)} objects, {len(keys)} release files,"
        f" objects no release refers to: {len(stored - keys)},"
        f" release files without an object: {len(keys - stored)}",
        f"downloads fetched from the store: {record.downloads_checked} with the SHA-256 of a"
        f" release, {record.downloads_wrong} without",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    atexit.register(Server.stop_all)
    main()
