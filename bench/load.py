"""Load benchmark of the portal under gunicorn, beside a peer (run by hand, not by the tests).

    .venv/bin/python bench/load.py [--runs 1] [--seconds 10] [--clients 50] [--threads 4]
        [--database-url URL]

Serves the portal with gunicorn (2 workers, gthread with --threads each, keep-alive) on
PostgreSQL, in a schema of its own ("bench_load", dropped and made again, migrated with
`portal db upgrade`), with one company holding 100 licenses and three releases. Beside the
portal the same server answers `/bare` from a bare Flask app that returns a short text: the
ceiling of this server on this machine; and `/peer/...` from the peer (`bench/peer/`): the same
license list and downloads written the idiomatic afternoon way (Flask-Login over a server-side
session row read on every request, Flask-SQLAlchemy ORM objects, Jinja with a layout and a
`url_for` per row, no caching), in its own schema ("bench_peer", made with `db.create_all()`)
of the same PostgreSQL, seeded with the same data.

A load generator in a second process keeps `--clients` keep-alive connections busy for
`--seconds` per target, one target after the other, each portal page next to its peer:

- `/bare` (the ceiling),
- `/healthz`, the portal's cheapest page that asks the database (one `SELECT 1`, no session, no
  template): the floor of any page that checks a session in PostgreSQL; then `/peer/healthz`,
- `/licenses/` signed in (every client has its own session), then `/peer/licenses/` (every
  client has its own peer session),
- `/downloads/` signed in, then `/peer/downloads/`,
- the login POST (a right password; Argon2 makes it slow on purpose), then the peer's.

Before the clock runs it fetches each license list and downloads page once and counts its rows
(it stops if a side does not show all 100 licenses and 3 files). For each target it prints
requests per second, p50 and p99 latency, the error count (an error is any answer other than the
expected status, or a broken connection), the size of the answer, and the CPU time per request
spent by gunicorn and by PostgreSQL (read from /proc, Linux only) with the busiest worker's share
of it (a keep-alive connection stays with the worker that accepted it: near 100 %, one process
served the target, and its rate says more about that than about the page); then the ratios to the
ceiling and the ratios portal/peer. `--runs N` repeats the whole sequence N times on the same
server (the side that goes first in each pair alternates from run to run). Rate limits are off in
the benchmark's server (all clients share one address).
"""

import argparse
import asyncio
import hashlib
import http.cookiejar
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHEMA = "bench_load"
PEER_SCHEMA = "bench_peer"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1/test"
EMAIL = "load@bench.example.com"
PASSWORD = "bench load password 2026"
LICENSES = 100
COMPANY = ("Last och Prestanda AB", "556677-8899")
RELEASES = (("safelink", "6.0"), ("safelink", "6.1"), ("safelink-pfr", "2.3"))
LICENSE_PRODUCTS = ("safelink", "safelink-pfr", "secure-envelope")


# --- the server side -----------------------------------------------------------------------


def make_wsgi():
    """The WSGI app gunicorn serves: the portal, a bare Flask app at /bare, the peer at /peer."""
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from bench import peer
    from portal import create_app

    portal = create_app({"RATELIMIT_ENABLED": False})
    bare = Flask("bare")

    @bare.get("/")
    def hello():
        return "ok\n", 200, {"Content-Type": "text/plain"}

    mounts = {"/bare": bare, "/peer": peer.create_app(peer_config())}
    portal.wsgi_app = DispatcherMiddleware(portal.wsgi_app, mounts)
    return portal


