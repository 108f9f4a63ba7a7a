"""Configuration from `PORTAL_*` environment variables and the instance folder.

Every setting the portal reads is declared once in `SETTINGS`; the README's configuration table
describes the same list.
"""

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.db import MOUNTED_ENGINE_OPTIONS, MOUNTED_URL
from portal.register import ACCOUNT_RETENTION_MONTHS_DEFAULT


class ConfigurationError(RuntimeError):
    """The configuration cannot run the portal (e.g. production without a secret key)."""


def _flag(value: str) -> bool:
    normalized = value.strip().lower()
    if normalized in {"1", "on", "true", "yes"}:
        return True
    if normalized in {"0", "off", "false", "no", ""}:
        return False
    raise ConfigurationError(f"expected on or off, got {value!r}")


def _email_address(value: str) -> str:
    address = value.strip()
    local, _at, domain = address.partition("@")
    if not local or "." not in domain or any(char.isspace() for char in address):
        raise ConfigurationError(f"expected an email address, got {value!r}")
    return address


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ConfigurationError(f"expected a positive number, got {value!r}")
    return number


def _proxy_count(value: str) -> int:
    number = int(value)
    if not 0 <= number <= MAX_TRUSTED_PROXIES:
        raise ConfigurationError(
            f"expected a number of proxies from 0 to {MAX_TRUSTED_PROXIES}, got {value!r}"
        )
    return number


MAX_TRUSTED_PROXIES = 5


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
    Setting(
        "PORTAL_SCHEDULER_LEASE_SECONDS",
        60,
        _positive_int,
        "how long the scheduler's (and a purge's) database lease lasts unrenewed",
    ),
    Setting(
        "PORTAL_RELEASE_STORE",
        None,
        str,
        "a folder of release files, or `s3://bucket/prefix` (shared by every web host)",
    ),
    Setting(
        "PORTAL_S3_ENDPOINT_URL",
        None,
        str,
        "an S3-compatible server other than AWS (MinIO, Ceph), e.g. `https://s3.example.com`",
    ),
    Setting("PORTAL_MAX_UPLOAD_MB", 2048, _positive_int, "largest release file staff can upload"),
    Setting(
        "PORTAL_DOWNLOAD_ACCEL_REDIRECT",
        None,
        str,
        "nginx internal location, e.g. `/protected-releases/`; empty: the portal sends the files",
    ),
    Setting(
        "PORTAL_TRUSTED_PROXIES",
        0,
        _proxy_count,
        "how many proxies in front of a standalone portal set X-Forwarded-For/-Proto/-Host",
    ),
    Setting("PORTAL_SESSION_IDLE_MINUTES", 30, _positive_int, "idle sign-out"),
    Setting("PORTAL_SESSION_ABSOLUTE_HOURS", 12, _positive_int, "absolute sign-out"),
    Setting(
        "PORTAL_IMPERSONATION_MINUTES", 30, _positive_int, "how long support may view as a customer"
    ),
    Setting("PORTAL_BASE_URL", None, str, "public address used in mailed links"),
    Setting(
        "PORTAL_SIGNING_KEY_FILE",
        None,
        str,
        "PEM file of the Ed25519 key that signs API answers and license files; required in"
        " production",
    ),
    Setting(
        "PORTAL_SIGNING_KEY_GRACE_DAYS",
        90,
        _positive_int,
        "days a former signing key stays published after a newer one is first used",
    ),
    Setting("PORTAL_MACHINE_STALE_DAYS", 30, _positive_int, "days without validation before stale"),
    Setting("PORTAL_FREE_STALE_MACHINES", False, _flag, "free the seats of stale machines daily"),
    Setting("PORTAL_OFFLINE_LICENSE_DAYS", 365, _positive_int, "lifetime of a license file"),
    Setting(
        "PORTAL_SALES_EMAIL",
        None,
        _email_address,
        "where customers ask to renew a license or its maintenance (shown where it has lapsed)",
    ),
    Setting(
        "PORTAL_ORDERS_EMAIL",
        None,
        _email_address,
        "the vendor's order mailbox: every order placed in the portal is mailed there",
    ),
)

