"""What every form of the portal shares: refusals shown on a form, and clean single-line text."""

import unicodedata

from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

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
