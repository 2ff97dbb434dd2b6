"""the customer's drawn signature on the service report (issue 18)

The engineer's phone takes the customer's signature on a signature pad; the PNG is stored as an
attachment of the ticket and the report points at it. Existing reports were signed by name only:
they keep NULL (the printed report then shows the signing line with the name).

Revision ID: 0028_service_report_signature
Revises: 0027_ticket_clock_paused_index
Create Date: 2026-12-03 00:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0028_service_report_signature'
down_revision = '0027_ticket_clock_paused_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_service_report_signature_id_attachment'), 'attachment',
                                    ['signature_id'], ['id'])


def downgrade():
    with op.batch_alter_table('service_report', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_report_signature_id_attachment'), type_='foreignkey')
        batch_op.drop_column('signature_id')
