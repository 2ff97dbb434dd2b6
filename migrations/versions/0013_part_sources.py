"""where a fitted part came from (R-FEE-3): issued on the outlet's parts account or bought by
the outlet for cash, so that it is paid for once (by the old-part credit, or by the fee claim).

A claim's part line says how it is paid (on account: not here; purchase: here; not creditable),
and a claim remembers when its ticket's reopening sent it back to waiting.

Existing data: every part fitted so far was issued on account (the only route the older schema
knew), so existing fitted parts read 'on_account'. Existing claim lines were paid at list price,
as a cash purchase is now, so they read 'purchase' (a waiting claim is recomputed at its audit).

Revision ID: 0013_part_sources
Revises: 0012_parts_requests_end
Create Date: 2026-12-02 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_part_sources'
down_revision = '0012_parts_requests_end'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('replaced_part', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement', sa.String(length=12), nullable=False,
                                      server_default='on_account'))
        batch_op.create_check_constraint(op.f('ck_replaced_part_settlement_valid'),
                                         "settlement IN ('on_account', 'purchase')")
    with op.batch_alter_table('fee_claim_part', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis', sa.String(length=16), nullable=False, server_default='purchase'))
        batch_op.create_check_constraint(op.f('ck_fee_claim_part_basis_valid'),
                                         "basis IN ('on_account', 'purchase', 'not_creditable')")
    with op.batch_alter_table('fee_claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reopened_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('fee_claim', schema=None) as batch_op:
        batch_op.drop_column('reopened_at')
    with op.batch_alter_table('fee_claim_part', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_fee_claim_part_basis_valid'), type_='check')
        batch_op.drop_column('basis')
    with op.batch_alter_table('replaced_part', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_replaced_part_settlement_valid'), type_='check')
        batch_op.drop_column('settlement')
