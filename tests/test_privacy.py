"""`/privacy`: the processing register, with the retention numbers the purge uses."""

import pytest

from portal.register import BOOKKEEPING_YEARS, REGISTER
from tests.factories import in_english


@pytest.fixture
def retention_months(app):
    """Set PORTAL_ACCOUNT_RETENTION_MONTHS for one test, then put the configured value back."""
    saved = app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"]

    def set_months(months: int) -> None:
        app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"] = months

    yield set_months
    app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"] = saved


def _page(client) -> str:
    response = in_english(client).get("/privacy")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_privacy_page_shows_the_default_retention(client, app):
    assert app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"] == 24
    page = _page(client)
    assert "at the latest 24 months after the customer relationship has ended" in page


def test_the_privacy_page_follows_the_configured_retention(client, retention_months):
    retention_months(18)
    page = _page(client)
    assert "at the latest 18 months after the customer relationship has ended" in page
    assert "together with the login accounts, 18 months after" in page
    assert "24 months" not in page


def test_the_privacy_page_shows_the_bookkeeping_period(client):
    page = _page(client)
    assert f"Kept for {BOOKKEEPING_YEARS} years after the end of the calendar year" in page


def test_the_privacy_page_lists_every_purpose_of_the_register(client):
    page = _page(client)
    for purpose in REGISTER:
        assert f'id="purpose-{purpose.key}"' in page


def test_the_privacy_page_is_in_swedish_by_default(client):
    response = client.get("/privacy", headers={"Accept-Language": "sv"})
    assert '<html lang="sv">' in response.get_data(as_text=True)


def test_the_environment_setting_reaches_the_page_of_a_new_app(app_config, monkeypatch):
    from portal import create_app

    monkeypatch.setenv("PORTAL_ACCOUNT_RETENTION_MONTHS", "36")
    other = create_app(dict(app_config))
    page = in_english(other.test_client()).get("/privacy").get_data(as_text=True)
    assert "at the latest 36 months after the customer relationship has ended" in page
