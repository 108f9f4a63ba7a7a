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
    check_html,
    check_phone_width,
    new_context,
    sha256_of,
    sign_in,
    sign_in_staff,
    totp_now,
    visit,
)
from tests.browser.seed import STAFF_ADMIN_EMAIL, STAFF_ADMIN_TOTP_SECRET

CUSTOMER = "anna.berg@nordiskbetal.example.com"
NORDISK_ADMIN = "admin@nordiskbetal.example.com"
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
    whole = row.get_by_label(re.compile("^Hela SHA-256")).input_value()
    short = row.locator("code.checksum-short").inner_text().strip()
    with page.expect_download() as info:
        row.get_by_role("link").click()
    download = info.value
    assert download.suggested_filename == "safelink-6.1.zip"
    assert re.fullmatch(r"[0-9a-f]{64}", whole)
    assert short == f"{whole[:8]}…{whole[-8:]}"
    assert sha256_of(download.path()) == whole
    copy = row.get_by_role("button", name="Kopiera")
    expect(copy).to_be_visible()  # shown by portal/static/copy.js


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
    # forms are visibly read-only, with the reason (the server refuses a post all the same)
    expect(page.get_by_role("button", name="Spara mina uppgifter")).to_be_disabled()
    expect(page.get_by_text("Skrivskyddat: inget kan ändras")).to_be_visible()
    expect(page.get_by_role("button", name="Logga ut")).to_be_enabled()
    visit(page, "support_view_read_only")
    token = page.locator('input[name="csrf_token"]').first.input_value()
    refused = page.request.post(page.url, form={"name": "Ändrad", "csrf_token": token})
    assert refused.status == 403

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


def test_a_phone_width_lays_out_every_customer_page_without_horizontal_scrolling(page):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, NORDISK_ADMIN)
    for path, name in (
        ("/", "phone_dashboard"),
        ("/licenses/", "phone_licenses"),
        ("/downloads/", "phone_downloads"),
        ("/company/users", "phone_users"),
        ("/company/activity", "phone_activity"),
        ("/contacts/", "phone_contacts"),
    ):
        page.goto(path)
        scroll_width, inner_width = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert inner_width == 375
        assert scroll_width <= inner_width, f"{path} scrolls sideways: {scroll_width} px"
        visit(page, name)
    page.goto("/company/users")
    page.get_by_role("link", name="Anna Berg").click()
    visit(page, "phone_person")
    # the license table is a card per license: its rows are as wide as the page
    page.goto("/licenses/")
    row_width = page.locator("tbody tr").first.evaluate("row => row.getBoundingClientRect().width")
    assert row_width <= 375


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


def test_the_html_check_reports_a_duplicate_id_and_an_empty_action(page, portal_server):
    broken = (
        '<!doctype html><html lang="en"><title>Broken</title><main><h1>Broken</h1>'
        '<form action=""><input id="a" aria-label="a"><input id="a" aria-label="b"></form>'
        "</main></html>"
    )
    page.route(
        portal_server.url("/broken"),
        lambda route: route.fulfill(body=broken, content_type="text/html; charset=utf-8"),
    )
    page.goto("/broken")
    with pytest.raises(AssertionError, match="Duplicate ID") as failed:
        check_html(page)
    assert "action" in str(failed.value)


def test_the_width_check_reports_a_page_wider_than_a_phone(page, portal_server):
    wide = (
        '<!doctype html><html lang="en"><title>Wide</title><main><h1>Wide</h1>'
        '<p><img alt="" width="600" height="10" src="data:,"></p></main></html>'
    )
    page.route(
        portal_server.url("/wide"),
        lambda route: route.fulfill(body=wide, content_type="text/html; charset=utf-8"),
    )
    page.goto("/wide")
    with pytest.raises(AssertionError, match="scrolls sideways at 375 px"):
        check_phone_width(page)


def _tour(page, paths_and_names) -> None:
    for path, name in paths_and_names:
        response = page.goto(path)
        assert response.ok, f"{path}: {response.status}"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        visit(page, name)


