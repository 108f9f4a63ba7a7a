"""HTML the Nu checker refused in the walk-through, checked on every database without a browser:
unique ids (several forms on a page), no empty form action, `<time datetime>` with at most three
decimals of a second, and a required select that starts with an empty choice. The browser tests
run the whole W3C Nu checker on every page they visit."""

import re
from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from portal import clock, news
from portal.db import db
from portal.retention import purge
from tests.factories import login_as

VALID_MOMENT = re.compile(
    r"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)?)?$"
)


class Problems(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = Counter()
        self.found: list[str] = []
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids[attributes["id"]] += 1
        if tag == "form" and attributes.get("action") == "":
            self.found.append("a form with an empty action")
        moment = attributes.get("datetime") if tag == "time" else None
        if moment is not None and not VALID_MOMENT.match(moment):
            self.found.append(f"time datetime={moment!r}")
        if tag == "select" and "required" in attributes:
            self._select = {"name": attributes.get("name"), "first": None}
        if tag == "option" and self._select is not None and self._select["first"] is None:
            self._select["first"] = attributes.get("value")

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            if self._select["first"] not in ("", None):
                self.found.append(f"required select {self._select['name']} without an empty first")
            self._select = None

    def problems(self, html: str) -> list[str]:
        self.feed(html)
        duplicates = [f"duplicate id {name!r}" for name, count in self.ids.items() if count > 1]
        return self.found + duplicates


def problems_of(response) -> list[str]:
    assert response.status_code == 200
    return Problems().problems(response.get_data(as_text=True))


@pytest.fixture
def company(make_company):
    return make_company("Nordisk Betalservice AB")


def test_the_login_page_has_valid_forms(client):
    assert problems_of(client.get("/login")) == []


def test_the_users_page_with_several_people_has_unique_ids(client, company, make_account):
    admin = make_account("admin", company=company)
    make_account("member", company=company)
    make_account("member", company=company)
    login_as(client, admin)
    assert problems_of(client.get("/company/users")) == []
    assert problems_of(client.get("/licenses/manager")) == []


def test_the_dashboard_news_has_a_valid_moment(client, company, make_account):
    news.publish("Nyhet", "Text.", actor=None)
    login_as(client, make_account("member", company=company))
    assert problems_of(client.get("/")) == []


def test_the_retention_report_has_a_valid_moment(client, make_account):
    purge.purge(clock.today() - timedelta(days=1), dry_run=True)
    db.session.commit()
    login_as(client, make_account("staff_admin"))
    assert problems_of(client.get("/staff/retention/")) == []


def test_the_disclosure_form_starts_with_no_subject_chosen(client, company, make_account):
    login_as(client, make_account("support"))
    page = client.get("/staff/disclosures/new", query_string={"company": company.id})
    assert problems_of(page) == []
