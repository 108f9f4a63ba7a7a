"""HTTP concerns every page shares: safe redirects, cache rules, security headers, error pages."""

import logging
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, g, jsonify, make_response, request, session
from flask_login import AnonymousUserMixin
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from portal.i18n import lazy_gettext as _l
from portal.rendering import render_template

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# Flask-Login keeps the signed-in session's key under this name in the Flask session.
SIGNED_IN_SESSION_KEY = "_user_id"
# The largest body of any portal request whose view declares no other (`accepts_body`): every
# form is far smaller. Refused with 413 before anything (the rate limits too) reads the body.
FORM_BODY_BYTES = 64 * 1024


def accepts_body(limit: Callable[[Mapping[str, Any]], int], *, field_bytes: int = 1024 * 1024):
    """Declare that a view takes a larger body: `limit(app.config)` bytes (the release upload),
    files streamed to disk and each other field at most `field_bytes` in memory."""

    def declare(view):
        view.body_limit = (limit, field_bytes)
        return view

    return declare


def limit_body() -> None:
    """Bound this request's body by its view's declaration, per request: the app's own
    `MAX_CONTENT_LENGTH` (a host site's) is neither read nor changed."""
    view = current_app.view_functions.get(request.endpoint or "")
    declared = getattr(view, "body_limit", None)
    if declared is None:
        request.max_content_length = FORM_BODY_BYTES
        request.max_form_memory_size = FORM_BODY_BYTES
    else:
        limit, field_bytes = declared
        request.max_content_length = limit(current_app.config)
        # The multipart parser buffers a file's chunks too: this is more than its chunk size.
        request.max_form_memory_size = field_bytes


# The largest id and number the database holds in every column (PostgreSQL's INTEGER; SQLite's
# are wider): larger numbers in a URL match no route, and in a query are ignored.
DB_INT_MAX = 2**31 - 1
NEXT_URL_MAX_LENGTH = 2000


class IdConverter(IntegerConverter):
    """`<id:name>` in a portal URL: a database id, 1 to DB_INT_MAX; anything else is a 404."""

    def __init__(self, map, max: int = DB_INT_MAX):
        super().__init__(map, min=1, max=max)


def register_converters(app) -> None:
    """Before the portal's rules are added. A host's own converter of that name is an error."""
    present = app.url_map.converters.setdefault("id", IdConverter)
    if present is not IdConverter:
        raise RuntimeError("the host app already has a URL converter named 'id'")


def db_int(value: str) -> int:
    """A `type=` for `request.args.get`: an integer the database can hold; anything else raises
    ValueError, so the query value is ignored (the default is used)."""
    number = int(value)
    if not -DB_INT_MAX - 1 <= number <= DB_INT_MAX:
        raise ValueError(value)
    return number


def safe_next_url(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative `//`, no control or
    invisible formatting characters, and not absurdly long."""
    if not target or len(target) > NEXT_URL_MAX_LENGTH:
        return None
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def no_store(body, status: int | None = None):
    """A page with a secret or a half-finished sign-in: never kept by a browser or a proxy."""
    response = make_response(body) if status is None else make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def secret_link(view):
    """Declare a view whose URL carries a secret (a mailed token): every answer it gives (its
    form, a refusal, an error page, a redirect) is never cached and never sends the URL on as a
    referrer (`protect_secret_links`)."""
    view.secret_link = True
    return view


def protect_secret_links(response):
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "secret_link", False):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def refuse_nul_characters():
    """NUL is never valid input, and PostgreSQL cannot even store it: refuse it in one place."""
    values = [*request.args.values(), *request.form.values(), request.path]
    if any("\x00" in value for value in values):
        abort(400)


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Read from the session cookie, not `current_user`: a stylesheet must not cost a query.
    if SIGNED_IN_SESSION_KEY in session:
        response.headers["Cache-Control"] = "no-store"
    if current_app.config["PORTAL_ENV"] == "production":
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response


ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to do this.")),
    404: (_l("Page not found"), _l("The page does not exist, or you cannot see it.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("What you sent is too large"),
        _l(
            "What you sent is larger than the portal accepts. Shorten what you typed, or choose"
            " a smaller file, and try again."
        ),
    ),
    429: (
        _l("Too many attempts"),
        _l("You have tried too many times. Wait a while and try again."),
    ),
    503: (
        _l("The portal is unavailable for a moment"),
        _l(
            "We cannot reach our database right now. Wait a minute and try again;"
            " anything you just sent was not saved."
        ),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred. It has been logged; please try again later."),
    ),
}


def render_error(error: HTTPException):
    code = error.code or 500
    title, message = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    if request.accept_mimetypes.best == "application/json":
        response = jsonify(error=str(title))
        response.status_code = code
    else:
        response = make_response(
            render_template("portal/error.html", code=code, title=title, message=message), code
        )
    if code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if code in (429, 503) and getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


class _InternalError(HTTPException):
    code = 500


class _Unavailable(HTTPException):
    code = 503
    retry_after = 30


log = logging.getLogger(__name__)


def render_internal_error(_error):
    return render_error(_InternalError())


def render_database_unavailable(error: sa.exc.SQLAlchemyError):
    """The database does not answer: a styled 503 that needs no database to be drawn."""
    log.error("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
    # The page must not ask the database who is signed in (the session stays as it was).
    g._login_user = AnonymousUserMixin()
    return render_error(_Unavailable())


def register_error_pages(target) -> None:
    for code in ERROR_TEXTS:
        target.register_error_handler(code, render_internal_error if code == 500 else render_error)
    # A refused or dropped connection, or one the pool had to give up.
    target.register_error_handler(sa.exc.OperationalError, render_database_unavailable)
    target.register_error_handler(sa.exc.InterfaceError, render_database_unavailable)
