"""Ordering: the cart, checkout, staff handling, history and records, money and concurrency."""

import ast
import csv
import io
import os
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.contacts.models import Contact
from portal.db import db
from portal.licenses import entitlement
from portal.mail.models import OutboxMail
from portal.orders import money
from portal.orders import service as orders
from portal.orders.models import CartLine, Item, Order, OrderLine, OrderState, Price
from portal.refusals import Refusal
from tests import factories

NBSP = "\u00a0"


@pytest.fixture
def shop(app_ctx):
    """Company A with an admin, a license manager, a member and a SafeLink license whose
    maintenance ended; prices set."""
    company = factories.make_company("Beställaren AB")
    admin = factories.make_account("admin", company=company, name="Alva Admin")
    manager = factories.make_account("member", company=company, name="Mats Manager")
    factories.designate_license_manager(manager)
    member = factories.make_account("member", company=company, name="Mia Member")
    license = factories.make_license(
        company, seats=5, maintenance_until=clock.today() - timedelta(days=30)
    )
    factories.set_prices("safelink")
    db.session.commit()
    return {
        "company": company,
        "admin": admin,
        "manager": manager,
        "member": member,
        "license": license,
    }


# --- money -------------------------------------------------------------------------------------


def test_amounts_are_written_the_swedish_way_with_no_break_spaces():
    assert money.format_sek(123450) == f"1{NBSP}234,50{NBSP}kr"
    assert money.format_sek(5) == f"0,05{NBSP}kr"
    assert money.format_sek(123456789_00) == f"123{NBSP}456{NBSP}789,00{NBSP}kr"


def test_vat_is_twenty_five_percent_rounded_to_the_ore_in_integers():
    assert money.vat(1_000_00) == 250_00
    assert money.vat(1) == 0  # 0.25 öre
    assert money.vat(2) == 1  # 0.5 öre, half upwards
    assert money.vat(3) == 1


def test_amounts_refuse_floats():
    with pytest.raises(TypeError):
        money.format_sek(12.5)
    with pytest.raises(TypeError):
        money.vat(0.1)
    with pytest.raises(TypeError):
        money.line_amount(10.0, 3)


def test_staff_prices_are_parsed_digit_by_digit():
    assert money.parse_sek("1 234,50") == 123450
    assert money.parse_sek(f"1{NBSP}234,5 kr") == 123450
    assert money.parse_sek("0.10") == 10
    for bad in ("", "12,345", "-5", "1e3", "abc"):
        with pytest.raises(money.InvalidAmount):
            money.parse_sek(bad)


def test_no_float_appears_in_the_orders_package():
    """No float literal, float() call or Float/Numeric column in the orders code."""
    package = Path(orders.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), path
            assert not (isinstance(node, ast.Name) and node.id == "float"), path
            assert not (isinstance(node, ast.Attribute) and node.attr in {"Float", "Numeric"}), path


def test_every_amount_column_is_an_integer(app_ctx):
    for model in (Price, Order, OrderLine):
        for column in model.__table__.columns:
            if column.name.endswith("_ore"):
                assert isinstance(column.type, sa.Integer), (model, column.name)


# --- 1. the cart -------------------------------------------------------------------------------


def test_license_manager_adds_a_renewal_from_the_license_page(client, shop):
    factories.login_as(client, shop["manager"])
    page = client.get(f"/licenses/{shop['license'].id}").get_data(as_text=True)
    assert "Lägg i varukorgen" in page
    response = factories.post(
        client, "/cart/add", {"license_id": shop["license"].id, "item": "renewal_12"}
    )
    assert response.status_code == 302
    cart = client.get("/cart").get_data(as_text=True)
    assert f"12{NBSP}000,00{NBSP}kr" in cart  # the line
    assert f"3{NBSP}000,00{NBSP}kr" in cart  # VAT 25 %
    assert f"15{NBSP}000,00{NBSP}kr" in cart  # total


