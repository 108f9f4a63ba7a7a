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


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
DEPLOY_NGINX_CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"

NGINX_MAIN = """
worker_processes {workers};
error_log {folder}/error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/kundportal.conf;
}}
"""


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost), made for one test run."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class DeployedNginx:
    """Debian's nginx running deploy/nginx.conf itself, with only its addresses and paths
    replaced by this run's (each replaced text must be in the file, once)."""

    def __init__(self, folder: Path, *, upstreams: list[int], release_store: Path, workers=1):
        if NGINX is None:
            missing("nginx is not installed (apt-get install nginx)")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / name).mkdir(exist_ok=True)
            (folder / name).chmod(0o777)  # nginx's workers drop root
        self.http_port, self.https_port = free_port(), free_port()
        cert, key = self_signed_certificate(folder)
        upstream_lines = "\n    ".join(f"server 127.0.0.1:{port};" for port in upstreams)
        conf = DEPLOY_NGINX_CONF.read_text()
        for original, replacement in (
            ("server 127.0.0.1:8000;", upstream_lines),
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("/etc/ssl/kundportal/fullchain.pem", str(cert)),
            ("/etc/ssl/kundportal/privkey.pem", str(key)),
            ("/var/lib/kundportal/releases/", f"{release_store}/"),
        ):
            assert conf.count(original) == 1, f"deploy/nginx.conf no longer has {original!r}"
            conf = conf.replace(original, replacement)
        (folder / "kundportal.conf").write_text(conf)
        (folder / "nginx.conf").write_text(NGINX_MAIN.format(folder=folder, workers=workers))
        self.base_url = f"https://127.0.0.1:{self.https_port}"
        self.process = None

    def start(self) -> None:
        test = subprocess.run(
            [NGINX, "-t", "-c", str(self.folder / "nginx.conf")], capture_output=True, text=True
        )
        assert test.returncode == 0, test.stderr
        self.process = subprocess.Popen(
            [NGINX, "-c", str(self.folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "stderr.log").open("w"),
            start_new_session=True,
        )
        wait_for_port(self.https_port, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process for port {port} exited with {process.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")
