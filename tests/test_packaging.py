"""The wheel: a non-editable `pip install` gives a working portal with everything it needs.

The vendor's site installs the portal as a package, so templates, the stylesheet, compiled
catalogs and migrations must travel inside the wheel.
"""

import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.packaging, pytest.mark.no_transaction]


def run(*args, **kwargs):
    result = subprocess.run(
        [str(arg) for arg in args], capture_output=True, text=True, check=False, **kwargs
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, ROOT, timeout=600)
    [built] = out.glob("kundportal-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.mark.parametrize(
    "path",
    [
        "portal/templates/portal/base.html",
        "portal/templates/portal/macros/forms.html",
        "portal/templates/portal/accounts/mail/invitation.txt",
        "portal/static/portal.css",
        "portal/translations/sv/LC_MESSAGES/messages.mo",
        "portal/migrations/env.py",
        "portal/migrations/alembic.ini",
        "portal/migrations/script.py.mako",
    ],
)
def test_wheel_contains_what_the_portal_reads_at_run_time(wheel_names, path):
    assert path in wheel_names


def test_wheel_contains_every_migration_version(wheel_names):
    versions = sorted(p.name for p in (ROOT / "portal" / "migrations" / "versions").glob("*.py"))
    assert versions
    packaged = {name.rsplit("/", 1)[-1] for name in wheel_names if "/migrations/versions/" in name}
    assert set(versions) <= packaged


def test_wheel_contains_every_template(wheel_names):
    templates = {
        "portal/templates/" + str(path.relative_to(ROOT / "templates"))
        for path in (ROOT / "templates").rglob("*")
        if path.is_file()
    }
    assert templates - wheel_names == set()


def test_wheel_declares_the_portal_console_script(wheel):
    with zipfile.ZipFile(wheel) as archive:
        [entry_points] = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "portal = portal.cli:main" in text


def test_wheel_carries_no_tests_instance_data_or_secrets(wheel_names):
    unwanted = [
        name
        for name in wheel_names
        if name.startswith(("tests/", "instance/"))
        or "secret_key" in name
        or name.endswith((".sqlite3", ".pyc"))
    ]
    assert unwanted == []


INSTALLED_CHECK = textwrap.dedent(
    """
    import portal
    from portal import create_app

    app = create_app()
    client = app.test_client()
    login = client.get("/login")
    page = login.get_data(as_text=True)
    css = client.get("/static/portal.css")
    print(portal.__file__)
    print(login.status_code, css.status_code)
    print('name="email"' in page, 'name="password"' in page, 'name="csrf_token"' in page)
    print('<html lang="sv">' in page, client.get("/healthz").get_json()["database"])
    """
)


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_TEST_DATABASE_URL")),
    reason="does not depend on the test database; proven in the SQLite run of make test",
)
def test_installed_wheel_migrates_and_serves_the_login_page(wheel, tmp_path):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel, timeout=900)

    env = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")}
    env.pop("PYTHONPATH", None)
    env["PORTAL_INSTANCE_PATH"] = str(tmp_path / "instance")
    outside = tmp_path / "elsewhere"  # not the checkout: only the installed package is found
    outside.mkdir()
    run(environment / "bin" / "portal", "db", "upgrade", env=env, cwd=outside, timeout=300)
    result = run(python, "-c", INSTALLED_CHECK, env=env, cwd=outside, timeout=300)

    location, statuses, fields, language = result.stdout.strip().splitlines()
    assert location.startswith(str(environment))
    assert statuses == "200 200"
    assert fields == "True True True"
    assert language == "True ok"
