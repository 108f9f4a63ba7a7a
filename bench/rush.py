"""Release-day rush: throttled downloads of a large installer while customers browse (by hand).

    .venv/bin/python bench/rush.py [--downloads 200] [--browsers 20] [--size-mb 100]
        [--rate-kbps 1024] [--workers 2] [--threads 8] [--database-url URL]

The day "SafeLink 5 stops working" goes out, customers sign in and fetch the new installer at
once. Loopback only, everything started here and stopped at the end: gunicorn (`wsgi:app`,
gthread) behind Debian's nginx running deploy/nginx.conf itself (tests/servers.py), on
PostgreSQL (a schema of its own, "bench_rush", in the database of `--database-url`). Each
client connects from a loopback address of its own (nginx sees distinct customers, and the
portal, with PORTAL_TRUSTED_PROXIES=1, too). `--downloads` clients each download the release
file reading at most `--rate-kbps` (a slow customer link: TCP flow control makes the server
wait), while `--browsers` clients load /licenses/ in a loop until the last download ends.

The run is made twice: with PORTAL_DOWNLOAD_ACCEL_REDIRECT (nginx sends the file) and without
(gunicorn streams it through nginx). Reported side by side: the page's p50/p99 and errors, the
downloads completed and failed, and the throughput.
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import DeployedNginx, free_port, wait_for_port  # noqa: E402

BIN = Path(sys.executable).parent
SCHEMA = "bench_rush"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1/test"
PASSWORD = "release day rush 2026"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FILE_LINK = re.compile(r'href="(/downloads/files/\d+)"')
CHUNK = 64 * 1024
ACCOUNTS = 40  # downloaders and browsers share these (a session cookie may be used at once)

SEED = """
import sys
from portal import create_app, transaction
from portal.accounts import service as accounts
from portal.accounts.models import CompanyRole
from portal.companies import service as companies
from portal.licenses import service as licenses

app = create_app()
with app.app_context(), transaction.step():
    company = companies.add_company("Rusning AB", "556016-0680", actor_label="bench")
    for product in ("safelink", "safelink-pfr"):
        licenses.add_license(company, licenses.product_by_code(product), seats=500,
                             actor_label="bench")
    for n in range(int(sys.argv[2])):
        accounts.add_account(f"kund{n}@rusning.example", company=company,
                             company_role=CompanyRole.MEMBER, name=f"Kund {n}",
                             password=sys.argv[1], actor_label="bench")
with app.app_context(), transaction.step(), open(sys.argv[3], "rb") as installer:
    licenses.add_release(licenses.product_by_code("safelink"), "6.0", installer,
                         "safelink-6.0-setup.exe", actor_label="bench")
