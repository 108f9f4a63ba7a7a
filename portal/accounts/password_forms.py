"""Forms of password reset, password change and email change."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.accounts import passwords, service
from portal.accounts.forms import NewPasswordForm
from portal.accounts.models import Account


def _valid_address(field) -> str:
    try:
        return service.normalize_email(field.data or "")
    except service.AccountError:
        raise ValidationError(_l("Enter an email address like name@company.se.")) from None


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=254)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
        description=_l("The address you sign in with."),
    )

    def validate_email(self, field):
        _valid_address(field)


def _current_password_field():
    return PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class _ChecksCurrentPassword:
    """Checks `current_password` against the account's hash; remembers a wrong one."""

    wrong_current_password = False

    def validate_current_password(self, field):
        if not passwords.verify(self._account.password_hash, field.data or ""):
            self.wrong_current_password = True
            raise ValidationError(_l("The current password is wrong."))


class ChangePasswordForm(_ChecksCurrentPassword, NewPasswordForm):
    current_password = _current_password_field()

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, email=account.email, **kwargs)
        self._account = account

    def __iter__(self):
        # Inherited fields come first by definition order; the page asks for the current first.
        current = self._fields["current_password"]
        return iter([current, *(f for f in self._fields.values() if f is not current)])


class EmailChangeForm(_ChecksCurrentPassword, FlaskForm):
    email = EmailField(
        _l("New email address"),
        validators=[DataRequired(_l("Enter the new email address.")), Length(max=254)],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
        description=_l(
            "We send a link to this address; the change takes effect when you follow it."
        ),
    )
    current_password = _current_password_field()

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self._account = account
        self.normalized_email: str | None = None

    def validate_email(self, field):
        address = _valid_address(field)
        if address == self._account.email:
            raise ValidationError(_l("This is already the address of your account."))
        other = service.find_by_email(address)
        if other is not None and other.id != self._account.id:
            raise ValidationError(_l("Another account uses this address. Choose another one."))
        self.normalized_email = address
