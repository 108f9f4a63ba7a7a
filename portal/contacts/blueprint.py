"""Every URL of contacts: the company's contacts, a person's own consents, and the staff's
disclosures and read-only contact lists."""

from flask import Blueprint

from portal.contacts import staff_views, views

bp = Blueprint("contacts", __name__)

bp.add_url_rule("/contacts/", view_func=views.index)
bp.add_url_rule("/contacts/new", view_func=views.new, methods=["GET", "POST"])
bp.add_url_rule("/contacts/<id:contact_id>", view_func=views.show)
bp.add_url_rule("/contacts/<id:contact_id>/edit", view_func=views.edit, methods=["GET", "POST"])
bp.add_url_rule("/contacts/<id:contact_id>/delete", view_func=views.delete, methods=["GET", "POST"])
bp.add_url_rule(
    "/contacts/<id:contact_id>/replace", view_func=views.replace, methods=["GET", "POST"]
)
bp.add_url_rule("/contacts/<id:contact_id>/consent", view_func=views.give_consent, methods=["POST"])
bp.add_url_rule(
    "/contacts/<id:contact_id>/consent/withdraw",
    view_func=views.withdraw_consent,
    methods=["POST"],
)
bp.add_url_rule("/contacts/erase/<id:account_id>", view_func=views.erase, methods=["GET", "POST"])

bp.add_url_rule("/account/consents", view_func=views.my_consents)
bp.add_url_rule("/account/consents/give", view_func=views.give_my_consent, methods=["POST"])
bp.add_url_rule("/account/consents/withdraw", view_func=views.withdraw_my_consent, methods=["POST"])

bp.add_url_rule("/staff/disclosures/", "staff_disclosures", staff_views.disclosures_index)
bp.add_url_rule(
    "/staff/disclosures/new",
    "staff_new_disclosure",
    staff_views.new_disclosure,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/staff/disclosures/<id:disclosure_id>/lift-confidentiality",
    "staff_lift_confidentiality",
    staff_views.lift_confidentiality,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/staff/companies/<id:company_id>/contacts",
    "staff_company_contacts",
    staff_views.company_contacts,
)
