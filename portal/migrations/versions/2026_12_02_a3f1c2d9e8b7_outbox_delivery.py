"""Outbox delivered by the scheduler: claims, failures, and sealed links

Revision ID: a3f1c2d9e8b7
Revises: ff8c43c959d9
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3f1c2d9e8b7'
down_revision = 'ff8c43c959d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('failed_dt', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
    # Mails delivered before this version kept their links readable: keep the fact, not the body.
    op.execute(
        "UPDATE outbox_mails SET body_text = '', body_html = NULL WHERE sent_dt IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('failed_dt')
        batch_op.drop_column('sealed')
