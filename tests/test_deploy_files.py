"""The files in deploy/ a vendor copies: the systemd units and the environment file.

deploy/nginx.conf runs for real in tests/test_nginx.py.
"""

import configparser
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from portal.config import SETTINGS
from tests.servers import free_port

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
BIN = Path(sys.executable).parent
INSTALLED_BIN = "/opt/kundportal/venv/bin/"

pytestmark = pytest.mark.no_transaction


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / name).read_text().replace("\\\n", " "))
    return parser


def _exec_start(name: str) -> list[str]:
    command = shlex.split(_unit(name)["Service"]["ExecStart"])
    assert command[0].startswith(INSTALLED_BIN)
    return [str(BIN / command[0].removeprefix(INSTALLED_BIN)), *command[1:]]


@pytest.mark.parametrize("name", ["portal-web.service", "portal-scheduler.service"])
def test_each_unit_reads_the_environment_file_and_runs_a_program_of_the_package(name):
    unit = _unit(name)
    assert unit["Service"]["EnvironmentFile"] == "/etc/kundportal/portal.env"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert Path(_exec_start(name)[0]).exists()


def test_the_scheduler_unit_runs_portal_scheduler():
    assert _exec_start("portal-scheduler.service")[1:] == ["scheduler"]


def test_the_environment_file_names_only_settings_the_portal_reads():
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "portal.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names - {"PORTAL_INSTANCE_PATH"} <= {setting.name for setting in SETTINGS}


def test_the_web_units_gunicorn_command_serves_the_portal(tmp_path):
    port = free_port()
    command = [
        f"127.0.0.1:{port}" if argument == "127.0.0.1:8000" else argument
        for argument in _exec_start("portal-web.service")
    ]
    command[command.index("--workers") + 1] = "1"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        PORTAL_INSTANCE_PATH=str(tmp_path),
        PORTAL_TRUSTED_PROXIES="1",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "log").open("w")
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, (tmp_path / "log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=30)
