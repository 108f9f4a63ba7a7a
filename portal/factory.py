"""`create_app`: the standalone portal, served at the root of its own Flask app."""

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import apply_settings, instance_path_from_environment
from portal.extension import Portal


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    instance_path = config.pop("PORTAL_INSTANCE_PATH", None) or instance_path_from_environment()
    app = Flask("portal", instance_path=instance_path, static_folder=None)
    app.config.update(config)
    apply_settings(app.config, app.instance_path, own_app=True)
    Portal().init_app(app, url_prefix="")
    trusted = app.config["PORTAL_TRUSTED_PROXIES"]
    if trusted:
        # The client address, scheme and host as the outermost trusted proxy saw them: every
        # rate limit, audit event and session record then names the real client, and a value
        # a client wrote itself further left in X-Forwarded-For is never read.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)
    return app