def test_every_page_of_a_company_admin_is_valid_accessible_and_fits_a_phone(page):
    sign_in(page, NORDISK_ADMIN)
    attention = page.get_by_role("region", name="Behöver din uppmärksamhet")
    expect(
        attention.get_by_role("listitem").filter(has_text="Licensen för SafeLink PFR")
    ).to_be_visible()
    expect(attention.get_by_role("link", name="Se licensen")).to_be_visible()
    _tour(
        page,
        (
            ("/", "admin_dashboard"),
            ("/licenses/", "admin_licenses"),
            ("/downloads/", "admin_downloads"),
            ("/contacts/", "contacts"),
            ("/company/users", "users"),
            ("/company/activity", "activity"),
            ("/licenses/manager", "admin_manager"),
            ("/account", "account"),
            ("/account/consents", "consents"),
            ("/account/two-factor/enrol", "two_factor_enrol"),
            ("/privacy", "privacy"),
        ),
    )
    page.goto("/licenses/")
    page.get_by_role("link", name="SafeLink PFR").click()
    visit(page, "license")
    page.goto("/contacts/")
    page.get_by_role("link", name="Anna Berg", exact=True).click()
    visit(page, "contact")


def test_every_page_of_a_staff_admin_is_valid_accessible_and_fits_a_phone(page):
    sign_in_staff(page, STAFF_ADMIN_EMAIL, STAFF_ADMIN_TOTP_SECRET)
    _tour(
        page,
        (
            ("/", "staff_home"),
            ("/staff/companies", "staff_companies_admin"),
            ("/staff/companies/new", "staff_company_new"),
            ("/staff/licenses/", "staff_licenses"),
            ("/staff/licenses/products", "staff_products"),
            ("/staff/licenses/new", "staff_license_new"),
            ("/staff/licenses/releases/new", "staff_release_new"),
            ("/staff/news/", "staff_news"),
            ("/staff/news/new", "staff_news_new"),
            ("/staff/disclosures/", "staff_disclosures"),
            ("/staff/disclosures/new", "staff_disclosure_company"),
            ("/staff/retention/", "staff_retention"),
            ("/staff/impersonations", "staff_impersonations"),
        ),
    )
    page.goto("/staff/companies")
    page.get_by_role("link", name="Gamla Kunden AB").click()
    visit(page, "staff_company_ended")
    page.get_by_role("link", name="Gör företaget till kund igen").click()
    visit(page, "staff_company_restart")
    page.goto("/staff/companies")
    page.get_by_role("link", name="Nordisk Betalservice AB").first.click()
    page.get_by_role("link", name="Avsluta kundrelationen").click()
    visit(page, "staff_company_end")
    page.goto("/staff/disclosures/new")
    chooser = page.get_by_label("Vilket företags uppgifter")
    chooser.select_option(label="Nordisk Betalservice AB (556677-8899)")
    page.get_by_role("button", name="Fortsätt").click()
    visit(page, "staff_disclosure_new")


def test_an_admin_reads_the_activity_log_by_person_and_kind_and_opens_a_person(page):
    sign_in(page, NORDISK_ADMIN)
    page.goto("/licenses/")
    page.get_by_role("link", name="SafeLink PFR").click()
    page.get_by_role("button", name="Visa hela nyckeln").click()
    page.goto("/company/activity")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Aktivitet")
    page.get_by_label("Typ").select_option(label="Licenser och licensansvarig")
    page.get_by_label("Person").select_option(label="Karin Ek")
    page.get_by_role("button", name="Visa aktiviteten").click()
    expect(
        page.get_by_role(
            "cell", name=re.compile("^Karin Ek visade nyckeln till SafeLink PFR, 10 platser")
        )
    ).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("loggade in"))).to_have_count(0)
    visit(page, "activity_filtered")

    page.goto("/company/users")
    page.get_by_role("link", name="Anna Berg").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Berg")
    expect(page.get_by_role("link", name="Ta bort inloggningen")).to_be_visible()
    expect(page.get_by_role("link", name="Radera alla personuppgifter")).to_be_visible()
    visit(page, "person")
    page.get_by_role("link", name="Ta bort inloggningen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vill du ta bort inloggningen för Anna Berg?"
    )
    visit(page, "person_remove")
    page.get_by_role("link", name="Nej, behåll den").click()
    page.get_by_role("link", name="Radera alla personuppgifter").click()
    visit(page, "person_erase")
