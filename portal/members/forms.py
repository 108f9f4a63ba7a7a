from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from portal.accounts.models import CompanyRole
from portal.accounts.names import valid_name
from portal.emails import EMAIL_MAX_LENGTH, normalize_email
from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

ROLE_CHOICES = [
    SelectChoice(CompanyRole.MEMBER.value, _l("Member: sees licenses and downloads")),
    SelectChoice(
        CompanyRole.ADMIN.value, _l("Admin: also manages users, contacts and the license manager")
    ),
]


class InviteForm(PortalForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter the email address.")), Length(max=EMAIL_MAX_LENGTH)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    name = StringField(
        _l("Name"),
        validators=[valid_name],
        description=_l("The person's full name."),
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=CompanyRole.MEMBER.value)

    def validate_email(self, field):
        try:
            normalize_email(field.data)
        except Refusal as refusal:
            raise ValidationError(str(refusal)) from None


class RoleForm(PortalForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
