"""Forms of signing in and asking for a password reset."""

from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from portal.accounts.forms import valid_address
from portal.emails import EMAIL_MAX_LENGTH
from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l


class LoginForm(PortalForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=EMAIL_MAX_LENGTH)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(
        _l("Keep me signed in for 30 days on this device"),
        description=_l("Vendor staff accounts are always signed out after a while."),
    )


class ForgotPasswordForm(PortalForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=EMAIL_MAX_LENGTH)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
        description=_l("The address you sign in with."),
    )

    def validate_email(self, field):
        valid_address(field)
