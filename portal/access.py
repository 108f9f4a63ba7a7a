"""Who may use which endpoint: declared beside each route, enforced in one place.

An endpoint without a declared rule is refused (deny by default), and the access matrix test
fails for it. Staff pages answer 404 to customers, so their existence is not revealed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user

from portal import audit


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[[object], bool]
    requires_login: bool = True
    hide_refusal: bool = False  # answer 404 instead of 403

    def allows(self, account) -> bool:
        if not self.requires_login:
            return True
        return bool(getattr(account, "is_authenticated", False)) and self.check(account)

    def __call__(self, view):
        view.access_rule = self
        return view


def _customer(account) -> bool:
    return account.company_id is not None


PUBLIC = Rule("public", lambda account: True, requires_login=False)
SIGNED_IN = Rule("signed in", lambda account: True)
CUSTOMER = Rule("customer", _customer)
COMPANY_ADMIN = Rule("company admin", lambda a: _customer(a) and a.is_company_admin)


def _license_manager_or_admin(account) -> bool:
    if not _customer(account):
        return False
    if account.is_company_admin:
        return True
    from portal.licenses.manager import is_license_manager

    return is_license_manager(account)


LICENSE_MANAGER_OR_ADMIN = Rule("license manager or company admin", _license_manager_or_admin)
STAFF = Rule("staff", lambda account: account.is_staff, hide_refusal=True)
STAFF_ADMIN = Rule(
    "staff admin", lambda account: account.staff_role == "staff_admin", hide_refusal=True
)

# While support views the portal as a customer (portal.impersonation), the view is read-only:
# every unsafe method is refused except on views marked `ends_impersonation` (Stop, sign out),
# and views marked `not_while_impersonating` (secrets, exports, sessions) are refused outright.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def ends_impersonation(view):
    """Mark a view that may be posted to while viewing as a customer: it ends the view."""
    view.ends_impersonation = True
    return view


def not_while_impersonating(view):
    """Mark a view that support must not see while viewing as a customer (even by GET)."""
    view.not_while_impersonating = True
    return view


# Endpoints Flask or an extension defines for us; each is public by nature.
BUILT_IN_PUBLIC_ENDPOINTS = frozenset({"static", "portal.static"})


def rule_for(endpoint: str | None) -> Rule | None:
    if endpoint is None:
        return None
    if endpoint in BUILT_IN_PUBLIC_ENDPOINTS:
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def may_use(endpoint: str, account) -> bool:
    """Whether a link to the endpoint makes sense for the account (it exists and admits them)."""
    if endpoint not in current_app.view_functions:
        return False
    rule = rule_for(endpoint)
    return rule is not None and rule.allows(account)


def enforce():
    """The portal blueprint's before_request: refuse what the endpoint's rule does not allow."""
    if request.endpoint is None:  # 404 and 405 are answered by Flask
        return None
    rule = rule_for(request.endpoint)
    if rule is None:
        _refuse("no access rule declared")
        abort(403)
    if rule.allows(current_user):
        return _refuse_while_impersonating()
    if not current_user.is_authenticated:
        return redirect(url_for("portal.accounts.login", next=request.full_path.rstrip("?")))
    ended = g.get("ended_impersonation")
    if ended is not None:  # the view ended with this request: back to the staff's own pages
        return redirect(_after_impersonation_url(ended))
    _refuse(rule.name)
    abort(404 if rule.hide_refusal else 403)


def _refuse_while_impersonating():
    view = current_app.view_functions.get(request.endpoint)
    unsafe = request.method in UNSAFE_METHODS and not getattr(view, "ends_impersonation", False)
    hidden = getattr(view, "not_while_impersonating", False)
    if not (unsafe or hidden):
        return None
    from portal.impersonation import service as impersonation

    active = impersonation.current()
    if active is None:
        return None
    _refuse("read-only view as a customer")
    page = render_template(
        "portal/staff/impersonation_refused.html", view=active, hidden=hidden and not unsafe
    )
    return page, 403


def _after_impersonation_url(ended) -> str:
    if ended.customer_account_id is not None and may_use("portal.staff.account", current_user):
        return url_for("portal.staff.account", account_id=ended.customer_account_id)
    return url_for("portal.core.dashboard")


def _refuse(required: str) -> None:
    from portal.transaction import commit

    audit.record(
        "access.refused",
        outcome="refused",
        details={"endpoint": request.endpoint, "method": request.method, "required": required},
    )
    commit()
