"""Pages reached through a secret link (a token in the URL) are never cached and never send
their URL as a referrer, whatever they answer: the form, a refusal, a used or unknown link."""

import pytest

from portal.accounts import tokens
from portal.accounts.models import TokenPurpose
from portal.db import db
from tests.factories import PASSWORD, csrf_token

TOKEN_PAGES = (
    "/invite/{}",
    "/password/reset/{}",
    "/account/email/confirm/{}",
    "/licenses/manager/confirm/{}",
)


def _assert_private(response):
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_every_route_with_a_token_in_its_url_is_declared_a_secret_link(app):
    with_token = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "token" in rule.arguments and rule.endpoint.startswith("portal.")
    }
    assert with_token == {
        "portal.signin.accept_invitation",
        "portal.signin.reset_password",
        "portal.accounts.confirm_email",
        "portal.licenses.confirm_manager",
    }
    for endpoint in with_token:
        assert getattr(app.view_functions[endpoint], "secret_link", False), endpoint


@pytest.mark.parametrize("page", TOKEN_PAGES)
def test_an_unknown_link_answers_privately(client, page):
    response = client.get(page.format("not-a-real-token"))
    assert response.status_code == 404
    _assert_private(response)


@pytest.mark.parametrize("page", TOKEN_PAGES)
def test_a_refused_post_answers_privately(client, page):
    response = client.post(page.format("not-a-real-token"), data={"password": "x"})
    assert response.status_code == 400  # no CSRF token
    _assert_private(response)


@pytest.mark.parametrize(
    ("purpose", "page"),
    [
        (TokenPurpose.INVITATION, "/invite/{}"),
        (TokenPurpose.PASSWORD_RESET, "/password/reset/{}"),
    ],
)
def test_a_usable_link_and_its_form_errors_answer_privately(client, make_account, purpose, page):
    account = make_account(
        "member", password=None if purpose == TokenPurpose.INVITATION else PASSWORD
    )
    token = tokens.issue(account, purpose)
    db.session.commit()
    path = page.format(token)
    shown = client.get(path)
    assert shown.status_code == 200
    _assert_private(shown)
    refused = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "password": "short", "confirm": "other"},
    )
    assert refused.status_code == 200
    _assert_private(refused)


def test_other_pages_keep_the_same_origin_referrer(client):
    response = client.get("/login")
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_gunicorn_access_log_writes_no_token(app):
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from portal.accesslog import TokenRedactingLogger, redact

    paths = [
        str(rule.rule).replace("<token>", "s3cr3t-T0ken_x")
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "secret_link", False)
    ]
    assert len(paths) == 4
    for path in paths:
        assert "s3cr3t" not in redact(f"/kundportal{path}?next=/x")
        assert redact(path).endswith("/[token]")
    logger = TokenRedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": paths[0],
        "PATH_INFO": paths[0],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://portal.example{paths[1]}",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, [("Referer", environ["HTTP_REFERER"])], environ, timedelta(0))
    assert not [key for key, value in atoms.items() if "s3cr3t" in str(value)]
    assert redact("/licenses/42") == "/licenses/42"
