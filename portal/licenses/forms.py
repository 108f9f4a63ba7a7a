"""Forms of the license pages: choosing the license manager, and the staff pages."""

import sqlalchemy as sa
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal import clock
from portal.companies.models import Company
from portal.db import db
from portal.emails import EMAIL_MAX_LENGTH
from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l
from portal.licenses.models import Product, Release

PERSONAL = "personal"
FUNCTION = "function"


class ManagerForm(PortalForm):
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
        validators=[Length(max=EMAIL_MAX_LENGTH, message=_l("The address is too long."))],
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


# --- staff pages ---------------------------------------------------------------------------

MAX_SEATS = 100_000


# A required select starts with an empty choice (nothing is chosen by default), which these
# integer selects read as None.
NOTHING_CHOSEN = SelectChoice("", _l("Choose…"))


def _id_or_none(value) -> int | None:
    return None if value in ("", None) else int(value)


def _product_choices() -> list[SelectChoice]:
    products = db.session.scalars(sa.select(Product).order_by(Product.name))
    return [NOTHING_CHOSEN, *(SelectChoice(product.id, product.name) for product in products)]


def _check_end_after_start(field, start) -> None:
    if field.data is not None and start is not None and field.data < start:
        raise ValidationError(_l("The license cannot end before it starts."))


class LicenseForm(PortalForm):
    company = SelectField(
        _l("Company"), coerce=_id_or_none, validators=[InputRequired(_l("Choose a company."))]
    )
    product = SelectField(
        _l("Product"), coerce=_id_or_none, validators=[InputRequired(_l("Choose a product."))]
    )
    seats = IntegerField(
        _l("Seats"),
        validators=[
            InputRequired(_l("Enter the number of seats.")),
            NumberRange(
                min=1,
                max=MAX_SEATS,
                message=_l("Enter a number from 1 to %(max)d.", max=MAX_SEATS),
            ),
        ],
    )
    valid_from = DateField(
        _l("Valid from"),
        default=clock.today,
        validators=[InputRequired(_l("Enter the first day the license is valid."))],
    )
    valid_until = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("The last valid day. Leave empty for a perpetual license."),
    )
    maintenance_until = DateField(
        _l("Maintenance until"),
        validators=[Optional()],
        description=_l(
            "Releases published up to this day are included. Leave empty to include every release."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        companies = db.session.scalars(sa.select(Company).order_by(Company.name, Company.id))
        self.company.choices = [
            NOTHING_CHOSEN,
            *(
                SelectChoice(company.id, f"{company.name} ({company.org_number})")
                for company in companies
            ),
        ]
        self.product.choices = _product_choices()

    def validate_valid_until(self, field):
        _check_end_after_start(field, self.valid_from.data)


class ExtendLicenseForm(PortalForm):
    valid_until = LicenseForm.valid_until
    maintenance_until = LicenseForm.maintenance_until

    def __init__(self, *args, license, **kwargs):
        super().__init__(*args, obj=license, **kwargs)
        self._license = license

    def validate_valid_until(self, field):
        _check_end_after_start(field, self._license.valid_from)


class ConfirmForm(PortalForm):
    """A confirmation: only the CSRF token."""


class ProductForm(PortalForm):
    code = StringField(
        _l("Product code"),
        validators=[
            DataRequired(_l("Enter a product code.")),
            Regexp(
                r"^[a-z0-9][a-z0-9-]{0,39}$",
                message=_l("Use lower-case letters a–z, digits and hyphens (at most 40)."),
            ),
        ],
        description=_l("Used on the command line, e.g. safelink-pfr. It cannot be changed later."),
        filters=[lambda value: value.strip().lower() if value else value],
    )
    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the product's name.")), Length(max=120)],
    )

    def validate_code(self, field):
        exists = db.session.scalar(sa.select(Product.id).where(Product.code == field.data))
        if exists is not None:
            raise ValidationError(_l("A product with this code already exists."))


class ReleaseForm(PortalForm):
    product = SelectField(
        _l("Product"), coerce=_id_or_none, validators=[InputRequired(_l("Choose a product."))]
    )
    version = StringField(
        _l("Version"),
        validators=[DataRequired(_l("Enter the version.")), Length(max=40)],
        filters=[lambda value: value.strip() if value else value],
        description=_l("For example 6.1."),
    )
    released_on = DateField(
        _l("Released on"),
        default=clock.today,
        validators=[InputRequired(_l("Enter the release date."))],
    )
    end_of_life_on = DateField(
        _l("End of life"),
        validators=[Optional()],
        description=_l("The day this release stops working. Can be set later."),
    )
    notes = TextAreaField(_l("Release notes"), validators=[Length(max=10_000)])
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose the file to upload."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.product.choices = _product_choices()

    def validate_version(self, field):
        if not isinstance(self.product.data, int):
            return
        exists = db.session.scalar(
            sa.select(Release.id).where(
                Release.product_id == self.product.data, Release.version == field.data
            )
        )
        if exists is not None:
            raise ValidationError(_l("This product already has a release with this version."))


class EndOfLifeForm(PortalForm):
    end_of_life_on = DateField(
        _l("End of life"),
        validators=[Optional()],
        description=_l("The day this release stops working. Leave empty if it has none."),
    )

    def __init__(self, *args, release, **kwargs):
        super().__init__(*args, obj=release, **kwargs)
