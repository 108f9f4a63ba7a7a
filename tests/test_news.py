"""News: staff admins publish, every staff member reads the list, customers see the latest five."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal import news as service
from portal.audit import AuditEvent
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.news import News
from tests.factories import count_queries, in_english, login_as, make_release, post

# One per kind of attention item, plus the session, the news and the header's cart count.
MAX_DASHBOARD_QUERIES = 8


@pytest.fixture
def staff_admin(make_account):
    return make_account("staff_admin")


@pytest.fixture
def admin_client(client, staff_admin):
    login_as(in_english(client), staff_admin)
    return client


def _dashboard_titles(html: str) -> list[str]:
    return re.findall(r'<article class="news-item"[^>]*>\s*<h3>([^<]*)</h3>', html)


def test_staff_admin_publishes_news_and_it_is_audited(frozen_clock, admin_client, staff_admin):
    response = post(
        admin_client,
        "/staff/news/new",
        {"title": "SafeLink 6.1 is out", "body": "Faster files.\n\nAnd ISO 20022."},
    )
    assert response.status_code == 302
    [item] = db.session.scalars(sa.select(News)).all()
    assert (item.title, item.created_by_id, item.published_dt) == (
        "SafeLink 6.1 is out",
        staff_admin.id,
        clock.now(),
    )
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "news.published")
    ).all()
    assert (event.actor_account_id, event.subject_id) == (staff_admin.id, item.id)
    assert "SafeLink 6.1 is out" in admin_client.get("/staff/news/").get_data(as_text=True)


def test_news_without_title_or_text_is_refused_with_form_errors(admin_client):
    response = post(admin_client, "/staff/news/new", {"title": "  ", "body": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a title." in html
    assert "Enter the text of the news item." in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(News)) == 0


def test_support_reads_the_news_list_but_cannot_publish(client, make_account):
    login_as(in_english(client), make_account("support"))
    page = client.get("/staff/news/")
    assert page.status_code == 200
    assert "Write a news item" not in page.get_data(as_text=True)
    assert client.get("/staff/news/new").status_code == 404
    assert post(client, "/staff/news/new", {"title": "x", "body": "y"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(News)) == 0


def _publish(title: str, staff, minutes_ago: int, body: str = "Text.") -> News:
    item = service.publish(title, body, actor=staff)
    item.published_dt = clock.now() - timedelta(minutes=minutes_ago)
    return item


def test_dashboard_lists_the_five_latest_news_newest_first(
    frozen_clock, client, make_account, staff_admin
):
    for n in range(7):
        _publish(f"News {n}", staff_admin, minutes_ago=100 - n)
    member = make_account("member")
    db.session.commit()
    login_as(in_english(client), member)
    html = client.get("/").get_data(as_text=True)
    assert _dashboard_titles(html) == ["News 6", "News 5", "News 4", "News 3", "News 2"]


def test_dashboard_without_news_says_so(client, make_account):
    login_as(in_english(client), make_account("member"))
    assert "No news right now." in client.get("/").get_data(as_text=True)


def test_news_text_is_shown_as_escaped_paragraphs(client, make_account, staff_admin):
    _publish("Hello", staff_admin, 1, body="First <b>part</b>.\n\nSecond part.")
    db.session.commit()
    login_as(client, make_account("member"))
    html = client.get("/").get_data(as_text=True)
    assert "<p>First &lt;b&gt;part&lt;/b&gt;.</p>" in html
    assert "<p>Second part.</p>" in html


def _dashboard_queries(client) -> int:
    with count_queries() as queries:
        response = client.get("/")
    assert response.status_code == 200
    return len(queries)


def _download_old_releases(company, count: int, first: int = 0) -> None:
    """Downloads of releases near their end of life, across products: each may warn."""
    today = clock.today()
    for n, code in enumerate(("safelink", "safelink-pfr", "secure-envelope") * count, first):
        release = make_release(
            code,
            f"old-{n}",
            released_on=today - timedelta(days=500 + n),
            end_of_life_on=today + timedelta(days=10),
        )
        db.session.add(
            DownloadRecord(
                company_id=company.id,
                release_file_id=release.files[0].id,
                downloaded_dt=clock.now() - timedelta(minutes=n),
            )
        )
    db.session.commit()


def test_dashboard_queries_stay_bounded_with_warnings_and_news(
    frozen_clock, client, make_account, make_license, staff_admin
):
    member = make_account("member")
    company = member.company
    for code in ("safelink", "safelink-pfr", "secure-envelope"):
        make_license(company, code)
    db.session.commit()
    login_as(in_english(client), member)
    quiet = _dashboard_queries(client)

    _download_old_releases(company, 1)
    for n in range(3):
        make_release(("safelink", "safelink-pfr", "secure-envelope")[n], f"new-{n}")
        _publish(f"News {n}", staff_admin, minutes_ago=n)
    db.session.commit()
    some = _dashboard_queries(client)

    _download_old_releases(company, 20, first=100)
    for n in range(20):
        _publish(f"More news {n}", staff_admin, minutes_ago=n)
    db.session.commit()
    many = _dashboard_queries(client)
    html = client.get("/").get_data(as_text=True)

    assert html.count('class="attention-item end-of-life"') == 3
    assert len(_dashboard_titles(html)) == 5
    assert some == many
    assert quiet <= many <= MAX_DASHBOARD_QUERIES
