"""`/company/activity`: the company's audit trail, for its admins."""

import sqlalchemy as sa
from flask import request
from flask_login import current_user

from portal import access
from portal.accounts.service import account_names
from portal.audit import AuditEvent, readable_by_customer
from portal.db import db
from portal.rendering import render_template

ACTIVITY_PAGE_SIZE = 50


@access.COMPANY_ADMIN
def company():
    page = request.args.get("page", 1, type=int)
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.company_id == current_user.company_id, readable_by_customer())
        .order_by(AuditEvent.occurred_dt.desc(), AuditEvent.id.desc())
    )
    events = db.paginate(query, page=max(page, 1), per_page=ACTIVITY_PAGE_SIZE, error_out=False)
    return render_template(
        "portal/activity/company.html", events=events, names=account_names(events.items)
    )
