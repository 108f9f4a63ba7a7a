"""The company's licenses: list, filters and order, detail, masked keys and the audited reveal."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.db import db
from portal.licenses import keys
from portal.licenses.models import EXPIRING_WITHIN_DAYS, IN_FORCE, License, Product
from tests.factories import (
    count_queries,
    designate_license_manager,
    in_english,
    login_as,
    post,
)

MAX_QUERIES_FOR_LICENSE_LIST = 6


@pytest.fixture
def company(make_company):
    return make_company("Nordisk Betalservice AB")


@pytest.fixture
def member_client(client, company, make_account):
    login_as(in_english(client), make_account("member", company=company))
    return client


def _row_products(html: str) -> list[str]:
    """The product cell of each row of the license table, in order."""
    return re.findall(r'<th scope="row"><a href="/licenses/\d+">([^<]+)</a></th>', html)


def _row_states(html: str) -> list[str]:
    return re.findall(r'<span class="state state-[a-z]+">([^<]+)</span>', html)


def test_list_shows_the_company_licenses_with_seats_dates_and_masked_keys(
    frozen_clock, member_client, company, make_license
):
    license = make_license(
        company,
        "safelink-pfr",
        seats=12,
        valid_until=clock.today() + timedelta(days=200),
        maintenance_until=clock.today() + timedelta(days=100),
    )
    db.session.commit()
    html = member_client.get("/licenses/").get_data(as_text=True)
    assert "SafeLink PFR" in html
    assert re.search(r"<td[^>]*>12</td>", html)
    assert license.valid_until.isoformat() in html
    assert license.maintenance_until.isoformat() in html
    assert keys.mask(license.key) in html
    assert license.key not in html


def test_list_shows_no_license_of_another_company(
    member_client, make_company, make_license, company
):
    make_license(company, "safelink")
    other = make_license(make_company(), "secure-envelope")
    db.session.commit()
    html = member_client.get("/licenses/").get_data(as_text=True)
    assert _row_products(html) == ["SafeLink"]
    assert keys.mask(other.key) not in html


def test_states_active_expiring_expired_and_revoked_at_their_edges(
    frozen_clock, member_client, company, make_license
):
    today = clock.today()
    make_license(company, "safelink", valid_until=None)
    make_license(company, "safelink", valid_until=today + timedelta(days=EXPIRING_WITHIN_DAYS + 1))
    make_license(company, "safelink", valid_until=today + timedelta(days=EXPIRING_WITHIN_DAYS))
    make_license(company, "safelink", valid_from=today - timedelta(days=30), valid_until=today)
    make_license(
        company,
        "safelink",
        valid_from=today - timedelta(days=30),
        valid_until=today - timedelta(days=1),
    )
    make_license(company, "safelink").revoked_dt = clock.now()
    db.session.commit()
    html = member_client.get("/licenses/?sort=valid_until").get_data(as_text=True)
    # Valid-until order: yesterday, today, +60, +61, then the two perpetual ones by id.
    assert _row_states(html) == [
        "Expired",
        "Expiring soon",
        "Expiring soon",
        "Active",
        "Active",
        "Revoked",
    ]


def test_filter_by_state_shows_only_licenses_in_that_state(
    frozen_clock, member_client, company, make_license
):
    today = clock.today()
    make_license(company, "safelink", valid_until=today + timedelta(days=EXPIRING_WITHIN_DAYS))
    make_license(company, "secure-envelope", valid_until=today + timedelta(days=365))
    make_license(company, "safelink-pfr").revoked_dt = clock.now()
    db.session.commit()
    expiring = member_client.get("/licenses/?state=expiring").get_data(as_text=True)
    revoked = member_client.get("/licenses/?state=revoked").get_data(as_text=True)
    assert _row_products(expiring) == ["SafeLink"]
    assert _row_products(revoked) == ["SafeLink PFR"]


def test_filter_by_product_shows_only_that_product(member_client, company, make_license):
    make_license(company, "safelink")
    make_license(company, "safelink-pfr")
    make_license(company, "secure-envelope")
    db.session.commit()
    html = member_client.get("/licenses/?product=secure-envelope").get_data(as_text=True)
    assert _row_products(html) == ["Nordea Secure Envelope"]


def test_filters_combine_and_an_empty_result_says_so(
    frozen_clock, member_client, company, make_license
):
    make_license(company, "safelink")
    db.session.commit()
    html = member_client.get("/licenses/?product=safelink&state=expired").get_data(as_text=True)
    assert _row_products(html) == []
    assert "No license matches the filter." in html


def test_sort_by_product_is_alphabetical_and_can_be_reversed(member_client, company, make_license):
    for code in ("secure-envelope", "safelink", "safelink-pfr"):
        make_license(company, code)
    db.session.commit()
    ascending = member_client.get("/licenses/?sort=product").get_data(as_text=True)
    descending = member_client.get("/licenses/?sort=product&order=desc").get_data(as_text=True)
    names = ["Nordea Secure Envelope", "SafeLink", "SafeLink PFR"]
    assert _row_products(ascending) == names
    assert _row_products(descending) == names[::-1]


def test_sort_by_valid_until_puts_perpetual_licenses_last(
    frozen_clock, member_client, company, make_license
):
    today = clock.today()
    make_license(company, "safelink", valid_until=None)
    make_license(company, "safelink-pfr", valid_until=today + timedelta(days=300))
    make_license(company, "secure-envelope", valid_until=today + timedelta(days=10))
    db.session.commit()
    ascending = member_client.get("/licenses/?sort=valid_until").get_data(as_text=True)
    descending = member_client.get("/licenses/?sort=valid_until&order=desc").get_data(as_text=True)
    assert _row_products(ascending) == ["Nordea Secure Envelope", "SafeLink PFR", "SafeLink"]
    assert _row_products(descending) == ["SafeLink", "SafeLink PFR", "Nordea Secure Envelope"]


def test_sort_by_state_follows_the_license_life(frozen_clock, member_client, company, make_license):
    today = clock.today()
    make_license(company, "secure-envelope").revoked_dt = clock.now()
    make_license(
        company,
        "safelink-pfr",
        valid_from=today - timedelta(days=90),
        valid_until=today - timedelta(days=1),
    )
    make_license(company, "safelink", valid_until=today + timedelta(days=5))
    make_license(company, "safelink", valid_until=None)
    db.session.commit()
    html = member_client.get("/licenses/?sort=state").get_data(as_text=True)
    assert _row_states(html) == ["Active", "Expiring soon", "Expired", "Revoked"]


@pytest.mark.parametrize(
    "query",
    [
        "product=no-such-product",
        "state=sleeping",
        "sort=key",
        "order=sideways",
        "product=%27%3B+drop+table+licenses%3B--&state=&sort=",
        "product=safelink&product=secure-envelope&state=active&state=x",
    ],
)
def test_invalid_filter_values_are_ignored(member_client, company, make_license, query):
    make_license(company, "safelink")
    make_license(company, "secure-envelope")
    db.session.commit()
    response = member_client.get(f"/licenses/?{query}")
    assert response.status_code == 200
    assert len(_row_products(response.get_data(as_text=True))) >= 1


def _add_licenses(company, count: int) -> None:
    products = db.session.scalars(sa.select(Product).order_by(Product.id)).all()
    today = clock.today()
    db.session.execute(
        sa.insert(License),
        [
            {
                "company_id": company.id,
                "product_id": products[n % len(products)].id,
                "key": keys.generate(),
                "seats": 1 + n % 50,
                "valid_from": today - timedelta(days=400),
                "valid_until": None if n % 7 == 0 else today + timedelta(days=n - 100),
                "maintenance_until": today + timedelta(days=n % 90) if n % 3 else None,
                "revoked_dt": clock.now() if n % 11 == 0 else None,
                "created_dt": clock.now(),
            }
            for n in range(count)
        ],
    )
    db.session.commit()


def _queries_for_license_list(client, path: str = "/licenses/") -> int:
    with count_queries() as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_500_licenses_render_in_a_bounded_number_of_queries(member_client, company):
    _add_licenses(company, 500)
    queries = _queries_for_license_list(member_client)
    html = member_client.get("/licenses/").get_data(as_text=True)
    assert len(_row_products(html)) == 500
    assert queries <= MAX_QUERIES_FOR_LICENSE_LIST


def test_license_list_queries_do_not_grow_with_the_number_of_licenses(
    member_client, company, make_company
):
    _add_licenses(company, 3)
    few = _queries_for_license_list(member_client, "/licenses/?sort=state&state=active")
    _add_licenses(company, 300)
    many = _queries_for_license_list(member_client, "/licenses/?sort=state&state=active")
    assert few == many


def test_detail_shows_the_license_and_the_releases_it_entitles_to(
    frozen_clock, member_client, company, make_license, make_release
):
    today = clock.today()
    license = make_license(
        company, "safelink", seats=7, maintenance_until=today - timedelta(days=10)
    )
    covered = make_release("safelink", "6.0", released_on=today - timedelta(days=10))
    uncovered = make_release("safelink", "6.1", released_on=today - timedelta(days=9))
    other_product = make_release("secure-envelope", "1.8", released_on=today - timedelta(days=30))
    db.session.commit()
    html = member_client.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert "License for SafeLink" in html
    assert keys.mask(license.key) in html
    assert f"/downloads/files/{covered.files[0].id}" in html
    assert f"/downloads/files/{uncovered.files[0].id}" not in html
    assert f"/downloads/files/{other_product.files[0].id}" not in html


def test_detail_of_a_revoked_license_offers_no_release(
    member_client, company, make_license, make_release
):
    license = make_license(company, "safelink")
    release = make_release("safelink")
    license.revoked_dt = clock.now()
    db.session.commit()
    html = member_client.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert f"/downloads/files/{release.files[0].id}" not in html
    assert "gives access to no releases" in html


def test_license_of_another_company_answers_404(member_client, make_company, make_license):
    foreign = make_license(make_company(), "safelink")
    db.session.commit()
    assert member_client.get(f"/licenses/{foreign.id}").status_code == 404


def test_unknown_license_answers_404(member_client):
    assert member_client.get("/licenses/999999").status_code == 404


def test_member_never_sees_a_full_key(member_client, company, make_license):
    license = make_license(company, "safelink")
    db.session.commit()
    pages = [
        member_client.get(path).get_data(as_text=True)
        for path in ("/licenses/", f"/licenses/{license.id}")
    ]
    for html in pages:
        assert keys.mask(license.key) in html
        assert license.key not in html
        assert license.key.replace("-", "") not in html
    assert "Show the full key" not in pages[1]


def test_member_is_refused_the_reveal_and_nothing_is_revealed(member_client, company, make_license):
    license = make_license(company, "safelink")
    db.session.commit()
    response = post(member_client, f"/licenses/{license.id}/reveal")
    assert response.status_code == 403
    assert license.key not in response.get_data(as_text=True)
    revealed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "license.key_revealed")
    )
    assert revealed == 0


def _reveal_events(license):
    return db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "license.key_revealed", AuditEvent.subject_id == license.id
        )
    ).all()


def test_company_admin_reveals_the_key_audited_and_not_stored(
    client, company, make_account, make_license
):
    admin = make_account("admin", company=company)
    license = make_license(company, "safelink")
    db.session.commit()
    login_as(in_english(client), admin)
    detail = client.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert "Show the full key" in detail
    assert license.key not in detail
    response = post(client, f"/licenses/{license.id}/reveal", page=f"/licenses/{license.id}")
    assert response.status_code == 200
    assert license.key in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    [event] = _reveal_events(license)
    assert event.actor_account_id == admin.id
    assert event.company_id == company.id
    assert event.subject_type == "License"


def test_license_manager_reveals_the_key(client, company, make_account, make_license):
    manager = make_account("member", company=company)
    designate_license_manager(manager)
    license = make_license(company, "safelink")
    db.session.commit()
    login_as(client, manager)
    response = post(client, f"/licenses/{license.id}/reveal")
    assert response.status_code == 200
    assert license.key in response.get_data(as_text=True)
    assert [event.actor_account_id for event in _reveal_events(license)] == [manager.id]


def test_admin_of_another_company_cannot_reveal_a_key(
    client, make_company, make_account, make_license
):
    license = make_license(make_company(), "safelink")
    login_as(client, make_account("admin", company=make_company()))
    response = post(client, f"/licenses/{license.id}/reveal")
    assert response.status_code == 404
    assert license.key not in response.get_data(as_text=True)
    assert _reveal_events(license) == []


def test_reveal_is_post_only(client, company, make_account, make_license):
    license = make_license(company, "safelink")
    login_as(client, make_account("admin", company=company))
    assert client.get(f"/licenses/{license.id}/reveal").status_code == 405


# --- the rules of a license's life, in Python and in SQL ---------------------------------------

DAYS = (-400, -61, -60, -1, 0, 1, 59, 60, 61, 400)


def _licenses_in_every_shape(company, make_license, today):
    """Licenses starting, ending and revoked on days around `today`, and perpetual ones."""
    licenses = []
    for starts in (-400, 0, 1, 30):
        for ends in (None, *DAYS):
            if ends is not None and ends < starts:
                continue
            for revoked in (False, True):
                license = make_license(
                    company,
                    valid_from=today + timedelta(days=starts),
                    valid_until=None if ends is None else today + timedelta(days=ends),
                    maintenance_until=today + timedelta(days=ends or 10),
                )
                if revoked:
                    license.revoked_dt = clock.now()
                licenses.append(license)
    db.session.flush()
    return licenses


def test_the_sql_rules_agree_with_the_python_rules_on_every_shape_of_license(
    app_ctx, company, make_license
):
    today = clock.today()
    licenses = _licenses_in_every_shape(company, make_license, today)
    released_on = today - timedelta(days=5)
    rows = db.session.execute(
        sa.select(
            License.id,
            License.state_expression(today),
            License.is_active_on(today),
            License.covers(released_on),
        ).where(License.company_id == company.id)
    ).all()
    in_sql = {
        license_id: (state, bool(active), bool(covers))
        for license_id, state, active, covers in rows
    }
    for license in licenses:
        in_python = (
            license.state_on(today).value,
            license.is_active_on(today),
            license.covers(released_on),
        )
        assert in_sql[license.id] == in_python, (license.valid_from, license.valid_until)
    # "In force" is the active rule, in either language.
    for license in licenses:
        assert (license.state_on(today) in IN_FORCE) is license.is_active_on(today)
