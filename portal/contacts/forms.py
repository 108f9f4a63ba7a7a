"""Forms of the contacts pages: input syntax here, the company's rules in `service`."""

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from portal.accounts.models import AccountKind
from portal.contacts import consent, service
from portal.contacts.disclosures import RECIPIENT_KIND_LABELS
from portal.contacts.models import ContactRole, RecipientKind
from portal.emails import EMAIL_MAX_LENGTH, normalize_email
from portal.forms import PortalForm, printable, strip
from portal.i18n import language_choices
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

ROLE_LABELS = {
    ContactRole.INVOICE_REFERENCE: _l("Invoice reference"),
    ContactRole.CONTRACT_PARTY: _l("Contract party"),
    ContactRole.TECHNICAL_CONTACT: _l("Technical contact"),
}
KIND_LABELS = {
    AccountKind.PERSONAL: _l("Personal address"),
    AccountKind.FUNCTION: _l("Function address"),
}
# Form field name -> role.
ROLE_FIELDS = {
    "invoice_reference": ContactRole.INVOICE_REFERENCE,
    "contract_party": ContactRole.CONTRACT_PARTY,
    "technical_contact": ContactRole.TECHNICAL_CONTACT,
}


class ContactForm(PortalForm):
    kind = RadioField(
        _l("Kind of address"),
        choices=[
            SelectChoice(
                AccountKind.PERSONAL.value, _l("Personal: one named person's own address")
            ),
            SelectChoice(
                AccountKind.FUNCTION.value, _l("Function address, such as invoices@company.se")
            ),
        ],
        default=AccountKind.PERSONAL.value,
        validators=[InputRequired(_l("Choose whether this is a personal or a function address."))],
        validate_choice=False,
    )
    name = StringField(
        _l("Name"),
        validators=[Length(max=200), printable],
        filters=[strip],
        description=_l("Required for a person; a function address may go without one."),
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter the email address.")),
            Length(max=EMAIL_MAX_LENGTH),
            printable,
        ],
        filters=[strip],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    phone = StringField(
        _l("Phone (optional)"),
        validators=[Length(max=40), printable],
        filters=[strip],
        description=_l("A Swedish number such as 070-123 45 67, or another country's with +."),
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    invoice_reference = BooleanField(ROLE_LABELS[ContactRole.INVOICE_REFERENCE])
    contract_party = BooleanField(ROLE_LABELS[ContactRole.CONTRACT_PARTY])
    technical_contact = BooleanField(ROLE_LABELS[ContactRole.TECHNICAL_CONTACT])

    normalized_email: str | None = None
    phone_e164: str | None = None

    @classmethod
    def for_contact(cls, contact):
        return cls(
            data={
                "kind": contact.kind.value,
                "name": contact.name or "",
                "email": contact.email,
                "phone": contact.phone_national,
                "invoice_reference": contact.is_invoice_reference,
                "contract_party": contact.is_contract_party,
                "technical_contact": contact.is_technical_contact,
            }
        )

    def validate_kind(self, field):
        if field.data not in {kind.value for kind in AccountKind}:
            raise ValidationError(_l("Choose whether this is a personal or a function address."))

    def validate_email(self, field):
        try:
            self.normalized_email = normalize_email(field.data)
        except Refusal as refusal:
            raise ValidationError(str(refusal)) from None

    def validate_phone(self, field):
        try:
            self.phone_e164 = service.parse_phone(field.data)
        except Refusal as refusal:
            raise ValidationError(str(refusal)) from None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.kind.errors:
            problem = service.name_problem(AccountKind(self.kind.data), self.name.data)
            if problem and not self.name.errors:
                self.name.errors.append(str(problem))
                valid = False
        if not self.roles:
            self.invoice_reference.errors.append(str(_l("Choose at least one role.")))
            valid = False
        return valid

    @property
    def roles(self) -> frozenset[ContactRole]:
        return frozenset(role for name, role in ROLE_FIELDS.items() if self[name].data)

    def contact_data(self) -> service.ContactData:
        return service.ContactData(
            kind=AccountKind(self.kind.data),
            name=self.name.data or None,
            email=self.normalized_email,
            phone_e164=self.phone_e164,
            roles=self.roles,
        )


class ReplaceForm(PortalForm):
    email = EmailField(
        _l("Function address"),
        validators=[
            DataRequired(_l("Enter the function address.")),
            Length(max=EMAIL_MAX_LENGTH),
            printable,
        ],
        filters=[strip],
        description=_l("An address that is not one person's, such as licenses@company.se."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    name = StringField(
        _l("Name of the function (optional)"),
        validators=[Length(max=200), printable],
        filters=[strip],
        description=_l("For example: License desk."),
    )

    def validate_email(self, field):
        try:
            normalize_email(field.data)
        except Refusal as refusal:
            raise ValidationError(str(refusal)) from None


class ConsentForm(PortalForm):
    """The consent text's version travels with the form: one agrees to the text one was shown."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    language = RadioField(
        _l("Language of the text the person agreed to"),
        choices=language_choices(),
        validators=[InputRequired(_l("Choose the language of the text."))],
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("version", consent.current_text().version)
        super().__init__(*args, **kwargs)


class DisclosureForm(PortalForm):
    subject = SelectField(
        _l("About whom"),
        validators=[InputRequired(_l("Choose whom the data was about."))],
        description=_l("The company itself, one of its logins, or one of its contacts."),
    )
    recipient_kind = RadioField(
        _l("Recipient"),
        choices=[SelectChoice(kind.value, label) for kind, label in RECIPIENT_KIND_LABELS.items()],
        validators=[InputRequired(_l("Choose the kind of recipient."))],
    )
    recipient_name = StringField(
        _l("Name of the recipient"),
        validators=[
            DataRequired(_l("Enter who received the data.")),
            Length(max=200),
            printable,
        ],
        filters=[strip],
        description=_l("For example: Polismyndigheten, or Nordea Bank Abp."),
    )
    data_disclosed = TextAreaField(
        _l("What was disclosed"),
        validators=[
            DataRequired(_l("Describe what data was disclosed.")),
            Length(max=2000),
            printable,
        ],
        filters=[strip],
        description=_l("The kinds of data, for example: name, email address, login history."),
    )
    disclosed_on = DateField(
        _l("Date of the disclosure"),
        validators=[InputRequired(_l("Enter the date as YYYY-MM-DD."))],
        description=_l("As YYYY-MM-DD."),
    )
    decision_reference = StringField(
        _l("Decision or legal reference"),
        validators=[Optional(), Length(max=200), printable],
        filters=[strip],
        description=_l("Required for an authority: the decision's reference or the law."),
    )
    purpose = StringField(
        _l("Purpose"),
        validators=[Optional(), Length(max=500), printable],
        filters=[strip],
        description=_l(
            "Required for a business partner, for example: troubleshooting with the bank."
        ),
    )
    confidential = BooleanField(
        _l("Confidential: leave it out of the person's own data export (authorities only)")
    )

    def recipient(self) -> RecipientKind:
        return RecipientKind(self.recipient_kind.data)


class LiftConfidentialityForm(PortalForm):
    reason = StringField(
        _l("Why the confidentiality ends"),
        validators=[
            DataRequired(_l("Say why the confidentiality ends.")),
            Length(max=500),
            printable,
        ],
        filters=[strip],
        description=_l("For example: the authority's notice that the matter is no longer secret."),
    )
