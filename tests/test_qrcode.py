"""TOTP enrolment shows its otpauth:// link as a QR code: inline SVG from segno, under the CSP
(no script, no style attribute), on the page that is never stored."""

import re

import pytest

from portal.accounts.qrcode import qr_svg
from portal.http import CONTENT_SECURITY_POLICY
from tests.factories import login_as

ENROL = "/account/two-factor/enrol"
pytestmark = pytest.mark.english


def test_the_enrolment_page_shows_the_link_as_an_inline_svg_qr_code(client, make_account):
    account = make_account("member", email="anna@kund.example")
    login_as(client, account)
    response = client.get(ENROL)
    page = response.get_data(as_text=True)
    uri = re.search(r'href="(otpauth://[^"]+)"', page).group(1).replace("&amp;", "&")
    svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
    with client.application.test_request_context():
        assert svg == str(qr_svg(uri, "QR code with the key for anna@kund.example"))
    assert svg.startswith('<svg role="img" focusable="false"')
    assert "<title>QR code with the key for anna@kund.example</title>" in svg
    assert "style=" not in svg and "<script" not in svg and "href" not in svg
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_qr_code_changes_with_the_link(app_ctx):
    first = str(qr_svg("otpauth://totp/Kundportalen:a%40b.se?secret=AAAA", "QR"))
    second = str(qr_svg("otpauth://totp/Kundportalen:a%40b.se?secret=BBBB", "QR"))
    assert first != second
    assert str(qr_svg("x", "<b>")).count("<title>&lt;b&gt;</title>") == 1