def test_extra_seats_add_up_and_a_renewal_replaces_the_other_renewal(shop):
    admin, license = shop["admin"], shop["license"]
    orders.add_to_cart(admin, license, Item.EXTRA_SEAT, 2)
    orders.add_to_cart(admin, license, Item.EXTRA_SEAT, 3)
    orders.add_to_cart(admin, license, Item.RENEWAL_12)
    orders.add_to_cart(admin, license, Item.RENEWAL_36)
    cart = orders.cart_of(shop["company"].id)
    assert sorted((p.line.item, p.line.quantity) for p in cart.lines) == [
        (Item.EXTRA_SEAT, 5),
        (Item.RENEWAL_36, 1),
    ]
    assert cart.totals.net_ore == 5 * 1_500_00 + 30_000_00
    assert cart.totals.vat_ore == cart.totals.net_ore // 4
    assert cart.totals.total_ore == cart.totals.net_ore + cart.totals.vat_ore


def test_a_member_cannot_add_to_the_cart(client, shop):
    factories.login_as(client, shop["member"])
    assert "Lägg i varukorgen" not in client.get(f"/licenses/{shop['license'].id}").get_data(
        as_text=True
    )
    response = factories.post(
        client, "/cart/add", {"license_id": shop["license"].id, "item": "renewal_12"}
    )
    assert response.status_code == 403
    assert orders.cart_count(shop["company"].id) == 0


def test_another_companys_license_cannot_be_added(client, shop):
    other = factories.make_account("admin", company=factories.make_company())
    db.session.commit()
    factories.login_as(client, other)
    response = factories.post(
        client, "/cart/add", {"license_id": shop["license"].id, "item": "extra_seat"}
    )
    assert response.status_code == 404


def test_an_item_without_a_price_or_a_license_with_all_releases_cannot_be_ordered(shop):
    perpetual = factories.make_license(shop["company"], maintenance_until=None)
    with pytest.raises(Refusal):
        orders.add_to_cart(shop["admin"], perpetual, Item.RENEWAL_12)
    pfr = factories.make_license(
        shop["company"], "safelink-pfr", maintenance_until=date(2026, 1, 1)
    )
    with pytest.raises(Refusal) as refused:
        orders.add_to_cart(shop["admin"], pfr, Item.RENEWAL_12)
    assert refused.value.code == orders.NOT_ORDERABLE


def test_the_header_shows_the_cart_count_or_that_it_is_empty(client, shop):
    factories.login_as(client, shop["admin"])
    assert "Din varukorg är tom" in client.get("/licenses/").get_data(as_text=True)
    orders.add_to_cart(shop["admin"], shop["license"], Item.EXTRA_SEAT, 1)
    db.session.commit()
    assert "Varukorg: 1 artikel" in client.get("/downloads/").get_data(as_text=True)


def test_the_downloads_page_offers_a_renewal_when_a_newer_release_is_not_covered(client, shop):
    factories.make_release("safelink", "6.9", released_on=clock.today())
    db.session.commit()
    factories.login_as(client, shop["manager"])
    page = client.get("/downloads/").get_data(as_text=True)
    assert "SafeLink 6.9" in page
    assert '<a href="/licenses/">Förnya underhållet i portalen</a>' in page


def test_a_member_is_sent_to_the_vendor_to_renew(client, shop):
    factories.make_release("safelink", "6.9", released_on=clock.today())
    db.session.commit()
    factories.login_as(client, shop["member"])
    page = client.get("/downloads/").get_data(as_text=True)
    assert "SafeLink 6.9" in page and "Förnya underhållet i portalen" not in page


def test_the_license_page_renewal_hint_points_to_its_order_box(client, shop):
    factories.login_as(client, shop["admin"])
    page = client.get(f"/licenses/{shop['license'].id}").get_data(as_text=True)
    assert '<a href="#order-title">Förnya underhållet i portalen</a>' in page


# --- 2. the order ------------------------------------------------------------------------------


