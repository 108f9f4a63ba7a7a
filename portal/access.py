"""Who may use which endpoint: declared beside each route, enforced in one place.

An endpoint without a declared rule is refused (deny by default), and the access matrix test
fails for it. Staff pages answer 404 to customers, so their existence is not revealed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, current_app, redirect, request, url_for
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

# Endpoints Flask or an extension defines for us; each is public by nature.
BUILT_IN_PUBLIC_ENDPOINTS = frozenset({"static", "portal.static"})


def rule_for(endpoint: str | None) -> Rule | None:
    if endpoint is None:
        return None
    if endpoint in BUILT_IN_PUBLIC_ENDPOINTS:
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def enforce():
    """The portal blueprint's before_request: refuse what the endpoint's rule does not allow."""
    if request.endpoint is None:  # 404 and 405 are answered by Flask
        return None
    rule = rule_for(request.endpoint)
    if rule is None:
        _refuse("no access rule declared")
        abort(403)
    if rule.allows(current_user):
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("portal.accounts.login", next=request.full_path.rstrip("?")))
    _refuse(rule.name)
    abort(404 if rule.hide_refusal else 403)


def _refuse(required: str) -> None:
    from portal.transaction import commit

    audit.record(
        "access.refused",
        outcome="refused",
        details={"endpoint": request.endpoint, "method": request.method, "required": required},
    )
    commit()
