"""Walk-through fixes: when the schedule started, and the language of news

Revision ID: 84019efcef09
Revises: 7f065a97451d
Create Date: 2026-12-02 10:00:00.000000

The scheduler's lease row remembers when it was first taken (`created_dt`): a scheduler's
catch-up makes up a missed 03:00 purge only when the schedule was running before it. Existing
rows get the time of the upgrade. A news item says which language it is written in; the
existing ones are Swedish.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '84019efcef09'
down_revision = '7f065a97451d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scheduler_leases', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'created_dt',
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
    with op.batch_alter_table('scheduler_leases', schema=None) as batch_op:
        batch_op.alter_column('created_dt', server_default=None)

    with op.batch_alter_table('news', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('language', sa.String(length=5), nullable=False, server_default='sv')
        )
    with op.batch_alter_table('news', schema=None) as batch_op:
        batch_op.alter_column('language', server_default=None)


def downgrade():
    with op.batch_alter_table('news', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('scheduler_leases', schema=None) as batch_op:
        batch_op.drop_column('created_dt')