def test_checkout_with_a_new_invoice_reference_places_the_order_and_mails_everyone(
    app, client, shop
):
    app.config["PORTAL_ORDERS_EMAIL"] = "order@leverantor.example.com"
    try:
        orders.add_to_cart(shop["admin"], shop["license"], Item.EXTRA_SEAT, 2)
        db.session.commit()
        factories.login_as(client, shop["admin"])
        assert client.get("/cart/checkout").status_code == 200
        response = factories.post(
            client,
            "/cart/checkout",
            {
                "reference": "new",
                "name": "Ingrid Faktura",
                "email": "ingrid@bestallaren.example.com",
                "po_number": "PO-77",
            },
            page="/cart/checkout",
        )
    finally:
        app.config["PORTAL_ORDERS_EMAIL"] = None
    assert response.status_code == 302, response.get_data(as_text=True)
    order = db.session.scalar(sa.select(Order).where(Order.company_id == shop["company"].id))
    assert order.state == OrderState.REQUESTED
    assert order.po_number == "PO-77"
    assert order.invoice_reference_name == "Ingrid Faktura"
    assert [
        (line.item, line.quantity, line.unit_price_ore, line.amount_ore) for line in order.lines
    ] == [(Item.EXTRA_SEAT, 2, 1_500_00, 3_000_00)]
    assert (order.net_ore, order.vat_ore, order.total_ore) == (3_000_00, 750_00, 3_750_00)
    contact = db.session.get(Contact, order.invoice_reference_contact_id)
    assert contact.is_invoice_reference and contact.is_accounting_record
    assert orders.cart_count(shop["company"].id) == 0
    recipients = set(
        db.session.scalars(
            sa.select(OutboxMail.recipient).where(OutboxMail.subject.contains(str(order.id)))
        )
    )
    assert recipients == {
        shop["admin"].email,
        shop["manager"].email,
        "ingrid@bestallaren.example.com",
        "order@leverantor.example.com",
    }
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "order.placed", AuditEvent.subject_id == order.id
            )
        )
        == 1
    )


def test_checkout_with_an_existing_invoice_reference(client, shop):
    reference = factories.make_contact(shop["company"], invoice_reference=True)
    orders.add_to_cart(shop["manager"], shop["license"], Item.RENEWAL_12)
    db.session.commit()
    factories.login_as(client, shop["manager"])
    page = client.get("/cart/checkout").get_data(as_text=True)
    assert reference.email in page
    response = factories.post(
        client, "/cart/checkout", {"reference": str(reference.id)}, page="/cart/checkout"
    )
    assert response.status_code == 302
    order = db.session.scalar(sa.select(Order).where(Order.company_id == shop["company"].id))
    assert order.invoice_reference_contact_id == reference.id
    assert order.po_number is None


def test_checkout_without_a_reference_name_shows_the_form_again(client, shop):
    orders.add_to_cart(shop["admin"], shop["license"], Item.RENEWAL_12)
    db.session.commit()
    factories.login_as(client, shop["admin"])
    response = factories.post(
        client,
        "/cart/checkout",
        {"reference": "new", "email": "x@example.com"},
        page="/cart/checkout",
    )
    assert response.status_code == 200
    assert "error-summary" in response.get_data(as_text=True)
    assert orders.cart_count(shop["company"].id) == 1


