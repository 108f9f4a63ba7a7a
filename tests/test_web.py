"""The web shell: health check, error pages, security headers, language switch, safe redirects."""

import re

import pytest
from flask import abort

from portal import create_app
from portal.i18n import LANGUAGE_COOKIE
from tests.factories import PASSWORD, csrf_token, login_as

ENGLISH = {"Accept-Language": "en"}
UNSAFE_TARGETS = [
    "https://evil.example/phish",
    "//evil.example/phish",
    "/\\evil.example/phish",
    "http:/evil.example",
    "javascript:alert(1)",
    "privacy",
]
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def headings(response) -> list[str]:
    return [h.strip() for h in H1.findall(response.get_data(as_text=True))]


def in_portal_layout(response) -> bool:
    page = response.get_data(as_text=True)
    return all(part in page for part in ('class="site-header"', 'class="site-footer"', "<main"))


@pytest.fixture
def throwaway(tmp_path):
    """A standalone portal that propagates nothing, with routes that fail on purpose."""
    app = create_app(
        {
            "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "throwaway",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'throwaway.sqlite3'}",
            "TESTING": False,
            "PROPAGATE_EXCEPTIONS": False,
        }
    )

    @app.get("/broken")
    def broken():
        raise RuntimeError("secret detail of the failure")

    @app.get("/forbidden")
    def forbidden():
        abort(403)

    return app


