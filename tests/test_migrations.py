"""Alembic migrations: dated files that build exactly the schema the models declare.

Each test migrates a database of its own: a fresh SQLite file, and on PostgreSQL (when
PORTAL_TEST_DATABASE_URL is set) a fresh schema, so the shared test schema is never touched.
"""

import os
import re

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal import create_app
from portal.db import db
from portal.extension import MIGRATIONS_DIR

POSTGRESQL_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
SCHEMA = "migtest"
PRODUCT_CODES = ["safelink", "safelink-pfr", "secure-envelope"]

pytestmark = pytest.mark.no_transaction


def migration_files():
    return sorted(path for path in (MIGRATIONS_DIR / "versions").glob("*.py"))


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"


@pytest.fixture
def postgresql_url():
    if not POSTGRESQL_URL:
        pytest.skip("PORTAL_TEST_DATABASE_URL is not set: PostgreSQL is checked in that run")
    admin = sa.create_engine(POSTGRESQL_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    url = sa.make_url(POSTGRESQL_URL).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    admin.dispose()


def migrated_app(tmp_path, url):
    app = create_app(
        {
            "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "migration tests",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
    return app


def differences(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def tables(app) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def product_codes(app) -> list[str]:
    with app.app_context(), db.engine.connect() as connection:
        return list(connection.scalars(sa.text("SELECT code FROM products ORDER BY code")))


def dispose(app):
    with app.app_context():
        db.engine.dispose()


def test_migration_file_names_start_with_a_date():
    names = [path.name for path in migration_files()]
    assert names, "there is at least one migration"
    assert [name for name in names if not re.match(r"^\d{4}_\d{2}_\d{2}_", name)] == []


def test_migrations_form_one_line_of_history():
    revisions = {}
    for path in migration_files():
        text = path.read_text()
        revision = re.search(r"^revision = ['\"](\w+)['\"]", text, re.M).group(1)
        down = re.search(r"^down_revision = (?:['\"](\w+)['\"]|None)", text, re.M).group(1)
        revisions[revision] = down
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1, f"more than one head: {heads}"
    assert list(revisions.values()).count(None) == 1


def test_upgrade_on_sqlite_matches_the_models(tmp_path, sqlite_url):
    app = migrated_app(tmp_path, sqlite_url)
    assert differences(app) == []


def test_upgrade_on_sqlite_seeds_the_three_products(tmp_path, sqlite_url):
    app = migrated_app(tmp_path, sqlite_url)
    assert product_codes(app) == PRODUCT_CODES


def test_downgrade_on_sqlite_removes_every_table(tmp_path, sqlite_url):
    app = migrated_app(tmp_path, sqlite_url)
    with app.app_context():
        flask_migrate.downgrade(revision="base")
    assert tables(app) <= {"alembic_version"}


def test_upgrade_on_postgresql_matches_the_models(tmp_path, postgresql_url):
    app = migrated_app(tmp_path, postgresql_url)
    try:
        assert differences(app) == []
    finally:
        dispose(app)


def test_upgrade_on_postgresql_seeds_the_three_products(tmp_path, postgresql_url):
    app = migrated_app(tmp_path, postgresql_url)
    try:
        assert product_codes(app) == PRODUCT_CODES
    finally:
        dispose(app)


def test_upgrade_on_postgresql_builds_the_schema_in_its_own_schema(tmp_path, postgresql_url):
    app = migrated_app(tmp_path, postgresql_url)
    try:
        with app.app_context(), db.engine.connect() as connection:
            migrated = set(
                connection.scalars(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables"
                        " WHERE table_schema = :schema"
                    ),
                    {"schema": SCHEMA},
                )
            )
        assert {"alembic_version", "accounts", "companies", "products"} <= migrated
    finally:
        dispose(app)


SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
BEFORE_SEALING = "84019efcef09"  # the revision before c4e8a1b2d3f5 (sealed TOTP secrets)


def _check_sealing_of_existing_secrets(tmp_path, url):
    """Secrets stored in clear text before the sealing revision are sealed by it, and opened
    again by its downgrade."""
    from portal import sealing
    from portal.accounts.models import TOTP_SECRET_PURPOSE

    app = create_app(
        {
            "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "migration tests",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    try:
        with app.app_context():
            flask_migrate.upgrade(revision=BEFORE_SEALING)
            with db.engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO accounts (id, email, kind, staff_role, language, is_active,"
                        " created_dt) VALUES (1, 'staff@example.com', 'personal', 'support',"
                        " 'sv', true, CURRENT_TIMESTAMP)"
                    )
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO twofactor_secrets (account_id, secret, created_dt)"
                        " VALUES (1, :secret, CURRENT_TIMESTAMP)"
                    ),
                    {"secret": SECRET},
                )
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                sealed = connection.scalar(sa.text("SELECT secret FROM twofactor_secrets"))
            assert SECRET not in sealed
            assert sealing.unseal(sealed, TOTP_SECRET_PURPOSE) == SECRET
            flask_migrate.downgrade(revision=BEFORE_SEALING)
            with db.engine.connect() as connection:
                assert connection.scalar(sa.text("SELECT secret FROM twofactor_secrets")) == SECRET
    finally:
        dispose(app)


def test_the_sealing_revision_seals_existing_secrets_on_sqlite(tmp_path, sqlite_url):
    _check_sealing_of_existing_secrets(tmp_path, sqlite_url)


def test_the_sealing_revision_seals_existing_secrets_on_postgresql(tmp_path, postgresql_url):
    _check_sealing_of_existing_secrets(tmp_path, postgresql_url)