"""


def schema_url(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"


def reset_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


class Client:
    """One customer on a loopback address of its own, over HTTPS to nginx."""

    def __init__(self, nginx: DeployedNginx, source: str, cookie: str = ""):
        import ssl

        self.nginx, self.source, self.cookie = nginx, source, cookie
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def connect(self, timeout: float = 600) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "127.0.0.1",
            self.nginx.https_port,
            source_address=(self.source, 0),
            context=self.context,
            timeout=timeout,
        )

    def send(self, method: str, path: str, body: dict | None = None):
        connection = self.connect()
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"{self.nginx.base_url}{path}"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for set_cookie in response.headers.get_all("Set-Cookie") or []:
            if set_cookie.startswith("portal_session="):
                self.cookie = set_cookie.split(";", 1)[0]
        connection.close()
        return response.status, content

    def sign_in(self, email: str) -> None:
        _, page = self.send("GET", "/login")
        token = CSRF.search(page.decode()).group(1)
        status, _ = self.send(
            "POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": token}
        )
        if status != 302:
            raise SystemExit(f"sign-in of {email} answered {status}")


@dataclass
class Result:
    page_seconds: list = field(default_factory=list)
    page_errors: int = 0
    downloads_done: int = 0
    downloads_failed: int = 0
    download_bytes: int = 0
    download_seconds: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def download(client: Client, path: str, size: int, rate: float, result: Result) -> None:
    started = time.monotonic()
    received = 0
    try:
        connection = client.connect()
        connection.request("GET", path, headers={"Cookie": client.cookie})
        response = connection.getresponse()
        if response.status != 200:
            raise OSError(f"status {response.status}")
        while chunk := response.read(CHUNK):
            received += len(chunk)
            ahead = received / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)  # a slow link: the server waits on TCP flow control
        connection.close()
        ok = received == size
    except OSError as error:
        print(f"  download from {client.source} failed: {error}", file=sys.stderr)
        ok = False
    with result.lock:
        result.download_bytes += received
        if ok:
            result.downloads_done += 1
            result.download_seconds.append(time.monotonic() - started)
        else:
            result.downloads_failed += 1


def browse(client: Client, stop: threading.Event, result: Result) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, page = client.send("GET", "/licenses/")
            ok = status == 200 and b"Rusning AB" in page
        except OSError:
            ok = False
        elapsed = time.monotonic() - started
        with result.lock:
            result.page_seconds.append(elapsed)
            result.page_errors += 0 if ok else 1
        time.sleep(0.2)  # a person reading the page


def run(mode: str, args, folder: Path, env: dict, size: int) -> dict:
    accel = mode == "x-accel"
    port = free_port()
    mode_env = dict(env, PORTAL_INSTANCE_PATH=str(folder / f"instance-{mode}"))
    if accel:
        mode_env["PORTAL_DOWNLOAD_ACCEL_REDIRECT"] = "/protected-releases/"
    log = (folder / f"gunicorn-{mode}.log").open("w")
    gunicorn = subprocess.Popen(
        [str(BIN / "gunicorn"), f"--workers={args.workers}", f"--threads={args.threads}",
         "--worker-class=gthread", f"--bind=127.0.0.1:{port}", "--timeout=900",
         "--log-level=warning", "wsgi:app"],
        env=mode_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    nginx = DeployedNginx(
        folder / f"nginx-{mode}", upstreams=[port], release_store=folder / "releases", workers=2
    )
    try:
        wait_for_port(port, gunicorn)
        nginx.start()
        accounts = []
        for n in range(ACCOUNTS):
            client = Client(nginx, f"127.0.{1 + n // 200}.{2 + n % 200}")
            client.sign_in(f"kund{n}@rusning.example")
            accounts.append(client.cookie)
        _, page = Client(nginx, "127.0.9.9", accounts[0]).send("GET", "/downloads/")
        path = FILE_LINK.search(page.decode()).group(1)

        result, stop = Result(), threading.Event()
        browsers = [
            threading.Thread(
                target=browse,
                args=(Client(nginx, f"127.1.0.{2 + n}", accounts[n]), stop, result),
            )
            for n in range(args.browsers)
        ]
        downloads = [
            threading.Thread(
                target=download,
                args=(
                    Client(nginx, f"127.2.{n // 200}.{2 + n % 200}", accounts[n % ACCOUNTS]),
                    path,
                    size,
                    args.rate_kbps * 1024,
                    result,
                ),
            )
            for n in range(args.downloads)
        ]
        for thread in browsers:
            thread.start()
        started = time.monotonic()
        for thread in downloads:
            thread.start()
        for thread in downloads:
            thread.join()
        wall = time.monotonic() - started
        stop.set()
        for thread in browsers:
            thread.join()
    finally:
        nginx.stop()
        os.killpg(gunicorn.pid, 15)
        gunicorn.wait(timeout=60)

    pages = sorted(result.page_seconds)
    return {
        "pages": len(pages),
        "page p50 (ms)": round(statistics.median(pages) * 1000) if pages else None,
        "page p99 (ms)": round(pages[int(len(pages) * 0.99) - 1] * 1000) if pages else None,
        "page max (ms)": round(pages[-1] * 1000) if pages else None,
        "page errors": result.page_errors,
        "downloads completed": result.downloads_done,
        "downloads failed": result.downloads_failed,
        "wall time (s)": round(wall, 1),
        "throughput (MB/s)": round(result.download_bytes / wall / 1e6, 1),
        "slowest download (s)": round(max(result.download_seconds), 1)
        if result.download_seconds
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--downloads", type=int, default=200)
    parser.add_argument("--browsers", type=int, default=20)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--rate-kbps", type=int, default=1024, help="per download, KiB/s")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--modes", default="x-accel,streamed")
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_DATABASE_URL"))
    args = parser.parse_args()
    database_url = args.database_url or DEFAULT_DATABASE_URL
    if args.browsers > ACCOUNTS:
        raise SystemExit(f"at most {ACCOUNTS} browsers")

    folder = Path(tempfile.mkdtemp(prefix="portal-rush-"))
    folder.chmod(0o755)  # nginx's workers read the release store below
    size = args.size_mb * 1000 * 1000
    installer = folder / "installer.exe"
    with installer.open("wb") as handle:
        for _ in range(args.size_mb):
            handle.write(os.urandom(1000 * 1000))
    print(
        f"rush: {args.downloads} downloads of {args.size_mb} MB at {args.rate_kbps} KiB/s each,"
        f" {args.browsers} browsers, gunicorn {args.workers}x{args.threads}; logs in {folder}"
    )

    reset_schema(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        PORTAL_DATABASE_URL=schema_url(database_url),
        PORTAL_RELEASE_STORE=str(folder / "releases"),
        PORTAL_SECRET_KEY="the rush's shared secret key",
        PORTAL_MAIL_URL="console",
        PORTAL_SCHEDULER="off",
        PORTAL_TRUSTED_PROXIES="1",
        PYTHONPATH=str(ROOT),
    )
    setup = dict(env, PORTAL_INSTANCE_PATH=str(folder / "setup"))
    subprocess.run([str(BIN / "portal"), "db", "upgrade"], env=setup, cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, "-c", SEED, PASSWORD, str(ACCOUNTS), str(installer)],
                   env=setup, cwd=ROOT, check=True)  # fmt: skip
    (folder / "releases").chmod(0o755)
    installer.unlink()

    results = {}
    try:
        for mode in args.modes.split(","):
            print(f"{mode}: running")
            results[mode] = run(mode, args, folder, env, size)
    finally:
        reset_schema(database_url)
    modes = list(results)
    print(f"\n| | {' | '.join(modes)} |\n| --- |{' --- |' * len(modes)}")
    for key in results[modes[0]]:
        print(f"| {key} | {' | '.join(str(results[mode][key]) for mode in modes)} |")


if __name__ == "__main__":
    main()
