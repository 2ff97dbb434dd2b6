"""work without a click (issue 17): the customers' outbox, staff notifications, the periodic jobs'
runs (their UNIQUE (job, slot) is the lock between workers), and how each customer is told
(channel, e-mail, WeChat openid, PIPL consent and opt-out). Existing customers get SMS and no
consent recorded: nothing is sent to them until it is.

Revision ID: 0025_notifications_jobs
Revises: 0024_report_indexes
Create Date: 2026-12-02 17:59:27.143552

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0025_notifications_jobs'
down_revision = '0024_report_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('worker', sa.String(length=80), nullable=False),
    sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f('ck_job_run_status_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run')),
    sa.UniqueConstraint('job', 'slot', name='uq_job_run_job_slot')
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_run_started_at'), ['started_at'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=120), nullable=False),
    sa.Column('template', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("channel IN ('sms', 'wechat', 'email')", name=op.f('ck_outbox_message_channel_valid')),
    sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name=op.f('ck_outbox_message_status_valid')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_outbox_message_customer_id_customer')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_outbox_message_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_message_dedupe_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_outbox_message_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_template'), ['template'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('staff_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_staff_notification_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_staff_notification_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_notification')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_staff_notification_dedupe_key'))
    )
    with op.batch_alter_table('staff_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_notification_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_notification_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_notification_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_staff_notification_unread', ['user_id', 'read_at'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('wechat_openid', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('notify_channel', sa.String(length=10), nullable=False, server_default='sms'))
        batch_op.add_column(sa.Column('notify_consent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('notify_consent_source', sa.String(length=20), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('notify_opt_out_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint('notify_channel_valid', "notify_channel IN ('sms', 'wechat', 'email')")



def downgrade():
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint('notify_channel_valid', type_='check')
        batch_op.drop_column('notify_opt_out_at')
        batch_op.drop_column('notify_consent_source')
        batch_op.drop_column('notify_consent_at')
        batch_op.drop_column('notify_channel')
        batch_op.drop_column('wechat_openid')
        batch_op.drop_column('email')

    with op.batch_alter_table('staff_notification', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_notification_unread')
        batch_op.drop_index(batch_op.f('ix_staff_notification_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_staff_notification_kind'))
        batch_op.drop_index(batch_op.f('ix_staff_notification_created_at'))

    op.drop_table('staff_notification')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_template'))
        batch_op.drop_index('ix_outbox_message_due')
        batch_op.drop_index(batch_op.f('ix_outbox_message_customer_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_created_at'))

    op.drop_table('outbox_message')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_run_started_at'))

    op.drop_table('job_run')
