"""Downloads: the entitlement rule at its edges, byte-exact files with Range and ETag, 404 for
everything not entitled, records and audit, X-Accel-Redirect, bounded queries, and the dashboard's
end-of-life banner."""

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.i18n import human_size
from portal.licenses import entitlement, store
from portal.licenses import service as licenses
from portal.licenses.models import (
    WARN_DAYS_BEFORE_END_OF_LIFE,
    License,
    Product,
    Release,
    ReleaseFile,
)
from tests import factories
from tests.factories import count_queries, in_english, login_as, make_release, view_as

CONTENT = bytes(range(256)) * 400 + b"the end of the installer\n"


@pytest.fixture
def company(make_company):
    return make_company("Fjällfrakt AB")


@pytest.fixture
def member(company, make_account):
    return make_account("member", company=company)


@pytest.fixture
def member_client(client, member):
    login_as(in_english(client), member)
    return client


def _file_of(release) -> ReleaseFile:
    return release.files[0]


def _offered_ids(company) -> list[int]:
    return [release.id for release in entitlement.offered_releases(company.id)]


# The entitlement rule ------------------------------------------------------------------------


def test_release_on_the_maintenance_end_date_is_offered(
    frozen_clock, member_client, company, make_license, make_release
):
    end = clock.today() - timedelta(days=30)
    make_license(company, "safelink", maintenance_until=end)
    release = make_release("safelink", "6.0", released_on=end)
    db.session.commit()
    assert _offered_ids(company) == [release.id]
    assert member_client.get(f"/downloads/files/{_file_of(release).id}").status_code == 200
    assert f"/downloads/files/{_file_of(release).id}" in member_client.get("/downloads/").text


def test_release_one_day_after_the_maintenance_end_is_not_offered(
    frozen_clock, member_client, company, make_license, make_release
):
    end = clock.today() - timedelta(days=30)
    make_license(company, "safelink", maintenance_until=end)
    release = make_release("safelink", "6.1", released_on=end + timedelta(days=1))
    db.session.commit()
    assert _offered_ids(company) == []
    assert member_client.get(f"/downloads/files/{_file_of(release).id}").status_code == 404
    assert f"/downloads/files/{_file_of(release).id}" not in member_client.get("/downloads/").text


def test_license_without_maintenance_end_offers_every_release(
    frozen_clock, company, make_license, make_release
):
    make_license(company, "safelink", maintenance_until=None)
    old = make_release("safelink", "4.0", released_on=clock.today() - timedelta(days=3000))
    new = make_release("safelink", "6.2", released_on=clock.today())
    assert set(_offered_ids(company)) == {old.id, new.id}


def test_only_the_licensed_product_is_offered(company, make_license, make_release):
    make_license(company, "safelink")
    make_release("secure-envelope", "1.8", released_on=clock.today())
    assert _offered_ids(company) == []


def test_the_best_of_several_licenses_counts(frozen_clock, company, make_license, make_release):
    today = clock.today()
    make_license(company, "safelink", maintenance_until=today - timedelta(days=100))
    make_license(company, "safelink", maintenance_until=today)
    release = make_release("safelink", "6.1", released_on=today - timedelta(days=50))
    assert _offered_ids(company) == [release.id]


@pytest.mark.parametrize(
    ("valid_from_days", "valid_until_days", "revoked", "offered"),
    [
        (-10, 0, False, True),  # valid until today: still active
        (-10, -1, False, False),  # valid until yesterday: expired
        (-10, None, True, False),  # revoked
        (0, None, False, True),  # valid from today
        (1, None, False, False),  # valid from tomorrow: not yet
    ],
)
def test_only_an_active_license_that_has_started_offers_releases(
    frozen_clock,
    company,
    make_license,
    make_release,
    valid_from_days,
    valid_until_days,
    revoked,
    offered,
):
    today = clock.today()
    license = make_license(
        company,
        "safelink",
        valid_from=today + timedelta(days=valid_from_days),
        valid_until=None if valid_until_days is None else today + timedelta(days=valid_until_days),
    )
    if revoked:
        license.revoked_dt = clock.now()
    release = make_release("safelink", released_on=today - timedelta(days=20))
    # The SQL rule agrees with the model's own idea of an active license.
    assert license.is_active_on(today) is offered
    assert (_offered_ids(company) == [release.id]) is offered
    assert (entitlement.offered_file(company.id, _file_of(release).id) is not None) is offered


# Downloading ----------------------------------------------------------------------------------


