"""What every request under `/api/v1` gets before anything reads it, and routing errors there.

The API is authenticated by a license key or a bearer token, never by the session cookie: its
requests are made anonymous before any code can load an account from a cookie, so a signed-in
browser's cookie gives an API call nothing (and CSRF tokens are not needed: see
`access.API`). A body is refused past `bodies.MAX_BODY_BYTES` before it is read, and a path or
method that no API route has is answered in the API's error shape, not as an HTML page, also
when the portal is mounted in a host site (whose own error pages stay the host's).
"""

from flask import g, request
from flask_login import AnonymousUserMixin
from werkzeug.routing import RequestRedirect

from portal import i18n
from portal.api import bodies
from portal.api.responses import http_error_response

API_PATH = "/api/v1"


def install(app, url_prefix: str, host_csrf=None) -> None:
    root = f"{url_prefix}{API_PATH}"

    def guard():
        if request.path != root and not request.path.startswith(f"{root}/"):
            return None
        if host_csrf is not None:
            host_csrf()  # before a host's CSRFProtect, which may come after this hook
        request.max_content_length = bodies.MAX_BODY_BYTES
        # Flask-Login loads `current_user` from the cookie only when `g` has no user yet.
        g._login_user = AnonymousUserMixin()
        # API messages are English unless the client asks for Swedish.
        i18n.choose_language(request.accept_languages.best_match(["en", "sv"], default="en"))
        error = request.routing_exception
        if error is not None and not isinstance(error, RequestRedirect):
            return http_error_response(error)
        return None

    app.before_request(guard)
