"""The audit trail: append-only events of who did what, as whom, to what, from where, and why."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import g, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.db import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_dt: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    outcome: Mapped[str] = mapped_column(sa.String(16), default="success")
    # Who did it: an account, or a system job named in actor_label. The ids are plain columns,
    # not foreign keys: the trail outlives the accounts and is pseudonymised, never cascaded.
    actor_account_id: Mapped[int | None] = mapped_column(index=True)
    actor_label: Mapped[str | None] = mapped_column(sa.String(120))
    acting_as_account_id: Mapped[int | None] = mapped_column(index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(32))
    subject_id: Mapped[int | None]
    subject_label: Mapped[str | None] = mapped_column(sa.String(254))
    company_id: Mapped[int | None] = mapped_column(index=True)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_events_subject", "subject_type", "subject_id"),)


# Events about a company that its own people must not read, only the vendor's staff: each says
# that an address has an account elsewhere in the portal (a refused invitation, designation or
# change of address), which the customer's answer was written not to reveal.
STAFF_ONLY_ACTIONS = frozenset(
    {"invitation.refused", "manager.designation_refused", "email_change.refused"}
)


def readable_by_customer():
    """The condition on audit events that a company's own people may read."""
    return AuditEvent.action.not_in(sorted(STAFF_ONLY_ACTIONS))


def record(
    action: str,
    *,
    actor=None,
    actor_label: str | None = None,
    acting_as=None,
    subject=None,
    subject_label: str | None = None,
    company_id: int | None = None,
    outcome: str = "success",
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction; it commits with the action it describes.

    Never pass passwords or tokens in `details`. While support views the portal as a customer,
    every event names the staff member as the actor and the customer in `acting_as`.
    """
    if actor is None and actor_label is None:
        actor = _current_account()
    acting = g.get(_ACTING) if has_app_context() else None
    if acting is not None:
        # Support viewing the portal as a customer: the staff member did it, as the customer.
        real_actor, customer = acting
        if actor_label is None and getattr(actor, "id", None) in (
            None,
            getattr(customer, "id", None),
        ):
            actor = real_actor
        if acting_as is None:
            acting_as = customer
    if subject is not None and getattr(subject, "id", 1) is None:
        db.session.flush()
    if company_id is None:
        company_id = (
            getattr(subject, "company_id", None)
            or getattr(acting_as, "company_id", None)
            or getattr(actor, "company_id", None)
        )
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor_account_id=getattr(actor, "id", None),
        actor_label=actor_label,
        acting_as_account_id=getattr(acting_as, "id", None),
        subject_type=type(subject).__name__ if subject is not None else None,
        subject_id=getattr(subject, "id", None),
        subject_label=subject_label,
        company_id=company_id,
        ip_address=request.remote_addr if has_request_context() else None,
        reason=reason,
        details=details,
    )
    db.session.add(event)
    return event


_ACTING = "portal_audit_acting"


def acting_for(actor, acting_as) -> None:
    """For the rest of the request `actor` acts as `acting_as` (support viewing as a customer):
    events name the actor as who did it and `acting_as` as whom it was done as."""
    g.setdefault(_ACTING, (actor, acting_as))


def stop_acting() -> None:
    g.pop(_ACTING, None)


def _current_account():
    if not has_request_context():
        return None
    return current_user if getattr(current_user, "is_authenticated", False) else None
