"""a complaint names the staff member it is against (R-CMP-3), for appraisal suggestions

complaint.against_staff_id (nullable FK user_account) and complaint.substantiated (the investigation
found it confirmed against that person). Existing complaints name nobody and stay unconfirmed.

Revision ID: 0018_complaint_staff
Revises: 0017_appraisal_records
Create Date: 2026-12-02 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_complaint_staff'
down_revision = '0017_appraisal_records'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('against_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('substantiated', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_complaint_against_staff_id'), ['against_staff_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_complaint_against_staff_id_user_account'), 'user_account',
                                    ['against_staff_id'], ['id'])


def downgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_complaint_against_staff_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_complaint_against_staff_id'))
        batch_op.drop_column('substantiated')
        batch_op.drop_column('against_staff_id')
