"""Every answer of the JSON API: exact JSON bytes, signed, and the one error shape.

Each JSON answer carries `Portal-Signature: keyid=<id>, ed25519=<base64>` over its exact body
bytes (an empty body too); file downloads are the bytes alone. Errors are
`{"error": {"code": "<snake_case>", "message": "<text>"}}` with a 4xx status; a `Refusal` is
mapped onto it here and nowhere else.
"""

import json
import re

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException, default_exceptions

from portal.i18n import lazy_gettext as _l
from portal.machines import api_tokens, signing
from portal.refusals import Refusal

JSON = "application/json"

# The HTTP status of each refusal code the API answers (every other refusal is a 400).
REFUSAL_STATUS = {
    "unsupported_media_type": 415,
    "unknown_license": 404,
    "not_found": 404,
    "seats_exhausted": 409,
    "license_expired": 403,
    "license_revoked": 403,
    "license_not_yet_valid": 403,
    "upgrade_required": 403,
    api_tokens.TOKEN_MISSING: 401,
    api_tokens.TOKEN_INVALID: 401,
    api_tokens.TOKEN_EXPIRED: 401,
    api_tokens.TOKEN_REVOKED: 401,
    api_tokens.INSUFFICIENT_SCOPE: 403,
}

# The error code of an HTTP error raised by Flask or an extension (else its name in snake case).
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
}
HTTP_ERROR_MESSAGES = {
    400: _l("The request could not be understood."),
    404: _l("There is nothing at this address."),
    405: _l("This address does not take that method."),
    413: _l("The request body is too large."),
    429: _l("Too many requests. Wait as many seconds as Retry-After says and try again."),
    500: _l("An unexpected error occurred. It has been logged; try again later."),
}


def body_bytes(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signed(response: Response) -> Response:
    response.headers[signing.HEADER] = signing.signer().header(response.get_data())
    response.headers["Cache-Control"] = "no-store"
    return response


def json_response(payload, status: int = 200) -> Response:
    return signed(Response(body_bytes(payload), status=status, mimetype=JSON))


def empty_response() -> Response:
    """204: no body, and the signature of the empty body."""
    response = Response(status=204)
    response.headers.remove("Content-Type")
    return signed(response)


def error_response(status: int, code: str, message) -> Response:
    return json_response({"error": {"code": code, "message": str(message)}}, status)


def refusal_response(refusal: Refusal) -> Response:
    status = REFUSAL_STATUS.get(refusal.code, 400)
    return _with_status_headers(
        error_response(status, refusal.code or "invalid_request", refusal.message), status
    )


def _snake_case(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def http_error_response(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_ERROR_CODES.get(status) or _snake_case(error.name or "error")
    message = HTTP_ERROR_MESSAGES.get(status) or error.description or error.name
    response = _with_status_headers(error_response(status, code, message), status)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429:
        response.headers["Retry-After"] = str(getattr(error, "retry_after", None) or 60)
    return response


def _with_status_headers(response: Response, status: int) -> Response:
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
    return response


def unexpected_error_response(error: Exception) -> Response:
    """Never HTML and never a traceback: logged, and answered in the error shape (rolled back)."""
    if isinstance(error, HTTPException):
        return http_error_response(error)
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(500, HTTP_ERROR_CODES[500], HTTP_ERROR_MESSAGES[500])


def register_error_handlers(blueprint) -> None:
    """On the API's blueprint, ahead of the portal's HTML error pages (Flask asks a request's
    own blueprint first, by status code)."""
    blueprint.register_error_handler(Refusal, refusal_response)
    for status in default_exceptions:
        blueprint.register_error_handler(status, http_error_response)
    blueprint.register_error_handler(HTTPException, http_error_response)
    blueprint.register_error_handler(Exception, unexpected_error_response)
