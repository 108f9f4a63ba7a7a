"""Rate limits on sign-in, password reset, invitation acceptance, password checks and the API.

Flask-Limiter counts in the storage named by `RATELIMIT_STORAGE_URI` (`memory://` by default,
`redis://...` through `PORTAL_RATELIMIT_STORAGE_URL`). Only the views decorated below are
limited: the limiter sets no default limits, so a host site's own routes are never touched.

Limits by account are keyed by a keyed hash (HMAC with the secret key) of the normalized email
address, so the storage holds no addresses, and an unknown address is counted exactly like a
known one (the limits reveal nothing about which accounts exist).

A locked-out attacker cannot keep the owner out: the per-account limit counts failed sign-ins
only, password reset has its own generous limit per address, and a completed reset clears the
account's failures (`forget_login_failures`).
"""

import hashlib
import hmac
import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import current_app, has_app_context, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage

from portal.emails import EMAIL_MAX_LENGTH, normalize_email
from portal.refusals import Refusal

# Sign-in: POSTs from one client address, and failed sign-ins of one account from anywhere.
LOGIN_PER_ADDRESS = "30/minute"
LOGIN_FAILURES_PER_ACCOUNT = "10/minute;100/hour"
# Asking for a reset link: per client address, and per typed address (no mail bombing).
RESET_REQUESTS_PER_ADDRESS = "10/minute;60/hour"
RESET_REQUESTS_PER_EMAIL = "5/minute;30/hour"
# Forms reached through a mailed link (invitation, password reset): per client address.
TOKEN_FORMS_PER_ADDRESS = "20/minute;200/hour"  # noqa: S105  # nosec B105 # a rate limit
# Failed checks of the current password by a signed-in person (password and email change).
PASSWORD_CHECKS_PER_ACCOUNT = "10/minute;100/hour"  # noqa: S105  # nosec B105 # a rate limit

# The JSON API's machine endpoints (SafeLink clients): per client address, and per license key
# from any address (keyed by an HMAC of the key, like addresses). Automation endpoints (API
# tokens): per client address.
MACHINE_REQUESTS_PER_ADDRESS = "300/minute"
MACHINE_REQUESTS_PER_LICENSE_KEY = "600/minute"
API_REQUESTS_PER_ADDRESS = "300/minute"

LOGIN_ENDPOINT = "portal.signin.login"
_STATE = "portal_ratelimit"
# A storage that does not answer within this is treated as down (never a request that hangs).
STORAGE_TIMEOUT_SECONDS = 0.5

log = logging.getLogger(__name__)


def client_address() -> str:
    """The client's address as the WSGI server reports it (behind a proxy, use ProxyFix)."""
    return request.remote_addr or "unknown"


def email_key_for(address: str) -> str:
    """The storage key of one email address: normalized the way sign-in normalizes it."""
    if len(address) > EMAIL_MAX_LENGTH:
        # Never an account's address: one shared key, and the value is neither normalised nor
        # hashed (the body limit bounds it; this bounds the work).
        return _keyed("email", "(too long)")
    try:
        normalized = normalize_email(address)
    except Refusal:
        normalized = address.strip().lower()
    return _keyed("email", normalized)


def _keyed(kind: str, value: str) -> str:
    """A storage key that holds no address or license key: an HMAC with the secret key."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return f"{kind}:{hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:40]}"


def license_key_in_body() -> str:
    """The storage key of the license key a JSON body names (bodies without one share one)."""
    body = request.get_json(silent=True)
    key = body.get("license_key") if isinstance(body, dict) else None
    if not isinstance(key, str):
        return "license:none"
    return _keyed("license", key.strip().upper())


def typed_email() -> str:
    return email_key_for(request.form.get("email", ""))


def signed_in_account() -> str:
    return f"account:{getattr(current_user, 'id', None) or 'anonymous'}"


def form_refused(response) -> bool:
    """A POST answered by the form again (200), not a redirect: wrong password or bad input."""
    return response.status_code == 200


class FallbackStorage(Storage):
    """The configured storage (Redis), and this process's memory while it does not answer.

    A sign-in never fails because Redis is down: the same limits count in each process until
    Redis answers again (tried again every `RETRY_SECONDS`), with one warning when it goes and
    one line when it is back.
    """

    STORAGE_SCHEME = None
    RETRY_SECONDS = 5.0

    def __init__(self, primary: Storage):
        super().__init__()
        self.primary = primary
        self.memory = MemoryStorage()
        self.down_since: float | None = None
        self._retry_at = 0.0
        self._state = threading.Lock()

    @property
    def base_exceptions(self):
        return ()  # nothing escapes: a failing primary is replaced by the memory

    @property
    def is_down(self) -> bool:
        return self.down_since is not None

    def _use(self, operation: str, *args):
        if self.down_since is not None and time.monotonic() >= self._retry_at:
            self._try_again()
        if self.down_since is None:
            try:
                return getattr(self.primary, operation)(*args)
            except (StorageError, *_as_tuple(self.primary.base_exceptions)) as error:
                self._went_down(error)
        return getattr(self.memory, operation)(*args)

    def _went_down(self, error: Exception) -> None:
        with self._state:
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning(
                    "rate limit storage unreachable (%s): counting in this process until it is"
                    " back",
                    type(error).__name__,
                )
            self._retry_at = time.monotonic() + self.RETRY_SECONDS

    def _try_again(self) -> None:
        with self._state:
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
        try:
            back = self.primary.check()
        except Exception:
            back = False
        if back:
            with self._state:
                self.down_since = None
            log.warning("rate limit storage is back: counting there again")

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._use("incr", key, expiry, amount)

    def get(self, key: str) -> int:
        return self._use("get", key)

    def get_expiry(self, key: str) -> float:
        return self._use("get_expiry", key)

    def clear(self, key: str) -> None:
        return self._use("clear", key)

    def reset(self) -> int | None:
        self.memory.reset()
        return self._use("reset")

    def check(self) -> bool:
        """Whether the configured storage answers now (/readyz asks)."""
        try:
            return bool(self.primary.check())
        except Exception:
            return False


def _as_tuple(exceptions) -> tuple:
    return exceptions if isinstance(exceptions, tuple) else (exceptions,)


@dataclass
class _AppBackend:
    """What Flask-Limiter keeps on the limiter object, kept per Flask app instead."""

    enabled: bool
    storage: object
    strategy: object


def _per_app(name: str) -> property:
    """An attribute of the limiter that is read from the current app's backend."""

    def getter(self):
        backend = self._backend()
        if backend is not None:
            return getattr(backend, name)
        return self.__dict__.get(f"_pending_{name}")

    def setter(self, value):
        self.__dict__[f"_pending_{name}"] = value

    return property(getter, setter)


