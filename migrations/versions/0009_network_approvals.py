"""network approvals: extra parts batches, parts on account beyond the quota and fee
charge-backs go through the approval requests (R-PART-2, R-PART-3, R-FEE-2, R-ROLE-2)

An approval request is now about a ticket, a parts request or a fee claim; at most one open
request per parts request or fee claim. Existing rows are ticket requests and stay valid.

Revision ID: 0009_network_approvals
Revises: 0008_fee_claims
Create Date: 2026-11-23 02:47:03.121561

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_network_approvals'
down_revision = '0008_fee_claims'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('pending', 'info_requested')")
TICKET_KINDS = "'return_refund', 'exchange', 'repair_compensation', 'extra_compensation', 'fee_waiver', 'verdict_override'"
NETWORK_KINDS = "'parts_extra_batch', 'parts_incident', 'fee_chargeback'"
OLD_GROUNDS = ("'sanbao_window', 'unrepairable', 'still_faulty', 'size', 'unboxing_appearance', 'batch_failure', "
               "'quality_repaired', 'goodwill', 'injury'")
NEW_GROUNDS = OLD_GROUNDS + ", 'extra_batch', 'quality_incident', 'overcharge'"
OLD_PARTS_STATUS = "'awaiting_exception', 'submitted', 'reviewed', 'shipped', 'delivered', 'disputed', 'rejected'"
NEW_PARTS_STATUS = OLD_PARTS_STATUS + ", 'awaiting_incident'"
HAS_SUBJECT = (f"CASE WHEN kind IN ({NETWORK_KINDS}) THEN (ticket_id IS NULL AND (parts_request_id IS NOT NULL "
               "OR fee_claim_id IS NOT NULL)) ELSE ticket_id IS NOT NULL END")


def upgrade():
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_request_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fee_claim_id', sa.Integer(), nullable=True))
        batch_op.alter_column('ticket_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.drop_constraint(op.f('ck_approval_request_kind_valid'), type_='check')
        batch_op.drop_constraint(op.f('ck_approval_request_grounds_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_approval_request_kind_valid'),
                                         f"kind IN ({TICKET_KINDS}, {NETWORK_KINDS})")
        batch_op.create_check_constraint(op.f('ck_approval_request_grounds_valid'), f"grounds IN ({NEW_GROUNDS})")
        batch_op.create_check_constraint(op.f('ck_approval_request_has_subject'), HAS_SUBJECT)
        batch_op.create_index('uq_approval_request_open_fee_claim', ['fee_claim_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.create_index('uq_approval_request_open_parts_request', ['parts_request_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.create_foreign_key(batch_op.f('fk_approval_request_fee_claim_id_fee_claim'), 'fee_claim',
                                    ['fee_claim_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_approval_request_parts_request_id_parts_request'),
                                    'parts_request', ['parts_request_id'], ['id'])
    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_parts_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_request_status_valid'), f"status IN ({NEW_PARTS_STATUS})")


def downgrade():
    # Network requests have no ticket: they cannot survive the older schema.
    op.execute(f"DELETE FROM approval_request WHERE kind IN ({NETWORK_KINDS})")
    op.execute("UPDATE parts_request SET status = 'submitted' WHERE status = 'awaiting_incident'")
    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_parts_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_request_status_valid'), f"status IN ({OLD_PARTS_STATUS})")
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_approval_request_parts_request_id_parts_request'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_approval_request_fee_claim_id_fee_claim'), type_='foreignkey')
        batch_op.drop_index('uq_approval_request_open_parts_request', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index('uq_approval_request_open_fee_claim', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_constraint(op.f('ck_approval_request_has_subject'), type_='check')
        batch_op.drop_constraint(op.f('ck_approval_request_kind_valid'), type_='check')
        batch_op.drop_constraint(op.f('ck_approval_request_grounds_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_approval_request_kind_valid'), f"kind IN ({TICKET_KINDS})")
        batch_op.create_check_constraint(op.f('ck_approval_request_grounds_valid'), f"grounds IN ({OLD_GROUNDS})")
        batch_op.alter_column('ticket_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('fee_claim_id')
        batch_op.drop_column('parts_request_id')
