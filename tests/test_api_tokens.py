"""API tokens: company admins create named, scoped, expiring tokens at /company/api-tokens,
shown once and stored hashed, revocable; with them a company's programs list its licenses
(with machines), its entitled releases, and download files like the web does. Every use is
audited, and a company's tokens go when its accounts are purged."""

import hashlib
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.machines import api_tokens
from portal.machines.models import ApiToken
from portal.retention import purge as retention
from tests import factories

TOKEN_PATTERN = re.compile(r'id="new-token"[^>]*value="(slp_[A-Za-z0-9_-]{43})"')


@pytest.fixture
def company(make_company):
    return make_company("Automat AB")


@pytest.fixture
def admin(company, make_account):
    return make_account("admin", company=company)


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _create(client, **fields):
    data = {
        "name": "Deployment server",
        "licenses_read": "y",
        "releases_download": "y",
        "expires_on": (clock.today() + timedelta(days=30)).isoformat(),
        **fields,
    }
    return factories.post(client, "/company/api-tokens", data, page="/company/api-tokens")


@pytest.mark.english
def test_an_admin_creates_a_token_that_is_shown_once_and_stored_hashed(client, admin):
    factories.login_as(client, admin)
    response = _create(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "it is shown only this once" in page
    secret = TOKEN_PATTERN.search(page).group(1)
    token = db.session.scalar(sa.select(ApiToken))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(db.session.execute(sa.select(ApiToken.__table__)).all())
    assert token.scope_list == ["licenses:read", "releases:download"]
    listing = client.get("/company/api-tokens").get_data(as_text=True)
    assert secret not in listing
    assert token.prefix in listing and "Deployment server" in listing
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert event.actor_account_id == admin.id
    assert secret not in str(event.details)


@pytest.mark.english
def test_a_token_needs_a_name_a_scope_and_an_expiry_within_a_year(client, admin):
    factories.login_as(client, admin)
    page = _create(
        client,
        name="",
        licenses_read="",
        releases_download="",
        expires_on=(clock.today() + timedelta(days=400)).isoformat(),
    ).get_data(as_text=True)
    assert "Give the token a name" in page
    assert "Choose what the token may do." in page
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0
    page = _create(client, expires_on=(clock.today() + timedelta(days=400)).isoformat()).get_data(
        as_text=True
    )
    assert "at most 366 days ahead" in page


@pytest.mark.english
def test_an_admin_revokes_a_token_and_it_stops_working(client, company, admin):
    token, secret = factories.make_api_token(company, admin)
    db.session.commit()
    assert client.get("/api/v1/licenses", headers=bearer(secret)).status_code == 200
    factories.login_as(client, admin)
    path = f"/company/api-tokens/{token.id}/revoke"
    assert "Revoke the token Test token?" in client.get(path).get_data(as_text=True)
    assert factories.post(client, path, page=path).status_code == 302
    refused = client.get("/api/v1/licenses", headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "token_revoked"


def test_the_licenses_come_with_their_machines(client, company, admin, make_license):
    license = make_license(company, seats=4)
    factories.make_machine(license, hostname="build-agent-1")
    factories.make_license(factories.make_company(), seats=9)  # another company's
    _token, secret = factories.make_api_token(company, admin, scopes=["licenses:read"])
    db.session.commit()
    body = client.get("/api/v1/licenses", headers=bearer(secret)).get_json()
    assert [entry["id"] for entry in body["licenses"]] == [license.id]
    entry = body["licenses"][0]
    assert entry["key"] == license.key
    assert (entry["seats"], entry["seats_used"], entry["state"]) == (4, 1, "active")
    assert [machine["hostname"] for machine in entry["machines"]] == ["build-agent-1"]


def test_releases_are_the_entitled_ones_and_a_download_is_recorded_like_the_webs(
    client, company, admin, make_license, make_release
):
    make_license(company, "safelink", maintenance_until=date(2026, 6, 30))
    covered = make_release("safelink", "6.1", released_on=date(2026, 5, 1), content=b"six-one")
    make_release("safelink", "7.0", released_on=date(2027, 1, 10))  # after maintenance
    make_release("safelink-pfr", "2.0", released_on=date(2026, 5, 1))  # not licensed
    token, secret = factories.make_api_token(company, admin, scopes=["releases:download"])
    db.session.commit()
    body = client.get("/api/v1/releases", headers=bearer(secret)).get_json()
    assert [release["version"] for release in body["releases"]] == ["6.1"]
    file = body["releases"][0]["files"][0]
    assert file["url"] == f"/api/v1/releases/files/{covered.files[0].id}"
    download = client.get(file["url"], headers=bearer(secret))
    assert download.status_code == 200
    assert download.get_data() == b"six-one"
    assert hashlib.sha256(download.get_data()).hexdigest() == file["sha256"]
    record = db.session.scalar(sa.select(DownloadRecord))
    assert (record.company_id, record.account_id) == (company.id, None)
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "release.downloaded")
    )
    assert event.actor_label == api_tokens.label(token)
    assert event.company_id == company.id


def test_a_file_the_company_is_not_entitled_to_is_not_found(
    client, company, admin, make_license, make_release
):
    make_license(company, "safelink")
    other = make_release("safelink-pfr", "2.0")
    _token, secret = factories.make_api_token(company, admin, scopes=["releases:download"])
    db.session.commit()
    response = client.get(f"/api/v1/releases/files/{other.files[0].id}", headers=bearer(secret))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert db.session.scalar(sa.select(sa.func.count(DownloadRecord.id))) == 0


def test_every_use_of_a_token_is_audited_and_remembered(client, company, admin):
    token, secret = factories.make_api_token(company, admin)
    db.session.commit()
    client.get("/api/v1/licenses", headers=bearer(secret))
    client.get("/api/v1/releases", headers=bearer(secret))
    client.get("/api/v1/licenses", headers=bearer(secret + "x"))
    events = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.outcome, AuditEvent.details)
        .where(AuditEvent.action.like("api_token.%"), AuditEvent.action != "api_token.created")
        .order_by(AuditEvent.id)
    ).all()
    assert [(action, outcome) for action, outcome, _details in events] == [
        ("api_token.used", "success"),
        ("api_token.used", "success"),
        ("api_token.refused", "refused"),
    ]
    assert events[0].details == {"endpoint": "portal.api.licenses", "method": "GET"}
    assert events[2].details["code"] == "token_invalid"
    db.session.refresh(token)
    assert token.last_used_dt is not None


def test_the_company_activity_log_shows_the_token_uses(client, company, admin):
    _token, secret = factories.make_api_token(company, admin)
    db.session.commit()
    client.get("/api/v1/licenses", headers=bearer(secret))
    factories.login_as(client, admin)
    page = client.get("/company/activity").get_data(as_text=True)
    assert "använde API-nyckeln Test token." in page


def test_a_companys_tokens_go_when_its_accounts_are_purged(frozen_clock, make_company):
    ended = make_company("Slutad AB", ended_on=date(2024, 11, 2))
    admin = factories.make_account("admin", company=ended)
    factories.make_api_token(ended, admin)
    factories.make_api_token(ended, admin)
    staying = make_company("Kvar AB")
    factories.make_api_token(staying, factories.make_account("admin", company=staying))
    db.session.commit()
    report = retention.purge(clock.today())
    assert report.counts["api_tokens"] == 2
    assert "api_tokens=2" in report.summary()
    companies = db.session.scalars(sa.select(ApiToken.company_id)).all()
    assert companies == [staying.id]
    again = retention.purge(clock.today())
    assert again.counts["api_tokens"] == 0
