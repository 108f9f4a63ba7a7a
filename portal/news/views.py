"""Staff pages for news: every staff member reads the list, staff admins publish."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import access
from portal.db import db
from portal.news import service
from portal.news.forms import NewsForm
from portal.news.models import News
from portal.transaction import commit

bp = Blueprint("staff_news", __name__, url_prefix="/staff/news")


@bp.get("/")
@access.STAFF
def index():
    items = db.session.scalars(
        sa.select(News).order_by(News.published_dt.desc(), News.id.desc())
    ).all()
    return render_template(
        "portal/staff/news_index.html",
        items=items,
        can_publish=access.STAFF_ADMIN.allows(current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@access.STAFF_ADMIN
def new():
    form = NewsForm()
    if form.validate_on_submit():
        item = service.publish(
            form.title.data, form.body.data, actor=current_user._get_current_object()
        )
        commit()
        flash(_("The news item “%(title)s” is published.", title=item.title), "success")
        return redirect(url_for("portal.staff_news.index"))
    return render_template("portal/staff/news_form.html", form=form)