@pytest.mark.english
def test_the_new_invoice_reference_name_follows_the_one_name_rule(client, shop):
    orders.add_to_cart(shop["admin"], shop["license"], Item.RENEWAL_12)
    db.session.commit()
    factories.login_as(client, shop["admin"])
    cases = {
        "A" * 150: "A name can be at most 100 characters long.",
        "Betala nu\nhttp://evil.example/betala": "Write the name on one line, without line breaks",
    }
    for name, message in cases.items():
        response = factories.post(
            client,
            "/cart/checkout",
            {"reference": "new", "name": name, "email": "ref@example.com"},
            page="/cart/checkout",
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "error-summary" in page
        assert message in page
        assert orders.cart_count(shop["company"].id) == 1


def test_prices_are_fixed_on_the_order_when_it_is_placed(shop):
    order = factories.make_order(shop["admin"], shop["license"], "renewal_12")
    factories.set_prices("safelink", renewal_12=99_999_00)
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.lines[0].unit_price_ore == 12_000_00
    assert order.net_ore == 12_000_00


# --- 3. staff handling -------------------------------------------------------------------------


def test_accepting_a_renewal_opens_the_downloads_it_covers(client, shop):
    release = factories.make_release("safelink", "7.0", released_on=clock.today())
    order = factories.make_order(shop["manager"], shop["license"], "renewal_12")
    staff = factories.make_account("staff_admin")
    db.session.commit()
    company_id = shop["company"].id
    assert release.id not in {r.id for r in entitlement.offered_releases(company_id)}
    factories.login_as(client, staff)
    response = factories.post(client, f"/staff/orders/{order.id}/accept")
    assert response.status_code == 302
    db.session.expire_all()
    license = db.session.get(type(shop["license"]), shop["license"].id)
    assert license.maintenance_until == orders.add_months(clock.today(), 12)
    assert release.id in {r.id for r in entitlement.offered_releases(company_id)}
    assert db.session.get(Order, order.id).state == OrderState.ACCEPTED
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"order.accepted", "license.extended"} <= actions
    subjects = db.session.scalars(
        sa.select(OutboxMail.subject).where(OutboxMail.recipient == shop["manager"].email)
    ).all()
    assert any(str(order.id) in subject and "godkänd" in subject for subject in subjects)


def test_accepting_extra_seats_raises_the_seat_count(shop):
    order = factories.make_order(shop["admin"], shop["license"], "extra_seat", 3)
    orders.accept_order(order, actor_label="test")
    assert shop["license"].seats == 8


def test_a_second_acceptance_changes_nothing(shop):
    order = factories.make_order(shop["admin"], shop["license"], "extra_seat", 3)
    orders.accept_order(order, actor_label="test")
    with pytest.raises(Refusal) as refused:
        orders.accept_order(db.session.get(Order, order.id), actor_label="test")
    assert refused.value.code == orders.ALREADY_HANDLED
    assert shop["license"].seats == 8


def test_an_order_handled_in_another_tab_is_refused_by_the_conditional_update(shop):
    """The object in hand still says requested; the database already says accepted."""
    order = factories.make_order(shop["admin"], shop["license"], "extra_seat", 2)
    db.session.execute(
        sa.update(Order).where(Order.id == order.id).values(state=OrderState.ACCEPTED),
        execution_options={"synchronize_session": False},
    )
    assert order.state == OrderState.REQUESTED
    with pytest.raises(Refusal):
        orders.accept_order(order, actor_label="test")
    db.session.flush()
    db.session.refresh(shop["license"])
    assert shop["license"].seats == 5


def test_declining_needs_a_reason_and_mails_it(client, shop):
    order = factories.make_order(shop["admin"], shop["license"], "renewal_36")
    staff = factories.make_account("staff_admin")
    db.session.commit()
    factories.login_as(client, staff)
    page = f"/staff/orders/{order.id}"
    assert (
        factories.post(
            client, f"/staff/orders/{order.id}/decline", {"reason": ""}, page=page
        ).status_code
        == 200
    )
    response = factories.post(
        client, f"/staff/orders/{order.id}/decline", {"reason": "Licensen byts mot v6"}, page=page
    )
    assert response.status_code == 302
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.state == OrderState.DECLINED and order.decline_reason == "Licensen byts mot v6"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "order.declined"))
    assert event.reason == "Licensen byts mot v6"
    bodies = db.session.scalars(
        sa.select(OutboxMail.body_text).where(OutboxMail.recipient == shop["admin"].email)
    ).all()
    assert any("Licensen byts mot v6" in body for body in bodies)


