"""the customer's link as a random token per ticket (issue 17 review): ticket.tracking_token

A nullable column with a UNIQUE index: the public page /t/<token> finds its ticket by equality.
Existing tickets keep NULL: a token is made the first time a message needs the ticket's link
(backoffice.notifications.tracking_token); nothing is backfilled.

Revision ID: 0026_ticket_tracking_token
Revises: 0025_notifications_jobs
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0026_ticket_tracking_token'
down_revision = '0025_notifications_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking_token', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_ticket_tracking_token'), ['tracking_token'], unique=True)


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_tracking_token'))
        batch_op.drop_column('tracking_token')
