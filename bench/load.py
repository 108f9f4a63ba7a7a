"""Load benchmark of the portal under gunicorn (run by hand, not by the tests).

    .venv/bin/python bench/load.py [--seconds 10] [--clients 50] [--threads 4]
        [--database-url URL]

Serves the portal with gunicorn (2 workers, gthread with --threads each, keep-alive) on
PostgreSQL, in a schema of its own ("bench_load", dropped and made again, migrated with
`portal db upgrade`), with one company holding 100 licenses and three releases. Beside the
portal the same server answers `/bare` from a bare Flask app that returns a short text: the
ceiling of this server on this machine.

A load generator in a second process keeps `--clients` keep-alive connections busy for
`--seconds` per target, one target after the other:

- `/bare` (the ceiling),
- `/healthz`, the portal's cheapest page that asks the database (one `SELECT 1`, no session, no
  template): the floor of any page that checks a session in PostgreSQL,
- `/licenses/` signed in (every client has its own session),
- `/downloads/` signed in,
- the login POST (a right password; Argon2 makes it slow on purpose).

For each it prints requests per second, p50 and p99 latency and the error count (an error is any
answer other than the expected status, or a broken connection), the CPU time per request spent by
gunicorn and by PostgreSQL (read from /proc, Linux only), then the ratios to the ceiling. Rate
limits are off in the benchmark's server (all clients share one address).
"""

import argparse
import asyncio
import http.cookiejar
import json
import os
import re
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
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1/test"
EMAIL = "load@bench.example.com"
PASSWORD = "bench load password 2026"  # noqa: S105 (a benchmark account)
LICENSES = 100


# --- the server side -----------------------------------------------------------------------


def make_wsgi():
    """The WSGI app gunicorn serves: the portal, and a bare Flask app at /bare."""
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from portal import create_app

    portal = create_app({"RATELIMIT_ENABLED": False})
    bare = Flask("bare")

    @bare.get("/")
    def hello():
        return "ok\n", 200, {"Content-Type": "text/plain"}

    portal.wsgi_app = DispatcherMiddleware(portal.wsgi_app, {"/bare": bare})
    return portal


def seed() -> None:
    """One company with LICENSES licenses, three releases and a member (run in the server env)."""
    import io

    from portal import create_app
    from portal.accounts import service as accounts
    from portal.accounts.models import CompanyRole
    from portal.companies import service as companies
    from portal.licenses import service as licenses
    from portal.transaction import commit

    app = create_app()
    with app.app_context():
        for code, version in (("safelink", "6.0"), ("safelink", "6.1"), ("safelink-pfr", "2.3")):
            product = licenses.product_by_code(code)
            payload = io.BytesIO(f"{code} {version}\n".encode() * 1000)
            licenses.add_release(
                product, version, payload, f"{code}-{version}.zip", actor_label="bench"
            )
        company = companies.add_company("Last och Prestanda AB", "556677-8899", actor_label="bench")
        accounts.add_account(
            EMAIL,
            company=company,
            company_role=CompanyRole.MEMBER,
            name="Load Bench",
            password=PASSWORD,
            actor_label="bench",
        )
        codes = ("safelink", "safelink-pfr", "secure-envelope")
        for n in range(LICENSES):
            licenses.add_license(
                company, licenses.product_by_code(codes[n % 3]), seats=5, actor_label="bench"
            )
        commit()


def schema_url(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"


def reset_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
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


def signed_in_cookie(base: str) -> str:
    """A Cookie header of a fresh signed-in session (made with urllib, before the clock runs)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = CSRF.search(page).group(1)
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    opener.open(base + "/login", data=body.encode()).read()
    assert any(c.name == "portal_session" for c in jar), "the benchmark account did not sign in"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def login_form(base: str) -> tuple[str, bytes]:
    """An anonymous session's cookie and a login body with its CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = CSRF.search(page).group(1)
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    return "; ".join(f"{c.name}={c.value}" for c in jar), body.encode()


async def read_response(reader) -> int:
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
    return status


async def client(port, request: bytes, expected: int, stop_at: float, latencies, errors):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                writer.write(request)
                status = await read_response(reader)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                errors.append("connection")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(time.perf_counter() - started)
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
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(*(client(port, r, expected, stop_at, latencies, errors) for r in requests))
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


def generate(port: int, server_pid: int, clients: int, seconds: float) -> dict:
    base = f"http://127.0.0.1:{port}"
    cookies = [signed_in_cookie(base) for _ in range(clients)]
    forms = [login_form(base) for _ in range(clients)]
    targets = {
        "/bare (ceiling)": ([build_request("GET", "/bare/", "")] * clients, 200),
        "/healthz (floor)": ([build_request("GET", "/healthz", "")] * clients, 200),
        "/licenses/": ([build_request("GET", "/licenses/", c) for c in cookies], 200),
        "/downloads/": ([build_request("GET", "/downloads/", c) for c in cookies], 200),
        "POST /login": ([build_request("POST", "/login", c, b) for c, b in forms], 302),
    }
    results = {}
    for name, (requests, expected) in targets.items():
        before = cpu_by_process(server_pid)
        results[name] = result = asyncio.run(run_target(port, requests, expected, seconds))
        after = cpu_by_process(server_pid)
        for kind in after:
            spent = cpu_spent(before[kind], after[kind])
            result[f"{kind}_cpu_ms"] = 1000 * spent / max(result["requests"], 1)
    return results


# --- the driver ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_DATABASE_URL"))
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)  # the load process
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.seed:
        seed()
        return
    if args.generate:
        print(json.dumps(generate(args.generate, args.server_pid, args.clients, args.seconds)))
        return

    import tempfile

    database_url = args.database_url or DEFAULT_DATABASE_URL
    reset_schema(database_url)
    with tempfile.TemporaryDirectory() as folder:
        env = server_env(database_url, Path(folder, "instance"))
        bin_dir = Path(sys.executable).parent
        subprocess.run([str(bin_dir / "portal"), "db", "upgrade"], env=env, cwd=ROOT, check=True)
        subprocess.run([sys.executable, __file__, "--seed"], env=env, cwd=ROOT, check=True)
        port = free_port()
        server = start_server(env, port, Path(folder, "gunicorn.log"), args.threads)
        try:
            generator = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    f"--generate={port}",
                    f"--server-pid={server.pid}",
                    f"--clients={args.clients}",
                    f"--seconds={args.seconds}",
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    results = json.loads(generator.stdout)
    print(
        f"gunicorn 2 workers (gthread, {args.threads} threads), PostgreSQL, "
        f"{args.clients} keep-alive clients, "
        f"{args.seconds:g} s per target, {LICENSES} licenses"
    )
    print(
        f"{'target':<18}{'requests':>10}{'rps':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}"
        f"{'gunicorn cpu ms/req':>21}{'postgres cpu ms/req':>21}"
    )
    for name, r in results.items():
        print(
            f"{name:<18}{r['requests']:>10}{r['rps']:>10.1f}{r['p50_ms']:>10.1f}"
            f"{r['p99_ms']:>10.1f}{r['errors']:>8}"
            f"{r['gunicorn_cpu_ms']:>21.2f}{r['postgres_cpu_ms']:>21.2f}"
            + (f"  ({', '.join(r['error_kinds'])})" if r["errors"] else "")
        )
    ceiling = results["/bare (ceiling)"]["rps"]
    for name in ("/healthz (floor)", "/licenses/", "/downloads/"):
        print(f"ratio {name} : ceiling = {results[name]['rps'] / ceiling:.2f}")
    reset_schema(database_url)


if __name__ == "__main__":
    main()