def test_support_sees_orders_but_cannot_accept(client, shop):
    order = factories.make_order(shop["admin"], shop["license"])
    support = factories.make_account("support")
    db.session.commit()
    factories.login_as(client, support)
    assert f"/staff/orders/{order.id}" in client.get("/staff/orders/").get_data(as_text=True)
    assert factories.post(client, f"/staff/orders/{order.id}/accept").status_code == 404


def test_staff_admin_changes_a_price_and_it_is_audited(client, shop):
    staff = factories.make_account("staff_admin")
    db.session.commit()
    factories.login_as(client, staff)
    product_id = shop["license"].product_id
    path = f"/staff/orders/prices/{product_id}"
    response = factories.post(
        client,
        path,
        {"renewal_12": "13 500,00", "renewal_36": "30000", "extra_seat": "1500"},
        page=path,
    )
    assert response.status_code == 302
    assert orders.price_of(product_id, Item.RENEWAL_12) == 13_500_00
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "order_price.changed")
        .order_by(AuditEvent.id.desc())
    )
    assert event.details == {"item": "renewal_12", "before_ore": 12_000_00, "after_ore": 13_500_00}
    bad = factories.post(client, path, {"renewal_12": "tolv"}, page=path)
    assert bad.status_code == 200 and "error-summary" in bad.get_data(as_text=True)


# --- 4. history and records --------------------------------------------------------------------


def test_the_company_sees_its_orders_and_their_state(client, shop):
    order = factories.make_order(shop["admin"], shop["license"])
    db.session.commit()
    factories.login_as(client, shop["member"])
    page = client.get("/orders/").get_data(as_text=True)
    assert f"/orders/{order.id}" in page and "Begärd" in page
    detail = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert order.invoice_reference_name in detail


def test_the_bookkeeping_export_lists_order_lines_of_the_period(client, shop):
    order = factories.make_order(shop["admin"], shop["license"], "extra_seat", 2, po_number="P1")
    staff = factories.make_account("staff_admin")
    db.session.commit()
    factories.login_as(client, staff)
    day = clock.today().isoformat()
    response = client.get(f"/staff/orders/export?from={day}&to={day}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[0] == list(orders.EXPORT_COLUMNS)
    assert rows[1][0] == str(order.id)
    assert rows[1][7] == "P1"
    assert rows[1][-4:] == ["3000,00", "3000,00", "750,00", "3750,00"]
    later = (clock.today() + timedelta(days=1)).isoformat()
    outside = client.get(f"/staff/orders/export?from={later}").get_data(as_text=True)
    assert len(outside.strip().splitlines()) == 1
    assert client.get("/staff/orders/export?from=nonsense").status_code == 302


def test_the_privacy_page_tells_how_long_orders_are_kept(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert "beställningens kalenderår" in page


# --- 5. concurrency ----------------------------------------------------------------------------

DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
SCHEMA = "test_order_race"


@pytest.fixture
def race_app(app_config, tmp_path):
    with factories.app_on_own_schema(
        app_config, tmp_path / "instance", SCHEMA, connections=6
    ) as app:
        yield app


@pytest.mark.no_transaction
@pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"),
    reason="the double-accept race is tested on PostgreSQL (SQLite lets one writer in at a time)",
)
def test_two_staff_accepting_at_once_change_the_license_once(race_app):
    from portal import transaction

    app = race_app
    with app.app_context():
        company = factories.make_company()
        admin = factories.make_account("admin", company=company)
        license = factories.make_license(company, seats=5)
        factories.set_prices("safelink")
        order = factories.make_order(admin, license, "extra_seat", 3)
        db.session.commit()
        order_id, license_id = order.id, license.id
    start = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def accept() -> None:
        with app.app_context():
            start.wait()
            try:
                with transaction.step():
                    orders.accept_order(db.session.get(Order, order_id), actor_label="race")
                outcome = "accepted"
            except Refusal as refusal:
                outcome = refusal.code
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["accepted", orders.ALREADY_HANDLED]
    with app.app_context():
        from portal.licenses.models import License

        assert db.session.get(License, license_id).seats == 8
        accepted = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "order.accepted")
        )
        db.session.rollback()
    assert accepted == 1


