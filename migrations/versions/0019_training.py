"""training: courses, sessions, attendees, exams, certificates (R-APR-6)

Three new tables; existing data is untouched. A course that qualifies for a product category
gives its 上岗证 (manual 001 4.4.4); an attendee's passed exam carries the certificate number and
its last valid day; a failed one may point at the later session of its retraining.

Revision ID: 0019_training
Revises: 0018_complaint_staff
Create Date: 2026-12-02 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_training'
down_revision = '0018_complaint_staff'
branch_labels = None
depends_on = None

CATEGORIES = ('gas_water_heater', 'range_hood', 'disinfection_cabinet', 'gas_stove', 'shoes', 'other')


def _timestamps():
    return [sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False)]


def upgrade():
    quoted = ", ".join(f"'{c}'" for c in CATEGORIES)
    op.create_table(
        'training_course',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('category', sa.String(length=30), nullable=True),
        sa.Column('validity_months', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(f"category IN ({quoted})", name=op.f('ck_training_course_category_valid')),
        sa.CheckConstraint('validity_months > 0', name=op.f('ck_training_course_validity_positive')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_course')),
        sa.UniqueConstraint('code', name=op.f('uq_training_course_code')),
    )
    with op.batch_alter_table('training_course', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_course_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_course_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_course_created_at'), ['created_at'], unique=False)

    op.create_table(
        'training_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('place', sa.String(length=100), nullable=False),
        sa.Column('trainer', sa.String(length=60), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('results_recorded_at', sa.DateTime(), nullable=True),
        sa.Column('results_recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('version_id', sa.Integer(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(['course_id'], ['training_course.id'],
                                name=op.f('fk_training_session_course_id_training_course')),
        sa.ForeignKeyConstraint(['results_recorded_by_id'], ['user_account.id'],
                                name=op.f('fk_training_session_results_recorded_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_session')),
    )
    with op.batch_alter_table('training_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_session_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_session_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_session_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_session_results_recorded_by_id'), ['results_recorded_by_id'],
                              unique=False)

    op.create_table(
        'training_attendee',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column('passed', sa.Boolean(), nullable=True),
        sa.Column('certificate_no', sa.String(length=40), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('retraining_session_id', sa.Integer(), nullable=True),
        sa.Column('scored_by_id', sa.Integer(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint('certificate_no IS NULL OR passed', name=op.f('ck_training_attendee_certificate_when_passed')),
        sa.CheckConstraint('score IS NULL OR (score >= 0 AND score <= 100)',
                           name=op.f('ck_training_attendee_score_range')),
        sa.ForeignKeyConstraint(['person_id'], ['user_account.id'],
                                name=op.f('fk_training_attendee_person_id_user_account')),
        sa.ForeignKeyConstraint(['retraining_session_id'], ['training_session.id'],
                                name=op.f('fk_training_attendee_retraining_session_id_training_session')),
        sa.ForeignKeyConstraint(['scored_by_id'], ['user_account.id'],
                                name=op.f('fk_training_attendee_scored_by_id_user_account')),
        sa.ForeignKeyConstraint(['session_id'], ['training_session.id'],
                                name=op.f('fk_training_attendee_session_id_training_session')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_attendee')),
        sa.UniqueConstraint('certificate_no', name=op.f('uq_training_attendee_certificate_no')),
        sa.UniqueConstraint('session_id', 'person_id', name='uq_training_attendee_person'),
    )
    with op.batch_alter_table('training_attendee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_attendee_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_attendee_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_attendee_retraining_session_id'), ['retraining_session_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_training_attendee_scored_by_id'), ['scored_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_attendee_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_attendee_valid_until'), ['valid_until'], unique=False)


def downgrade():
    op.drop_table('training_attendee')  # its indexes go with it
    op.drop_table('training_session')
    op.drop_table('training_course')
