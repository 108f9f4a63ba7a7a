"""`/company/activity`: the company's activity log for its admins, as sentences, filtered by kind
and person, and exported as CSV; `/staff/companies/<id>/activity`: the same for support."""

import csv
import io

from flask import Response, request, stream_with_context
from flask_login import current_user

from portal import access, audit, clock
from portal.activity import sentences
from portal.activity.service import KINDS, ActivityFilter, people_of
from portal.companies.models import Company
from portal.db import db
from portal.http import db_int
from portal.i18n import format_datetime
from portal.i18n import gettext as _
from portal.rendering import render_template

ACTIVITY_PAGE_SIZE = 50
EXPORT_BATCH = 500
# Cells a spreadsheet would read as a formula are written with a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@access.COMPANY_ADMIN
def company():
    return _render_log(current_user.company, "portal.activity.company", can_export=True)


@access.STAFF
def staff_company(company_id: int):
    company = db.get_or_404(Company, company_id)
    return _render_log(company, "portal.activity.staff_company", can_export=False)


def _render_log(company: Company, endpoint: str, *, can_export: bool):
    people = people_of(company.id)
    chosen = ActivityFilter.from_args(request.args, people)
    page = max(request.args.get("page", 1, type=db_int), 1)
    events = db.paginate(
        chosen.query(company.id), page=page, per_page=ACTIVITY_PAGE_SIZE, error_out=False
    )
    url_values = {"company_id": company.id} if endpoint.endswith("staff_company") else {}
    return render_template(
        "portal/activity/company.html",
        company=company,
        lines=sentences.describe(events.items),
        events=events,
        kinds=KINDS,
        people=people,
        chosen=chosen,
        endpoint=endpoint,
        url_values=url_values,
        page_values={**url_values, **chosen.args()},
        can_export=can_export,
    )


@access.COMPANY_ADMIN
@access.not_while_impersonating
def export():
    company = current_user.company
    chosen = ActivityFilter.from_args(request.args, people_of(company.id))
    audit.record("activity.exported", company_id=company.id, details=chosen.args() or None)
    statement = chosen.query(company.id).execution_options(yield_per=EXPORT_BATCH)

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow([_("When"), _("Who"), _("What happened"), _("Result")])
        yield "\ufeff" + _drain(buffer)  # the byte order mark tells spreadsheets it is UTF-8
        for batch in db.session.scalars(statement).partitions():
            for line in sentences.describe(batch):
                writer.writerow(
                    [
                        format_datetime(line.event.occurred_dt, "yyyy-MM-dd HH:mm:ss"),
                        _cell(line.who),
                        _cell(line.sentence),
                        _cell(line.outcome),
                    ]
                )
            yield _drain(buffer)

    filename = f"activity-{clock.today().isoformat()}.csv"
    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
