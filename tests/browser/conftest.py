"""A real portal server, a real SMTP catcher and Debian's Chromium driven by Playwright.

The portal runs as its own process (`portal run`) on a free loopback port, with its own SQLite
database in a temporary folder, prepared with `portal db upgrade`, `portal demo` and
`tests/browser/seed.py`. Its mails go to the suite's SMTP catcher (`smtp_server`).

Without /usr/bin/chromium (or Playwright) the tests are skipped with the reason; with
PORTAL_TEST_REQUIRE_BROWSER=1 (CI) they fail instead.
"""

import hashlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyotp
import pytest

from tests.browser import seed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "demo-kundportal-2026"
AXE_SCRIPT = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _missing_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not AXE_SCRIPT.exists():
        return f"{AXE_SCRIPT} is missing (npm ci in tests/browser)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing_browser()
    if reason is None:
        return
    here = Path(__file__).parent
    browser_items = [item for item in items if Path(str(item.fspath)).parent == here]
    if os.environ.get("PORTAL_TEST_REQUIRE_BROWSER") == "1":
        for item in browser_items:
            item.add_marker(pytest.mark.usefixtures("_browser_required"))
        return
    print(f"\nbrowser tests skipped: {reason}")
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=f"browser tests: {reason}"))


@pytest.fixture
def _browser_required():
    pytest.fail(f"PORTAL_TEST_REQUIRE_BROWSER=1 but {_missing_browser()}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _portal_env(instance: Path, smtp_port: int, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env.update(
        PORTAL_INSTANCE_PATH=str(instance),
        PORTAL_MAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        PORTAL_BASE_URL=base_url,
        PORTAL_SCHEDULER="off",
        PYTHONPATH=str(ROOT),
    )
    return env


class Server:
    def __init__(self, base_url: str, process: subprocess.Popen, log: Path):
        self.base_url = base_url
        self.process = process
        self.log = log

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory, smtp_server):
    folder = tmp_path_factory.mktemp("browser")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _portal_env(folder / "instance", smtp_server.port, base_url)
    for command in (
        [str(BIN / "portal"), "db", "upgrade"],
        [str(BIN / "portal"), "demo"],
        [sys.executable, "-m", "tests.browser.seed"],
    ):
        subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
    env["PORTAL_SCHEDULER"] = "on"  # as `make run`: its scheduler delivers the mails
    log = folder / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "portal"), "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2):  # noqa: S310 (http)
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the portal server did not start:\n{log.read_text()}")
            time.sleep(0.2)
    yield Server(base_url, process, log)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def new_context(browser, base_url: str):
    """A fresh browser profile (no cookies) that asks for Swedish, like most customers."""
    # bypass_csp: the portal's CSP forbids inline scripts, and axe-core is injected inline.
    context = browser.new_context(
        base_url=base_url, bypass_csp=True, accept_downloads=True, locale="sv-SE"
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser, portal_server):
    context = new_context(browser, portal_server.base_url)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


def screenshot(page, name: str) -> None:
    """A full-page screenshot to $PORTAL_SCREENSHOTS/<name>.png when that is set."""
    folder = os.environ.get("PORTAL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def check_accessibility(page) -> None:
    """axe-core on the page: no serious or critical violation of WCAG 2.1 A/AA."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not problems, f"accessibility on {page.url}:\n" + "\n".join(problems)


def visit(page, name: str) -> None:
    """Checks made on every page a flow shows: accessibility, then the screenshot."""
    check_accessibility(page)
    screenshot(page, name)


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord", exact=True).fill(password)
    page.get_by_role("button", name="Logga in").click()


def totp_now(secret: str = seed.SUPPORT_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).now()


def sha256_of(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
