"""retiring an outlet (issue 13 point 6): when, by whom, why, and the successor outlet that took
over its open tickets and customers (backoffice.retirement).

Existing data: outlets already inactive keep no retirement record (retired_at stays empty).

Revision ID: 0016_outlet_retirement
Revises: 0015_old_parts_authorised
Create Date: 2026-12-02 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_outlet_retirement'
down_revision = '0015_old_parts_authorised'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outlet', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('retired_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retirement_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('successor_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outlet_retired_by_id'), ['retired_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_successor_id'), ['successor_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outlet_retired_by_id_user_account'), 'user_account',
                                    ['retired_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_outlet_successor_id_outlet'), 'outlet', ['successor_id'], ['id'])


def downgrade():
    with op.batch_alter_table('outlet', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outlet_successor_id_outlet'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_outlet_retired_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outlet_successor_id'))
        batch_op.drop_index(batch_op.f('ix_outlet_retired_by_id'))
        batch_op.drop_column('successor_id')
        batch_op.drop_column('retirement_reason')
        batch_op.drop_column('retired_by_id')
        batch_op.drop_column('retired_at')
