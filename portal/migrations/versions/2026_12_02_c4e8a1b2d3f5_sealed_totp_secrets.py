"""TOTP secrets sealed at rest; a customer's second factor can be reset to be enrolled again

Revision ID: c4e8a1b2d3f5
Revises: 84019efcef09
Create Date: 2026-12-02 15:00:00

The secrets are sealed with portal.sealing under the app's secret key (Flask-Migrate runs this
in the app context), and opened again on downgrade.
"""
from alembic import op
import sqlalchemy as sa

from portal import sealing


# revision identifiers, used by Alembic.
revision = 'c4e8a1b2d3f5'
down_revision = '84019efcef09'
branch_labels = None
depends_on = None

PURPOSE = "twofactor_secret"  # portal.accounts.models.TOTP_SECRET_PURPOSE, as of this revision


def _rewrite(change) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, secret FROM twofactor_secrets")).all()
    for row_id, secret in rows:
        connection.execute(
            sa.text("UPDATE twofactor_secrets SET secret = :secret WHERE id = :id"),
            {"secret": change(secret), "id": row_id},
        )


def upgrade():
    # A plain ADD COLUMN, never a batch copy of `accounts`: on SQLite the copy drops the table,
    # and with foreign keys on that deletes every row that references an account by cascade.
    op.add_column(
        'accounts',
        sa.Column('twofactor_reenrol', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    with op.batch_alter_table('twofactor_secrets', schema=None) as batch_op:
        batch_op.alter_column(
            'secret', existing_type=sa.String(length=64), type_=sa.String(length=255),
            existing_nullable=False,
        )
    _rewrite(lambda secret: sealing.seal(secret, PURPOSE))


def downgrade():
    _rewrite(lambda secret: sealing.unseal(secret, PURPOSE))
    with op.batch_alter_table('twofactor_secrets', schema=None) as batch_op:
        batch_op.alter_column(
            'secret', existing_type=sa.String(length=255), type_=sa.String(length=64),
            existing_nullable=False,
        )
    # SQLite (3.35 and later) drops a column in place, again without copying `accounts`.
    op.drop_column('accounts', 'twofactor_reenrol')
