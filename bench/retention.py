"""Benchmark of the retention purge (run by hand, not by the tests).

    .venv/bin/python bench/retention.py [--accounts 200000] [--due-fraction 0.1]
        [--database-url URL] [--batch-size 500] [--scale 10]

Builds a database with the given number of accounts (10 per company) of which a fraction belongs
to companies whose relationship ended long enough ago, each account with a session, two audit
events and, for some, a token, a consent, a two-factor secret and download records; each company
with a license and three contacts. It then runs the purge in a fresh process and prints the time,
rows per second and peak memory (the purge process's maximum resident set size, and how much of
it the purge added after start-up).

Then it builds the database again with the same due accounts and `--scale` (10) times as many
accounts that are not due, purges again and prints the ratio of the two times: the cost should
follow what is due, not the size of the tables.

The database is a temporary SQLite file, or with --database-url (or PORTAL_DATABASE_URL) a
PostgreSQL database, in a schema of its own ("bench_retention", dropped and made again).
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TODAY = date(2026, 11, 2)
DUE_ENDED = date(2023, 6, 30)  # 40 months before TODAY: due, bookkeeping not over
RECENTLY_ENDED = TODAY - timedelta(days=100)
ACCOUNTS_PER_COMPANY = 10
SCHEMA = "bench_retention"
CHUNK = 20_000
NOW = datetime(2026, 10, 1, 12, tzinfo=UTC)


def _metadata():
    import portal.models  # noqa: F401  (every table)
    from portal.db import db

    return db.metadata


# --- building the data ----------------------------------------------------------------------------


class Writer:
    """Bulk inserts: COPY on PostgreSQL, executemany on SQLite, in chunks (memory stays flat)."""

    def __init__(self, engine):
        self.engine = engine
        self.postgresql = engine.dialect.name == "postgresql"
        self.metadata = _metadata()
        self.rows = 0

    def write(self, connection, table: str, columns: tuple[str, ...], rows) -> None:
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                self._flush(connection, table, columns, chunk)
                chunk = []
        if chunk:
            self._flush(connection, table, columns, chunk)

    def _flush(self, connection, table, columns, chunk):
        self.rows += len(chunk)
        if self.postgresql:
            cursor = connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
        else:
            placeholders = ", ".join("?" for _ in columns)
            connection.connection.driver_connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
                [tuple(_sqlite(value) for value in row) for row in chunk],
            )


def _sqlite(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def build(engine, due_accounts: int, not_due_accounts: int, seed: int = 42) -> int:
    """Create the tables and fill them; return how many rows were written."""
    metadata = _metadata()
    metadata.create_all(engine)
    writer = Writer(engine)
    due_companies = max(due_accounts // ACCOUNTS_PER_COMPANY, 1)
    other_companies = max(not_due_accounts // ACCOUNTS_PER_COMPANY, 1)
    flags = [True] * due_companies + [False] * other_companies
    random.Random(seed).shuffle(flags)  # due companies spread among the others, as in life
    later = NOW + timedelta(days=1)
    with engine.begin() as connection:
        writer.write(connection, "products", ("id", "code", "name"), [(1, "safelink", "SafeLink")])
        writer.write(
            connection,
            "releases",
            ("id", "product_id", "version", "released_on", "notes", "created_dt"),
            [(1, 1, "1.0", date(2020, 1, 1), "", NOW)],
        )
        writer.write(
            connection,
            "release_files",
            ("id", "release_id", "filename", "size", "sha256", "storage_key"),
            [(1, 1, "setup.zip", 1, "0" * 64, "bench")],
        )

        def companies():
            for company_id, due in enumerate(flags, start=1):
                ended = DUE_ENDED if due else (RECENTLY_ENDED if company_id % 2 else None)
                yield (company_id, f"Bolag {company_id} AB", f"{company_id:011d}", ended, NOW)

        writer.write(
            connection,
            "companies",
            ("id", "name", "org_number", "relationship_ended_on", "created_dt"),
            companies(),
        )
        count = len(flags)
        writer.write(
            connection,
            "licenses",
            ("id", "company_id", "product_id", "key", "seats", "valid_from", "created_dt"),
            ((c, c, 1, f"B{c:028d}", 5, date(2020, 1, 1), NOW) for c in range(1, count + 1)),
        )

        def contacts():
            for c in range(1, count + 1):
                # personal technical contact; personal invoice reference kept for bookkeeping;
                # function address as contract party
                yield (3 * c - 2, c, "personal", "Kontakt", f"k{c}@b.example", False, False,
                       False, True, NOW, NOW)  # fmt: skip
                yield (3 * c - 1, c, "personal", "Faktura", f"f{c}@b.example", True, True,
                       False, False, NOW, NOW)  # fmt: skip
                yield (3 * c, c, "function", None, f"info{c}@b.example", False, False, True,
                       False, NOW, NOW)  # fmt: skip

        writer.write(
            connection,
            "contacts",
            (
                "id", "company_id", "kind", "name", "email", "is_accounting_record",
                "is_invoice_reference", "is_contract_party", "is_technical_contact",
                "created_dt", "updated_dt",
            ),
            contacts(),
        )  # fmt: skip
        accounts = count * ACCOUNTS_PER_COMPANY

        def account_company(a):
            return (a - 1) // ACCOUNTS_PER_COMPANY + 1

        writer.write(
            connection,
            "accounts",
            (
                "id", "email", "name", "kind", "company_id", "company_role", "language",
                "is_active", "created_dt",
            ),
            (
                (
                    a, f"p{a}@b.example", "Person", "function" if a % 10 == 0 else "personal",
                    account_company(a), "admin" if a % 10 == 1 else "member", "sv", True, NOW,
                )
                for a in range(1, accounts + 1)
            ),
        )  # fmt: skip
        writer.write(
            connection,
            "login_sessions",
            (
                "id",
                "key_hash",
                "account_id",
                "created_dt",
                "last_seen_dt",
                "expires_dt",
                "remember",
            ),
            ((a, f"{a:064x}", a, NOW, NOW, later, False) for a in range(1, accounts + 1)),
        )

        def events():
            for a in range(1, accounts + 1):
                c = account_company(a)
                yield (2 * a - 1, NOW, "account.created", "success", None, "Account", a, c)
                yield (2 * a, NOW, "login.succeeded", "success", a, "Account", a, c)

        writer.write(
            connection,
            "audit_events",
            (
                "id", "occurred_dt", "action", "outcome", "actor_account_id", "subject_type",
                "subject_id", "company_id",
            ),
            events(),
        )  # fmt: skip
        writer.write(
            connection,
            "account_tokens",
            ("id", "token_hash", "purpose", "account_id", "created_dt", "expires_dt"),
            ((a, f"{a:064x}", "password_reset", a, NOW, later) for a in range(1, accounts + 1, 10)),
        )
        writer.write(
            connection,
            "consent_records",
            (
                "id", "account_id", "purpose", "text_version", "language", "text", "given_dt",
                "recorded_by",
            ),
            (
                (a, a, "third_party_contact", 1, "sv", "Jag samtycker.", NOW, "self")
                for a in range(3, accounts + 1, 10)
            ),
        )  # fmt: skip
        writer.write(
            connection,
            "twofactor_secrets",
            ("id", "account_id", "secret", "created_dt"),
            ((a, a, "JBSWY3DPEHPK3PXP", NOW) for a in range(1, accounts + 1, 20)),
        )
        writer.write(
            connection,
            "download_records",
            ("id", "account_id", "company_id", "release_file_id", "downloaded_dt"),
            ((a, a, account_company(a), 1, NOW) for a in range(2, accounts + 1, 5)),
        )
        if writer.postgresql:
            for table in metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement:
                    sequence_sql = (
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"  # noqa: S608
                        f" coalesce((SELECT max(id) FROM {table.name}), 1))"
                    )
                    connection.execute(sa.text(sequence_sql))
    # A settled database, as in production: statistics for the planner, and on PostgreSQL no
    # autovacuum of the freshly loaded tables running during the measurement.
    settle = "VACUUM ANALYZE" if writer.postgresql else "ANALYZE"
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(settle))
    return writer.rows


# --- running the purge in a process of its own ----------------------------------------------------


def run_purge(url: str, batch_size: int) -> dict:
    """In this process: create the app, purge, report time, counts and memory as JSON."""
    from portal import create_app
    from portal.retention.purge import purge

    instance = tempfile.TemporaryDirectory(prefix="bench-instance-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "PORTAL_INSTANCE_PATH": instance.name,
            "PORTAL_MAIL_URL": "console",
        }
    )
    with instance, app.app_context():
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = purge(TODAY, batch_size=batch_size)
        seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "counts": report.counts,
        "batches": report.batches,
        "peak_rss_mb": rss_after / 1024,
        "rss_added_mb": (rss_after - rss_before) / 1024,
    }


def purge_in_child(url: str, batch_size: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--run-purge", "--database-url", url, "--batch-size",
         str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- databases ------------------------------------------------------------------------------------


class Database:
    def __init__(self, url: str | None, label: str):
        self.base_url = url
        if url:
            self.url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"
            admin = sa.create_engine(url)
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
                connection.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
            admin.dispose()
        else:
            self.folder = tempfile.mkdtemp(prefix=f"bench-{label}-")
            self.url = f"sqlite:///{Path(self.folder, 'bench.sqlite3')}"
        self.engine = sa.create_engine(self.url)
        if not url:
            from portal.db import configure_engine

            configure_engine(self.engine)

    def drop(self):
        self.engine.dispose()
        if self.base_url:
            admin = sa.create_engine(self.base_url)
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            admin.dispose()
        else:
            for name in os.listdir(self.folder):
                os.unlink(Path(self.folder, name))
            os.rmdir(self.folder)


def measure(url: str | None, due: int, not_due: int, batch_size: int, label: str) -> dict:
    database = Database(url, label)
    try:
        started = time.perf_counter()
        rows = build(database.engine, due, not_due)
        built = time.perf_counter() - started
        database.engine.dispose()
        result = purge_in_child(database.url, batch_size)
    finally:
        database.drop()
    result.update(label=label, rows_built=rows, build_seconds=built, due=due, not_due=not_due)
    return result


def describe(result: dict) -> str:
    counts = result["counts"]
    touched = sum(value for name, value in counts.items() if name != "companies")
    return (
        f"{result['label']}: {result['due']:,} due of {result['due'] + result['not_due']:,}"
        f" accounts ({result['rows_built']:,} rows built in {result['build_seconds']:.1f} s)\n"
        f"  purge: {result['seconds']:.2f} s, {counts['accounts']:,} accounts"
        f" ({counts['accounts'] / result['seconds']:,.0f}/s), {touched:,} rows removed or"
        f" pseudonymised ({touched / result['seconds']:,.0f} rows/s), {result['batches']} batches\n"
        f"  memory: peak RSS {result['peak_rss_mb']:.0f} MB of which the purge added"
        f" {result['rss_added_mb']:.1f} MB\n"
        f"  counts: {json.dumps(counts)}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--due-fraction", type=float, default=0.1)
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_DATABASE_URL"))
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--scale", type=int, default=10, help="not-due accounts, times more")
    parser.add_argument("--run-purge", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_purge:
        print(json.dumps(run_purge(args.database_url, args.batch_size)))
        return 0

    due = int(args.accounts * args.due_fraction)
    not_due = args.accounts - due
    url = args.database_url
    engine_name = "PostgreSQL" if url else "SQLite"
    print(f"{engine_name}, batch size {args.batch_size}")
    base = measure(url, due, not_due, args.batch_size, "base")
    print(describe(base), flush=True)
    large = measure(url, due, not_due * args.scale, args.batch_size, f"{args.scale}x not due")
    print(describe(large))
    print(
        f"ratio of purge times with {args.scale}x as many accounts not due:"
        f" {large['seconds'] / base['seconds']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
