"""Company API tokens for automation: named, scoped, expiring, revocable, shown once.

A token is `slp_` and 43 random URL-safe characters; only its SHA-256 is stored, with its first
characters for people to tell tokens apart. It authenticates `Authorization: Bearer <token>` on
the automation endpoints of the JSON API, for its company only, within its scopes; every use
is audited. A company's tokens go when the retention purge removes its accounts.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal import audit, clock
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.machines.models import ApiToken
from portal.refusals import Refusal

TOKEN_PREFIX = "slp_"  # noqa: S105  # nosec B105 # a prefix, not a secret
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
NAME_MAX_LENGTH = 80
MAX_LIFETIME_DAYS = 366

LICENSES_READ = "licenses:read"
RELEASES_DOWNLOAD = "releases:download"
SCOPES = {
    LICENSES_READ: _l("Read the company's licenses and their machines"),
    RELEASES_DOWNLOAD: _l("List and download the releases the company is entitled to"),
}

# Why a presented token is refused (the API answers these codes with 401, scope with 403).
TOKEN_MISSING = "token_missing"  # noqa: S105  # nosec B105 # an error code, not a secret
TOKEN_INVALID = "token_invalid"  # noqa: S105  # nosec B105 # an error code, not a secret
TOKEN_EXPIRED = "token_expired"  # noqa: S105  # nosec B105 # an error code, not a secret
TOKEN_REVOKED = "token_revoked"  # noqa: S105  # nosec B105 # an error code, not a secret
INSUFFICIENT_SCOPE = "insufficient_scope"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def label(token: ApiToken) -> str:
    """How the audit trail names a token as the actor."""
    return f"API token {token.id} ({token.name})"[:120]


def _end_of(day: date) -> datetime:
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=clock.LOCAL_TIMEZONE)
    return local.astimezone(UTC)


def create(
    company_id: int, name: str, scopes: list[str], expires_on: date, *, actor
) -> tuple[ApiToken, str]:
    """A new token and its secret (shown once: only its hash is kept)."""
    name = " ".join((name or "").split())
    if not name:
        raise Refusal(_l("Give the token a name that says what uses it."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise Refusal(
            _l("The name can be at most %(max)d characters.", max=NAME_MAX_LENGTH), field="name"
        )
    chosen = sorted(set(scopes))
    if not chosen or any(scope not in SCOPES for scope in chosen):
        raise Refusal(_l("Choose what the token may do."), field="scopes")
    today = clock.today()
    if not today < expires_on <= today + timedelta(days=MAX_LIFETIME_DAYS):
        raise Refusal(
            _l(
                "Choose an expiry date after today and at most %(days)d days ahead.",
                days=MAX_LIFETIME_DAYS,
            ),
            field="expires_on",
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        company_id=company_id,
        name=name,
        token_hash=_hash(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        scopes=" ".join(chosen),
        created_by_id=getattr(actor, "id", None),
        expires_dt=_end_of(expires_on),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token.created",
        actor=actor,
        subject=token,
        subject_label=name,
        company_id=company_id,
        details={"scopes": chosen, "expires_on": expires_on.isoformat(), "prefix": token.prefix},
    )
    return token, secret


def revoke(token: ApiToken, *, actor) -> bool:
    """Revoke from now on; False if it already was."""
    if token.revoked_dt is not None:
        return False
    token.revoked_dt = clock.now()
    audit.record(
        "api_token.revoked",
        actor=actor,
        subject=token,
        subject_label=token.name,
        company_id=token.company_id,
    )
    return True


def company_tokens(company_id: int) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.company_id == company_id)
            .order_by(ApiToken.revoked_dt.is_not(None), ApiToken.created_dt.desc(), ApiToken.id)
        )
    )


def token_of_company(company_id: int, token_id: int) -> ApiToken | None:
    return db.session.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.company_id == company_id)
    )


@dataclass(frozen=True)
class TokenCheck:
    token: ApiToken | None
    problem: str | None  # one of the codes above, None when the token may be used


def check(secret: str | None, scope: str, *, now: datetime | None = None) -> TokenCheck:
    """Whether a presented token may do `scope` now (one query)."""
    if not secret:
        return TokenCheck(None, TOKEN_MISSING)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    now = now or clock.now()
    if token is None:
        return TokenCheck(None, TOKEN_INVALID)
    if token.revoked_dt is not None:
        return TokenCheck(token, TOKEN_REVOKED)
    if now >= token.expires_dt:
        return TokenCheck(token, TOKEN_EXPIRED)
    if scope not in token.scope_list:
        return TokenCheck(token, INSUFFICIENT_SCOPE)
    return TokenCheck(token, None)


def record_use(result: TokenCheck, *, endpoint: str, method: str) -> None:
    """Every presented token is audited: a use, or a refusal and why (no token: nothing)."""
    if result.problem == TOKEN_MISSING:
        return
    token = result.token
    details = {"endpoint": endpoint, "method": method}
    if result.problem is None:
        token.last_used_dt = clock.now()
        audit.record(
            "api_token.used",
            actor_label=label(token),
            subject=token,
            subject_label=token.name,
            company_id=token.company_id,
            details=details,
        )
        return
    audit.record(
        "api_token.refused",
        actor_label=label(token) if token is not None else "API client",
        subject=token,
        subject_label=token.name if token is not None else None,
        company_id=token.company_id if token is not None else None,
        outcome="refused",
        details={**details, "code": result.problem},
    )


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    now = now or clock.now()
    if token.revoked_dt is not None:
        return "revoked"
    return "expired" if now >= token.expires_dt else "active"
