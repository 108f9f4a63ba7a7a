"""Two gunicorn instances against one PostgreSQL and one Redis, the way the portal grows past one
host: a session made on one instance is valid on the other, a logout on one is honoured by the
other, and the login rate limit counts the attempts made on both. Of two `portal scheduler`
processes in the same set-up, one runs the jobs and the other stands by.

Needs PORTAL_TEST_DATABASE_URL (PostgreSQL) and PORTAL_TEST_REDIS_URL, as `.ci/run` sets them;
without them the test is skipped. The instances use a schema of their own ("test_instances").
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from tests.test_scheduler import LEASE_SECONDS, TICK_EVERY_SECOND, _wait_for

DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
SCHEMA = "test_instances"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EMAIL = "anna@instances.example.com"
PASSWORD = "two instances share one session 42"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

SEED = f"""
from portal import create_app
from portal.accounts import service as accounts
from portal.accounts.models import CompanyRole
from portal.companies import service as companies
from portal import transaction

app = create_app()
with app.app_context(), transaction.step():
    company = companies.add_company("Två Instanser AB", "556677-8899", actor_label="test")
    accounts.add_account({EMAIL!r}, company=company, company_role=CompanyRole.MEMBER,
                         name="Anna Instans", password={PASSWORD!r}, actor_label="test")