def test_healthz_answers_json_with_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.no_transaction
def test_healthz_reports_an_unreachable_database_with_503(tmp_path):
    app = create_app(
        {
            "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "health",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}


def test_unknown_page_answers_404_in_the_portal_layout(client):
    response = client.get("/no-such-page", headers=ENGLISH)
    assert response.status_code == 404
    assert in_portal_layout(response)
    assert headings(response) == ["Page not found"]


def test_error_page_speaks_swedish_by_default(client):
    response = client.get("/no-such-page")
    assert '<html lang="sv">' in response.get_data(as_text=True)


def test_wrong_method_answers_405_in_the_portal_layout(client):
    response = client.post("/healthz", headers=ENGLISH)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert in_portal_layout(response)
    assert headings(response) == ["Method not allowed"]


@pytest.mark.no_transaction
def test_forbidden_answers_403_in_the_portal_layout(throwaway):
    response = throwaway.test_client().get("/forbidden", headers=ENGLISH)
    assert response.status_code == 403
    assert in_portal_layout(response)
    assert headings(response) == ["Not allowed"]


@pytest.mark.no_transaction
def test_unexpected_failure_renders_the_500_page_without_details(throwaway):
    response = throwaway.test_client().get("/broken", headers=ENGLISH)
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert in_portal_layout(response)
    assert headings(response) == ["Something went wrong"]
    assert "secret detail" not in page
    assert "Traceback" not in page


def test_form_post_without_csrf_token_answers_400_in_the_portal_layout(client):
    response = client.post(
        "/login", data={"email": "a@example.com", "password": PASSWORD}, headers=ENGLISH
    )
    assert response.status_code == 400
    assert in_portal_layout(response)
    assert headings(response) == ["Bad request"]


def test_error_pages_answer_json_to_json_clients(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize("path", ["/login", "/privacy", "/no-such-page"])
def test_pages_carry_a_strict_content_security_policy(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]
    directives = {part.strip() for part in policy.split(";")}
    assert {
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    } <= directives
    assert "unsafe-inline" not in policy


def test_pages_forbid_mime_sniffing_and_limit_the_referrer(client):
    headers = client.get("/login").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {"same-origin", "strict-origin", "no-referrer"}


def test_signed_in_pages_are_not_stored_by_the_browser(client, make_account):
    login_as(client, make_account("member"))
    assert "no-store" in client.get("/").headers["Cache-Control"]


def test_public_pages_of_strangers_may_be_cached(client):
    assert "no-store" not in client.get("/privacy").headers.get("Cache-Control", "")


def test_language_switch_sets_the_cookie_and_returns_to_the_page(client):
    response = client.get("/language/en?next=/privacy")
    assert response.status_code == 302
    assert response.headers["Location"] == "/privacy"
    assert client.get_cookie(LANGUAGE_COOKIE).value == "en"
    assert '<html lang="en">' in client.get("/privacy").get_data(as_text=True)


def test_language_cookie_is_http_only(client):
    response = client.get("/language/en?next=/privacy")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(LANGUAGE_COOKIE)]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.parametrize("target", UNSAFE_TARGETS)
def test_language_switch_ignores_a_next_that_is_not_a_local_path(client, target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_refuses_an_unknown_language(client):
    response = client.get("/language/de?next=/privacy")
    assert response.status_code == 302
    assert client.get_cookie(LANGUAGE_COOKIE) is None


def sign_in(client, account, next_url):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": account.email, "password": PASSWORD, "csrf_token": token},
    )


def test_login_follows_a_local_next(client, make_account):
    response = sign_in(client, make_account("member"), "/privacy")
    assert response.status_code == 302
    assert response.headers["Location"] == "/privacy"


@pytest.mark.parametrize("target", UNSAFE_TARGETS)
def test_login_ignores_a_next_that_is_not_a_local_path(client, make_account, target):
    response = sign_in(client, make_account("member"), target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_stranger_at_the_dashboard_is_sent_to_login_with_next(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/"


# A script must come from a file of the portal (`<script src>`): the CSP refuses inline ones.
INLINE = re.compile(r"<script(?![^>]*\ssrc=)|\sstyle=|\son[a-z]+=|javascript:", re.I)


def visible_pages(app, client):
    """Every GET page of the portal that takes no URL argument, as the client sees it."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint.endswith("static"):
            continue
        response = client.get(rule.rule)
        if response.status_code == 200 and response.mimetype == "text/html":
            yield rule.rule, response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["anonymous", "member", "admin", "support", "staff_admin"])
def test_no_page_has_inline_script_style_or_event_handler(app, client, make_account, role):
    if role != "anonymous":
        login_as(client, make_account(role))
    pages = dict(visible_pages(app, client))
    assert pages, "some pages were checked"
    offending = {path: INLINE.findall(page) for path, page in pages.items() if INLINE.search(page)}
    assert offending == {}


def test_every_page_has_exactly_one_heading(app, client, make_account):
    login_as(client, make_account("admin"))
    counts = {path: len(H1.findall(page)) for path, page in visible_pages(app, client)}
    assert {path: n for path, n in counts.items() if n != 1} == {}


def test_layout_links_the_privacy_page_and_the_stylesheet(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/privacy"' in page
    assert 'href="/static/portal.css"' in page
    assert client.get("/static/portal.css").status_code == 200


def test_fields_without_errors_are_not_announced_as_invalid(client):
    page = client.get("/login").get_data(as_text=True)
    email = re.search(r"<input[^>]*\bname=\"email\"[^>]*>", page).group(0)
    assert "aria-invalid" not in email  # ARIA reads any value but "false" as invalid
    assert 'aria-describedby="None"' not in email


def test_field_with_an_error_points_to_its_message(client):
    token = csrf_token(client, "/login")
    page = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    text = page.get_data(as_text=True)
    email = re.search(r"<input[^>]*\bname=\"email\"[^>]*>", text).group(0)
    assert 'aria-invalid="true"' in email
    assert 'aria-describedby="email-error"' in email
    assert 'id="email-error"' in text


def test_stylesheet_is_our_own_and_loads_nothing_from_elsewhere(client):
    css = client.get("/static/portal.css").get_data(as_text=True)
    assert "@import" not in css
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    assert re.search(r":focus-visible\s*\{[^}]*outline:\s*3px solid", css)
    assert len(css.splitlines()) < 300


def test_a_nul_character_in_any_input_is_a_bad_request(client):
    from tests.factories import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "\x00", "password": "x", "csrf_token": token})
    assert response.status_code == 400
    assert client.get("/privacy?q=%00").status_code == 400


def test_a_refusal_of_the_whole_form_is_shown_above_it(app, app_ctx):
    from portal import rendering
    from portal.forms import PortalForm, show_refusal
    from portal.refusals import Refusal

    with app.test_request_context("/"):
        form = PortalForm(meta={"csrf": False})
        show_refusal(form, Refusal("Nothing of this can be done now."))
        macros = rendering.get_template("portal/macros/forms.html").module
        summary = str(macros.error_summary(form))
    assert "Nothing of this can be done now." in summary
