"""The releases a company may download, and the downloads themselves (sent by
`portal.downloads.delivery`, the same way as through the JSON API)."""

from itertools import groupby

from flask import abort
from flask_login import current_user

from portal import access, clock
from portal.downloads import delivery, service
from portal.i18n import human_size
from portal.impersonation import service as impersonation
from portal.licenses import entitlement
from portal.licenses.models import ReleaseFile
from portal.rendering import render_template


@access.CUSTOMER
def index():
    releases = entitlement.offered_releases(current_user.company_id)
    groups = [
        (product, list(product_releases))
        for product, product_releases in groupby(releases, key=lambda release: release.product)
    ]
    today = clock.today()
    return render_template(
        "portal/downloads/index.html",
        groups=groups,
        human_size=human_size,
        today=today,
        withheld=entitlement.withheld_releases(current_user.company_id, today=today),
        lapsed=entitlement.lapsed_licenses(current_user.company_id, today=today),
    )


@access.CUSTOMER
def file(file_id: int):
    release_file = entitlement.offered_file(current_user.company_id, file_id)
    if release_file is None:
        abort(404)
    response = delivery.deliver(release_file, lambda: _record(release_file))
    if response is None:
        abort(404)
    return response


def _record(release_file: ReleaseFile) -> None:
    service.record_download(
        current_user._get_current_object(), release_file, impersonator=impersonation.impersonator()
    )