@pytest.fixture
def entitled_file(company, make_license, make_release):
    make_license(company, "safelink")
    release = make_release("safelink", "6.1", content=CONTENT, filename="SafeLink-6.1-setup.zip")
    db.session.commit()
    return _file_of(release)


def test_download_is_byte_exact_with_matching_sha256(member_client, entitled_file):
    response = member_client.get(f"/downloads/files/{entitled_file.id}")
    assert response.status_code == 200
    assert response.data == CONTENT
    assert hashlib.sha256(response.data).hexdigest() == entitled_file.sha256
    assert response.headers["Content-Length"] == str(len(CONTENT))
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=SafeLink-6.1-setup.zip"
    )
    assert response.headers["Accept-Ranges"] == "bytes"


def test_range_request_answers_206_with_the_requested_bytes(member_client, entitled_file):
    response = member_client.get(
        f"/downloads/files/{entitled_file.id}", headers={"Range": "bytes=1000-1999"}
    )
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(CONTENT)}"
    assert response.data == CONTENT[1000:2000]


def test_open_ended_range_resumes_to_the_end(member_client, entitled_file):
    start = len(CONTENT) - 100
    response = member_client.get(
        f"/downloads/files/{entitled_file.id}", headers={"Range": f"bytes={start}-"}
    )
    assert response.status_code == 206
    assert response.data == CONTENT[start:]


def test_etag_is_the_sha256_and_if_none_match_answers_304(member_client, entitled_file):
    path = f"/downloads/files/{entitled_file.id}"
    first = member_client.get(path)
    assert first.headers["ETag"] == f'"{entitled_file.sha256}"'
    again = member_client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_non_ascii_file_name_is_sent_both_ways(member_client, company, make_license, make_release):
    make_license(company, "secure-envelope")
    release = make_release("secure-envelope", "1.9", filename="Säker kuvert 1.9.zip")
    db.session.commit()
    disposition = member_client.get(f"/downloads/files/{_file_of(release).id}").headers[
        "Content-Disposition"
    ]
    assert "filename*=UTF-8''S%C3%A4ker%20kuvert%201.9.zip" in disposition


def test_unknown_file_answers_404(member_client, entitled_file):
    assert member_client.get("/downloads/files/987654").status_code == 404


def test_file_of_another_company_answers_404(
    member_client, make_company, make_license, make_release
):
    other = make_company()
    make_license(other, "secure-envelope")
    release = make_release("secure-envelope", content=CONTENT)
    db.session.commit()
    response = member_client.get(f"/downloads/files/{_file_of(release).id}")
    assert response.status_code == 404
    assert CONTENT[:100] not in response.data


def test_file_of_an_unlicensed_product_answers_404(
    member_client, company, make_license, make_release
):
    make_license(company, "safelink")
    release = make_release("safelink-pfr")
    db.session.commit()
    assert member_client.get(f"/downloads/files/{_file_of(release).id}").status_code == 404


def test_file_of_a_revoked_license_answers_404(member_client, company, entitled_file):
    license = db.session.scalar(sa.select(License).where(License.company_id == company.id))
    license.revoked_dt = clock.now()
    db.session.commit()
    assert member_client.get(f"/downloads/files/{entitled_file.id}").status_code == 404


def test_download_is_recorded_and_audited(member_client, member, company, entitled_file):
    member_client.get(f"/downloads/files/{entitled_file.id}")
    [record] = db.session.scalars(sa.select(DownloadRecord)).all()
    assert (record.account_id, record.company_id, record.release_file_id) == (
        member.id,
        company.id,
        entitled_file.id,
    )
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "release.downloaded")
    ).all()
    assert event.actor_account_id == member.id
    assert event.subject_id == entitled_file.id
    assert event.details["version"] == "6.1"


def test_resumed_range_and_not_modified_are_not_new_downloads(member_client, entitled_file):
    path = f"/downloads/files/{entitled_file.id}"
    etag = member_client.get(path).headers["ETag"]
    member_client.get(path, headers={"Range": "bytes=500-"})
    member_client.get(path, headers={"If-None-Match": etag})
    count = db.session.scalar(sa.select(sa.func.count()).select_from(DownloadRecord))
    assert count == 1


def _downloads(file_id: int) -> tuple[int, int]:
    records = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(DownloadRecord)
        .where(DownloadRecord.release_file_id == file_id)
    )
    events = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "release.downloaded", AuditEvent.subject_id == file_id)
    )
    return records, events


