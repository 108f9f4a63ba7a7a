"""Publishing news and reading the latest items."""

import sqlalchemy as sa

from portal import audit, clock
from portal.db import db
from portal.news.models import News

DASHBOARD_NEWS_COUNT = 5


def publish(title: str, body: str, *, actor) -> News:
    item = News(title=title.strip(), body=body.strip(), published_dt=clock.now(), created_by=actor)
    db.session.add(item)
    db.session.flush()
    audit.record("news.published", actor=actor, subject=item, subject_label=item.title)
    return item


def latest(limit: int = DASHBOARD_NEWS_COUNT) -> list[News]:
    return list(
        db.session.scalars(
            sa.select(News).order_by(News.published_dt.desc(), News.id.desc()).limit(limit)
        )
    )
