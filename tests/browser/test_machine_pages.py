"""The machine pages in a real browser, each checked with axe-core: the start page's older
machines, the license page's machines, an offline machine and its license file, deactivating a
machine, and an API token shown once."""

import re
from pathlib import Path

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest skips (or, in CI, fails) every test here with the reason
    expect = None

from tests.browser.conftest import sign_in, visit

NORDISK_ADMIN = "admin@nordiskbetal.example.com"


def _open_safelink_license(page):
    page.goto("/licenses/")
    page.get_by_role("link", name="SafeLink", exact=True).first.click()
    expect(page.get_by_role("heading", level=2, name="Datorer")).to_be_visible()


def test_an_admin_sees_the_machines_adds_an_offline_one_and_frees_a_seat(page):
    sign_in(page, NORDISK_ADMIN)
    warning = page.locator(".outdated-machines")
    expect(warning).to_contain_text("gamla-bokforing")
    visit(page, "dashboard_outdated_machines")

    _open_safelink_license(page)
    machines = page.get_by_role("table", name="Datorer som använder licensen")
    expect(machines).to_contain_text("ekonomi-srv01")
    expect(machines).to_contain_text("Offline (licensfil)")
    visit(page, "license_machines")

    page.get_by_role("link", name="Lägg till en dator utan internet (offline)").click()
    visit(page, "add_offline_machine")
    page.get_by_label("Datorns fingeravtryck").fill("browser-test-fingerprint-01")
    page.get_by_label("Datorns namn").fill("webbtest-valv")
    page.get_by_label("Installerad version").fill("6.1")
    page.get_by_role("button", name="Lägg till datorn").click()
    expect(page.get_by_role("status")).to_contain_text("webbtest-valv")

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Ladda ner licensfilen webbtest-valv")).click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("-----BEGIN SAFELINK LICENSE-----\n")
    assert "-----BEGIN SAFELINK SIGNATURE-----" in text

    page.get_by_role("link", name="Avaktivera datorn webbtest-valv").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Avaktivera webbtest-valv?")
    visit(page, "deactivate_machine")
    page.get_by_role("button", name="Ja, avaktivera datorn").click()
    expect(page.get_by_role("status")).to_contain_text("webbtest-valv är avaktiverad")
    expect(page.get_by_role("table", name="Datorer som använder licensen")).not_to_contain_text(
        "webbtest-valv"
    )


def test_an_admin_creates_an_api_token_that_is_shown_once(page):
    sign_in(page, NORDISK_ADMIN)
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="API-nycklar").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("API-nycklar")
    visit(page, "api_tokens")
    page.get_by_label("Namn").fill("Byggserver")
    page.get_by_label("Lista och ladda ner de versioner som företaget har rätt till").check()
    page.get_by_role("button", name="Skapa nyckeln").click()
    token = page.get_by_label("Nyckel", exact=True)
    expect(token).to_have_value(re.compile(r"^slp_[A-Za-z0-9_-]{43}$"))
    visit(page, "api_token_created")
    page.goto("/company/api-tokens")
    expect(page.get_by_role("table", name="Företagets API-nycklar")).to_contain_text("Byggserver")
    expect(page.get_by_label("Nyckel", exact=True)).to_have_count(0)