SECRET_KEY_FILE = "secret_key"  # noqa: S105  # nosec B105 # a file name, not a key
SIGNING_KEY_FILE = "signing_key.pem"
MEGABYTE = 1024 * 1024
UPLOAD_FORM_ALLOWANCE = MEGABYTE  # room for the upload form's other fields


def max_upload_bytes(config: Mapping[str, Any]) -> int:
    return config["PORTAL_MAX_UPLOAD_MB"] * MEGABYTE


def upload_body_bytes(config: Mapping[str, Any]) -> int:
    """The body of the release upload: the largest release file plus its form's other fields
    (the one route with a large body, `portal.http.accepts_body`)."""
    return max_upload_bytes(config) + UPLOAD_FORM_ALLOWANCE


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


def _write_once(path: Path, content: bytes) -> None:
    """Write a file once, mode 0600, even when processes starting together race for it.

    The content goes to a private temporary file (mode 0600) that is then linked into place, so
    that processes starting at the same moment all end up with the one file that won.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def development_secret_key(instance_path: str) -> str:
    """A random key made once per instance folder, so sessions survive restarts."""
    key_file = Path(instance_path, SECRET_KEY_FILE)
    _write_once(key_file, secrets.token_urlsafe(48).encode())
    key = key_file.read_text().strip()
    if not key:
        raise ConfigurationError(f"{key_file} is empty; delete it and a new key is made")
    return key


def development_signing_key_file(instance_path: str) -> str:
    """An Ed25519 key made once per instance folder, so signatures verify across restarts."""
    key_file = Path(instance_path, SIGNING_KEY_FILE)
    if not key_file.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_once(key_file, pem)
    return str(key_file)


def _check_production_mail(config: dict[str, Any]) -> None:
    # Mailed links (password reset, invitations) must not print into logs, nor take their
    # host from a request's Host header, which an attacker chooses.
    if config["PORTAL_MAIL_URL"] == "console":
        raise ConfigurationError("PORTAL_MAIL_URL must be an smtp:// address in production")
    if not config.get("PORTAL_BASE_URL"):
        raise ConfigurationError("PORTAL_BASE_URL must be set when PORTAL_ENV=production")


def _database_settings(config: dict[str, Any], instance_path: str, *, own_app: bool) -> None:
    """The portal's database. Standalone: the app's `SQLALCHEMY_*`. Mounted: an engine of the
    portal's own on `PORTAL_DATABASE_URL`, else on the host's `SQLALCHEMY_DATABASE_URI` (the same
    database, another pool), else SQLite in the instance folder; the host's settings stay as set.
    """
    sqlite_file = f"sqlite:///{Path(instance_path, 'portal.sqlite3')}"
    if own_app:
        # A connection the database dropped (a restart, a failover) is noticed before a request
        # uses it, instead of failing that request.
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", True)
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            config["SQLALCHEMY_DATABASE_URI"] = config["PORTAL_DATABASE_URL"] or sqlite_file
        return
    if not config.get(MOUNTED_URL):
        config[MOUNTED_URL] = (
            config["PORTAL_DATABASE_URL"] or config.get("SQLALCHEMY_DATABASE_URI") or sqlite_file
        )
    config.setdefault(MOUNTED_ENGINE_OPTIONS, {}).setdefault("pool_pre_ping", True)


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

    if production:
        _check_production_mail(config)
    if config["PORTAL_TRUSTED_PROXIES"] and not own_app:
        raise ConfigurationError(
            "PORTAL_TRUSTED_PROXIES is for a standalone portal; mounted, wrap the host's"
            " app.wsgi_app in Werkzeug's ProxyFix"
        )

    if not config.get("PORTAL_SIGNING_KEY_FILE"):
        if production:
            raise ConfigurationError(
                "PORTAL_SIGNING_KEY_FILE must be set when PORTAL_ENV=production"
            )
        config["PORTAL_SIGNING_KEY_FILE"] = development_signing_key_file(instance_path)

    _database_settings(config, instance_path, own_app=own_app)
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
