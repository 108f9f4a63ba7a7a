"""The rules of viewing the portal as a customer: who may start it, why, and how it ends.

A view belongs to the staff member's own login session, which stays untouched: the session
loader returns the customer account as the current user while the view is active, and the
staff member's own account again once it has ended (no new sign-in, the session's expiry as it
was). Everything here records its audit event in the caller's transaction.
"""

import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, flash, g, has_request_context, request, url_for
from flask_login import current_user

from portal import access, audit, clock
from portal.accounts.models import Account, LoginSession, StaffRole
from portal.db import db
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.impersonation.models import EndReason, Impersonation
from portal.refusals import Refusal
from portal.rendering import render_template

# The one rule for a reason: a ticket reference ("ÄRENDE-1234", "#1234") or at least 10 characters.
REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 500
TICKET_REFERENCE = re.compile(r"(?:#|[^\W\d_]+-)\d+")

ROLES_THAT_MAY_VIEW_AS = frozenset({StaffRole.SUPPORT, StaffRole.STAFF_ADMIN})


# Why "View as" was refused, for the staff member; the keys are the refusals' codes.
PROBLEMS = {
    "not_allowed": _l("Only support and staff admins may view the portal as a customer."),
    "self": _l("You cannot view the portal as yourself."),
    "staff_target": _l("Staff accounts cannot be viewed as; only customer accounts."),
    "inactive": _l("This account is deactivated, so nobody sees the portal as it."),
    "invited": _l("This person has not accepted the invitation yet and has never signed in."),
    "nested": _l("You are already viewing the portal as someone. Stop that view first."),
    "reason_missing": _l("Give a reason: a ticket reference or a few words on why."),
    "reason_too_short": _l(
        "Give a ticket reference such as ÄRENDE-1234 or #1234, or at least 10 characters."
    ),
    "reason_too_long": _l("The reason can be at most 500 characters."),
}
REASON_PROBLEMS = frozenset({"reason_missing", "reason_too_short", "reason_too_long"})


