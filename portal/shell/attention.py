"""What needs the reader's attention: the dashboard's list, one function per kind of item.

Each function takes the signed-in customer account and today, asks at most one or two queries,
and returns its items; `KINDS` lists them in the order the dashboard shows them. A new kind is
a function here and its place in `KINDS`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import url_for

from portal.accounts.models import Account, AccountKind
from portal.db import db
from portal.downloads.service import warnings_for
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.licenses import entitlement, manager
from portal.licenses.models import License, LicenseState, Product
from portal.machines.service import outdated_machines_of_company


@dataclass(frozen=True)
class Item:
    kind: str  # the function's name: a class for the page and a handle for tests
    message: str
    link: str | None = None
    link_label: str | None = None
    renew: bool = False  # followed by the way to renew (the sales address)


def expiring_licenses(account: Account, today: date) -> list[Item]:
    """Licenses in force whose valid-until date is at most 60 days away."""
    rows = db.session.execute(
        sa.select(License.id, Product.name, License.seats, License.valid_until)
        .join(License.product)
        .where(
            License.company_id == account.company_id,
            License.state_expression(today) == LicenseState.EXPIRING.value,
        )
        .order_by(License.valid_until, License.id)
    ).all()
    return [
        Item(
            "expiring_licenses",
            ngettext(
                "The %(product)s license (%(seats)d seats) ends on %(day)s, in %(num)d day.",
                "The %(product)s license (%(seats)d seats) ends on %(day)s, in %(num)d days.",
                (valid_until - today).days,
                product=product,
                seats=seats,
                day=valid_until.isoformat(),
            ),
            url_for("portal.licenses.detail", license_id=license_id),
            _("See the license"),
            renew=True,
        )
        for license_id, product, seats, valid_until in rows
    ]


def maintenance_ended(account: Account, today: date) -> list[Item]:
    """Products with newer releases that the company's maintenance does not include."""
    by_product: dict[str, list] = {}
    for release in entitlement.withheld_releases(account.company_id, today=today):
        by_product.setdefault(release.product, []).append(release)
    return [
        Item(
            "maintenance_ended",
            ngettext(
                "Maintenance of your %(product)s license ended on %(day)s: %(releases)s is not"
                " included.",
                "Maintenance of your %(product)s license ended on %(day)s: %(releases)s are not"
                " included.",
                len(releases),
                product=product,
                day=releases[0].maintenance_ended_on.isoformat(),
                releases=", ".join(f"{product} {release.version}" for release in releases),
            ),
            url_for("portal.downloads.index") + "#withheld-title",
            _("See what is missing"),
            renew=True,
        )
        for product, releases in by_product.items()
    ]


def pending_manager_confirmation(account: Account, today: date) -> list[Item]:
    """A function address chosen as license manager that nobody there has confirmed yet."""
    if not account.is_company_admin:
        return []
    pending = manager.pending_change(account.company)
    if pending is None:
        return []
    return [
        Item(
            "pending_manager_confirmation",
            _(
                "%(email)s has not yet confirmed managing the licenses; the link runs out on"
                " %(day)s.",
                email=pending.account.email,
                day=pending.expires_dt.date().isoformat(),
            ),
            url_for("portal.licenses.manager"),
            _("See the license manager"),
        )
    ]


def pending_invitations(account: Account, today: date) -> list[Item]:
    """People invited who have not chosen a password yet (a function address waiting to confirm
    managing the licenses is the item above, not an invitation)."""
    if not account.is_company_admin:
        return []
    names = db.session.scalars(
        sa.select(sa.func.coalesce(Account.name, Account.email))
        .where(
            Account.company_id == account.company_id,
            Account.password_hash.is_(None),
            Account.kind == AccountKind.PERSONAL,
        )
        .order_by(Account.created_dt, Account.id)
    ).all()
    if not names:
        return []
    return [
        Item(
            "pending_invitations",
            ngettext(
                "%(num)d invitation is not accepted yet: %(names)s.",
                "%(num)d invitations are not accepted yet: %(names)s.",
                len(names),
                names=", ".join(names),
            ),
            url_for("portal.members.index"),
            _("See the users"),
        )
    ]


def end_of_life(account: Account, today: date) -> list[Item]:
    """Releases the company last downloaded that stop working within 90 days, or have."""
    items = []
    for warning in warnings_for(account.company_id, today=today):
        old = f"{warning.release.product.name} {warning.release.version}"
        day = warning.release.end_of_life_on.isoformat()
        stops = (
            _("%(release)s stopped working on %(date)s.", release=old, date=day)
            if warning.has_ended
            else _("%(release)s stops working on %(date)s.", release=old, date=day)
        )
        if warning.successor is not None:
            successor = f"{warning.successor.product.name} {warning.successor.version}"
            items.append(
                Item(
                    "end_of_life",
                    stops,
                    url_for("portal.downloads.index"),
                    _("Download %(release)s", release=successor),
                )
            )
        else:
            message = _("%(stops)s Your licenses include no newer release.", stops=stops)
            items.append(Item("end_of_life", message, renew=True))
    return items


def outdated_machines(account: Account, today: date) -> list[Item]:
    """The company's machines on a version below their product's minimum (announced or in force)."""
    shown, total = outdated_machines_of_company(account.company_id)
    if not shown:
        return []
    machines = []
    for machine in shown:
        needed = f"{machine.product} {machine.minimum_version}"
        day = machine.effective_on.isoformat()
        requirement = (
            _("%(release)s or newer is required since %(date)s", release=needed, date=day)
            if machine.in_effect
            else _("%(release)s or newer is required from %(date)s", release=needed, date=day)
        )
        machines.append(
            _(
                "%(host)s (%(product)s %(version)s; %(requirement)s)",
                host=machine.hostname,
                product=machine.product,
                version=machine.product_version,
                requirement=requirement,
            )
        )
    listed = "; ".join(machines)
    if total > len(shown):
        listed = _("%(machines)s and %(num)d more", machines=listed, num=total - len(shown))
    return [
        Item(
            "outdated_machines",
            ngettext(
                "%(num)d machine runs a version that must be upgraded: %(machines)s.",
                "%(num)d machines run a version that must be upgraded: %(machines)s.",
                total,
                machines=listed,
            ),
            url_for("portal.downloads.index"),
            _("Download the newest release"),
        )
    ]


KINDS: tuple[Callable[[Account, date], list[Item]], ...] = (
    end_of_life,
    outdated_machines,
    expiring_licenses,
    maintenance_ended,
    pending_manager_confirmation,
    pending_invitations,
)


def items_for(account: Account, today: date) -> list[Item]:
    return [item for kind in KINDS for item in kind(account, today)]