def peer_config() -> dict:
    """The peer's configuration, from the environment `server_env` makes."""
    return {
        "SECRET_KEY": os.environ["PEER_SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": os.environ["PEER_DATABASE_URL"],
        "RELEASE_FOLDER": os.environ["PEER_RELEASE_FOLDER"],
    }


def seed() -> None:
    """One company with LICENSES licenses, three releases and a member (run in the server env)."""
    import io

    from portal import create_app, transaction
    from portal.accounts import service as accounts
    from portal.accounts.models import CompanyRole
    from portal.companies import service as companies
    from portal.licenses import service as licenses

    app = create_app()
    with app.app_context(), transaction.step():
        for code, version in RELEASES:
            product = licenses.product_by_code(code)
            payload = io.BytesIO(f"{code} {version}\n".encode() * 1000)
            licenses.add_release(
                product, version, payload, f"{code}-{version}.zip", actor_label="bench"
            )
        company = companies.add_company(*COMPANY, actor_label="bench")
        accounts.add_account(
            EMAIL,
            company=company,
            company_role=CompanyRole.MEMBER,
            name="Load Bench",
            password=PASSWORD,
            actor_label="bench",
        )
        for n in range(LICENSES):
            product = licenses.product_by_code(LICENSE_PRODUCTS[n % 3])
            licenses.add_license(company, product, seats=5, actor_label="bench")


def seed_peer() -> None:
    """The same data for the peer: its tables, three releases, the company, a member, licenses."""
    from datetime import date

    import bench.peer
    from bench.peer.auth import hash_password
    from bench.peer.models import Account, Company, License, Product, Release, ReleaseFile, db

    app = bench.peer.create_app(peer_config())
    bench.peer.init_db(app)
    folder = Path(app.config["RELEASE_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        products = {product.code: product for product in db.session.scalars(sa.select(Product))}
        for code, version in RELEASES:
            payload = f"{code} {version}\n".encode() * 1000
            digest = hashlib.sha256(payload).hexdigest()
            (folder / digest).write_bytes(payload)
            release = Release(product=products[code], version=version, released_on=date.today())
            release.files.append(
                ReleaseFile(filename=f"{code}-{version}.zip", size=len(payload), sha256=digest)
            )
            db.session.add(release)
        company = Company(name=COMPANY[0], orgnr=COMPANY[1])
        password_hash = hash_password(PASSWORD)
        db.session.add(
            Account(email=EMAIL, name="Load Bench", password_hash=password_hash, company=company)
        )
        for n in range(LICENSES):
            product = products[LICENSE_PRODUCTS[n % 3]]
            db.session.add(
                License(company=company, product=product, seats=5, valid_from=date.today())
            )
        db.session.commit()


def schema_url(url: str, schema: str = SCHEMA) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def reset_schemas(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for schema in (SCHEMA, PEER_SCHEMA):
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        PORTAL_DATABASE_URL=schema_url(database_url),
        PORTAL_INSTANCE_PATH=str(instance),
        PORTAL_MAIL_URL="console",
        PORTAL_SCHEDULER="off",
        PEER_DATABASE_URL=schema_url(database_url, PEER_SCHEMA),
        PEER_SECRET_KEY=secrets.token_hex(32),
        PEER_RELEASE_FOLDER=str(instance / "peer-releases"),
        PYTHONPATH=str(ROOT),
    )
    return env


def start_server(env: dict[str, str], port: int, log: Path, threads: int) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent
    command = [
        str(bin_dir / "gunicorn"),
        "--workers=2",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--keep-alive=30",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "bench.load:make_wsgi()",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=-2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not start:\n{log.read_text()}")


# --- the load generator (its own process) --------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LICENSE_ROW = re.compile(r'<th scope="row"><a href="[^"]*/licenses/\d+">')
FILE_LINK = re.compile(r'href="[^"]*/downloads/files/\d+"')
RELEASE_FILES = len(RELEASES)


def signed_in_cookie(base: str, cookie_name: str) -> str:
    """A Cookie header of a fresh signed-in session (made with urllib, before the clock runs)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = CSRF.search(page).group(1)
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    landed = opener.open(base + "/login", data=body.encode())
    landed.read()
    signed_in = not landed.geturl().endswith("/login")
    assert signed_in and any(c.name == cookie_name for c in jar), f"no sign-in at {base}"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def login_form(base: str) -> tuple[str, bytes]:
    """An anonymous session's cookie and a login body with its CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = CSRF.search(page).group(1)
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    return "; ".join(f"{c.name}={c.value}" for c in jar), body.encode()


def page_contents(base: str, path: str, cookie: str) -> dict:
    """One signed-in page as a browser gets it, with the license rows and file links it shows."""
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", cookie), ("Accept-Language", "sv")]
    with opener.open(base + path) as response:
        page = response.read().decode()
        assert response.geturl() == base + path, f"{path} redirected to {response.geturl()}"
    return {
        "bytes": len(page.encode()),
        "license_rows": len(LICENSE_ROW.findall(page)),
        "file_links": len(FILE_LINK.findall(page)),
    }


def check_pages(base: str, cookies: dict[str, str]) -> dict:
    """Both sides show the whole list and every file, or the comparison would mean nothing."""
    checks = {}
    for prefix, cookie in cookies.items():
        checks[f"{prefix}/licenses/"] = page_contents(base, f"{prefix}/licenses/", cookie)
        checks[f"{prefix}/downloads/"] = page_contents(base, f"{prefix}/downloads/", cookie)
        rows = checks[f"{prefix}/licenses/"]["license_rows"]
        files = checks[f"{prefix}/downloads/"]["file_links"]
        if rows != LICENSES or files != RELEASE_FILES:
            raise SystemExit(f"{prefix or 'the portal'} shows {rows} licenses and {files} files")
    return checks


async def read_response(reader) -> tuple[int, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
        if name.lower() == "transfer-encoding":
            raise ValueError("chunked answers are not expected")
    await reader.readexactly(length)
    return status, length


async def client(port, request: bytes, expected: int, stop_at: float, latencies, errors, sizes):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                writer.write(request)
                status, length = await read_response(reader)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                errors.append("connection")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(time.perf_counter() - started)
            sizes.append(length)
            if status != expected:
                errors.append(status)
    finally:
        writer.close()


def build_request(method: str, path: str, cookie: str, body: bytes = b"") -> bytes:
    headers = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: keep-alive",
        "Accept-Language: sv",
        f"Cookie: {cookie}",
    ]
    if body:
        headers += [
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
        ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def run_target(port, requests: list[bytes], expected: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list = []
    sizes: list[int] = []
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(
        *(client(port, r, expected, stop_at, latencies, errors, sizes) for r in requests)
    )
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered) if ordered else None,
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        if ordered
        else None,
        "errors": len(errors),
        "error_kinds": sorted({str(e) for e in errors}),
        "bytes": statistics.median(sizes) if sizes else 0,
    }


def cpu_by_process(server_pid: int) -> dict[str, dict[int, float]]:
    """User and system CPU seconds so far of the gunicorn master and its workers, and of every
    PostgreSQL process of the machine, by pid.

    Read afresh before and after each target: a pool that grows under load starts PostgreSQL
    backends whose time must count too (a process that ends during a target counts nothing).
    """
    found: dict[str, dict[int, float]] = {"gunicorn": {}, "postgres": {}}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry.name), int(fields[1])
        if server_pid in (pid, parent):
            kind = "gunicorn"
        elif comm == "postgres":
            kind = "postgres"
        else:
            continue
        found[kind][pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# Each compared page: the portal's target name, then the peer's.
COMPARED = {
    "healthz": ("/healthz (floor)", "/peer/healthz"),
    "licenses": ("/licenses/", "/peer/licenses/"),
    "downloads": ("/downloads/", "/peer/downloads/"),
    "login": ("POST /login", "POST /peer/login"),
}
PREFIXES = ("", "/peer")  # the portal's pages, the peer's pages
ONE_WORKER = 0.9  # the busiest worker's share from which one process served a target


def targets(base: str, clients: int, peer_first: bool) -> tuple[dict, dict]:
    """The requests of every target, each portal target next to its peer, and the page checks."""
    cookies = {
        "": [signed_in_cookie(base, "portal_session") for _ in range(clients)],
        "/peer": [signed_in_cookie(base + "/peer", "peer_session") for _ in range(clients)],
    }
    forms = {prefix: [login_form(base + prefix) for _ in range(clients)] for prefix in PREFIXES}
    checks = check_pages(base, {prefix: cookies[prefix][0] for prefix in PREFIXES})

    def anonymous(path: str):
        return lambda prefix: ([build_request("GET", prefix + path, "")] * clients, 200)

    def signed_in(path: str):
        return lambda prefix: (
            [build_request("GET", prefix + path, c) for c in cookies[prefix]],
            200,
        )

    def login(prefix: str):
        return [build_request("POST", prefix + "/login", c, b) for c, b in forms[prefix]], 302

    requests = {
        "healthz": anonymous("/healthz"),
        "licenses": signed_in("/licenses/"),
        "downloads": signed_in("/downloads/"),
        "login": login,
    }
    chosen = {"/bare (ceiling)": ([build_request("GET", "/bare/", "")] * clients, 200)}
    for what, make in requests.items():
        for side in (1, 0) if peer_first else (0, 1):
            chosen[COMPARED[what][side]] = make(PREFIXES[side])
    return chosen, checks


def generate(port: int, server_pid: int, clients: int, seconds: float, peer_first: bool) -> dict:
    base = f"http://127.0.0.1:{port}"
    chosen, checks = targets(base, clients, peer_first)
    results = {}
    for name, (requests, expected) in chosen.items():
        before = cpu_by_process(server_pid)
        results[name] = result = asyncio.run(run_target(port, requests, expected, seconds))
        after = cpu_by_process(server_pid)
        for kind in after:
            spent = cpu_spent(before[kind], after[kind])
            result[f"{kind}_cpu_ms"] = 1000 * spent / max(result["requests"], 1)
        result["cpu_ms"] = result["gunicorn_cpu_ms"] + result["postgres_cpu_ms"]
        result["busiest_worker"] = busiest_share(server_pid, before["gunicorn"], after["gunicorn"])
    return {"targets": results, "checks": checks}


def busiest_share(server_pid: int, before: dict[int, float], after: dict[int, float]) -> float:
    """The busiest worker's share of the workers' CPU time during a target.

    Every keep-alive connection stays with the worker that accepted it, and one worker may take
    most of a target's connections: then one process (one GIL) serves the target and its rate
    falls, while its CPU per request hardly moves. A share near 100 % marks such a target.
    """
    spent = [after[pid] - before.get(pid, 0.0) for pid in after if pid != server_pid]
    return max(spent) / sum(spent) if sum(spent) else 0.0


# --- the driver ----------------------------------------------------------------------------


def comparison(results: dict, what: str) -> dict:
    portal, peer = (results[name] for name in COMPARED[what])
    return {
        "one_worker": max(portal["busiest_worker"], peer["busiest_worker"]) >= ONE_WORKER,
        "portal_rps": portal["rps"],
        "peer_rps": peer["rps"],
        "rps_ratio": portal["rps"] / peer["rps"],
        "portal_cpu_ms": portal["cpu_ms"],
        "peer_cpu_ms": peer["cpu_ms"],
        "cpu_ratio": portal["cpu_ms"] / peer["cpu_ms"],
    }


def print_run(number: int, runs: int, run: dict, peer_first: bool) -> None:
    results = run["targets"]
    print(f"\n== run {number} of {runs} ({'peer' if peer_first else 'portal'} first in each pair)")
    for page, check in run["checks"].items():
        print(
            f"checked {page}: {check['bytes']} bytes, {check['license_rows']} license rows, "
            f"{check['file_links']} file links"
        )
    print(
        f"{'target':<20}{'requests':>9}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
        f"{'bytes':>7}{'gunicorn cpu ms/req':>21}{'postgres cpu ms/req':>21}{'busiest worker':>16}"
    )
    for name, r in results.items():
        print(
            f"{name:<20}{r['requests']:>9}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['errors']:>7}{r['bytes']:>7.0f}"
            f"{r['gunicorn_cpu_ms']:>21.2f}{r['postgres_cpu_ms']:>21.2f}"
            f"{r['busiest_worker']:>16.0%}"
            + (f"  ({', '.join(r['error_kinds'])})" if r["errors"] else "")
        )
    ceiling = results["/bare (ceiling)"]["rps"]
    for what in ("healthz", "licenses", "downloads"):
        for name in COMPARED[what]:
            print(f"ratio {name} : ceiling = {results[name]['rps'] / ceiling:.2f}")
    print(
        "portal / peer (CPU is gunicorn + PostgreSQL per request; an rps ratio above 1 and a CPU"
        " ratio below 1 favour the portal):"
    )
    for what in COMPARED:
        c = comparison(results, what)
        print(
            f"  {what + ':':<10} portal {c['portal_rps']:.0f} rps / peer {c['peer_rps']:.0f} rps"
            f" = {c['rps_ratio']:.2f}x{'*' if c['one_worker'] else ''} ;"
            f" CPU {c['portal_cpu_ms']:.2f} ms vs {c['peer_cpu_ms']:.2f} ms = {c['cpu_ratio']:.2f}x"
        )
    if any(comparison(results, what)["one_worker"] for what in COMPARED):
        print(f"  * one worker did {ONE_WORKER:.0%} or more of a side's work: compare CPU, not rps")


def print_summary(runs: list[dict]) -> None:
    print(f"\n== portal / peer over {len(runs)} runs (rps ratio; CPU ratio), median last")
    for what in COMPARED:
        ratios = [comparison(run["targets"], what) for run in runs]
        rps = [c["rps_ratio"] for c in ratios]
        cpu = [c["cpu_ratio"] for c in ratios]
        print(
            f"  {what + ':':<10} rps "
            + " ".join(f"{c['rps_ratio']:.2f}x{'*' if c['one_worker'] else ''}" for c in ratios)
            + f" (median {statistics.median(rps):.2f}x) ; CPU "
            + " ".join(f"{r:.2f}x" for r in cpu)
            + f" (median {statistics.median(cpu):.2f}x)"
        )
    if any(comparison(run["targets"], what)["one_worker"] for run in runs for what in COMPARED):
        print(f"  * one worker did {ONE_WORKER:.0%} or more of a side's work in that run")
    errors = sum(r["errors"] for run in runs for r in run["targets"].values())
    print(f"  errors in all runs: {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole sequence N times")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_DATABASE_URL"))
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)  # the load process
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--peer-first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.seed:
        seed()
        seed_peer()
        return
    if args.generate:
        run = generate(args.generate, args.server_pid, args.clients, args.seconds, args.peer_first)
        print(json.dumps(run))
        return

    import tempfile

    database_url = args.database_url or DEFAULT_DATABASE_URL
    reset_schemas(database_url)
    bin_dir = Path(sys.executable).parent
    peer_translations = Path(__file__).parent / "peer" / "translations"
    subprocess.run(
        [str(bin_dir / "pybabel"), "-q", "compile", "-d", str(peer_translations)], check=True
    )
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        env = server_env(database_url, Path(folder, "instance"))
        subprocess.run([str(bin_dir / "portal"), "db", "upgrade"], env=env, cwd=ROOT, check=True)
        subprocess.run([sys.executable, __file__, "--seed"], env=env, cwd=ROOT, check=True)
        port = free_port()
        server = start_server(env, port, Path(folder, "gunicorn.log"), args.threads)
        print(
            f"gunicorn 2 workers (gthread, {args.threads} threads), PostgreSQL, "
            f"{args.clients} keep-alive clients, "
            f"{args.seconds:g} s per target, {LICENSES} licenses, {args.runs} run(s)"
        )
        try:
            for number in range(1, args.runs + 1):
                peer_first = number % 2 == 0
                generator = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        f"--generate={port}",
                        f"--server-pid={server.pid}",
                        f"--clients={args.clients}",
                        f"--seconds={args.seconds}",
                        *(["--peer-first"] if peer_first else []),
                    ],
                    cwd=ROOT,
                    check=True,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                runs.append(json.loads(generator.stdout))
                print_run(number, args.runs, runs[-1], peer_first)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if len(runs) > 1:
        print_summary(runs)
    reset_schemas(database_url)


if __name__ == "__main__":
    main()
