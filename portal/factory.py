"""`create_app`: the standalone portal, served at the root of its own Flask app."""

from typing import Any

from flask import Flask

from portal.config import apply_settings, instance_path_from_environment
from portal.extension import Portal


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    instance_path = config.pop("PORTAL_INSTANCE_PATH", None) or instance_path_from_environment()
    app = Flask("portal", instance_path=instance_path, static_folder=None)
    app.config.update(config)
    apply_settings(app.config, app.instance_path, own_app=True)
    Portal().init_app(app, url_prefix="")
    return app
