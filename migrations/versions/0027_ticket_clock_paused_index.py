"""an index for the ticket list's "waiting for the customer" tab (issue 18)

The tab counts open tickets with a clock paused (R-SLA-3) on every list page. Without an index
PostgreSQL reads every clock for the few paused ones (120 ms at 200k tickets, a parallel seq scan
of ticket_clock); this partial index holds only the paused clocks (5 ms). Existing data: nothing to
convert.

Revision ID: 0027_ticket_clock_paused_index
Revises: 0026_ticket_tracking_token
Create Date: 2026-12-02 20:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0027_ticket_clock_paused_index'
down_revision = '0026_ticket_tracking_token'
branch_labels = None
depends_on = None

PAUSED = "paused_since IS NOT NULL"


def upgrade():
    op.create_index('ix_ticket_clock_paused', 'ticket_clock', ['ticket_id'], unique=False,
                    postgresql_where=sa.text(PAUSED), sqlite_where=sa.text(PAUSED))


def downgrade():
    op.drop_index('ix_ticket_clock_paused', table_name='ticket_clock')
