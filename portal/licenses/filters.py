"""The license list's filter: four selects of a GET form, described for the template.

No form library is needed: nothing is posted, and `LicenseQuery.from_args` has already turned
the request's values into known ones (an unknown value shows as the first option).
"""

from dataclasses import dataclass

from flask_babel import gettext as _

from portal.licenses.listing import SORT_LABELS, STATE_LABELS, LicenseQuery


@dataclass(frozen=True)
class Select:
    name: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, label)
    selected: str


def filter_selects(query: LicenseQuery, products) -> tuple[Select, ...]:
    return (
        Select(
            "product",
            _("Product"),
            (("", _("All products")), *((product.code, product.name) for product in products)),
            query.product or "",
        ),
        Select(
            "state",
            _("State"),
            (
                ("", _("All states")),
                *((state.value, str(label)) for state, label in STATE_LABELS.items()),
            ),
            query.state.value if query.state else "",
        ),
        Select(
            "sort",
            _("Sort by"),
            tuple((key.value, str(label)) for key, label in SORT_LABELS.items()),
            query.sort.value,
        ),
        Select(
            "order",
            _("Order"),
            (("asc", _("Ascending")), ("desc", _("Descending"))),
            "desc" if query.descending else "asc",
        ),
    )
