"""deploy/nginx.conf for real: Debian's nginx (TLS) in front of gunicorn, as the README deploys it.

nginx runs the shipped file with only its addresses and paths replaced (tests/servers.py);
gunicorn runs `wsgi:app` with PORTAL_TRUSTED_PROXIES=1 and PORTAL_DOWNLOAD_ACCEL_REDIRECT. Each
client connects from a loopback address of its own (127.0.0.2, 127.0.0.3, ...), so nginx sees
distinct clients. Without nginx the test skips, or fails with PORTAL_TEST_REQUIRE_SERVERS=1.
"""

import hashlib
import http.client
import os
import re
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.servers import NGINX, DeployedNginx, free_port, missing, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "nginx in front of the portal 42"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FILE_LINK = re.compile(r'href="(/downloads/files/\d+)"')
CONTENT = os.urandom(3 * 1024 * 1024 + 17)  # a few MB, not a multiple of any buffer

SEED = """
import io, sys
from portal import create_app, transaction
from portal.accounts import service as accounts
from portal.accounts.models import CompanyRole
from portal.companies import service as companies
from portal.licenses import service as licenses

app = create_app()
with app.app_context(), transaction.step():
    for name, orgnr, email, product in (
        ("Nginx Kund AB", "556016-0680", "kund@nginx.example", "safelink"),
        ("Annan Kund AB", "556677-8899", "annan@nginx.example", "safelink-pfr"),
    ):
        company = companies.add_company(name, orgnr, actor_label="test")
        accounts.add_account(email, company=company, company_role=CompanyRole.MEMBER,
                             name=name, password=sys.argv[1], actor_label="test")
        licenses.add_license(company, licenses.product_by_code(product), seats=5,
                             actor_label="test")
    licenses.add_release(licenses.product_by_code("safelink"), "7.0",
                         io.BytesIO(open(sys.argv[2], "rb").read()), "safelink-7.0.zip",
                         actor_label="test")
"""

pytestmark = pytest.mark.no_transaction


