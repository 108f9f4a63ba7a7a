"""Benchmark of machine validation under gunicorn on PostgreSQL (run by hand, not by the tests).

    .venv/bin/python bench/validations.py [--seconds 10] [--clients 50] [--threads 4]
        [--machines 10000] [--database-url URL]

Serves the portal with gunicorn (2 workers, gthread with --threads each, keep-alive) on
PostgreSQL, in a schema of its own ("bench_validations", dropped and made again, migrated with
`portal db upgrade`), with one license holding `--machines` activated machines (inserted in one
statement; each validation then reads and updates one of them) and a second license with one
machine. Beside the portal the same server answers `/bare` from a bare Flask app: the ceiling of
this server on this machine.

First it counts, in-process against the same schema, the SQL statements of one validation on
the big license and on the small one (the target is at most 2, the same for both). Then a load
generator in a second process keeps `--clients` keep-alive connections busy for `--seconds` per
target: `/bare`, then `POST /api/v1/machines/validate`, each client validating a machine of its
own among the many (every answer is signed with Ed25519, every validation writes its machine's
last-seen time). It prints requests per second, p50 and p99 latency, errors, and the CPU time
per request of gunicorn and of PostgreSQL (from /proc, Linux only), and the ratio to the ceiling.
Rate limits are off in the benchmark's server (all clients share one address).
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402 (the benchmark runs as a script)
    DEFAULT_DATABASE_URL,
    busiest_share,
    cpu_by_process,
    cpu_spent,
    free_port,
    run_target,
    schema_url,
)

SCHEMA = "bench_validations"
FINGERPRINT = "bench-machine-{:06d}"
STATE_FILE = "bench-validations.json"


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


def seed(machines: int) -> dict:
    """A license with `machines` machines and one with a single machine; their keys."""
    from portal import clock, create_app, transaction
    from portal.companies import service as companies
    from portal.db import db
    from portal.licenses import service as licenses
    from portal.machines import versions
    from portal.machines.models import Machine, MachineKind

    app = create_app()
    with app.app_context(), transaction.step():
        company = companies.add_company("Validering AB", "556677-8899", actor_label="bench")
        product = licenses.product_by_code("safelink")
        big = licenses.add_license(company, product, seats=machines, actor_label="bench")
        small = licenses.add_license(company, product, seats=1, actor_label="bench")
        now = clock.now()
        rows = [
            {
                "license_id": license.id,
                "kind": MachineKind.ONLINE,
                "fingerprint": FINGERPRINT.format(number),
                "hostname": f"host-{number:06d}",
                "product_version": "6.2",
                "version_key": versions.sort_key("6.2"),
                "activated_dt": now,
                "last_seen_dt": now,
            }
            for license, numbers in ((big, range(machines)), (small, [machines]))
            for number in numbers
        ]
        db.session.execute(sa.insert(Machine), rows)
        keys = {"big": big.key, "small": small.key}
    return keys


def validation_body(key: str, number: int) -> bytes:
    return json.dumps(
        {
            "license_key": key,
            "fingerprint": FINGERPRINT.format(number),
            "product_version": "6.2",
            "nonce": f"bench-nonce-{number:06d}",
        }
    ).encode()


def count_statements(keys: dict, machines: int) -> dict:
    """The SQL statements of one validation (after the process has recorded its signing key)."""
    from portal import create_app
    from portal.db import db

    app = create_app({"RATELIMIT_ENABLED": False})
    client = app.test_client()
    counted = {}
    for name, key, number in (
        ("big", keys["big"], machines // 2),
        ("small", keys["small"], machines),
    ):
        body = validation_body(key, number)
        for _warm_up in range(2):
            client.post("/api/v1/machines/validate", data=body, content_type="application/json")
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_args, statements=statements):
            statements.append(statement.split()[0])

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            response = client.post(
                "/api/v1/machines/validate", data=body, content_type="application/json"
            )
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        assert response.get_json()["code"] == "valid", response.get_data(as_text=True)
        counted[name] = statements
    return counted


def build_post(path: str, body: bytes) -> bytes:
    headers = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: keep-alive",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def generate(port: int, server_pid: int, clients: int, seconds: float, state: dict) -> dict:
    chosen_numbers = random.Random(17).sample(range(state["machines"]), clients)
    targets = {
        "/bare (ceiling)": (
            [b"GET /bare/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"] * clients,
            200,
        ),
        "POST /api/v1/machines/validate": (
            [
                build_post("/api/v1/machines/validate", validation_body(state["keys"]["big"], n))
                for n in chosen_numbers
            ],
            200,
        ),
    }
    results = {}
    for name, (requests, expected) in targets.items():
        before = cpu_by_process(server_pid)
        results[name] = result = asyncio.run(run_target(port, requests, expected, seconds))
        after = cpu_by_process(server_pid)
        for kind in after:
            result[f"{kind}_cpu_ms"] = (
                1000 * cpu_spent(before[kind], after[kind]) / max(result["requests"], 1)
            )
        result["busiest_worker"] = busiest_share(server_pid, before["gunicorn"], after["gunicorn"])
    return results


def server_env(database_url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        PORTAL_DATABASE_URL=schema_url(database_url, SCHEMA),
        PORTAL_INSTANCE_PATH=str(instance),
        PORTAL_MAIL_URL="console",
        PORTAL_SCHEDULER="off",
        PYTHONPATH=str(ROOT),
    )
    return env


def start_server(env, port: int, log: Path, threads: int) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers=2",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--keep-alive=30",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "bench.validations:make_wsgi()",
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


def reset_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--machines", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_DATABASE_URL"))
    parser.add_argument("--seed", help=argparse.SUPPRESS)  # the seeding process: its state file
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)  # the load process
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.seed:
        keys = seed(args.machines)
        statements = count_statements(keys, args.machines)
        state = {"keys": keys, "machines": args.machines, "statements": statements}
        Path(args.seed).write_text(json.dumps(state))
        return
    if args.generate:
        state = json.loads(Path(args.state).read_text())
        print(
            json.dumps(generate(args.generate, args.server_pid, args.clients, args.seconds, state))
        )
        return

    database_url = args.database_url or DEFAULT_DATABASE_URL
    reset_schema(database_url)
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as folder:
        env = server_env(database_url, Path(folder, "instance"))
        state_file = Path(folder, STATE_FILE)
        subprocess.run([str(bin_dir / "portal"), "db", "upgrade"], env=env, cwd=ROOT, check=True)
        subprocess.run(
            [sys.executable, __file__, f"--seed={state_file}", f"--machines={args.machines}"],
            env=env,
            cwd=ROOT,
            check=True,
        )
        state = json.loads(state_file.read_text())
        for name, statements in state["statements"].items():
            machines = args.machines if name == "big" else 1
            print(
                f"statements per validation, license with {machines} machine(s): "
                f"{len(statements)} ({', '.join(statements)})"
            )
        port = free_port()
        server = start_server(env, port, Path(folder, "gunicorn.log"), args.threads)
        print(
            f"gunicorn 2 workers (gthread, {args.threads} threads), PostgreSQL, "
            f"{args.clients} keep-alive clients, {args.seconds:g} s per target, "
            f"{args.machines} activated machines on the license"
        )
        try:
            generator = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    f"--generate={port}",
                    f"--server-pid={server.pid}",
                    f"--clients={args.clients}",
                    f"--seconds={args.seconds}",
                    f"--state={state_file}",
                ],
                cwd=ROOT,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            results = json.loads(generator.stdout)
        finally:
            server.terminate()
            server.wait(timeout=30)
    ceiling = results["/bare (ceiling)"]["rps"]
    print(
        f"{'target':34} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'cpu ms/req (gunicorn+pg)':>26} {'of ceiling':>10}"
    )
    for name, result in results.items():
        cpu = f"{result['gunicorn_cpu_ms']:.2f}+{result['postgres_cpu_ms']:.2f}"
        print(
            f"{name:34} {result['rps']:8.0f} {result['p50_ms']:8.1f} {result['p99_ms']:8.1f} "
            f"{result['errors']:7d} {cpu:>26} {result['rps'] / ceiling:10.2f}"
        )
        if result["error_kinds"]:
            print(f"  errors: {result['error_kinds']}")
    reset_schema(database_url)


if __name__ == "__main__":
    main()
