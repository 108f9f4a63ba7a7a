"""The benchmark's peer: the license list written the idiomatic afternoon way.

A small Flask app with the usual extensions and nothing clever: Flask-Login over a server-side
session row (looked up on every request, expiry and idleness checked), Flask-SQLAlchemy ORM
objects, Flask-WTF forms with CSRF protection, Flask-Babel in Swedish, Jinja templates with a
layout (menu, the user's name, a logout form) and `url_for` wherever a link is made. No caching.
`bench/load.py` serves it beside the portal at `/peer` and drives both in the same run.
"""

import os
from datetime import timedelta

from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect

from bench.peer import views
from bench.peer.auth import login_manager
from bench.peer.models import Product, db

LANGUAGES = ("sv", "en")
PRODUCTS = (
    ("safelink", "SafeLink"),
    ("safelink-pfr", "SafeLink PFR"),
    ("secure-envelope", "Nordea Secure Envelope"),
)

csrf = CSRFProtect()
babel = Babel()


def select_locale() -> str:
    return request.accept_languages.best_match(LANGUAGES, default="sv")


def create_app(config: dict | None = None) -> Flask:
    """The app; `config` gives at least SECRET_KEY and SQLALCHEMY_DATABASE_URI (PostgreSQL)."""
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_NAME="peer_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        BABEL_DEFAULT_LOCALE="sv",
        SESSION_IDLE_TIMEOUT=timedelta(minutes=30),
        SESSION_LIFETIME=timedelta(hours=12),
        RELEASE_FOLDER=os.path.join(app.instance_path, "releases"),
    )
    app.config.update(config or {})

    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.register_blueprint(views.bp)
    return app


def init_db(app: Flask) -> None:
    """Create the tables and the three products (the portal's migration adds the same)."""
    with app.app_context():
        db.create_all()
        db.session.add_all(Product(code=code, name=name) for code, name in PRODUCTS)
        db.session.commit()
