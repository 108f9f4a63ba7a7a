"""Absolute links for mails, made the same way in a request, a command or a scheduled job."""

from flask import current_app, has_request_context, url_for

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values) -> str:
    base_url = current_app.config.get("PORTAL_BASE_URL")
    if has_request_context() and not base_url:
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=base_url or DEFAULT_BASE_URL):
        return url_for(endpoint, _external=True, **values)
