from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from portal import phone

LANGUAGE_CHOICES = [SelectChoice("sv", "Svenska"), SelectChoice("en", "English")]


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    phone = TelField(
        _l("Phone"),
        validators=[Optional(), Length(max=40)],
        description=_l("For example 070-123 45 67, or with a country code: +47 22 12 34 56."),
        render_kw={"autocomplete": "tel"},
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)

    def validate_phone(self, field):
        if field.data:
            try:
                phone.to_e164(field.data)
            except phone.InvalidPhoneNumber:
                raise ValidationError(_l("Enter a phone number like 070-123 45 67.")) from None
