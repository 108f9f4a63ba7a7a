from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

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


class SecondStepForm(FlaskForm):
    """The second step of signing in: a code from the app, or one of the recovery codes."""

    code = _code_field(
        _l("Code"),
        _l(
            "The 6 digits your authenticator app shows now. If you do not have the app at hand,"
            " enter one of your recovery codes instead."
        ),
    )


class ConfirmEnrolmentForm(FlaskForm):
    code = _code_field(
        _l("Code from the app"),
        _l("The 6 digits the app shows after you have added the key."),
    )


class DisableForm(FlaskForm):
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field(
        _l("Code"),
        _l("The 6 digits your authenticator app shows now, or one of your recovery codes."),
    )


class RegenerateForm(FlaskForm):
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
        description=_l("Your old recovery codes stop working when the new ones are made."),
    )
