"""Ordering in a real browser at desktop and phone widths: from the downloads page's renewal
hint to the cart and through checkout with a new invoice reference."""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest skips (or, in CI, fails) every test here with the reason
    expect = None

from tests.browser.conftest import sign_in, visit

# Fjällfrakt's SafeLink maintenance ended in June 2025; the demo's SafeLink 6.1 came later.
FJALL_ADMIN = "admin@fjallfrakt.example.com"


def _no_sideways_scrolling(page, width: int) -> None:
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert inner_width == width
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
            .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > w)
            .slice(0, 8)
            .map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)""",
        inner_width,
    )
    assert scroll_width <= inner_width, f"{page.url} scrolls sideways: {scroll_width} px {wide}"


@pytest.mark.parametrize("width", [1280, 375])
def test_an_admin_renews_from_the_downloads_page_and_checks_out(page, mailbox, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, FJALL_ADMIN)
    expect(page.get_by_role("heading", level=1, name="Fjällfrakt AB")).to_be_visible()
    expect(page.locator(".cart-link")).to_have_text("Din varukorg är tom")

    page.goto("/downloads/")
    hint = page.locator("section.withheld")
    expect(hint).to_contain_text("SafeLink 6.1")
    hint.get_by_role("link", name="Förnya underhållet i portalen").click()
    expect(page.get_by_role("heading", level=1, name="Licenser")).to_be_visible()
    page.goto(
        page.locator("main a[href^='/licenses/']")
        .filter(has_text="SafeLink")
        .first.get_attribute("href")
    )
    expect(
        page.get_by_role("heading", level=2, name="Förnya eller lägg till platser")
    ).to_be_visible()
    visit(page, f"orders_license_{width}")
    page.get_by_label(re.compile("^Förnyat underhåll, 12 månader")).check()
    page.get_by_role("button", name="Lägg i varukorgen").click()

    expect(page.get_by_role("heading", level=1, name="Varukorg")).to_be_visible()
    expect(page.locator(".cart-link")).to_have_text("Varukorg: 1 artikel")
    table = page.get_by_role("table", name="Ert företags varukorg")
    expect(table).to_contain_text("Förnyat underhåll, 12 månader")
    expect(table).to_contain_text("18\u00a0000,00\u00a0kr")  # the demo's price
    expect(table).to_contain_text("4\u00a0500,00\u00a0kr")  # VAT 25 %
    expect(table).to_contain_text("22\u00a0500,00\u00a0kr")
    _no_sideways_scrolling(page, width)
    visit(page, f"orders_cart_{width}")

    page.get_by_role("link", name="Gå till kassan").click()
    expect(page.get_by_role("heading", level=1, name="Till kassan")).to_be_visible()
    page.get_by_role("button", name="Lägg beställningen").click()
    expect(page.get_by_role("alert")).to_be_visible()  # no invoice reference chosen yet
    visit(page, f"orders_checkout_errors_{width}")
    page.get_by_label(re.compile("^Någon annan")).check()
    page.get_by_label("Den nya fakturareferensens namn").fill("Ingrid Faktura")
    reference = f"ingrid.{width}@fjallfrakt.example.com"
    page.get_by_label("Den nya fakturareferensens e-postadress").fill(reference)
    page.get_by_label("Inköpsordernummer (frivilligt)").fill(f"PO-{width}")
    _no_sideways_scrolling(page, width)
    page.get_by_role("button", name="Lägg beställningen").click()

    expect(
        page.get_by_role("heading", level=1, name=re.compile(r"^Beställning \d+$"))
    ).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Tack.")
    expect(page.locator("main")).to_contain_text("Begärd")
    expect(page.locator("main")).to_contain_text(f"PO-{width}")
    expect(page.locator(".cart-link")).to_have_text("Din varukorg är tom")
    _no_sideways_scrolling(page, width)
    visit(page, f"orders_placed_{width}")