class PortalLimiter(Limiter):
    """One limiter object for the decorators below; every app it serves has its own storage.

    Flask-Limiter keeps its storage on the limiter object, so a second app (a host site with
    two portals, or a test app on Redis) would silently take over the first app's counters.
    Here the storage, the strategy and the on/off switch live in `app.extensions`.
    """

    enabled = _per_app("enabled")
    _storage = _per_app("storage")
    _limiter = _per_app("strategy")

    def _backend(self) -> _AppBackend | None:
        if self.__dict__.get("_initialising") or not has_app_context():
            return None
        return current_app.extensions.get(_STATE)

    def init_app(self, app) -> None:
        self.__dict__["_initialising"] = True
        self.__dict__["_pending_storage"] = self.__dict__["_pending_strategy"] = None
        self.__dict__["_pending_enabled"] = True  # each app decides with RATELIMIT_ENABLED
        try:
            super().init_app(app)
        finally:
            self.__dict__["_initialising"] = False
        storage = strategy = None  # RATELIMIT_ENABLED off: Flask-Limiter made neither
        if self.__dict__.get("_pending_storage") is not None:
            storage = FallbackStorage(self.__dict__["_pending_storage"])
            strategy = type(self.__dict__["_pending_strategy"])(storage)
        app.extensions[_STATE] = _AppBackend(
            enabled=bool(self.__dict__.get("_pending_enabled")),
            storage=storage,
            strategy=strategy,
        )

    def _check_request_limit(self, callable_name=None, in_middleware=True) -> None:
        try:
            super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)
        except RateLimitExceeded as error:
            # The portal's 429 page sends `Retry-After` from this (see portal.http.render_error).
            error.retry_after = seconds_until_retry(self)
            raise


def seconds_until_retry(extension: Limiter) -> int:
    breached = extension.current_limit
    if breached is None:
        return 60
    return max(1, math.ceil(breached.window.reset_time - time.time()))


limiter = PortalLimiter(key_func=client_address)


def init_app(app) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://")):
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {
                "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS,
                "socket_timeout": STORAGE_TIMEOUT_SECONDS,
            },
        )
    limiter.init_app(app)


def storage_state() -> str:
    """For /readyz: "ok", "memory" (no shared storage configured), or "down" (Redis)."""
    backend = current_app.extensions[_STATE]
    if isinstance(backend.storage.primary, MemoryStorage):
        return "memory"
    return "ok" if backend.storage.check() else "down"


def forget_login_failures(address: str) -> None:
    """Clear the failed sign-ins counted against an address (after its owner reset the password)."""
    if not limiter.enabled or limiter._storage is None:
        return
    prefix = [limiter._key_prefix] if limiter._key_prefix else []
    for item in parse_many(LOGIN_FAILURES_PER_ACCOUNT):
        limiter.limiter.clear(item, *prefix, email_key_for(address), LOGIN_ENDPOINT)


# The decorators, applied under a view's access rule.
login_per_address = limiter.limit(LOGIN_PER_ADDRESS, methods=["POST"])
login_failures_per_account = limiter.limit(
    LOGIN_FAILURES_PER_ACCOUNT, key_func=typed_email, methods=["POST"], deduct_when=form_refused
)
reset_requests_per_address = limiter.limit(RESET_REQUESTS_PER_ADDRESS, methods=["POST"])
reset_requests_per_email = limiter.limit(
    RESET_REQUESTS_PER_EMAIL, key_func=typed_email, methods=["POST"]
)
token_form_per_address = limiter.limit(TOKEN_FORMS_PER_ADDRESS, methods=["POST"])
machine_requests_per_address = limiter.shared_limit(
    MACHINE_REQUESTS_PER_ADDRESS, scope="api-machines-address"
)
machine_requests_per_license_key = limiter.shared_limit(
    MACHINE_REQUESTS_PER_LICENSE_KEY, scope="api-machines-license", key_func=license_key_in_body
)
api_requests_per_address = limiter.shared_limit(API_REQUESTS_PER_ADDRESS, scope="api-address")
password_checks_per_account = limiter.shared_limit(
    PASSWORD_CHECKS_PER_ACCOUNT,
    scope="current-password",
    key_func=signed_in_account,
    methods=["POST"],
    deduct_when=form_refused,
)
