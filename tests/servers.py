"""Servers a test starts and stops itself (a private PostgreSQL cluster, ...), never the shared
ones. Missing programs skip the test, except with PORTAL_TEST_REQUIRE_SERVERS=1 (CI), where they
fail it."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

REQUIRE = os.environ.get("PORTAL_TEST_REQUIRE_SERVERS") == "1"
POSTGRES_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def missing(what: str):
    if REQUIRE:
        pytest.fail(f"PORTAL_TEST_REQUIRE_SERVERS=1 but {what}")
    pytest.skip(what)


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder, on its own port, owned by this test.

    Run as root (CI), the cluster runs as the `postgres` user, in a folder that user can reach.
    """

    def __init__(self, port: int):
        if not POSTGRES_BIN:
            missing("PostgreSQL's programs (initdb, pg_ctl) are not installed")
        self.bin = POSTGRES_BIN[-1]
        self.folder = Path(tempfile.mkdtemp(prefix="portal-postgres-"))
        self.data = self.folder / "data"
        self.port = port
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "log"), "-w", "start")  # fmt: skip
        engine = sa.create_engine(self.url)
        try:
            for _ in range(100):
                try:
                    with engine.connect():
                        return
                except sa.exc.OperationalError:
                    time.sleep(0.1)
            raise RuntimeError("the private PostgreSQL did not start")
        finally:
            engine.dispose()

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
