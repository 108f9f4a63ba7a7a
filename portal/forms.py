"""What every form of the portal shares: refusals shown on a form, clean single-line text, and
field lengths checked on the raw value before any filter or normalisation sees it."""

import unicodedata

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.validators import Length, StopValidation, ValidationError

from portal import i18n
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal


class PortalForm(FlaskForm):
    """Every form of the portal: WTForms' own messages in the portal's language, and a CSRF
    field without an id, so that a page may hold several forms (ids are unique on a page)."""

    class Meta:
        def get_translations(self, form):
            return i18n.wtforms_translations()

        def render_field(self, field, render_kw):
            if field.type == "CSRFTokenField":
                render_kw = {**render_kw, "id": False}
            return super().render_field(field, render_kw)

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        """A value longer than its field allows is dropped before the field's filters run (a
        filter or a normaliser never sees it, and the page does not echo it) and refused."""
        formdata = self.meta.wrap_formdata(self, formdata)
        too_long: dict[str, int] = {}
        if formdata is not None:
            limits = {field.name: limit for field in self if (limit := max_length(field))}
            kept = MultiDict()
            for key, value in formdata.items(multi=True):
                limit = limits.get(key)
                if limit is not None and isinstance(value, str) and len(value) > limit:
                    too_long[key] = limit
                    value = ""
                kept.add(key, value)
            formdata = kept
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)
        for field in self:
            if field.name in too_long:
                field.process_errors.append(
                    i18n.gettext("Use at most %(count)d characters.", count=too_long[field.name])
                )
                field.pre_validate = _stop_validation  # its other rules would see no value


def _stop_validation(_form):
    raise StopValidation()


def max_length(field) -> int | None:
    """The longest raw value a field takes: its `Length(max=...)`, or a validator's
    `max_length` (the API's field rules)."""
    limits = [
        validator.max if isinstance(validator, Length) else getattr(validator, "max_length", -1)
        for validator in field.validators
    ]
    limits = [limit for limit in limits if limit is not None and limit >= 0]
    return min(limits) if limits else None


def show_refusal(form, refusal: Refusal, default_field: str | None = None) -> None:
    """Put a service's refusal beside its field (or `default_field`), else above the form."""
    name = refusal.field if refusal.field and refusal.field in form else default_field
    if name is None:
        form.form_errors.append(str(refusal.message))
        return
    field = form[name]
    field.errors = [*field.errors, str(refusal.message)]


def printable(_form, field):
    """Refuse control characters (a NUL byte cannot even be stored on PostgreSQL)."""
    if field.data and any(unicodedata.category(char) == "Cc" for char in str(field.data)):
        raise ValidationError(_l("Remove the invisible control characters."))


def strip(value):
    return value.strip() if isinstance(value, str) else value
