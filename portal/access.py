"""Who may use which endpoint: declared beside each route, enforced in one place.

An endpoint without a declared rule is refused (deny by default), and the access matrix test
fails for it. Staff pages answer 404 to customers, so their existence is not revealed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from portal import audit


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[[object], bool]
    requires_login: bool = True
    hide_refusal: bool = False  # answer 404 instead of 403
    # The JSON API: no session cookie is read, no CSRF token asked and no read-only view as a
    # customer applies; the API checks its own credentials (a license key, a bearer token).
    sessionless: bool = False

    def allows(self, account) -> bool:
        if not self.requires_login:
            return True
        return bool(getattr(account, "is_authenticated", False)) and self.check(account)

    def __call__(self, view):
        view.access_rule = self
        return view


def customer(account) -> bool:
    return account.company_id is not None


PUBLIC = Rule("public", lambda account: True, requires_login=False)
SIGNED_IN = Rule("signed in", lambda account: True)
CUSTOMER = Rule("customer", customer)
COMPANY_ADMIN = Rule("company admin", lambda a: customer(a) and a.is_company_admin)

API = Rule("api credentials", lambda account: True, requires_login=False, sessionless=True)

STAFF = Rule("staff", lambda account: account.is_staff, hide_refusal=True)
STAFF_ADMIN = Rule(
    "staff admin", lambda account: account.staff_role == "staff_admin", hide_refusal=True
)

# While support views the portal as a customer (portal.impersonation), the request is read-only:
# the session loader calls `make_read_only`; then every unsafe method is refused except on views
# marked `ends_impersonation` (Stop, sign out), and views marked `not_while_impersonating`
# (secrets, exports, sessions) are refused outright.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_READ_ONLY = "portal_read_only"
_REFUSED_GOES_TO = "portal_refused_goes_to"


def ends_impersonation(view):
    """Mark a view that may be posted to while viewing as a customer: it ends the view."""
    view.ends_impersonation = True
    return view


def not_while_impersonating(view):
    """Mark a view that support must not see while viewing as a customer (even by GET)."""
    view.not_while_impersonating = True
    return view


def make_read_only(refusal_page: Callable[[bool], object]) -> None:
    """This request acts as another account, read-only. `refusal_page(hidden)` answers what the
    view refuses (`hidden`: the page is one support must not see at all)."""
    g.setdefault(_READ_ONLY, refusal_page)


def end_read_only() -> None:
    g.pop(_READ_ONLY, None)


def is_read_only() -> bool:
    current_user._get_current_object()  # the session loader decides, so load the account first
    return g.get(_READ_ONLY) is not None


def send_refused_to(url: str) -> None:
    """The request's identity changed while it was loaded (a view as a customer ended): a page
    the new identity may not use redirects here instead of refusing."""
    g.setdefault(_REFUSED_GOES_TO, url)


# Endpoints Flask or an extension defines for us; each is public by nature.
BUILT_IN_PUBLIC_ENDPOINTS = frozenset({"static", "portal.static"})


def rule_for(endpoint: str | None) -> Rule | None:
    if endpoint is None:
        return None
    if endpoint in BUILT_IN_PUBLIC_ENDPOINTS:
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def is_sessionless(endpoint: str | None) -> bool:
    rule = rule_for(endpoint)
    return rule is not None and rule.sessionless


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
    if rule.sessionless:
        return None
    if rule.allows(current_user):
        return _refuse_while_read_only()
    if not current_user.is_authenticated:
        return redirect(url_for("portal.signin.login", next=request.full_path.rstrip("?")))
    goes_to = g.get(_REFUSED_GOES_TO)
    if goes_to is not None:
        return redirect(goes_to)
    _refuse(rule.name)
    abort(404 if rule.hide_refusal else 403)


def _refuse_while_read_only():
    view = current_app.view_functions.get(request.endpoint)
    unsafe = request.method in UNSAFE_METHODS and not getattr(view, "ends_impersonation", False)
    hidden = getattr(view, "not_while_impersonating", False)
    if not (unsafe or hidden) or not is_read_only():
        return None
    _refuse("read-only view as a customer")
    return g.get(_READ_ONLY)(hidden and not unsafe)


def _refuse(required: str) -> None:
    audit.record(
        "access.refused",
        outcome="refused",
        details={"endpoint": request.endpoint, "method": request.method, "required": required},
    )
