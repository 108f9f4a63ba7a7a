from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

PERSONAL = "personal"
FUNCTION = "function"


class ManagerForm(FlaskForm):
    """Choose the license manager: one of the company's people, or a function address."""

    choice = RadioField(
        _l("Who manages the licenses?"),
        choices=[
            SelectChoice(
                PERSONAL, _l("A person: one of the company's users (takes effect at once)")
            ),
            SelectChoice(
                FUNCTION, _l("A function address (takes effect when someone there confirms it)")
            ),
        ],
        validate_choice=False,
    )
    account = SelectField(_l("Person"), validate_choice=False)
    email = EmailField(
        _l("Function address"),
        validators=[Length(max=254, message=_l("The address is too long."))],
        description=_l(
            "For example licenses@yourcompany.se. We mail a link there; whoever follows it"
            " chooses the address's password, and then the change takes effect."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.account.choices = [SelectChoice("", _l("Choose a person"))] + [
            SelectChoice(
                str(person.id), f"{person.name} ({person.email})" if person.name else person.email
            )
            for person in people
        ]

    def validate_choice(self, field):
        if field.data not in (PERSONAL, FUNCTION):
            raise ValidationError(_l("Choose a person or a function address."))

    def validate_account(self, field):
        if self.choice.data == PERSONAL and not field.data:
            raise ValidationError(_l("Choose the person who manages the licenses."))

    def validate_email(self, field):
        if self.choice.data == FUNCTION and not (field.data or "").strip():
            raise ValidationError(_l("Enter the function address."))