@pytest.fixture(scope="module")
def deployment():
    if NGINX is None:
        missing("nginx is not installed (apt-get install nginx)")
    folder = Path(tempfile.mkdtemp(prefix="portal-nginx-"))
    folder.chmod(0o755)  # nginx's workers (not root) read the release store below
    store = folder / "releases"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        PORTAL_INSTANCE_PATH=str(folder / "instance"),
        PORTAL_DATABASE_URL=f"sqlite:///{folder / 'portal.sqlite3'}",
        PORTAL_RELEASE_STORE=str(store),
        PORTAL_DOWNLOAD_ACCEL_REDIRECT="/protected-releases/",
        PORTAL_TRUSTED_PROXIES="1",
        PORTAL_SECRET_KEY="nginx test",
        PORTAL_MAIL_URL="console",
        PORTAL_SCHEDULER="off",
        PYTHONPATH=str(ROOT),
    )
    (folder / "installer.zip").write_bytes(CONTENT)
    subprocess.run([str(BIN / "portal"), "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, "-c", SEED, PASSWORD, str(folder / "installer.zip")],
                   env=env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    store.chmod(0o755)
    gunicorn = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers=1", "--threads=4", "--worker-class=gthread",
         f"--bind=127.0.0.1:{port}", "--log-level=warning", "wsgi:app"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=(folder / "gunicorn.log").open("w"),
    )  # fmt: skip
    nginx = DeployedNginx(folder / "nginx", upstreams=[port], release_store=store)
    try:
        wait_for_port(port, gunicorn)
        nginx.start()
        yield nginx, sa.create_engine(env["PORTAL_DATABASE_URL"])
    finally:
        nginx.stop()
        gunicorn.terminate()
        gunicorn.wait(timeout=30)


class Browser:
    """A browser on a loopback address of its own, speaking HTTPS to nginx, with cookies."""

    def __init__(self, nginx: DeployedNginx, source: str):
        self.nginx, self.source = nginx, source
        self.cookies: dict[str, str] = {}
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def request(self, method, path, *, body: dict | None = None, headers=None):
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.nginx.https_port,
            source_address=(self.source, 0),
            context=self.context,
            timeout=30,
        )
        headers = {"Accept-Language": "sv", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"{self.nginx.base_url}{path}"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response, content

    def post_form(self, path: str, data: dict, **kwargs):
        _, page = self.request("GET", path)
        token = CSRF.search(page.decode()).group(1)
        return self.request("POST", path, body={**data, "csrf_token": token}, **kwargs)

    def sign_in(self, email: str):
        response, _ = self.post_form("/login", {"email": email, "password": PASSWORD})
        assert response.status == 302, response.status
        return self

    def file_path(self) -> str:
        _, page = self.request("GET", "/downloads/")
        return FILE_LINK.search(page.decode()).group(1)


def _downloads(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM download_records"))


def test_http_is_sent_to_https(deployment):
    nginx, _ = deployment
    connection = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    connection.request("GET", "/licenses/")
    response = connection.getresponse()
    assert response.status == 301
    assert response.headers["Location"].startswith("https://")


def test_download_through_x_accel_is_byte_exact_with_range_and_recorded_once(deployment):
    nginx, engine = deployment
    browser = Browser(nginx, "127.0.0.2").sign_in("kund@nginx.example")
    path = browser.file_path()
    before = _downloads(engine)

    response, body = browser.request("GET", path)
    assert response.status == 200
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(CONTENT).hexdigest()
    assert "safelink-7.0.zip" in response.headers["Content-Disposition"]
    assert response.headers.get("X-Accel-Redirect") is None  # nginx's business, not the client's

    resumed, part = browser.request("GET", path, headers={"Range": "bytes=1000000-1999999"})
    assert resumed.status == 206
    assert part == CONTENT[1000000:2000000]
    assert resumed.headers["Content-Range"] == f"bytes 1000000-1999999/{len(CONTENT)}"
    tail, last = browser.request("GET", path, headers={"Range": "bytes=-17"})
    assert (tail.status, last) == (206, CONTENT[-17:])

    assert _downloads(engine) == before + 1  # the full download; resumed ranges are not new


def test_another_company_gets_404_for_the_file(deployment):
    nginx, engine = deployment
    owner = Browser(nginx, "127.0.0.3").sign_in("kund@nginx.example")
    path = owner.file_path()
    before = _downloads(engine)
    stranger = Browser(nginx, "127.0.0.4").sign_in("annan@nginx.example")
    response, body = stranger.request("GET", path)
    assert response.status == 404
    assert CONTENT[:64] not in body
    assert _downloads(engine) == before


def test_the_internal_location_is_not_reachable_from_outside(deployment):
    nginx, engine = deployment
    with engine.connect() as connection:
        key = connection.scalar(sa.text("SELECT storage_key FROM release_files"))
    response, body = Browser(nginx, "127.0.0.5").request("GET", f"/protected-releases/{key}")
    assert response.status == 404
    assert CONTENT[:64] not in body


def test_the_rate_limit_keys_on_the_real_client_through_nginx(deployment):
    nginx, _ = deployment
    statuses = []
    for n in range(31):
        client = Browser(nginx, "127.0.0.6")
        # A forged leftmost address, different every time, changes nothing.
        response, _ = client.post_form(
            "/login",
            {"email": f"x{n}@nginx.example", "password": "wrong"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
        statuses.append(response.status)
    assert statuses == [200] * 30 + [429]
    other, _ = Browser(nginx, "127.0.0.7").post_form(
        "/login", {"email": "x@nginx.example", "password": "wrong"}
    )
    assert other.status == 200


def test_session_records_and_audit_events_carry_the_client_nginx_saw(deployment):
    nginx, engine = deployment
    Browser(nginx, "127.0.0.8").sign_in("annan@nginx.example")
    with engine.connect() as connection:
        sessions = set(connection.scalars(sa.text("SELECT ip_address FROM login_sessions")))
        events = set(
            connection.scalars(
                sa.text("SELECT ip_address FROM audit_events WHERE action = 'login.succeeded'")
            )
        )
    assert "127.0.0.8" in sessions
    assert "127.0.0.8" in events
    assert "127.0.0.1" not in sessions | events


def test_readyz_answers_through_nginx_from_inside_only(deployment):
    nginx, _ = deployment
    response, body = Browser(nginx, "127.0.0.1").request("GET", "/readyz")
    assert response.status == 200
    assert b'"database":"ok"' in body.replace(b" ", b"")
    outside, _ = Browser(nginx, "127.0.0.9").request("GET", "/readyz")
    assert outside.status == 403