# What is sent decides, not the form of the header: a range that starts at byte 0 (by its first
# byte, or as a suffix as long as the file) is a download; a tail, a resumption or a refused
# range (werkzeug answers 416 to several ranges and to a suffix longer than the file) is not.
@pytest.mark.parametrize(
    ("range_header", "status", "counted"),
    [
        ("bytes=0-", 206, True),
        ("bytes=0-99", 206, True),
        (f"bytes=-{len(CONTENT)}", 206, True),
        (f"bytes=-{len(CONTENT) * 10}", 416, False),
        ("bytes=-10", 206, False),
        ("bytes=5-", 206, False),
        (f"bytes={len(CONTENT) + 5}-", 416, False),
        ("bytes=0-9,20-29", 416, False),
        ("bytes=abc", 416, False),
    ],
)
def test_a_range_counts_as_a_download_when_it_sends_the_first_byte(
    member_client, entitled_file, range_header, status, counted
):
    response = member_client.get(
        f"/downloads/files/{entitled_file.id}", headers={"Range": range_header}
    )
    assert response.status_code == status
    sent_first_byte = status == 206 and response.content_range.start == 0
    assert sent_first_byte is counted
    assert _downloads(entitled_file.id) == ((1, 1) if counted else (0, 0))


def test_a_head_request_is_not_a_download(member_client, entitled_file):
    assert member_client.head(f"/downloads/files/{entitled_file.id}").status_code == 200
    assert _downloads(entitled_file.id) == (0, 0)


# With nginx (X-Accel-Redirect) the portal sends no byte: it works out what nginx will send.
@pytest.mark.parametrize(
    ("headers", "counted"),
    [
        ({}, True),
        ({"Range": "bytes=0-"}, True),
        ({"Range": f"bytes=-{len(CONTENT)}"}, True),
        ({"Range": f"bytes=-{len(CONTENT) * 10}"}, True),
        ({"Range": "bytes=-10"}, False),
        ({"Range": "bytes=5-"}, False),
        ({"Range": "bytes=5-9,0-3"}, True),
        ({"Range": "bytes=5-9,20-29"}, False),
        ({"Range": "bytes=abc"}, True),
        ({"Range": "bytes=5-", "If-Range": '"an-older-etag"'}, True),
    ],
)
def test_accel_redirect_counts_what_nginx_will_send(
    app, member_client, entitled_file, monkeypatch, headers, counted
):
    monkeypatch.setitem(app.config, "PORTAL_DOWNLOAD_ACCEL_REDIRECT", "/protected-releases/")
    response = member_client.get(f"/downloads/files/{entitled_file.id}", headers=headers)
    assert response.status_code == 200
    assert _downloads(entitled_file.id) == ((1, 1) if counted else (0, 0))


def test_a_whole_file_suffix_range_while_viewing_as_the_customer_is_recorded(
    client, make_account, member, entitled_file
):
    view_as(client, make_account("support"), member)
    response = client.get(
        f"/downloads/files/{entitled_file.id}", headers={"Range": f"bytes=-{len(CONTENT)}"}
    )
    assert (response.status_code, response.data) == (206, CONTENT)
    [record] = db.session.scalars(sa.select(DownloadRecord)).all()
    assert record.impersonator_account_id is not None
    assert _downloads(entitled_file.id) == (1, 1)


def test_refused_download_is_not_recorded(member_client, make_company, make_license, make_release):
    make_license(make_company(), "safelink")
    release = make_release("safelink")
    db.session.commit()
    member_client.get(f"/downloads/files/{_file_of(release).id}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DownloadRecord)) == 0


def test_accel_redirect_mode_sends_the_header_and_no_body(
    app, member_client, entitled_file, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_DOWNLOAD_ACCEL_REDIRECT", "/protected-releases/")
    response = member_client.get(f"/downloads/files/{entitled_file.id}")
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == (
        f"/protected-releases/{entitled_file.storage_key}"
    )
    assert response.data == b""
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=SafeLink-6.1-setup.zip"
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DownloadRecord)) == 1


def test_the_stored_file_is_found_by_its_key_never_by_the_request(entitled_file, app_ctx):
    assert store.path_of(entitled_file.storage_key).read_bytes() == CONTENT
    with pytest.raises(store.StoreError):
        store.path_of("../secret")


# The downloads page ---------------------------------------------------------------------------


