"""The rules of machines on licenses, shared by the JSON API, the license page and the jobs.

A machine takes a seat when it is activated (by SafeLink over the API) or added as an offline
machine in the portal; the same rules hold for both. Whether a license is in force, and which
releases its maintenance covers, are the license's own rules (`License.state_on`,
`License.covers`), asked here and not written again.

The seat limit holds under concurrency: an activation locks its license's row
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite lets one writer in at a time) before it counts
the seats, and one fingerprint has one row per license (a unique constraint), so activating the
same machine twice is the same machine.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app

from portal import audit, clock, transaction
from portal.companies.models import Company
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.licenses.models import License, LicenseState, Product, Release
from portal.machines import versions
from portal.machines.models import Machine, MachineKind, MinimumVersion
from portal.refusals import Refusal

# Refusal codes of an activation (the API answers them as error codes).
UNKNOWN_LICENSE = "unknown_license"
LICENSE_EXPIRED = "license_expired"
LICENSE_REVOKED = "license_revoked"
LICENSE_NOT_YET_VALID = "license_not_yet_valid"
UPGRADE_REQUIRED = "upgrade_required"
SEATS_EXHAUSTED = "seats_exhausted"

# Who the audit trail names for what a SafeLink client does with its license key.
CLIENT_ACTOR = "SafeLink client"
STALE_JOB_ACTOR = "scheduler"
STALE_BATCH_SIZE = 500


@dataclass(frozen=True)
class MachineReport:
    """What a machine says about itself (checked against portal.machines.fields)."""

    fingerprint: str
    hostname: str
    product_version: str


# --- activation ------------------------------------------------------------------------------


def _locked(statement: sa.Select) -> sa.Select:
    """The license's row locked until the request commits (read afresh).

    Only the license's row: locking its product too would queue every product's activations.
    """
    return statement.with_for_update(of=License).execution_options(populate_existing=True)


def license_by_key(key: str, *, lock: bool = False) -> License | None:
    statement = sa.select(License).where(License.key == key)
    return db.session.scalar(_locked(statement) if lock else statement)


def activate_by_key(key: str, report: MachineReport) -> tuple[Machine, bool]:
    """A SafeLink client activates itself; refuses `UNKNOWN_LICENSE` for a key that is none."""
    license = license_by_key(key, lock=True)
    if license is None:
        raise Refusal(_l("No license has this key."), field="license_key", code=UNKNOWN_LICENSE)
    return activate(license, report, MachineKind.ONLINE, actor_label=CLIENT_ACTOR)


def activate(
    license: License,
    report: MachineReport,
    kind: MachineKind,
    *,
    actor=None,
    actor_label: str | None = None,
    today: date | None = None,
) -> tuple[Machine, bool]:
    """Give the machine a seat of the license; True when it is new (False: it had one already).

    The caller has the license's row locked (`license_by_key(..., lock=True)`, or
    `lock_license`). Refused, before anything changes, for a license not in force, a version
    below the product's minimum, and a license whose seats are all taken.
    """
    today = today or clock.today()
    now = clock.now()
    try:
        check_license_takes_machines(license, today)
        _check_minimum_version(license, report.product_version, today)
        machine = _machine_of(license.id, report.fingerprint)
        if machine is None and seats_used(license.id) >= license.seats:
            raise Refusal(
                _l(
                    "All %(seats)d seats of this license are in use. Deactivate a machine on the"
                    " license page of the customer portal, or ask for more seats.",
                    seats=license.seats,
                ),
                code=SEATS_EXHAUSTED,
            )
    except Refusal as refusal:
        audit.record(
            "machine.activation_refused",
            actor=actor,
            actor_label=actor_label,
            subject=license,
            outcome="refused",
            details={"code": refusal.code, **_described(report, kind)},
        )
        raise
    created = machine is None
    if created:
        machine = Machine(license_id=license.id, fingerprint=report.fingerprint, activated_dt=now)
        db.session.add(machine)
    machine.kind = kind
    machine.hostname = report.hostname
    machine.set_version(report.product_version)
    machine.last_seen_dt = now
    db.session.flush()
    if created:
        audit.record(
            "machine.activated",
            actor=actor,
            actor_label=actor_label,
            subject=license,
            company_id=license.company_id,
            details={"machine_id": machine.id, **_described(report, kind)},
        )
    return machine, created


def lock_license(license: License) -> License:
    """The license again, its row locked until the request commits (see `activate`)."""
    return db.session.scalar(_locked(sa.select(License).where(License.id == license.id)))


def _described(report: MachineReport, kind: MachineKind) -> dict:
    return {
        "kind": kind.value,
        "fingerprint": report.fingerprint,
        "hostname": report.hostname,
        "product_version": report.product_version,
    }


def check_license_takes_machines(license: License, today: date) -> None:
    """Refuse a license that is not in force today (revoked, expired or not yet valid)."""
    state = license.state_on(today)
    if state == LicenseState.REVOKED:
        raise Refusal(_l("This license is revoked."), code=LICENSE_REVOKED)
    if state == LicenseState.EXPIRED:
        raise Refusal(
            _l("This license expired on %(day)s.", day=license.valid_until.isoformat()),
            code=LICENSE_EXPIRED,
        )
    if state == LicenseState.UPCOMING:
        raise Refusal(
            _l("This license is valid from %(day)s.", day=license.valid_from.isoformat()),
            code=LICENSE_NOT_YET_VALID,
        )


def _check_minimum_version(license: License, version: str, today: date) -> None:
    minimum = minimum_version_of(license.product_id)
    if minimum is None or not minimum.rejects(version, today):
        return
    newest = newest_covered_version(license)
    raise Refusal(
        upgrade_message(license.product.name, minimum.version, newest),
        field="product_version",
        code=UPGRADE_REQUIRED,
    )


def upgrade_message(product: str, minimum: str, newest: str | None):
    if newest is None:
        return _l(
            "%(product)s %(minimum)s or newer is required, and this license includes no release"
            " of it. Renew the maintenance.",
            product=product,
            minimum=minimum,
        )
    return _l(
        "%(product)s %(minimum)s or newer is required. The newest version this license includes"
        " is %(newest)s.",
        product=product,
        minimum=minimum,
        newest=newest,
    )


def _machine_of(license_id: int, fingerprint: str) -> Machine | None:
    return db.session.scalar(
        sa.select(Machine).where(
            Machine.license_id == license_id, Machine.fingerprint == fingerprint
        )
    )


def seats_used(license_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Machine.id)).where(Machine.license_id == license_id)
    )


def _newest_covered_version_of(license_class) -> sa.ScalarSelect:
    """The newest release of the license's product that its maintenance covers."""
    return (
        sa.select(Release.version)
        .where(
            Release.product_id == license_class.product_id,
            license_class.covers(Release.released_on),
        )
        .order_by(Release.released_on.desc(), Release.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def newest_covered_version(license: License) -> str | None:
    return db.session.scalar(
        sa.select(_newest_covered_version_of(License)).where(License.id == license.id)
    )


# --- deactivation ----------------------------------------------------------------------------


def deactivate_by_key(key: str, fingerprint: str) -> bool:
    """A client frees its seat; False when that fingerprint held no seat of that key."""
    machine = db.session.scalar(
        sa.select(Machine)
        .join(License, License.id == Machine.license_id)
        .where(License.key == key, Machine.fingerprint == fingerprint)
    )
    if machine is None:
        return False
    deactivate(machine, actor_label=CLIENT_ACTOR)
    return True


def deactivate(machine: Machine, *, actor=None, actor_label: str | None = None) -> None:
    """Free the machine's seat: its next validation answers `not_activated`."""
    license = db.session.get(License, machine.license_id)
    audit.record(
        "machine.deactivated",
        actor=actor,
        actor_label=actor_label,
        subject=license,
        company_id=license.company_id,
        details={
            "machine_id": machine.id,
            "kind": machine.kind.value,
            "fingerprint": machine.fingerprint,
            "hostname": machine.hostname,
        },
    )
    db.session.delete(machine)
    db.session.flush()


# --- validation ------------------------------------------------------------------------------

VALID = "valid"
EXPIRED = "expired"
REVOKED = "revoked"
NOT_YET_VALID = "not_yet_valid"
NOT_ACTIVATED = "not_activated"
MAINTENANCE_ENDED = "maintenance_ended"

VALIDATION_CODES = (
    VALID,
    EXPIRED,
    REVOKED,
    NOT_ACTIVATED,
    MAINTENANCE_ENDED,
    UPGRADE_REQUIRED,
    NOT_YET_VALID,
)
_STATE_CODES = {
    LicenseState.REVOKED: REVOKED,
    LicenseState.EXPIRED: EXPIRED,
    LicenseState.UPCOMING: NOT_YET_VALID,
}


@dataclass(frozen=True)
class Validation:
    code: str
    license: License | None = None
    machine: Machine | None = None
    minimum: MinimumVersion | None = None
    newest_version: str | None = None

    @property
    def valid(self) -> bool:
        return self.code == VALID


@cache
def _validation_statement() -> sa.Select:
    """One query: the license, the machine, the product's minimum, the release date of the
    reported version and the newest version the maintenance covers. Built once."""
    reported_release = (
        sa.select(Release.released_on)
        .where(Release.product_id == License.product_id, Release.version == sa.bindparam("version"))
        .scalar_subquery()
    )
    return (
        sa.select(
            License,
            Machine,
            MinimumVersion,
            reported_release.label("reported_released_on"),
            _newest_covered_version_of(License).label("newest_version"),
        )
        .outerjoin(
            Machine,
            sa.and_(
                Machine.license_id == License.id,
                Machine.fingerprint == sa.bindparam("fingerprint"),
            ),
        )
        .outerjoin(MinimumVersion, MinimumVersion.product_id == License.product_id)
        .where(License.key == sa.bindparam("key"))
    )


def validate(key: str, fingerprint: str, version: str) -> Validation:
    """Whether this machine may run this version today: at most two queries (read, update).

    A key that is none and a fingerprint without a seat answer the same (`not_activated`).
    """
    row = db.session.execute(
        _validation_statement(), {"key": key, "fingerprint": fingerprint, "version": version}
    ).first()
    if row is None or row.Machine is None:
        return Validation(NOT_ACTIVATED)
    license, machine, minimum = row.License, row.Machine, row.MinimumVersion
    now = clock.now()
    machine.last_seen_dt = machine.last_validated_dt = now
    if machine.product_version != version:
        machine.set_version(version)
    code = _validation_code(license, minimum, version, row.reported_released_on, clock.today())
    return Validation(code, license, machine, minimum, row.newest_version)


def _validation_code(license, minimum, version, reported_released_on, today) -> str:
    state_code = _STATE_CODES.get(license.state_on(today))
    if state_code is not None:
        return state_code
    if minimum is not None and minimum.rejects(version, today):
        return UPGRADE_REQUIRED
    if reported_released_on is not None and not license.covers(reported_released_on):
        return MAINTENANCE_ENDED
    return VALID


# --- the license page ------------------------------------------------------------------------


def machines_of(license_id: int) -> list[Machine]:
    return list(
        db.session.scalars(
            sa.select(Machine)
            .where(Machine.license_id == license_id)
            .order_by(Machine.hostname, Machine.id)
        )
    )


@dataclass(frozen=True)
class LicenseMachines:
    license: License
    state: str
    machines: list[Machine]


def licenses_with_machines(company_id: int) -> list[LicenseMachines]:
    """The company's licenses with their state today and their machines (two queries)."""
    rows = db.session.execute(
        sa.select(License, License.state_expression(clock.today()))
        .where(License.company_id == company_id)
        .order_by(License.id)
    ).all()
    by_license: dict[int, list[Machine]] = {license.id: [] for license, _state in rows}
    if by_license:
        for machine in db.session.scalars(
            sa.select(Machine)
            .where(Machine.license_id.in_(list(by_license)))
            .order_by(Machine.hostname, Machine.id)
        ):
            by_license[machine.license_id].append(machine)
    return [LicenseMachines(license, state, by_license[license.id]) for license, state in rows]


def machine_of_license(license_id: int, machine_id: int) -> Machine | None:
    return db.session.scalar(
        sa.select(Machine).where(Machine.id == machine_id, Machine.license_id == license_id)
    )


def stale_days() -> int:
    return current_app.config["PORTAL_MACHINE_STALE_DAYS"]


def stale_before(now: datetime | None = None) -> datetime:
    """Online machines last seen before this moment are stale."""
    return (now or clock.now()) - timedelta(days=stale_days())


def is_stale(machine: Machine, now: datetime | None = None) -> bool:
    return machine.kind == MachineKind.ONLINE and machine.last_seen_dt < stale_before(now)


def free_stale_machines() -> int:
    """The optional policy (`PORTAL_FREE_STALE_MACHINES`): free the seats of stale machines.

    In steps of at most `STALE_BATCH_SIZE` machines, each audited; returns how many went.
    """
    if not current_app.config["PORTAL_FREE_STALE_MACHINES"]:
        return 0
    cutoff = stale_before()
    freed = 0
    while True:
        with transaction.step():
            batch = db.session.scalars(
                sa.select(Machine)
                .where(Machine.kind == MachineKind.ONLINE, Machine.last_seen_dt < cutoff)
                .order_by(Machine.id)
                .limit(STALE_BATCH_SIZE)
            ).all()
            for machine in batch:
                deactivate(machine, actor_label=STALE_JOB_ACTOR)
        freed += len(batch)
        if len(batch) < STALE_BATCH_SIZE:
            return freed


# --- minimum versions ------------------------------------------------------------------------


def minimum_version_of(product_id: int) -> MinimumVersion | None:
    return db.session.scalar(
        sa.select(MinimumVersion).where(MinimumVersion.product_id == product_id)
    )


def minimum_versions() -> dict[int, MinimumVersion]:
    return {
        minimum.product_id: minimum for minimum in db.session.scalars(sa.select(MinimumVersion))
    }


def set_minimum_version(
    product: Product, version: str, effective_on: date, *, actor=None, actor_label=None
) -> MinimumVersion:
    version = version.strip()
    if not versions.is_version(version):
        raise Refusal(
            _l("Write the version as numbers separated by dots, e.g. 6.0."),
            field="version",
            code="invalid_version",
        )
    minimum = minimum_version_of(product.id)
    before = None if minimum is None else [minimum.version, minimum.effective_on.isoformat()]
    if minimum is None:
        minimum = MinimumVersion(product_id=product.id)
        db.session.add(minimum)
    minimum.version = version
    minimum.version_key = versions.sort_key(version)
    minimum.effective_on = effective_on
    minimum.set_dt = clock.now()
    minimum.set_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        "product.minimum_version_set",
        actor=actor,
        actor_label=actor_label,
        subject=product,
        subject_label=product.name,
        details={"before": before, "after": [version, effective_on.isoformat()]},
    )
    return minimum


def remove_minimum_version(product: Product, *, actor=None, actor_label=None) -> bool:
    minimum = minimum_version_of(product.id)
    if minimum is None:
        return False
    audit.record(
        "product.minimum_version_removed",
        actor=actor,
        actor_label=actor_label,
        subject=product,
        subject_label=product.name,
        details={"before": [minimum.version, minimum.effective_on.isoformat()]},
    )
    db.session.delete(minimum)
    db.session.flush()
    return True


def _below_minimum():
    """Machines on a version older than their product's minimum (in effect or announced)."""
    return sa.and_(
        MinimumVersion.product_id == License.product_id,
        Machine.version_key < MinimumVersion.version_key,
    )


@dataclass(frozen=True)
class OutdatedMachine:
    machine_id: int
    hostname: str
    product_version: str
    license_id: int
    product: str
    minimum_version: str
    effective_on: date
    in_effect: bool  # the minimum applies today (else it is announced for `effective_on`)


DASHBOARD_OUTDATED_LIMIT = 20


def outdated_machines_of_company(
    company_id: int, *, limit: int = DASHBOARD_OUTDATED_LIMIT
) -> tuple[list[OutdatedMachine], int]:
    """The company's machines below a minimum version (the first `limit`), and how many."""
    condition = sa.and_(License.company_id == company_id, _below_minimum())
    base = (
        sa.select(
            Machine.id,
            Machine.hostname,
            Machine.product_version,
            License.id,
            Product.name,
            MinimumVersion.version,
            MinimumVersion.effective_on,
        )
        .join(License, License.id == Machine.license_id)
        .join(Product, Product.id == License.product_id)
        .join(MinimumVersion, MinimumVersion.product_id == License.product_id)
        .where(condition)
    )
    rows = db.session.execute(
        base.add_columns(sa.func.count().over().label("total"))
        .order_by(MinimumVersion.effective_on, Product.name, Machine.version_key, Machine.hostname)
        .limit(limit)
    ).all()
    total = rows[0].total if rows else 0
    today = clock.today()
    return [OutdatedMachine(*row[:7], in_effect=row[6] <= today) for row in rows], total


@dataclass(frozen=True)
class OutdatedAtCompany:
    company_id: int
    company: str
    product: str
    machines: int
    oldest_key: str
    minimum_version: str
    effective_on: date


def outdated_by_company() -> list[OutdatedAtCompany]:
    """For staff: per company and product, how many machines are below the minimum."""
    rows = db.session.execute(
        sa.select(
            Company.id,
            Company.name,
            Product.name,
            sa.func.count(Machine.id),
            sa.func.min(Machine.version_key),
            MinimumVersion.version,
            MinimumVersion.effective_on,
        )
        .select_from(Machine)
        .join(License, License.id == Machine.license_id)
        .join(Company, Company.id == License.company_id)
        .join(Product, Product.id == License.product_id)
        .join(MinimumVersion, MinimumVersion.product_id == License.product_id)
        .where(_below_minimum())
        .group_by(
            Company.id,
            Company.name,
            Product.name,
            MinimumVersion.version,
            MinimumVersion.effective_on,
        )
        .order_by(MinimumVersion.effective_on, sa.func.count(Machine.id).desc(), Company.name)
    ).all()
    return [OutdatedAtCompany(*row) for row in rows]
