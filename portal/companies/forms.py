"""The staff admin's forms for companies: add one, and end its customer relationship."""

from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from portal import clock
from portal.forms import PortalForm, printable, strip
from portal.i18n import lazy_gettext as _l


class CompanyForm(PortalForm):
    name = StringField(
        _l("Company name"),
        validators=[DataRequired(_l("Enter the company's name.")), Length(max=200), printable],
        filters=[strip],
    )
    org_number = StringField(
        _l("Organisation number"),
        validators=[DataRequired(_l("Enter the organisation number.")), Length(max=20)],
        filters=[strip],
        description=_l(
            "10 digits, for example 556016-0680; the 12-digit form with 16 first works too."
        ),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )


class EndRelationshipForm(PortalForm):
    ended_on = DateField(
        _l("The day the customer relationship ended"),
        default=clock.today,
        validators=[InputRequired(_l("Enter the day the relationship ended."))],
    )


class ConfirmForm(PortalForm):
    """A confirmation: only the CSRF token."""