def test_downloads_page_groups_by_product_newest_first_with_details(
    frozen_clock, member_client, company, make_license, make_release
):
    today = clock.today()
    make_license(company, "safelink")
    make_license(company, "secure-envelope")
    old = make_release(
        "safelink",
        "5.4",
        released_on=today - timedelta(days=900),
        end_of_life_on=today + timedelta(days=30),
        content=b"x" * 1500,
    )
    new = make_release("safelink", "6.1", released_on=today - timedelta(days=10))
    envelope = make_release("secure-envelope", "1.8", released_on=today - timedelta(days=20))
    db.session.commit()
    html = member_client.get("/downloads/").get_data(as_text=True)
    headings = re.findall(r'<h2 id="product-[a-z-]+">([^<]+)</h2>', html)
    assert headings == ["Nordea Secure Envelope", "SafeLink"]
    assert html.index("SafeLink 6.1") < html.index("SafeLink 5.4")
    assert _file_of(old).sha256 in html
    assert _file_of(envelope).sha256 in html
    assert "1.5\N{NO-BREAK SPACE}kB" in html
    assert (today + timedelta(days=30)).isoformat() in html
    assert f"/downloads/files/{_file_of(new).id}" in html


def test_downloads_page_without_entitlement_explains_why(member_client):
    html = member_client.get("/downloads/").get_data(as_text=True)
    assert "There is nothing to download" in html


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0\N{NO-BREAK SPACE}B"),
        (999, "999\N{NO-BREAK SPACE}B"),
        (1500, "1.5\N{NO-BREAK SPACE}kB"),
        (734_003_200, "734.0\N{NO-BREAK SPACE}MB"),
        (2_500_000_000, "2.5\N{NO-BREAK SPACE}GB"),
    ],
)
def test_sizes_are_human_readable(app, size, shown):
    with app.test_request_context(headers={"Cookie": "portal_lang=en"}):
        assert human_size(size) == shown


def _add_releases(first: int, count: int) -> None:
    """Releases (with one file each) of the three products, inserted directly: fast in bulk."""
    products = db.session.scalars(sa.select(Product).order_by(Product.id)).all()
    today = clock.today()
    for n in range(first, first + count):
        release = Release(
            product=products[n % len(products)],
            version=f"bulk-{n}",
            released_on=today - timedelta(days=n),
            end_of_life_on=today + timedelta(days=n) if n % 2 else None,
            notes="",
        )
        release.files.append(
            ReleaseFile(
                filename=f"bulk-{n}.zip",
                size=1000 + n,
                sha256=hashlib.sha256(str(n).encode()).hexdigest(),
                storage_key=f"bulk{n:06d}",
            )
        )
        db.session.add(release)
    db.session.commit()


def _queries_for(client, path: str) -> int:
    with count_queries() as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


# The page's own queries, and one of the layout's: whether the member may order (the header's
# cart, portal.orders.views.may_order, asked once per request).
MAX_QUERIES_FOR_DOWNLOADS = 5


def test_downloads_page_queries_are_bounded_with_hundreds_of_releases(
    member_client, company, make_license
):
    for code in ("safelink", "safelink-pfr", "secure-envelope"):
        make_license(company, code)
    _add_releases(0, 3)
    few = _queries_for(member_client, "/downloads/")
    _add_releases(3, 447)
    many = _queries_for(member_client, "/downloads/")
    html = member_client.get("/downloads/").get_data(as_text=True)
    assert html.count('href="/downloads/files/') == 450
    assert few == many
    assert many <= MAX_QUERIES_FOR_DOWNLOADS


# The end-of-life banner on the dashboard -------------------------------------------------------


def _add_safelink_5_and_6(company, days_to_end_of_life: int):
    """SafeLink 5.4 with its end of life that many days ahead, and 6.1; a license for both."""
    today = clock.today()
    licenses.add_license(company, licenses.product_by_code("safelink"), seats=3, actor_label="test")
    old = make_release(
        "safelink",
        "5.4",
        released_on=today - timedelta(days=1000),
        end_of_life_on=today + timedelta(days=days_to_end_of_life),
    )
    new = make_release("safelink", "6.1", released_on=today - timedelta(days=40))
    db.session.commit()
    return old, new


@pytest.fixture
def safelink_5_and_6(frozen_clock, company, app_ctx):
    return _add_safelink_5_and_6(company, WARN_DAYS_BEFORE_END_OF_LIFE)


def _record_download(company, release, days_ago: int = 1):
    db.session.add(
        DownloadRecord(
            account_id=None,
            company_id=company.id,
            release_file_id=_file_of(release).id,
            downloaded_dt=clock.now() - timedelta(days=days_ago),
        )
    )
    db.session.commit()


def _banner(client, member) -> str | None:
    """The end-of-life banner of the member's dashboard (signing in again, as time may move)."""
    login_as(in_english(client), member)
    html = client.get("/").get_data(as_text=True)
    match = re.search(r'<li class="attention-item end-of-life">.*?</li>', html, re.S)
    return re.sub(r"\s+", " ", match.group(0)) if match else None


