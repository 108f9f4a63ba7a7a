"""News: items staff admins publish and the customers' start page lists (one file's worth)."""

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy.orm import Mapped, mapped_column, relationship
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal import access, audit, clock
from portal.accounts.models import Account
from portal.db import db
from portal.forms import PortalForm
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, language_choices
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.rendering import render_template

DASHBOARD_NEWS_COUNT = 5
# Said beside a news item shown on a page of another language.
WRITTEN_IN = {"sv": _l("(In Swedish)"), "en": _l("(In English)")}


class News(db.Model):
    __tablename__ = "news"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    # The language it is written in: pages in another language say so and mark it (`lang`).
    language: Mapped[str] = mapped_column(sa.String(5), default=DEFAULT_LANGUAGE)
    published_dt: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    # The staff account that published it; nulled if that account is ever removed.
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )

    created_by: Mapped[Account | None] = relationship(lazy="joined", innerjoin=False)

    @property
    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.body.split("\n\n") if part.strip()]


def publish(title: str, body: str, *, actor, language: str = DEFAULT_LANGUAGE) -> News:
    item = News(
        title=title.strip(),
        body=body.strip(),
        language=language if language in LANGUAGE_NAMES else DEFAULT_LANGUAGE,
        published_dt=clock.now(),
        created_by=actor,
    )
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


class NewsForm(PortalForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Enter a title.")), Length(max=200)],
    )
    body = TextAreaField(
        _l("Text"),
        validators=[DataRequired(_l("Enter the text of the news item.")), Length(max=5000)],
        description=_l("Plain text. An empty line starts a new paragraph."),
        render_kw={"rows": 8},
    )
    language = RadioField(
        _l("Language of the text"),
        choices=language_choices(),
        default=DEFAULT_LANGUAGE,
        description=_l("Readers who use the portal in another language are told."),
    )


@access.STAFF
def staff_index():
    items = db.session.scalars(
        sa.select(News).order_by(News.published_dt.desc(), News.id.desc())
    ).all()
    return render_template(
        "portal/news/staff_index.html",
        items=items,
        can_publish=access.STAFF_ADMIN.allows(current_user),
    )


@access.STAFF_ADMIN
def staff_new():
    form = NewsForm()
    if form.validate_on_submit():
        item = publish(
            form.title.data,
            form.body.data,
            actor=current_user._get_current_object(),
            language=form.language.data,
        )
        flash(_("The news item “%(title)s” is published.", title=item.title), "success")
        return redirect(url_for(".staff_index"))
    return render_template("portal/news/staff_form.html", form=form)


bp = Blueprint("news", __name__, url_prefix="/staff/news")
bp.add_url_rule("/", view_func=staff_index)
bp.add_url_rule("/new", view_func=staff_new, methods=["GET", "POST"])
