"""A real portal server, a real SMTP catcher and Debian's Chromium driven by Playwright.

The portal runs as its own process (`portal run`) on a free loopback port, with its own SQLite
database in a temporary folder, prepared with `portal db upgrade`, `portal demo` and
`tests/browser/seed.py`. Its mails go to the suite's SMTP catcher (`smtp_server`).

Every page a flow shows goes through `visit`: axe-core in the page, the W3C Nu HTML checker
(vnu.jar from npm, run once per session as a local HTTP service on Java) on the HTML the server
sent, and the page's width at 375 px. The browser tests use their own SQLite server whatever
database the suite runs on, so `make test` runs them once, with the SQLite pass.

Without /usr/bin/chromium, Playwright, Java or the npm packages the tests are skipped with the
reason; with PORTAL_TEST_REQUIRE_BROWSER=1 (CI) they fail instead.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import weakref
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
NODE_MODULES = Path(__file__).parent / "node_modules"
AXE_SCRIPT = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PHONE_WIDTH = 375


def _missing_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    for needed in (AXE_SCRIPT, VNU_JAR):
        if not needed.exists():
            return f"{needed} is missing (npm ci in tests/browser)"
    if shutil.which("java") is None:
        return "java is missing for the Nu HTML checker (apt-get install default-jre-headless)"
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
        PORTAL_SALES_EMAIL="salj@leverantor.example.com",
        PYTHONPATH=str(ROOT),
    )
    return env


class NuChecker:
    """The W3C Nu HTML checker as a local HTTP service: POST a document, get its messages."""

    def __init__(self, port: int, process: subprocess.Popen, log: Path):
        self.url = f"http://127.0.0.1:{port}/?out=json"
        self.process = process
        self.log = log

    def messages(self, html: bytes) -> list[dict]:
        request = urllib.request.Request(  # noqa: S310 (our own http:// address)
            self.url, data=html, headers={"Content-Type": "text/html; charset=utf-8"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http)
            return json.load(response)["messages"]

    def errors(self, html: bytes) -> list[str]:
        return [
            f"line {message.get('lastLine', '?')}: {message['message']}"
            f" [{message.get('extract', '').strip()}]"
            for message in self.messages(html)
            if message["type"] in {"error", "non-document-error"}
        ]


_NU_CHECKER: list[NuChecker] = []


@pytest.fixture(scope="session", autouse=True)
def nu_checker(tmp_path_factory):
    """Started once for the browser tests (none when they are skipped)."""
    if _missing_browser() is not None:
        yield None
        return
    port = _free_port()
    log = tmp_path_factory.mktemp("vnu") / "vnu.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                "java",
                "-Xss1024k",
                "-Dnu.validator.servlet.bind-address=127.0.0.1",
                "-cp",
                str(VNU_JAR),
                "nu.validator.servlet.Main",
                str(port),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    checker = NuChecker(port, process, log)
    deadline = time.monotonic() + 90
    while True:
        try:
            checker.messages(b"<!doctype html><html lang=en><title>ready</title>")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the Nu HTML checker did not start:\n{log.read_text()}")
            time.sleep(0.5)
    _NU_CHECKER.append(checker)
    yield checker
    _NU_CHECKER.remove(checker)
    process.terminate()
    process.wait(timeout=20)


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
    context.on("response", _remember_document)
    return context


# The last HTML document each page received from the server, for the Nu checker: the bytes sent,
# not the DOM the browser built from them (which has its errors repaired).
_DOCUMENTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _remember_document(response) -> None:
    if response.request.resource_type != "document" or response.frame.parent_frame is not None:
        return
    if 300 <= response.status < 400:
        return
    _DOCUMENTS[response.frame.page] = response


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


def check_html(page) -> None:
    """The W3C Nu checker on the document the page last received: no error."""
    response = _DOCUMENTS.get(page)
    assert response is not None, f"no HTML document was received for {page.url}"
    errors = _NU_CHECKER[0].errors(response.body())
    assert not errors, f"HTML errors on {response.url}:\n" + "\n".join(errors)


def check_phone_width(page) -> None:
    """At 375 px the page itself never scrolls sideways (a table may scroll inside itself)."""
    viewport = page.viewport_size
    page.set_viewport_size({"width": PHONE_WIDTH, "height": viewport["height"]})
    try:
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    finally:
        page.set_viewport_size(viewport)
    assert scroll_width <= PHONE_WIDTH, (
        f"{page.url} scrolls sideways at {PHONE_WIDTH} px: {scroll_width} px wide"
    )


def visit(page, name: str) -> None:
    """Checks made on every page a flow shows: accessibility, valid HTML, no sideways scrolling
    at phone width, then the screenshot."""
    check_accessibility(page)
    check_html(page)
    check_phone_width(page)
    screenshot(page, name)


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord", exact=True).fill(password)
    page.get_by_role("button", name="Logga in").click()


def totp_now(secret: str = seed.SUPPORT_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).now()


def sign_in_staff(page, email: str, secret: str) -> None:
    """Password, then the code of the staff member's authenticator."""
    sign_in(page, email)
    page.get_by_label("Kod").fill(totp_now(secret))
    page.get_by_role("button", name="Slutför inloggningen").click()
    page.wait_for_url(lambda url: "/login" not in url)


def sha256_of(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
