"""parts requests that can end (R-PART-3, R-PART-10): the center rejects a submitted request
with its reason, the outlet withdraws one not yet reviewed (and the approval request it waits
for is closed as withdrawn); a request may say the day it is needed by; a delivery difference is settled by reshipping or
crediting the missing lines, the difference recorded on the request and its lines.

Existing data: requests and approval requests keep their status; rejected requests have no
recorded reason (empty) and no request has a needed-by day. Going down, a withdrawn request
becomes a rejected one and a withdrawn approval request a rejected one (the older schema knows
no withdrawal).

Revision ID: 0012_parts_requests_end
Revises: 0011_service_desk
Create Date: 2026-12-02 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_parts_requests_end'
down_revision = '0011_service_desk'
branch_labels = None
depends_on = None

OLD_PARTS_STATUS = ("'awaiting_exception', 'awaiting_incident', 'submitted', 'reviewed', 'shipped', 'delivered', "
                    "'disputed', 'rejected'")
NEW_PARTS_STATUS = OLD_PARTS_STATUS + ", 'withdrawn'"
OLD_APPROVAL_STATUS = "'pending', 'info_requested', 'approved', 'rejected'"
NEW_APPROVAL_STATUS = OLD_APPROVAL_STATUS + ", 'withdrawn'"


def upgrade():
    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needed_by', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('rejection_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_parts_request_needed_by'), ['needed_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_parts_request_withdrawn_by_id'), ['withdrawn_by_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_parts_request_withdrawn_by_id_user_account'), 'user_account',
                                    ['withdrawn_by_id'], ['id'])
        batch_op.add_column(sa.Column('resolution', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('resolution_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('resolved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('missing_value', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('reship_courier', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('reship_tracking_no', sa.String(length=60), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_parts_request_resolved_by_id'), ['resolved_by_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_parts_request_resolved_by_id_user_account'), 'user_account',
                                    ['resolved_by_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_parts_request_resolution_valid'),
                                         "resolution IN ('reship', 'credit')")
        batch_op.drop_constraint(op.f('ck_parts_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_request_status_valid'), f"status IN ({NEW_PARTS_STATUS})")

    with op.batch_alter_table('parts_request_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('missing_qty', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_parts_request_line_missing_qty_valid'),
                                         "missing_qty > 0 AND missing_qty <= qty")

    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_approval_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_approval_request_status_valid'),
                                         f"status IN ({NEW_APPROVAL_STATUS})")


def downgrade():
    op.execute("UPDATE approval_request SET status = 'rejected' WHERE status = 'withdrawn'")
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_approval_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_approval_request_status_valid'),
                                         f"status IN ({OLD_APPROVAL_STATUS})")
    with op.batch_alter_table('parts_request_line', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_parts_request_line_missing_qty_valid'), type_='check')
        batch_op.drop_column('missing_qty')
    op.execute("UPDATE parts_request SET status = 'rejected' WHERE status = 'withdrawn'")
    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_parts_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_request_status_valid'), f"status IN ({OLD_PARTS_STATUS})")
        batch_op.drop_constraint(op.f('ck_parts_request_resolution_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_parts_request_resolved_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_parts_request_resolved_by_id'))
        for column in ('reship_tracking_no', 'reship_courier', 'missing_value', 'resolved_at', 'resolved_by_id',
                       'resolution_note', 'resolution'):
            batch_op.drop_column(column)
        batch_op.drop_constraint(batch_op.f('fk_parts_request_withdrawn_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_parts_request_withdrawn_by_id'))
        batch_op.drop_index(batch_op.f('ix_parts_request_needed_by'))
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('rejection_reason')
        batch_op.drop_column('needed_by')
