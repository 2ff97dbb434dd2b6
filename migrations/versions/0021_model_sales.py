"""units sold per product model and month (R-RPT-1)

A new table only: the manufacturer's monthly sales per model, entered by the center, the base of
the monthly quality report's fault rate. Existing data: nothing to convert.

Revision ID: 0021_model_sales
Revises: 0020_outlet_evaluation
Create Date: 2026-12-02 07:20:07.504509

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_model_sales'
down_revision = '0020_outlet_evaluation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('model_sales',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_model_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('units >= 0', name=op.f('ck_model_sales_units_not_negative')),
    sa.ForeignKeyConstraint(['product_model_id'], ['product_model.id'], name=op.f('fk_model_sales_product_model_id_product_model')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_sales')),
    sa.UniqueConstraint('product_model_id', 'month', name='uq_model_sales_model_month')
    )
    with op.batch_alter_table('model_sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_sales_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_sales_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_sales_product_model_id'), ['product_model_id'], unique=False)



def downgrade():
    with op.batch_alter_table('model_sales', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_sales_product_model_id'))
        batch_op.drop_index(batch_op.f('ix_model_sales_month'))
        batch_op.drop_index(batch_op.f('ix_model_sales_created_at'))

    op.drop_table('model_sales')
