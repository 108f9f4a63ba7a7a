from wtforms import SearchField, TextAreaField

from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l
from portal.impersonation.service import REASON_MAX_LENGTH


class SearchForm(PortalForm):
    """The GET search of `/staff/companies`: no CSRF, the query is in the address."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Company name, organisation number or email address"),
        description=_l("For example Exempel AB, 556677-8899 or anna@exempel.se."),
    )


class ImpersonateForm(PortalForm):
    """ "View as": the reason's rule lives in the impersonation service, checked when starting."""

    reason = TextAreaField(
        _l("Reason"),
        description=_l(
            "A ticket reference such as ÄRENDE-1234 or #1234, or at least 10 characters on why."
            " The customer sees it."
        ),
        render_kw={"maxlength": REASON_MAX_LENGTH, "rows": 3},
    )


class ResetTwoFactorForm(PortalForm):
    """A staff admin resets someone's lost second factor; the reason's rule is the one of
    "View as" (a ticket reference or a few words), checked by the view."""

    reason = TextAreaField(
        _l("Reason"),
        description=_l(
            "A ticket reference such as ÄRENDE-1234 or #1234, or at least 10 characters on how"
            " you made sure it is the owner who asks."
        ),
        render_kw={"maxlength": REASON_MAX_LENGTH, "rows": 2},
    )
