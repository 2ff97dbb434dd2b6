"""appraisal records that compute (R-APR-1..3): kinds, itemised deductions, steps, acknowledgement, reporting line

- appraisal_record.period_kind also holds 'monthly_check' (月检): the column widens to 20 and its
  CHECK lists the four kinds. Existing rows keep their meaning: 'weekly' = weekly check,
  'monthly' = monthly appraisal, 'year_end' = year-end appraisal.
- scores are Numeric(6,2) (stored exactly: 19.95 stays 19.95; the score step is a policy);
  existing Numeric(5,1) values convert without loss.
- what the service record suggested for 勤/绩, and when the person acknowledged the record.
- appraisal_deduction: itemised deductions (dimension, points, reason) of a record.
- user_account.reports_to_id: the reporting line (nobody scores the person they report to).

Downgrade: deductions and the new columns are dropped; monthly checks have no place in the old
schema and are deleted; scores round to one decimal.

Revision ID: 0017_appraisal_records
Revises: 0016_outlet_retirement
Create Date: 2026-12-02 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_appraisal_records'
down_revision = '0016_outlet_retirement'
branch_labels = None
depends_on = None

SCORES = ('conduct', 'diligence', 'ability', 'results', 'commendation', 'penalty')
NEW_KINDS = "period_kind IN ('weekly', 'monthly_check', 'monthly', 'year_end')"
OLD_KINDS = "period_kind IN ('weekly', 'monthly', 'year_end')"


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reports_to_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_reports_to_id'), ['reports_to_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_reports_to_id_user_account'), 'user_account',
                                    ['reports_to_id'], ['id'])

    with op.batch_alter_table('appraisal_record', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_appraisal_record_period_kind_valid'), type_='check')
        batch_op.alter_column('period_kind', existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False)
        for column in SCORES:
            batch_op.alter_column(column, existing_type=sa.Numeric(precision=5, scale=1),
                                  type_=sa.Numeric(precision=6, scale=2), existing_nullable=False)
        batch_op.add_column(sa.Column('diligence_suggested', sa.Numeric(precision=6, scale=2), nullable=True))
        batch_op.add_column(sa.Column('results_suggested', sa.Numeric(precision=6, scale=2), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_appraisal_record_period_kind_valid'), NEW_KINDS)

    op.create_table('appraisal_deduction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.CheckConstraint("dimension IN ('conduct', 'diligence', 'ability', 'results')",
                       name=op.f('ck_appraisal_deduction_dimension_valid')),
    sa.CheckConstraint('points > 0', name=op.f('ck_appraisal_deduction_points_positive')),
    sa.ForeignKeyConstraint(['record_id'], ['appraisal_record.id'],
                            name=op.f('fk_appraisal_deduction_record_id_appraisal_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_deduction'))
    )
    with op.batch_alter_table('appraisal_deduction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_deduction_record_id'), ['record_id'], unique=False)


def downgrade():
    with op.batch_alter_table('appraisal_deduction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_deduction_record_id'))
    op.drop_table('appraisal_deduction')

    op.execute("DELETE FROM appraisal_record WHERE period_kind = 'monthly_check'")
    with op.batch_alter_table('appraisal_record', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_appraisal_record_period_kind_valid'), type_='check')
        batch_op.drop_column('acknowledged_at')
        batch_op.drop_column('results_suggested')
        batch_op.drop_column('diligence_suggested')
        for column in SCORES:
            batch_op.alter_column(column, existing_type=sa.Numeric(precision=6, scale=2),
                                  type_=sa.Numeric(precision=5, scale=1), existing_nullable=False)
        batch_op.alter_column('period_kind', existing_type=sa.String(length=20), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_appraisal_record_period_kind_valid'), OLD_KINDS)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_account_reports_to_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_reports_to_id'))
        batch_op.drop_column('reports_to_id')
