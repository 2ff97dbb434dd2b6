"""outlet annual evaluation, awards, qualification records (R-APR-5)

New tables only: awards a manager records (outlet or person), the outlet's licence on file and its
annual inspections. The score itself is computed from service data (backoffice.outlet_evaluation).
Existing data: nothing to convert.

Revision ID: 0020_outlet_evaluation
Revises: 0019_training
Create Date: 2026-12-02 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_outlet_evaluation'
down_revision = '0019_training'
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False)]


def upgrade():
    op.create_table('outlet_award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    *_timestamps(),
    sa.CheckConstraint('outlet_id IS NOT NULL OR staff_id IS NOT NULL', name=op.f('ck_outlet_award_has_recipient')),
    sa.CheckConstraint('year >= 2000', name=op.f('ck_outlet_award_year_plausible')),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], name=op.f('fk_outlet_award_outlet_id_outlet')),
    sa.ForeignKeyConstraint(['staff_id'], ['user_account.id'], name=op.f('fk_outlet_award_staff_id_user_account')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'],
                            name=op.f('fk_outlet_award_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outlet_award'))
    )
    with op.batch_alter_table('outlet_award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_award_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_award_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_award_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_award_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_award_recorded_by_id'), ['recorded_by_id'], unique=False)

    op.create_table('outlet_qualification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('licence_number', sa.String(length=60), nullable=False),
    sa.Column('licence_valid_until', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], name=op.f('fk_outlet_qualification_outlet_id_outlet')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'],
                            name=op.f('fk_outlet_qualification_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outlet_qualification')),
    sa.UniqueConstraint('outlet_id', name=op.f('uq_outlet_qualification_outlet_id'))
    )
    with op.batch_alter_table('outlet_qualification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_qualification_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_qualification_recorded_by_id'), ['recorded_by_id'], unique=False)

    op.create_table('outlet_inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('inspected_by_id', sa.Integer(), nullable=True),
    *_timestamps(),
    sa.CheckConstraint("result IN ('pass', 'rectify', 'fail')", name=op.f('ck_outlet_inspection_result_valid')),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], name=op.f('fk_outlet_inspection_outlet_id_outlet')),
    sa.ForeignKeyConstraint(['inspected_by_id'], ['user_account.id'],
                            name=op.f('fk_outlet_inspection_inspected_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outlet_inspection')),
    sa.UniqueConstraint('outlet_id', 'year', name='uq_outlet_inspection_year')
    )
    with op.batch_alter_table('outlet_inspection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outlet_inspection_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_inspection_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_inspection_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_outlet_inspection_inspected_by_id'), ['inspected_by_id'], unique=False)


def downgrade():
    for table, indexes in (
            ('outlet_inspection', ('inspected_by_id', 'year', 'outlet_id', 'created_at')),
            ('outlet_qualification', ('recorded_by_id', 'created_at')),
            ('outlet_award', ('recorded_by_id', 'staff_id', 'outlet_id', 'year', 'created_at'))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in indexes:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)
