"""How a license is shown to its company: its state, the sort orders and the filters.

The shown state refines `License.state_on` with "expiring": an active license whose valid-until
date is at most `EXPIRING_WITHIN_DAYS` away. It is computed in SQL, so that the list can filter
and sort by it without loading every license.
"""

import enum
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager

from portal.licenses.models import License, Product

EXPIRING_WITHIN_DAYS = 60


class ShownState(enum.StrEnum):
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REVOKED = "revoked"


STATE_LABELS = {
    ShownState.ACTIVE: _l("Active"),
    ShownState.EXPIRING: _l("Expiring soon"),
    ShownState.EXPIRED: _l("Expired"),
    ShownState.REVOKED: _l("Revoked"),
}

# Sorting by state follows a license's life: active, expiring, expired, revoked.
STATE_ORDER = (ShownState.ACTIVE, ShownState.EXPIRING, ShownState.EXPIRED, ShownState.REVOKED)


def state_expression(today: date) -> sa.ColumnElement[str]:
    """The shown state in SQL; agrees with `License.state_on(today)` on active/expired/revoked."""
    return sa.case(
        (License.revoked_dt.is_not(None), ShownState.REVOKED.value),
        (License.valid_until < today, ShownState.EXPIRED.value),
        (
            License.valid_until <= today + timedelta(days=EXPIRING_WITHIN_DAYS),
            ShownState.EXPIRING.value,
        ),
        else_=ShownState.ACTIVE.value,
    )


def _state_rank(today: date) -> sa.ColumnElement[int]:
    state = state_expression(today)
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


# What the company's license list shows of each license (with its shown state).
ROW_COLUMNS = (
    License.id,
    Product.name.label("product_name"),
    License.key,
    License.seats,
    License.valid_from,
    License.valid_until,
    License.maintenance_until,
)


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


@dataclass(frozen=True)
class LicenseQuery:
    """What the list shows: filters and order, read from GET parameters; invalid ones ignored."""

    product: str | None = None
    state: ShownState | None = None
    sort: SortKey = SortKey.PRODUCT
    descending: bool = False

    @classmethod
    def from_args(cls, args, product_codes: set[str]) -> "LicenseQuery":
        product = args.get("product")
        return cls(
            product=product if product in product_codes else None,
            state=_member(ShownState, args.get("state")),
            sort=_member(SortKey, args.get("sort")) or SortKey.PRODUCT,
            descending=args.get("order") == "desc",
        )

    def statement(self, company_id: int, today: date) -> sa.Select:
        """Licenses of the company with their product and shown state, in one query."""
        statement = sa.select(License, state_expression(today).label("shown_state"))
        statement = statement.join(License.product).options(contains_eager(License.product))
        return self._narrow(statement, company_id, today)

    def row_statement(self, company_id: int, today: date) -> sa.Select:
        """The same licenses as plain rows of the listed columns: no ORM objects to build."""
        statement = sa.select(*ROW_COLUMNS, state_expression(today).label("state"))
        return self._narrow(statement.join(License.product), company_id, today)

    def _narrow(self, statement: sa.Select, company_id: int, today: date) -> sa.Select:
        statement = statement.where(License.company_id == company_id)
        if self.product is not None:
            statement = statement.where(Product.code == self.product)
        if self.state is not None:
            statement = statement.where(state_expression(today) == self.state.value)
        return statement.order_by(*self._order(today), License.id)

    def _order(self, today: date) -> tuple:
        def direction(column):
            return column.desc() if self.descending else column

        by_product = (direction(Product.name),)
        if self.sort == SortKey.VALID_UNTIL:
            return (*_valid_until_order(self.descending), Product.name)
        if self.sort == SortKey.STATE:
            return (direction(_state_rank(today)), Product.name, *_valid_until_order(False))
        return (*by_product, *_valid_until_order(False))
