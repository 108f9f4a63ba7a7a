"""The portal in a real browser: the flows customers, admins and support go through.

Every page a flow shows is checked with axe-core (`visit`) and, with PORTAL_SCREENSHOTS set,
photographed.
"""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest skips (or, in CI, fails) every test here with the reason
    expect = None

from tests.browser.conftest import (
    check_accessibility,
    new_context,
    sha256_of,
    sign_in,
    totp_now,
    visit,
)

CUSTOMER = "anna.berg@nordiskbetal.example.com"
FJALL_ADMIN = "admin@fjallfrakt.example.com"
SUPPORT = "support@leverantor.example.com"
FUNCTION_ADDRESS = "licenser@fjallfrakt.example.com"


def test_a_customer_downloads_a_release_whose_checksum_matches_the_page(page):
    page.goto("/login")
    visit(page, "login")
    sign_in(page, CUSTOMER)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    visit(page, "dashboard")

    menu = page.get_by_role("navigation", name="Huvudmeny")
    menu.get_by_role("link", name="Licenser").click()
    expect(page.get_by_role("heading", level=1, name="Licenser")).to_be_visible()
    visit(page, "licenses")

    menu.get_by_role("link", name="Nedladdningar").click()
    expect(page.get_by_role("heading", level=1, name="Nedladdningar")).to_be_visible()
    visit(page, "downloads")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile("6.1")))
    shown = row.locator("code.checksum").inner_text().strip()
    with page.expect_download() as info:
        row.get_by_role("link").click()
    download = info.value
    assert download.suggested_filename == "safelink-6.1.zip"
    assert re.fullmatch(r"[0-9a-f]{64}", shown)
    assert sha256_of(download.path()) == shown


def test_an_admin_designates_a_function_address_that_confirms_by_the_mailed_link(
    page, mailbox, portal_server
):
    sign_in(page, FJALL_ADMIN)
    page.goto("/licenses/manager")
    expect(page.get_by_role("heading", level=1, name="Licensansvarig")).to_be_visible()
    visit(page, "manager")
    page.get_by_label(re.compile("^En funktionsadress")).check()
    page.get_by_label("Funktionsadress", exact=True).fill(FUNCTION_ADDRESS)
    page.get_by_role("button", name="Spara licensansvarig").click()
    expect(page.get_by_role("status")).to_contain_text(f"en länk till {FUNCTION_ADDRESS}")
    visit(page, "manager_pending")

    mail = _wait_for_mail(mailbox, FUNCTION_ADDRESS)
    link = mail.link()
    assert link.startswith(portal_server.base_url + "/licenses/manager/confirm/")

    function = new_context(page.context.browser, portal_server.base_url)
    try:
        other = function.new_page()
        other.goto(link)
        expect(other.get_by_role("heading", level=1)).to_have_text("Bekräfta licensansvarig")
        visit(other, "manager_confirm")
        other.get_by_label("Nytt lösenord").fill("funktionsadressens lösenord 2026")
        other.get_by_label("Upprepa lösenordet").fill("funktionsadressens lösenord 2026")
        other.get_by_role("button", name="Bekräfta och spara lösenordet").click()
        expect(other).to_have_url(portal_server.base_url + "/")
        expect(other.get_by_role("status")).to_contain_text(f"Bekräftat: {FUNCTION_ADDRESS}")
        expect(other.get_by_role("banner")).to_contain_text(FUNCTION_ADDRESS)
        expect(other.get_by_role("button", name="Logga ut")).to_be_visible()
        visit(other, "manager_confirmed")
    finally:
        function.close()


def test_support_views_as_a_customer_is_refused_a_change_and_stops(page, portal_server):
    sign_in(page, SUPPORT)
    expect(page).to_have_url(re.compile("/login/two-factor$"))
    visit(page, "twofactor")
    page.get_by_label("Kod").fill(totp_now())
    page.get_by_role("button", name="Slutför inloggningen").click()

    page.goto("/staff/companies")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    visit(page, "staff_companies")
    page.get_by_role("link", name="Nordisk Betalservice AB").first.click()
    visit(page, "staff_company")
    page.get_by_role("link", name=CUSTOMER).first.click()
    visit(page, "staff_account")
    page.get_by_label("Anledning").fill("ÄRENDE-4711 kunden ser inga licenser")
    page.get_by_role("button", name="Visa portalen som Anna Berg").click()

    banner = page.get_by_role("region", name="Supportvy")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(CUSTOMER)
    visit(page, "support_view")

    page.goto("/account")
    expect(banner).to_be_visible()
    with page.expect_response(lambda response: response.request.method == "POST") as refused:
        page.get_by_role("button", name="Spara mina uppgifter").click()
    assert refused.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Inte när du visar portalen som kund")
    visit(page, "support_view_refused")

    page.get_by_role("button", name="Sluta visa som Anna Berg").click()
    expect(page).to_have_url(re.compile(r"/staff/accounts/\d+$"))
    expect(page.get_by_role("region", name="Supportvy")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Anna Berg")
    expect(page.get_by_role("banner")).to_contain_text("Sara Support")
    visit(page, "staff_view_again")
    page.goto("/staff/companies")
    expect(page.get_by_role("link", name="Nordisk Betalservice AB").first).to_be_visible()


def test_the_language_switch_shows_english_and_back_to_swedish(page):
    sign_in(page, CUSTOMER)
    page.goto("/licenses/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Licenses")
    visit(page, "licenses_english")
    page.get_by_role("link", name="Svenska").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Licenser")


def test_a_phone_width_lays_out_the_dashboard_and_licenses_without_horizontal_scrolling(page):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, CUSTOMER)
    for path, name in (("/", "phone_dashboard"), ("/licenses/", "phone_licenses")):
        page.goto(path)
        scroll_width, inner_width = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert inner_width == 375
        assert scroll_width <= inner_width, f"{path} scrolls sideways: {scroll_width} px"
        visit(page, name)


def test_the_login_form_works_with_the_keyboard_alone(page):
    page.goto("/login")
    focus = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.id")
        focus.append(focused)
        if focused == "email":
            break
    assert focus[-1] == "email", f"Tab never reached the address field: {focus}"
    page.keyboard.type(CUSTOMER)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "password"
    page.keyboard.type("demo-kundportal-2026")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("banner")).to_contain_text("Anna Berg")
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()


def _wait_for_mail(mailbox, address, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = mailbox.to(address)
        if mails:
            return mails[-1]
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} within {timeout} s")


def test_the_accessibility_check_reports_a_field_without_a_label(page):
    page.set_content(
        '<!doctype html><html lang="en"><title>Broken</title><main><h1>Broken</h1>'
        '<form><input type="text" name="unlabelled"></form></main></html>'
    )
    with pytest.raises(AssertionError, match="label"):
        check_accessibility(page)
