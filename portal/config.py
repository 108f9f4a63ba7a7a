"""Configuration from `PORTAL_*` environment variables and the instance folder.

Every setting the portal reads is declared once in `SETTINGS`; the README's configuration table
describes the same list.
"""

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.privacy.register import ACCOUNT_RETENTION_MONTHS_DEFAULT


class ConfigurationError(RuntimeError):
    """The configuration cannot run the portal (e.g. production without a secret key)."""


def _flag(value: str) -> bool:
    normalized = value.strip().lower()
    if normalized in {"1", "on", "true", "yes"}:
        return True
    if normalized in {"0", "off", "false", "no", ""}:
        return False
    raise ConfigurationError(f"expected on or off, got {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ConfigurationError(f"expected a positive number, got {value!r}")
    return number


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any] = str
    help: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting("PORTAL_ENV", "development", str, "`development` or `production`"),
    Setting("PORTAL_SECRET_KEY", None, str, "required in production"),
    Setting("PORTAL_DATABASE_URL", None, str, "default: SQLite in the instance folder"),
    Setting("PORTAL_MAIL_URL", "console", str, "`smtp://host:port` or `console`"),
    Setting("PORTAL_MAIL_SENDER", "Kundportalen <noreply@localhost>", str, "From address"),
    Setting("PORTAL_RATELIMIT_STORAGE_URL", "memory://", str, "`memory://` or `redis://...`"),
    Setting(
        "PORTAL_ACCOUNT_RETENTION_MONTHS",
        ACCOUNT_RETENTION_MONTHS_DEFAULT,
        _positive_int,
        "months after the end",
    ),
    Setting("PORTAL_SCHEDULER", None, _flag, "run the scheduler in the web process"),
    Setting("PORTAL_RELEASE_STORE", None, str, "folder of release files"),
    Setting("PORTAL_SESSION_IDLE_MINUTES", 30, _positive_int, "idle sign-out"),
    Setting("PORTAL_SESSION_ABSOLUTE_HOURS", 12, _positive_int, "absolute sign-out"),
    Setting("PORTAL_BASE_URL", None, str, "public address used in mailed links"),
)

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)


def settings_from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except (ValueError, ConfigurationError) as error:
            raise ConfigurationError(f"{setting.name}: {error}") from None
    return values


def instance_path_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    path = environ.get("PORTAL_INSTANCE_PATH")
    return str(Path(path).resolve()) if path else None


def development_secret_key(instance_path: str) -> str:
    """A random key made once per instance folder, so sessions survive restarts."""
    key_file = Path(instance_path, SECRET_KEY_FILE)
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def apply_settings(config: dict[str, Any], instance_path: str, *, own_app: bool) -> None:
    """Fill a Flask config with the portal's settings; values the caller already set win.

    `own_app` is true for the standalone app; a host site keeps its own session cookie name.
    """
    for name, value in settings_from_environment(os.environ).items():
        if config.get(name) is None:
            config[name] = value

    if config["PORTAL_ENV"] not in {"development", "production"}:
        raise ConfigurationError("PORTAL_ENV must be development or production")
    production = config["PORTAL_ENV"] == "production"
    if config["PORTAL_SCHEDULER"] is None:
        config["PORTAL_SCHEDULER"] = False

    if not config.get("SECRET_KEY"):
        if config.get("PORTAL_SECRET_KEY"):
            config["SECRET_KEY"] = config["PORTAL_SECRET_KEY"]
        elif production:
            raise ConfigurationError("PORTAL_SECRET_KEY must be set when PORTAL_ENV=production")
        else:
            config["SECRET_KEY"] = development_secret_key(instance_path)

    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = config["PORTAL_DATABASE_URL"] or (
            f"sqlite:///{Path(instance_path, 'portal.sqlite3')}"
        )
    if not config["PORTAL_RELEASE_STORE"]:
        config["PORTAL_RELEASE_STORE"] = str(Path(instance_path, "releases"))
    config.setdefault("RATELIMIT_STORAGE_URI", config["PORTAL_RATELIMIT_STORAGE_URL"])

    config["SESSION_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    if config.get("SESSION_COOKIE_SAMESITE") is None:
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if production:
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
        config["PREFERRED_URL_SCHEME"] = "https"
    if own_app:
        config["SESSION_COOKIE_NAME"] = "__Host-portal" if production else "portal_session"
        config["REMEMBER_COOKIE_NAME"] = (
            "__Host-portal_remember" if production else "portal_remember"
        )