def reason_problem(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if not text:
        return "reason_missing"
    if len(text) > REASON_MAX_LENGTH:
        return "reason_too_long"
    if len(text) < REASON_MIN_LENGTH and not TICKET_REFERENCE.fullmatch(text):
        return "reason_too_short"
    return None


def may_view_as(account) -> bool:
    """Whether the account may view the portal as customers at all (support and staff admins)."""
    return (
        account is not None
        and bool(getattr(account, "is_authenticated", False))
        and account.is_active
        and account.company_id is None
        and account.staff_role in ROLES_THAT_MAY_VIEW_AS
    )


def target_problem(staff: Account, customer: Account, login_session: LoginSession | None):
    """Why `staff` may not view the portal as `customer` now, or None."""
    if not may_view_as(staff) or login_session is None:
        return "not_allowed"
    if customer.id == staff.id:
        return "self"
    if customer.is_staff or customer.company_id is None:
        return "staff_target"
    if not customer.is_active:
        return "inactive"
    if customer.password_hash is None:
        return "invited"
    if active_for_session(login_session.id) is not None:
        return "nested"
    return None


def active_for_session(login_session_id: int) -> Impersonation | None:
    return db.session.scalar(
        sa.select(Impersonation).where(
            Impersonation.login_session_id == login_session_id, Impersonation.ended_dt.is_(None)
        )
    )


def start(
    staff: Account, customer: Account, reason: str | None, login_session: LoginSession | None
) -> Impersonation:
    """Begin a view as `customer` in the staff member's login session.

    A refusal is audited, and its code names the rule (a key of `PROBLEMS`).
    """
    text = (reason or "").strip()
    problem = target_problem(staff, customer, login_session) or reason_problem(text)
    if problem is not None:
        audit.record(
            "impersonation.refused",
            actor=staff,
            subject=customer,
            company_id=customer.company_id,
            outcome="refused",
            reason=text[:REASON_MAX_LENGTH] or None,
            details={"problem": problem},
        )
        field = "reason" if problem in REASON_PROBLEMS else None
        raise Refusal(PROBLEMS[problem], field=field, code=problem)
    now = clock.now()
    lifetime = timedelta(minutes=current_app.config["PORTAL_IMPERSONATION_MINUTES"])
    view = Impersonation(
        staff=staff,
        customer=customer,
        company_id=customer.company_id,
        login_session_id=login_session.id,
        reason=text,
        ip_address=request.remote_addr if has_request_context() else None,
        started_dt=now,
        # Never longer than the staff member's own session.
        expires_dt=min(now + lifetime, login_session.expires_dt),
    )
    db.session.add(view)
    db.session.flush()
    _record(view, "impersonation.started")
    return view


def end(view: Impersonation, reason: EndReason) -> None:
    """End the view (idempotent); expiry counts from the moment it was due."""
    if view.ended_dt is not None:
        return
    now = clock.now()
    view.ended_dt = min(now, view.expires_dt) if reason == EndReason.TIMEOUT else now
    view.end_reason = reason
    action = "impersonation.expired" if reason == EndReason.TIMEOUT else "impersonation.stopped"
    _record(view, action)
    if g.get("impersonation") is view:
        g.impersonation = None
        access.end_read_only()
        audit.stop_acting()


def _record(view: Impersonation, action: str) -> None:
    """Start, stop and expiry: staff account, customer account, reason, address and times."""
    audit.record(
        action,
        actor=view.staff,
        actor_label=None if view.staff is not None else "removed staff account",
        acting_as=view.customer,
        subject=view.customer,
        company_id=view.company_id,
        reason=view.reason,
        details={
            "impersonation_id": view.id,
            "started": _iso(view.started_dt),
            "expires": _iso(view.expires_dt),
            "ended": _iso(view.ended_dt),
            "end_reason": view.end_reason.value if view.end_reason else None,
        },
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --- the session loader's part --------------------------------------------------------------


def resolve(view: Impersonation, account: Account, key: str) -> Account:
    """The account a request of a live login session acts as, ending the view when it must."""
    if not may_view_as(account):
        end(view, EndReason.ROLE_LOST)
        return account
    customer = view.customer
    if customer is None or not customer.is_active:
        end(view, EndReason.CUSTOMER_INACTIVE)
        flash(_("The view as a customer has ended: the customer account is no longer active."))
        access.send_refused_to(_after_view_url(view, account))
        return account
    if clock.now() >= view.expires_dt:
        end(view, EndReason.TIMEOUT)
        flash(
            _(
                "Your view of the portal as %(name)s has ended: it lasts %(minutes)d minutes at"
                " most. You are back in your own account.",
                name=customer.display_name,
                minutes=current_app.config["PORTAL_IMPERSONATION_MINUTES"],
            ),
            "info",
        )
        access.send_refused_to(_after_view_url(view, account))
        return account
    customer.session_key = key
    g.impersonation = view
    g.impersonator = account
    access.make_read_only(lambda hidden: _refusal_page(view, hidden))
    audit.acting_for(account, customer)
    return customer


def _refusal_page(view: Impersonation, hidden: bool):
    page = render_template("portal/impersonation/refused.html", view=view, hidden=hidden)
    return page, 403


def _after_view_url(view: Impersonation, staff: Account) -> str:
    """Back to the staff member's page of the customer, when they may still see it."""
    if view.customer_account_id is not None and access.may_use("portal.staff.account", staff):
        return url_for("portal.staff.account", account_id=view.customer_account_id)
    return url_for("portal.shell.dashboard")


def end_with_dead_session(view: Impersonation, record: LoginSession) -> None:
    """The staff member's session is over (deactivated, revoked, timed out): so is the view."""
    if not record.account.is_active:
        reason = EndReason.STAFF_DEACTIVATED
    elif clock.now() >= view.expires_dt:
        reason = EndReason.TIMEOUT
    else:
        reason = EndReason.SESSION_ENDED
    end(view, reason)


# --- questions pages ask ------------------------------------------------------------------


def current() -> Impersonation | None:
    """The view this request is part of (loading the signed-in account first), or None."""
    if not has_request_context():
        return None
    current_user._get_current_object()  # the session loader sets g.impersonation
    return g.get("impersonation")


def impersonator() -> Account | None:
    """The staff member behind the current request during a view, else None."""
    view = current()
    return g.get("impersonator") if view is not None else None


def views_of_account(account_id: int, limit: int = 20) -> list[Impersonation]:
    return list(
        db.session.scalars(
            sa.select(Impersonation)
            .where(Impersonation.customer_account_id == account_id)
            .order_by(Impersonation.started_dt.desc(), Impersonation.id.desc())
            .limit(limit)
        ).unique()
    )


def all_views_query() -> sa.Select:
    return sa.select(Impersonation).order_by(
        Impersonation.started_dt.desc(), Impersonation.id.desc()
    )
