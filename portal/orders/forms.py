"""Forms of ordering: adding to the cart, checking out, and the staff's decline and prices."""

from wtforms import EmailField, HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.accounts.names import valid_name
from portal.emails import EMAIL_MAX_LENGTH
from portal.forms import PortalForm, printable, strip
from portal.i18n import lazy_gettext as _l
from portal.orders import money
from portal.orders.models import ITEM_LABELS, MAX_EXTRA_SEATS, Item

NEW_REFERENCE = "new"


class AddToCartForm(PortalForm):
    license_id = HiddenField(validators=[InputRequired()])
    item = RadioField(
        _l("What to order"),
        choices=[SelectChoice(item.value, ITEM_LABELS[item]) for item in Item],
        validators=[InputRequired(message=_l("Choose what to order."))],
    )
    seats = IntegerField(
        _l("Number of extra seats"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=MAX_EXTRA_SEATS)],
    )


class CheckoutForm(PortalForm):
    reference = RadioField(
        _l("Invoice reference"),
        description=_l("The person whose name goes on the invoice."),
        validators=[InputRequired(message=_l("Choose the invoice reference."))],
    )
    name = StringField(
        _l("Name of the new invoice reference"),
        filters=[strip],
        validators=[Optional(), valid_name],
    )
    email = EmailField(
        _l("Email address of the new invoice reference"),
        filters=[strip],
        validators=[Optional(), Length(max=EMAIL_MAX_LENGTH)],
    )
    phone = StringField(
        _l("Phone of the new invoice reference (optional)"),
        filters=[strip],
        validators=[Optional(), Length(max=40), printable],
    )
    po_number = StringField(
        _l("Purchase-order number (optional)"),
        description=_l("Your own order number, if your invoices must carry one."),
        filters=[strip],
        validators=[Optional(), Length(max=60), printable],
    )

    def __init__(self, references, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reference.choices = [
            SelectChoice(str(contact.id), f"{contact.name or contact.email} ({contact.email})")
            for contact in references
        ] + [SelectChoice(NEW_REFERENCE, _l("Someone else (becomes a contact of the company)"))]
        if len(self.reference.choices) == 1 and not self.reference.data:
            self.reference.data = NEW_REFERENCE

    def validate_name(self, field):
        if self.reference.data == NEW_REFERENCE and not field.data:
            raise ValidationError(_l("Enter the name of the invoice reference."))

    def validate_email(self, field):
        if self.reference.data == NEW_REFERENCE and not field.data:
            raise ValidationError(_l("Enter the email address of the invoice reference."))


class DeclineForm(PortalForm):
    reason = TextAreaField(
        _l("Reason"),
        description=_l("The customer reads it in the mail and on the order."),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Give the reason the customer will read.")),
            Length(max=500),
            printable,
        ],
    )


class ConfirmForm(PortalForm):
    """A button that posts (accepting an order)."""


def _amount(_form, field):
    if not field.data:
        field.amount = None
        return
    try:
        field.amount = money.parse_sek(field.data)
    except money.InvalidAmount:
        raise ValidationError(_l("Enter a price in kronor, such as 1 234,50.")) from None


class PricesForm(PortalForm):
    renewal_12 = StringField(
        ITEM_LABELS[Item.RENEWAL_12], filters=[strip], validators=[_amount, printable]
    )
    renewal_36 = StringField(
        ITEM_LABELS[Item.RENEWAL_36], filters=[strip], validators=[_amount, printable]
    )
    extra_seat = StringField(
        _l("Extra seat, per seat"), filters=[strip], validators=[_amount, printable]
    )

    def amounts(self) -> dict[Item, int | None]:
        return {item: getattr(self[item.value], "amount", None) for item in Item}