def test_cart_lines_go_with_the_license_company(shop):
    """A cart line belongs to the company of its license (the cart is the company's)."""
    line = orders.add_to_cart(shop["manager"], shop["license"], Item.EXTRA_SEAT, 1)
    assert db.session.get(CartLine, line.id).company_id == shop["company"].id


def test_the_export_command_writes_the_period_as_csv(runner, shop, tmp_path):
    order = factories.make_order(shop["admin"], shop["license"], "extra_seat", 1)
    db.session.commit()
    day = clock.today().isoformat()
    result = runner.invoke(args=["orders", "export", "--from", day, "--to", day])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("order;ordered_on;state")
    assert lines[1].startswith(f"{order.id};{day};requested")
    target = tmp_path / "orders.csv"
    assert runner.invoke(args=["orders", "export", "--output", str(target)]).exit_code == 0
    assert target.read_bytes().count(b"\r\n") == 2
    bad = runner.invoke(args=["orders", "export", "--from", day, "--to", "2000-01-01"])
    assert bad.exit_code != 0 and len(bad.stderr.strip().splitlines()) == 1


def test_the_demo_data_has_a_price_list(app_ctx):
    from portal.demo import DEMO_PRICES

    assert all(isinstance(amount, int) for amounts in DEMO_PRICES.values() for amount in amounts)


def test_the_dashboard_points_a_license_manager_to_the_renewal(client, shop):
    factories.make_release("safelink", "6.5", released_on=clock.today())  # not covered
    db.session.commit()
    factories.login_as(client, shop["manager"])
    page = client.get("/").get_data(as_text=True)
    assert '<a href="/licenses/">Förnya underhållet i portalen</a>' in page


def test_the_personal_data_export_lists_the_orders_the_person_placed(client, shop):
    order = factories.make_order(shop["manager"], shop["license"], "extra_seat", 2)
    db.session.commit()
    factories.login_as(client, shop["manager"])
    data = client.get("/account/export", headers={"Accept": "application/json"}).get_json()
    assert [entry["number"] for entry in data["orders"]] == [order.id]
    assert "Invoice Reference" not in str(data["orders"])


def test_the_export_page_names_the_order_state_in_the_readers_language(client, shop):
    factories.make_order(shop["manager"], shop["license"], "extra_seat", 2)
    db.session.commit()
    factories.login_as(client, shop["manager"])
    page = client.get("/account/export").get_data(as_text=True)
    assert "<td>Begärd</td>" in page
    assert "<td>requested</td>" not in page


def test_the_order_mailbox_setting_must_be_an_email_address():
    from portal.config import ConfigurationError, settings_from_environment

    good = settings_from_environment({"PORTAL_ORDERS_EMAIL": " order@leverantor.example.com "})
    assert good["PORTAL_ORDERS_EMAIL"] == "order@leverantor.example.com"
    assert settings_from_environment({})["PORTAL_ORDERS_EMAIL"] is None
    with pytest.raises(ConfigurationError, match="PORTAL_ORDERS_EMAIL"):
        settings_from_environment({"PORTAL_ORDERS_EMAIL": "orders at leverantor"})


def test_without_an_order_mailbox_only_the_customer_is_mailed_and_staff_are_told(client, shop):
    order = factories.make_order(shop["admin"], shop["license"])
    recipients = set(
        db.session.scalars(
            sa.select(OutboxMail.recipient).where(OutboxMail.subject.contains(str(order.id)))
        )
    )
    assert recipients == {shop["admin"].email, shop["manager"].email, order.invoice_reference_email}
    staff = factories.make_account("support")
    db.session.commit()
    factories.login_as(client, staff)
    assert "PORTAL_ORDERS_EMAIL" in client.get("/staff/orders/").get_data(as_text=True)
