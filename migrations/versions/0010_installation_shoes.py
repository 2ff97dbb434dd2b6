"""installation and shoes (issue 10 points 10, 11): a unit's size (one shoe model, many sizes),
finished-goods stock per model AND size (R-RET-2: a size exchange checks that size), the size an
exchange ships (approval_request.target_size), and the kind of an installation's fee lines
(installation fee, travel fee, materials: R-INST-1/2).

Existing data: units and stock rows get the empty size (appliances have none); fee lines keep no
kind. Downgrade adds up the stock of the sizes of a model at an outlet into one row again.

Revision ID: 0010_installation_shoes
Revises: 0009_network_approvals
Create Date: 2026-12-01 22:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_installation_shoes'
down_revision = '0009_network_approvals'
branch_labels = None
depends_on = None

FEE_KINDS = "kind IN ('installation', 'travel', 'material')"
# Downgrade: one row per outlet and model again, holding the sizes' sum (plain SQL for SQLite and PostgreSQL).
FIRST_ROW = "SELECT MIN(id) FROM finished_goods_stock GROUP BY outlet_id, product_model_id"
MERGE_SIZES = [sa.text(sql) for sql in (
    ("UPDATE finished_goods_stock SET qty = (SELECT SUM(s.qty) FROM finished_goods_stock s "
     "WHERE s.outlet_id = finished_goods_stock.outlet_id AND s.product_model_id = finished_goods_stock.product_model_id) "
     f"WHERE id IN ({FIRST_ROW})"),
    f"DELETE FROM finished_goods_stock WHERE id NOT IN ({FIRST_ROW})")]


def upgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size', sa.String(length=10), nullable=False, server_default=''))
    with op.batch_alter_table('finished_goods_stock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size', sa.String(length=10), nullable=False, server_default=''))
        batch_op.drop_constraint('uq_stock_outlet_model', type_='unique')
        batch_op.create_unique_constraint('uq_stock_outlet_model_size', ['outlet_id', 'product_model_id', 'size'])
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_size', sa.String(length=10), nullable=True))
    with op.batch_alter_table('ticket_fee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch_op.create_check_constraint(op.f('ck_ticket_fee_kind_valid'), FEE_KINDS)


def downgrade():
    with op.batch_alter_table('ticket_fee', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ticket_fee_kind_valid'), type_='check')
        batch_op.drop_column('kind')
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_column('target_size')
    for statement in MERGE_SIZES:
        op.execute(statement)
    with op.batch_alter_table('finished_goods_stock', schema=None) as batch_op:
        batch_op.drop_constraint('uq_stock_outlet_model_size', type_='unique')
        batch_op.create_unique_constraint('uq_stock_outlet_model', ['outlet_id', 'product_model_id'])
        batch_op.drop_column('size')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('size')
