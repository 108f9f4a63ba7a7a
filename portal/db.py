"""The database: one SQLAlchemy object, naming convention, UTC timestamps, SQLite tuning."""

import enum
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 5000


class UTCDateTime(sa.TypeDecorator):
    """An aware UTC datetime on every database (SQLite forgets the offset; we restore it)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


# Mounted, the portal keeps an engine of its own under this key (a host's Flask-SQLAlchemy
# owns `app.extensions["sqlalchemy"]`), configured by these keys of the app's config.
MOUNTED_EXTENSION = "portal_sqlalchemy"
MOUNTED_URL = "PORTAL_SQLALCHEMY_DATABASE_URI"
MOUNTED_ENGINE_OPTIONS = "PORTAL_SQLALCHEMY_ENGINE_OPTIONS"
_ENGINE_CONFIG = (
    "SQLALCHEMY_DATABASE_URI",
    "SQLALCHEMY_ENGINE_OPTIONS",
    "SQLALCHEMY_BINDS",
    "SQLALCHEMY_ECHO",
    "SQLALCHEMY_RECORD_QUERIES",
    "SQLALCHEMY_TRACK_MODIFICATIONS",
)


# `app.extensions[MIGRATIONS]`: where the portal's Alembic scripts are and which version table
# records the database's revision ("alembic_version" standalone); /readyz compares the two.
MIGRATIONS = "portal_migrations"


class PortalSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy, able to sit beside a host site's own instance on the same app.

    Standalone it is the app's `SQLAlchemy`. Mounted (`mounted=True`) it registers under its own
    key with its own engine (`PORTAL_SQLALCHEMY_DATABASE_URI`), whether the host initialises its
    Flask-SQLAlchemy before or after the portal; the host's instance, config and models are left
    as they were. Sessions, engines and metadata are per instance in Flask-SQLAlchemy, so the two
    never share a transaction.
    """

    def init_app(self, app, *, mounted: bool = False) -> None:
        if not mounted:
            super().init_app(app)
            return
        host_db = app.extensions.pop("sqlalchemy", None)
        host_config = {key: app.config[key] for key in _ENGINE_CONFIG if key in app.config}
        for key in _ENGINE_CONFIG:
            app.config.pop(key, None)
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config[MOUNTED_URL]
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(app.config[MOUNTED_ENGINE_OPTIONS])
        add_models_to_shell, self._add_models_to_shell = self._add_models_to_shell, False
        try:
            super().init_app(app)
        finally:
            self._add_models_to_shell = add_models_to_shell
            app.extensions[MOUNTED_EXTENSION] = app.extensions.pop("sqlalchemy", None)
            for key in _ENGINE_CONFIG:
                app.config.pop(key, None)
            app.config.update(host_config)
            if host_db is not None:
                app.extensions["sqlalchemy"] = host_db


db = PortalSQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def enum_column(enum_class: type[enum.Enum], **kwargs) -> sa.Enum:
    """A portable enum column: VARCHAR plus CHECK, values stored as their `.value`."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        name=kwargs.pop("name", enum_class.__name__.lower()),
        validate_strings=True,
        **kwargs,
    )


def configure_engine(engine: sa.Engine) -> None:
    """SQLite: foreign keys, WAL and a busy timeout; transactions SQLAlchemy fully controls."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        # Let SQLAlchemy emit BEGIN itself so SAVEPOINT works (pysqlite's own handling breaks it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")


def among(column, ids: Iterable[int]):
    """`column IN (1, 2, ...)` with the integers written into the statement.

    A batch of 500 ids as 500 bound parameters is about ten times slower on PostgreSQL than the
    same list as literals, and several such lists in one statement run into SQLite's limit on
    parameters. The values must be integers (ids), so writing them into the SQL is safe.
    """
    values = [int(value) for value in ids]
    return column.in_(
        sa.bindparam(None, values, type_=sa.Integer(), expanding=True, literal_execute=True)
    )
