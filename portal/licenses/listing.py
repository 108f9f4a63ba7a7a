"""The company's license list: the filter and sort its GET parameters ask for, in one query.

The state (`License.state_expression`) is computed in SQL, so that the list can filter and sort
by it without loading every license.
"""

import enum
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.licenses import keys
from portal.licenses.models import STATE_LABELS, License, LicenseState, Product

# What a license table shows of each license: plain rows, with the key masked by the database.
ROW_COLUMNS = (
    License.id,
    Product.name.label("product"),
    keys.masked_in_sql(License.key).label("masked_key"),
    License.seats,
    License.valid_from,
    License.valid_until,
    License.maintenance_until,
)


def translated_state_labels() -> dict[str, str]:
    """The state labels in the request's language, translated once for a whole table."""
    return {state.value: str(label) for state, label in STATE_LABELS.items()}


# Sorting by state follows a license's life.
STATE_ORDER = tuple(LicenseState)


class SortKey(enum.StrEnum):
    PRODUCT = "product"
    VALID_UNTIL = "valid_until"
    STATE = "state"


SORT_LABELS = {
    SortKey.PRODUCT: _l("Product"),
    SortKey.VALID_UNTIL: _l("Valid until"),
    SortKey.STATE: _l("State"),
}


def _member(enum_class, value):
    return enum_class(value) if value in {member.value for member in enum_class} else None


def _state_rank(today: date) -> sa.ColumnElement[int]:
    state = License.state_expression(today)
    return sa.case(
        *((state == member.value, position) for position, member in enumerate(STATE_ORDER)),
        else_=len(STATE_ORDER),
    )


def _valid_until_order(descending: bool) -> tuple:
    # A perpetual license (no valid-until date) lasts longest: last ascending, first descending.
    perpetual_last = sa.case((License.valid_until.is_(None), 1), else_=0)
    if descending:
        return (perpetual_last.desc(), License.valid_until.desc())
    return (perpetual_last, License.valid_until)


@dataclass(frozen=True)
class LicenseQuery:
    """What the list shows: filters and order, read from GET parameters; invalid ones ignored."""

    product: str | None = None
    state: LicenseState | None = None
    sort: SortKey = SortKey.PRODUCT
    descending: bool = False

    @classmethod
    def from_args(cls, args, product_codes: set[str]) -> "LicenseQuery":
        product = args.get("product")
        return cls(
            product=product if product in product_codes else None,
            state=_member(LicenseState, args.get("state")),
            sort=_member(SortKey, args.get("sort")) or SortKey.PRODUCT,
            descending=args.get("order") == "desc",
        )

    @property
    def filtered(self) -> bool:
        return self.product is not None or self.state is not None

    def statement(self, company_id: int, today: date) -> sa.Select:
        """The rows of the company's license table (`ROW_COLUMNS` and the state), one query."""
        statement = sa.select(*ROW_COLUMNS, License.state_expression(today).label("state"))
        statement = statement.join(License.product).where(License.company_id == company_id)
        if self.product is not None:
            statement = statement.where(Product.code == self.product)
        if self.state is not None:
            statement = statement.where(License.state_expression(today) == self.state.value)
        return statement.order_by(*self._order(today), License.id)

    def _order(self, today: date) -> tuple:
        def direction(column):
            return column.desc() if self.descending else column

        if self.sort == SortKey.VALID_UNTIL:
            return (*_valid_until_order(self.descending), Product.name)
        if self.sort == SortKey.STATE:
            return (direction(_state_rank(today)), Product.name, *_valid_until_order(False))
        return (direction(Product.name), *_valid_until_order(False))


@dataclass(frozen=True)
class Select:
    """One select of the list's filter form, described for the template."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, label)
    selected: str


def filter_selects(query: LicenseQuery, products) -> tuple[Select, ...]:
    """The filter's four selects; an unknown value in the address shows as the first option."""
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
