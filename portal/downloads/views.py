"""The releases a company may download, and the downloads themselves (sent by
`portal.downloads.delivery`, the same way as through the JSON API)."""

from collections.abc import Callable
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

# Sections a higher feature adds to the downloads page (portal.orders: renewal offers); each
# takes the company's id and returns the context its own included template reads.
DOWNLOADS_PAGE_SECTIONS: list[Callable[[int], dict]] = []


@access.CUSTOMER
def index():
    sections = {}
    for section in DOWNLOADS_PAGE_SECTIONS:
        sections.update(section(current_user.company_id))
    releases = entitlement.offered_releases(current_user.company_id)
    groups = [
        (product, list(product_releases))
        for product, product_releases in groupby(releases, key=lambda release: release.product)
    ]
    return render_template(
        "portal/downloads/index.html",
        groups=groups,
        human_size=human_size,
        today=clock.today(),
        **sections,
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