def test_banner_names_the_release_its_end_and_the_current_release(safelink_5_and_6, client, member):
    old, _new = safelink_5_and_6
    login_as(client, member)
    assert client.get(f"/downloads/files/{_file_of(old).id}").status_code == 200
    banner = _banner(client, member)
    assert f"SafeLink 5.4 stops working on {old.end_of_life_on.isoformat()}." in banner
    assert '<a href="/downloads/">Download SafeLink 6.1</a>' in banner


def test_banner_appears_when_the_end_of_life_is_90_days_away_not_91(
    frozen_clock, client, member, company
):
    old, _new = _add_safelink_5_and_6(company, WARN_DAYS_BEFORE_END_OF_LIFE + 1)
    _record_download(company, old)
    assert _banner(client, member) is None
    frozen_clock.advance(timedelta(days=1))
    assert _banner(client, member) is not None


def test_banner_says_the_release_stopped_working_after_the_end_of_life(
    safelink_5_and_6, frozen_clock, client, member, company
):
    old, _new = safelink_5_and_6
    _record_download(company, old)
    frozen_clock.advance(timedelta(days=WARN_DAYS_BEFORE_END_OF_LIFE))
    assert "SafeLink 5.4 stops working on" in _banner(client, member)
    frozen_clock.advance(timedelta(days=1))
    banner = _banner(client, member)
    assert f"SafeLink 5.4 stopped working on {old.end_of_life_on.isoformat()}." in banner


def test_banner_disappears_once_the_current_release_is_downloaded(
    safelink_5_and_6, client, member, company
):
    old, new = safelink_5_and_6
    _record_download(company, old, days_ago=10)
    assert _banner(client, member) is not None
    _record_download(company, new, days_ago=2)
    assert _banner(client, member) is None


def test_banner_follows_the_most_recent_download_not_the_oldest(
    safelink_5_and_6, client, member, company
):
    old, new = safelink_5_and_6
    _record_download(company, new, days_ago=10)
    _record_download(company, old, days_ago=2)  # went back to 5.4
    assert _banner(client, member) is not None


def test_banner_without_an_offered_successor_asks_to_renew(
    safelink_5_and_6, client, member, company
):
    old, _new = safelink_5_and_6
    license = db.session.scalar(sa.select(License).where(License.company_id == company.id))
    license.maintenance_until = old.released_on
    _record_download(company, old)
    banner = _banner(client, member)
    assert "SafeLink 5.4 stops working" in banner
    assert "Download SafeLink 6.1" not in banner
    assert "Your licenses include no newer release. To renew" in banner


def test_another_companys_downloads_do_not_warn(safelink_5_and_6, client, member, make_company):
    old, _new = safelink_5_and_6
    _record_download(make_company(), old)
    assert _banner(client, member) is None


def test_a_download_by_support_viewing_as_the_customer_leaves_the_banner(
    safelink_5_and_6, app, member, company, make_account
):
    old, new = safelink_5_and_6
    _record_download(company, old, days_ago=10)
    support = make_account("support", name="Sara Support")
    db.session.commit()
    staff_client = app.test_client()
    factories.view_as(staff_client, support, member)
    assert staff_client.get(f"/downloads/files/{_file_of(new).id}").status_code == 200

    record = db.session.scalars(
        sa.select(DownloadRecord).order_by(DownloadRecord.id.desc()).limit(1)
    ).one()
    assert record.release_file_id == _file_of(new).id
    assert record.impersonator_account_id == support.id  # still recorded, as support's
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "release.downloaded")
    ).one()
    assert (event.actor_account_id, event.acting_as_account_id) == (support.id, member.id)
    banner = _banner(app.test_client(), member)
    assert banner is not None and "SafeLink 5.4 stops working" in banner


def test_the_downloads_page_shows_the_release_notes_as_paragraphs(
    member_client, company, make_license, make_release
):
    make_license(company, "safelink", maintenance_until=None)
    make_release("safelink", "6.1", notes="Stöd för <ISO 20022>.\n\nSnabbare import.")
    make_release("safelink", "6.0", notes="")
    db.session.commit()
    html = member_client.get("/downloads/").get_data(as_text=True)
    assert "<p>Stöd för &lt;ISO 20022&gt;.</p>" in html
    assert "<p>Snabbare import.</p>" in html
    assert html.count("Release notes") == 1  # 6.0 has none
