"""network approvals: extra parts batches, parts on account beyond the quota, fee
charge-backs and credits to a parts account go through the approval requests (R-PART-2,
R-PART-3, R-PART-8, R-FEE-2, R-ROLE-2)

An approval request is now about a ticket, a parts request, a fee claim or a parts account;
at most one open request per parts request, fee claim or account; every request keeps its
history in approval_event. Existing rows are ticket requests and stay valid; a parts batch
already waiting for its exception gets the approval request it now needs.

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
NETWORK_KINDS = "'parts_extra_batch', 'parts_incident', 'fee_chargeback', 'parts_credit'"
OLD_GROUNDS = ("'sanbao_window', 'unrepairable', 'still_faulty', 'size', 'unboxing_appearance', 'batch_failure', "
               "'quality_repaired', 'goodwill', 'injury'")
NEW_GROUNDS = OLD_GROUNDS + ", 'extra_batch', 'quality_incident', 'overcharge', 'correction'"
OLD_PARTS_STATUS = "'awaiting_exception', 'submitted', 'reviewed', 'shipped', 'delivered', 'disputed', 'rejected'"
NEW_PARTS_STATUS = OLD_PARTS_STATUS + ", 'awaiting_incident'"
HAS_SUBJECT = (f"CASE WHEN kind IN ({NETWORK_KINDS}) THEN (ticket_id IS NULL AND (parts_request_id IS NOT NULL "
               "OR fee_claim_id IS NOT NULL OR parts_account_id IS NOT NULL)) ELSE ticket_id IS NOT NULL END")
# Batches over the weekly limit were decided on the request itself before: they now wait in the queue.
WAITING_EXCEPTIONS = sa.text(
    "INSERT INTO approval_request (parts_request_id, outlet_id, kind, grounds, status, amount, reason, "
    "requested_by_id, needs_second, decision_note, version_id, created_at, updated_at) "
    "SELECT id, outlet_id, 'parts_extra_batch', 'extra_batch', 'pending', 0, exception_reason, requested_by_id, "
    ":no, '', 1, created_at, created_at FROM parts_request WHERE status = 'awaiting_exception'"
).bindparams(sa.bindparam("no", False, type_=sa.Boolean()))
# The history of the requests made before: asked, first approval (its note was not kept), decision.
HISTORY = [sa.text(sql) for sql in (
    "INSERT INTO approval_event (request_id, at, actor_id, action, note) "
    "SELECT id, created_at, requested_by_id, 'approval_requested', reason FROM approval_request ORDER BY id",
    "INSERT INTO approval_event (request_id, at, actor_id, action, note) "
    "SELECT id, first_approved_at, first_approver_id, 'approval_approve', '' FROM approval_request "
    "WHERE first_approved_at IS NOT NULL ORDER BY id",
    "INSERT INTO approval_event (request_id, at, actor_id, action, note) "
    "SELECT id, decided_at, decided_by_id, CASE status WHEN 'approved' THEN 'approval_approve' "
    "ELSE 'approval_reject' END, decision_note FROM approval_request WHERE decided_at IS NOT NULL ORDER BY id")]


def upgrade():
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_request_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fee_claim_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('parts_account_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('form_token', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_approval_request_form_token'), ['form_token'])
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
        batch_op.create_index('uq_approval_request_open_parts_account', ['parts_account_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.create_foreign_key(batch_op.f('fk_approval_request_parts_account_id_parts_account'), 'parts_account',
                                    ['parts_account_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_approval_request_fee_claim_id_fee_claim'), 'fee_claim',
                                    ['fee_claim_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_approval_request_parts_request_id_parts_request'),
                                    'parts_request', ['parts_request_id'], ['id'])
    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_parts_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_request_status_valid'), f"status IN ({NEW_PARTS_STATUS})")
    op.create_table('approval_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_approval_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['request_id'], ['approval_request.id'],
                            name=op.f('fk_approval_event_request_id_approval_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_event'))
    )
    with op.batch_alter_table('approval_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_event_request_id'), ['request_id'], unique=False)
    op.execute(WAITING_EXCEPTIONS)
    for statement in HISTORY:
        op.execute(statement)


def downgrade():
    # Network requests have no ticket: they cannot survive the older schema (a batch still
    # waiting for its exception is decided on the request again there).
    with op.batch_alter_table('approval_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_event_request_id'))
        batch_op.drop_index(batch_op.f('ix_approval_event_actor_id'))
    op.drop_table('approval_event')
    op.execute(f"DELETE FROM approval_request WHERE kind IN ({NETWORK_KINDS})")
    op.execute("UPDATE parts_request SET status = 'submitted' WHERE status = 'awaiting_incident'")
    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_parts_request_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_request_status_valid'), f"status IN ({OLD_PARTS_STATUS})")
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_approval_request_parts_request_id_parts_request'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_approval_request_fee_claim_id_fee_claim'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_approval_request_parts_account_id_parts_account'), type_='foreignkey')
        batch_op.drop_index('uq_approval_request_open_parts_request', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index('uq_approval_request_open_fee_claim', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index('uq_approval_request_open_parts_account', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_constraint(op.f('ck_approval_request_has_subject'), type_='check')
        batch_op.drop_constraint(op.f('ck_approval_request_kind_valid'), type_='check')
        batch_op.drop_constraint(op.f('ck_approval_request_grounds_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_approval_request_kind_valid'), f"kind IN ({TICKET_KINDS})")
        batch_op.create_check_constraint(op.f('ck_approval_request_grounds_valid'), f"grounds IN ({OLD_GROUNDS})")
        batch_op.alter_column('ticket_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_approval_request_form_token'), type_='unique')
        batch_op.drop_column('form_token')
        batch_op.drop_column('parts_account_id')
        batch_op.drop_column('fee_claim_id')
        batch_op.drop_column('parts_request_id')
