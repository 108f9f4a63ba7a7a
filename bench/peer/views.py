"""The pages: sign in and out, the licenses, one license, the downloads, the account, healthz."""

from datetime import date

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload, selectinload
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from bench.peer.auth import check_password, end_session, start_session
from bench.peer.models import Account, License, Product, Release, ReleaseFile, db

bp = Blueprint("peer", __name__)

STATE_LABELS = {
    "active": _l("Active"),
    "expiring": _l("Expiring soon"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
}


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def entitles(company_id: int, today: date) -> sa.ColumnElement[bool]:
    """A release is offered when an active license of the company covers its release date."""
    return (
        sa.select(License.id)
        .where(
            License.company_id == company_id,
            License.product_id == Release.product_id,
            License.revoked_at.is_(None),
            License.valid_from <= today,
            sa.or_(License.valid_until.is_(None), License.valid_until >= today),
            sa.or_(
                License.maintenance_until.is_(None),
                Release.released_on <= License.maintenance_until,
            ),
        )
        .exists()
    )


@bp.get("/")
def index():
    return redirect(url_for("peer.licenses"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("peer.licenses"))
    form = LoginForm()
    if form.validate_on_submit():
        account = db.session.scalar(
            sa.select(Account).filter_by(email=form.email.data.strip().lower())
        )
        if check_password(account, form.password.data) and account.is_active:
            start_session(account)
            return redirect(url_for("peer.licenses"))
        flash(_("Wrong email address or password."), "error")
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    end_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("peer.login"))


@bp.get("/licenses/")
@login_required
def licenses():
    licenses = db.session.scalars(
        sa.select(License)
        .join(License.product)
        .options(joinedload(License.product))
        .where(License.company_id == current_user.company_id)
        .order_by(Product.name, License.id)
    ).all()
    return render_template("licenses.html", licenses=licenses, state_labels=STATE_LABELS)


@bp.get("/licenses/<int:id>")
@login_required
def license_detail(id: int):
    license = db.first_or_404(
        sa.select(License)
        .options(joinedload(License.product))
        .where(License.id == id, License.company_id == current_user.company_id)
    )
    releases = db.session.scalars(
        sa.select(Release)
        .options(selectinload(Release.files))
        .where(Release.product_id == license.product_id)
        .order_by(Release.released_on.desc(), Release.id.desc())
    ).all()
    return render_template(
        "license.html",
        license=license,
        releases=[release for release in releases if license.covers(release)],
        state_labels=STATE_LABELS,
    )


@bp.get("/downloads/")
@login_required
def downloads():
    releases = db.session.scalars(
        sa.select(Release)
        .join(Release.product)
        .options(joinedload(Release.product), selectinload(Release.files))
        .where(entitles(current_user.company_id, date.today()))
        .order_by(Product.name, Release.released_on.desc(), Release.id.desc())
    ).all()
    return render_template("downloads.html", releases=releases, today=date.today())


@bp.get("/downloads/files/<int:file_id>")
@login_required
def download_file(file_id: int):
    release_file = db.session.scalar(
        sa.select(ReleaseFile)
        .join(ReleaseFile.release)
        .where(ReleaseFile.id == file_id, entitles(current_user.company_id, date.today()))
    )
    if release_file is None:
        abort(404)
    return send_from_directory(
        current_app.config["RELEASE_FOLDER"],
        release_file.sha256,
        as_attachment=True,
        download_name=release_file.filename,
    )


@bp.get("/account")
@login_required
def account():
    return render_template("account.html", login_session=g.login_session)


@bp.get("/healthz")
def healthz():
    db.session.execute(sa.text("SELECT 1"))
    return "ok\n", 200, {"Content-Type": "text/plain"}
