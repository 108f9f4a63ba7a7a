"""Forms of the license pages: the list's filter (GET) and the staff administration forms."""

from flask_babel import lazy_gettext as _l
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice

from portal.licenses.listing import SORT_LABELS, STATE_LABELS


class LicenseFilterForm(Form):
    """The list's filter and order; a GET form, so no CSRF token. Values are checked by
    `LicenseQuery.from_args`; an unknown value shows as the first option."""

    product = SelectField(_l("Product"))
    state = SelectField(_l("State"))
    sort = SelectField(_l("Sort by"))
    order = SelectField(_l("Order"))

    def __init__(self, formdata, products):
        super().__init__(formdata)
        self.product.choices = [SelectChoice("", _l("All products"))] + [
            SelectChoice(product.code, product.name) for product in products
        ]
        self.state.choices = [SelectChoice("", _l("All states"))] + [
            SelectChoice(state.value, label) for state, label in STATE_LABELS.items()
        ]
        self.sort.choices = [SelectChoice(key.value, label) for key, label in SORT_LABELS.items()]
        self.order.choices = [
            SelectChoice("asc", _l("Ascending")),
            SelectChoice("desc", _l("Descending")),
        ]
