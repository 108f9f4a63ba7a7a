"""Forms of a person's own account: profile, password, email address and second factor."""

from wtforms import EmailField, PasswordField, SelectField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from portal import phone
from portal.accounts import passwords
from portal.accounts.models import Account
from portal.accounts.names import valid_name
from portal.emails import EMAIL_MAX_LENGTH, normalize_email
from portal.forms import PortalForm
from portal.i18n import language_choices
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal


def valid_address(field) -> str:
    """The field's address normalised, or its ValidationError."""
    try:
        return normalize_email(field.data)
    except Refusal as refusal:
        raise ValidationError(str(refusal)) from None


class ProfileForm(PortalForm):
    name = StringField(_l("Name"), validators=[valid_name])
    phone = TelField(
        _l("Phone"),
        validators=[Optional(), Length(max=40)],
        description=_l("For example 070-123 45 67, or with a country code: +47 22 12 34 56."),
        render_kw={"autocomplete": "tel"},
    )
    language = SelectField(_l("Language"), choices=language_choices())

    def validate_phone(self, field):
        if field.data:
            try:
                phone.to_e164(field.data)
            except phone.InvalidPhoneNumber:
                raise ValidationError(_l("Enter a phone number like 070-123 45 67.")) from None


class NewPasswordForm(PortalForm):
    """Choose a password: length and commonness are checked, nothing else."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a password."))],
        render_kw={"autocomplete": "new-password"},
        description=_l("At least 12 characters. A sentence of a few words works well."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", _l("The passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args, email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._email = email

    def validate_password(self, field):
        problem = passwords.policy_problem(field.data or "", email=self._email)
        if problem:
            raise ValidationError(str(problem))


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


class EmailChangeForm(_ChecksCurrentPassword, PortalForm):
    email = EmailField(
        _l("New email address"),
        validators=[DataRequired(_l("Enter the new email address.")), Length(max=EMAIL_MAX_LENGTH)],
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
        # Whether another account has the address is not the form's business: the answer is
        # the same either way (see accounts.views.change_email).
        address = valid_address(field)
        if address == self._account.email:
            raise ValidationError(_l("This is already the address of your account."))
        self.normalized_email = address

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.wrong_current_password:
            # A wrong password is all the page says: nothing about the address before it.
            self.email.errors = []
            self.normalized_email = None
        return valid


# Longer than any code with spaces or dashes typed in; anything longer is a mistake.
CODE_MAX_LENGTH = 40

_CODE_INPUT = {
    "autocomplete": "one-time-code",
    "autocapitalize": "none",
    "spellcheck": "false",
}


def _code_field(label, hint):
    return StringField(
        label,
        validators=[
            DataRequired(_l("Enter the code.")),
            Length(max=CODE_MAX_LENGTH, message=_l("The code is too long. Check what you typed.")),
        ],
        render_kw=dict(_CODE_INPUT),
        description=hint,
    )


class SecondStepForm(PortalForm):
    """The second step of signing in: a code from the app, or one of the recovery codes."""

    code = _code_field(
        _l("Code"),
        _l(
            "The 6 digits your authenticator app shows now. If you do not have the app at hand,"
            " enter one of your recovery codes instead."
        ),
    )


class ConfirmEnrolmentForm(PortalForm):
    code = _code_field(
        _l("Code from the app"),
        _l("The 6 digits the app shows after you have added the key."),
    )


class DisableForm(PortalForm):
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field(
        _l("Code"),
        _l("The 6 digits your authenticator app shows now, or one of your recovery codes."),
    )


class RegenerateForm(PortalForm):
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
        description=_l("Your old recovery codes stop working when the new ones are made."),
    )
