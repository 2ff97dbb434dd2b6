"""an index for "this ticket has a clock overdue / ticking" (issue 16 measurements)

The queue counts in the menu and the ticket list's SLA filters ask, per ticket, for an unmet clock
by due time: (ticket_id, met_at, due_at) answers that from the index on SQLite and PostgreSQL.
Existing data: nothing to convert.

Revision ID: 0022_ticket_clock_open_index
Revises: 0021_model_sales
Create Date: 2026-12-02 09:40:00

"""
from alembic import op

revision = '0022_ticket_clock_open_index'
down_revision = '0021_model_sales'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket_clock', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_clock_ticket_open', ['ticket_id', 'met_at', 'due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_clock', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_clock_ticket_open')