"""

pytestmark = [
    pytest.mark.no_transaction,
    pytest.mark.skipif(
        not (DATABASE_URL.startswith("postgresql") and REDIS_URL),
        reason="needs PORTAL_TEST_DATABASE_URL (PostgreSQL) and PORTAL_TEST_REDIS_URL",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset_schema() -> None:
    engine = sa.create_engine(DATABASE_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """The environment every portal process of the deployment shares, on a migrated, seeded
    schema; each process adds an instance path of its own."""
    folder = tmp_path_factory.mktemp("instances")
    _reset_schema()
    redis.Redis.from_url(REDIS_URL).flushdb()
    separator = "&" if "?" in DATABASE_URL else "?"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        PORTAL_DATABASE_URL=f"{DATABASE_URL}{separator}options=-csearch_path%3D{SCHEMA}",
        PORTAL_RATELIMIT_STORAGE_URL=REDIS_URL,
        PORTAL_SECRET_KEY="the secret key both instances share",
        PORTAL_MAIL_URL="console",
        PORTAL_SCHEDULER="off",
        PYTHONPATH=str(ROOT),
    )
    subprocess.run(
        [str(BIN / "portal"), "db", "upgrade"],
        env=dict(env, PORTAL_INSTANCE_PATH=str(folder / "setup")),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-c", SEED],
        env=dict(env, PORTAL_INSTANCE_PATH=str(folder / "setup")),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        yield env
    finally:
        _reset_schema()


@pytest.fixture(scope="module")
def instances(deployment, tmp_path_factory):
    """Base URLs of two gunicorn instances sharing the database, Redis and the secret key."""
    folder = tmp_path_factory.mktemp("web")
    processes, urls = [], []
    for name in ("a", "b"):
        port = _free_port()
        log = (folder / f"{name}.log").open("w")
        processes.append(
            subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers=1", f"--bind=127.0.0.1:{port}", "wsgi:app"],
                env=dict(deployment, PORTAL_INSTANCE_PATH=str(folder / name)),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, process in zip(urls, processes, strict=True):
            _wait_until_up(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 (http)
                return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    pytest.fail(f"the instance at {url} did not start")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies (which belong to the host, whatever the port) and CSRF tokens, as a browser."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(self, url: str, data: dict | None = None, cookie: str | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"Accept-Language": "sv"})  # noqa: S310
        opener = self.opener
        if cookie is not None:  # exactly this cookie, not the jar's
            request.add_header("Cookie", cookie)
            opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def post_form(self, url: str, form_page: str, data: dict):
        _, _, page = self.request(form_page)
        return self.request(url, {**data, "csrf_token": CSRF.search(page).group(1)})

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def test_a_session_is_valid_on_both_instances_and_a_logout_on_one_ends_it_on_both(instances):
    a, b = instances
    browser = Browser()
    status, headers, _ = browser.post_form(
        f"{a}/login", f"{a}/login", {"email": EMAIL, "password": PASSWORD}
    )
    assert status == 302 and headers["Location"].endswith("/")

    for base in (a, b):
        status, _, page = browser.request(f"{base}/licenses/")
        assert status == 200, f"not signed in on {base}"
        assert "Anna Instans" in page
    signed_in = browser.cookie_header()

    status, headers, _ = browser.post_form(f"{b}/logout", f"{b}/", {})
    assert status == 302

    for base in (a, b):
        status, headers, _ = browser.request(f"{base}/licenses/", cookie=signed_in)
        assert status == 302 and "/login" in headers["Location"], f"{base} kept the session"


def test_the_login_rate_limit_counts_attempts_on_both_instances(instances):
    a, b = instances
    redis.Redis.from_url(REDIS_URL).flushdb()
    browser = Browser()
    wrong = {"email": EMAIL, "password": "not the password"}
    statuses = [
        browser.post_form(f"{base}/login", f"{base}/login", wrong)[0]
        for base in (a, b) * 5  # ten failed sign-ins, five on each instance
    ]
    assert statuses == [200] * 10  # the form again, with the error

    status, _, _ = browser.post_form(f"{a}/login", f"{a}/login", wrong)
    assert status == 429
    status, _, _ = browser.post_form(f"{b}/login", f"{b}/login", wrong)
    assert status == 429


def test_of_two_scheduler_processes_exactly_one_runs_jobs_and_the_other_stands_by(
    deployment, tmp_path
):
    engine = sa.create_engine(deployment["PORTAL_DATABASE_URL"])
    with engine.begin() as connection:  # where the tick job of TICK_EVERY_SECOND writes
        connection.execute(sa.text("CREATE TABLE scheduler_test_ticks (pid integer)"))
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(TICK_EVERY_SECOND)

    def ticks() -> dict[int, int]:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT pid, count(*) FROM scheduler_test_ticks GROUP BY pid")
            )
            return dict(rows.all())

    def lease_holder_pid() -> int | None:
        with engine.connect() as connection:
            holder = connection.scalar(
                sa.text(
                    "SELECT holder FROM scheduler_leases"
                    " WHERE name = 'scheduler' AND expires_dt > now()"
                )
            )
        return int(holder.rsplit(":", 2)[1]) if holder else None  # host:pid:random

    processes, logs = [], []
    try:
        for name in ("first", "second"):  # together: neither has a head start on the lease
            log = tmp_path / f"{name}.log"
            with log.open("w") as handle:
                processes.append(
                    subprocess.Popen(
                        [str(BIN / "portal"), "scheduler"],
                        env=dict(
                            deployment,
                            PORTAL_INSTANCE_PATH=str(tmp_path / name),
                            PORTAL_SCHEDULER_LEASE_SECONDS=str(LEASE_SECONDS),
                            PYTHONPATH=f"{tmp_path / 'hook'}{os.pathsep}{ROOT}",
                        ),
                        cwd=ROOT,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                    )
                )
            logs.append(log)
        _wait_for(
            lambda: all("started" in log.read_text() for log in logs) and ticks(),
            60,
            "both schedulers to start and one of them to run a job",
        )
        ticking = ticks()
        assert len(ticking) == 1, f"both schedulers ran jobs: {ticking}"
        (active_pid,) = ticking
        (standby_pid,) = {process.pid for process in processes} - {active_pid}
        # The standby tries the lease every LEASE_SECONDS / 3 seconds: give it a few tries.
        so_far = ticking[active_pid]
        _wait_for(lambda: ticks()[active_pid] >= so_far + 3, 30, "three more ticks")

        assert set(ticks()) == {active_pid}, f"the standby ({standby_pid}) ran a job"
        assert lease_holder_pid() == active_pid
        assert [process.poll() for process in processes] == [None, None], "a scheduler exited"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        engine.dispose()
