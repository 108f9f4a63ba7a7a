"""Hypothesis sends arbitrary input to the account forms: the answer is never a server error."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import csrf_token, login_as

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(max_size=300)
weird_text = st.one_of(
    text,
    st.sampled_from(["", " ", "\x00", "a@b", "@", "a" * 5000, "<script>", "ö@ä.se", "\u202e"]),
)


@FUZZ
@given(email=weird_text, password=weird_text, remember=st.sampled_from(["", "y", "on", "x"]))
def test_login_form_never_fails(client, email, password, remember):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "remember": remember, "csrf_token": token},
    )
    assert response.status_code in (200, 302, 400, 429)


@FUZZ
@given(token_text=st.text(min_size=1, max_size=200), password=weird_text, confirm=weird_text)
def test_invitation_form_never_fails(client, token_text, password, confirm):
    path = "/invite/" + "".join(c for c in token_text if c.isalnum() or c in "-_") or "/invite/x"
    if path == "/invite/":
        path = "/invite/x"
    page = client.get(path)
    assert page.status_code in (404, 410)
    response = client.post(
        path, data={"password": password, "confirm": confirm, "csrf_token": csrf_token(client)}
    )
    assert response.status_code in (400, 404, 410, 429)


@pytest.fixture
def admin_client(app, make_account):
    client = app.test_client()
    login_as(client, make_account("admin"))
    return client


@FUZZ
@given(email=weird_text, name=weird_text, role=weird_text)
def test_invite_user_form_never_fails(admin_client, email, name, role):
    client = admin_client
    token = csrf_token(client, "/company/users")
    response = client.post(
        "/company/users",
        data={"email": email, "name": name, "role": role, "csrf_token": token},
    )
    assert response.status_code in (200, 302, 400)


@FUZZ
@given(name=weird_text, phone=weird_text, language=weird_text)
def test_profile_form_never_fails(admin_client, name, phone, language):
    client = admin_client
    token = csrf_token(client, "/account")
    response = client.post(
        "/account",
        data={"name": name, "phone": phone, "language": language, "csrf_token": token},
    )
    assert response.status_code in (200, 302, 400)
