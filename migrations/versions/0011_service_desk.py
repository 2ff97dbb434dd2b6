"""service desk for every role (issue 10): one customer per normalised phone (R-CUS-1), the
purchase channel of a unit (R-TKT-2), SLA rounds for reworked tickets (R-SLA-4), one return,
exchange or refund per unit and its return path (R-RET-5), refunds paid with a reference.

Existing data: a ticket without a usable invoice has an unknown warranty (NULL), not "out of
warranty"; the first customer of each normalised phone gets the key, later ones sharing it
keep it empty (they stay flagged as duplicates, never merged); the earliest approved return /
exchange / refund of each unit is the one granted on it.

Revision ID: 0011_service_desk
Revises: 0010_installation_shoes
Create Date: 2026-12-01 22:40:00

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_service_desk'
down_revision = '0010_installation_shoes'
branch_labels = None
depends_on = None

OLD_STATUS = ("'registered', 'diagnosed', 'solution_proposed', 'agreed', 'dispatched', 'in_service', "
              "'resolved', 'return_visit', 'closed'")
NEW_STATUS = OLD_STATUS + ", 'returning'"
CURRENT = sa.text("superseded_at IS NULL")


def phone_key(phone):
    """The same normalisation as models.customers.phone_key, frozen here as of this revision."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


def _fill_phone_keys():
    bind = op.get_bind()
    seen = set()
    for customer_id, phone in bind.execute(sa.text("SELECT id, phone FROM customer ORDER BY id")).all():
        key = phone_key(phone)
        if key is None or key in seen:
            continue
        seen.add(key)
        bind.execute(sa.text("UPDATE customer SET phone_key = :key WHERE id = :id"), {"key": key, "id": customer_id})


def _grant_earliest_remedies():
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT r.id, t.unit_id FROM approval_request r JOIN ticket t ON t.id = r.ticket_id "
        "WHERE r.kind IN ('return_refund', 'exchange') AND r.status = 'approved' AND t.unit_id IS NOT NULL "
        "ORDER BY r.decided_at, r.id")).all()
    seen = set()
    for request_id, unit_id in rows:
        if unit_id in seen:
            continue
        seen.add(unit_id)
        bind.execute(sa.text("UPDATE approval_request SET granted_unit_id = :unit WHERE id = :id"),
                     {"unit": unit_id, "id": request_id})


UNKNOWN_WARRANTY = "warranty_code IN ('no_invoice', 'invoice_after_report')"


def upgrade():
    # Without a usable invoice the warranty is unknown, not expired (issue 10 point 9).
    op.execute(f"UPDATE ticket SET in_warranty = NULL WHERE {UNKNOWN_WARRANTY}")
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_key', sa.String(length=30), nullable=True))
    _fill_phone_keys()
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_customer_phone_key'), ['phone_key'])

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purchase_channel', sa.String(length=12), nullable=True))
        batch_op.create_check_constraint(op.f('ck_unit_purchase_channel_valid'),
                                         "purchase_channel IN ('store', 'dealer', 'online', 'project', 'other')")

    with op.batch_alter_table('ticket_clock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint('uq_ticket_clock', type_='unique')
        batch_op.create_index('uq_ticket_clock_current', ['ticket_id', 'clock'], unique=True,
                              sqlite_where=CURRENT, postgresql_where=CURRENT)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ticket_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ticket_status_valid'), f"status IN ({NEW_STATUS})")

    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('granted_unit_id', sa.Integer(), nullable=True))
    _grant_earliest_remedies()
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_approval_request_granted_unit_id'), ['granted_unit_id'])
        batch_op.create_foreign_key(batch_op.f('fk_approval_request_granted_unit_id_unit'), 'unit',
                                    ['granted_unit_id'], ['id'])

    with op.batch_alter_table('money_posting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('payment_ref', sa.String(length=60), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_money_posting_paid_at'), ['paid_at'], unique=False)

    op.create_table('return_handling',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('old_unit_how', sa.String(length=10), nullable=True),
    sa.Column('old_unit_at', sa.DateTime(), nullable=True),
    sa.Column('courier', sa.String(length=40), nullable=False),
    sa.Column('tracking_no', sa.String(length=60), nullable=False),
    sa.Column('shipped_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("old_unit_how IN ('pickup', 'hand_in')", name=op.f('ck_return_handling_old_unit_how_valid')),
    sa.ForeignKeyConstraint(['request_id'], ['approval_request.id'],
                            name=op.f('fk_return_handling_request_id_approval_request')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_return_handling_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_handling')),
    sa.UniqueConstraint('request_id', name=op.f('uq_return_handling_request_id'))
    )
    with op.batch_alter_table('return_handling', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_handling_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_handling_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_handling_tracking_no'), ['tracking_no'], unique=False)


def downgrade():
    with op.batch_alter_table('return_handling', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_handling_tracking_no'))
        batch_op.drop_index(batch_op.f('ix_return_handling_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_return_handling_created_at'))
    op.drop_table('return_handling')
    with op.batch_alter_table('money_posting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_money_posting_paid_at'))
        batch_op.drop_column('payment_ref')
        batch_op.drop_column('paid_at')
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_approval_request_granted_unit_id_unit'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_approval_request_granted_unit_id'), type_='unique')
        batch_op.drop_column('granted_unit_id')
    # A ticket on the return path goes back to where the older schema keeps approved remedies.
    op.execute("UPDATE ticket SET status = 'diagnosed' WHERE status = 'returning'")
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ticket_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ticket_status_valid'), f"status IN ({OLD_STATUS})")
    # Earlier rounds of reworked tickets cannot live beside the current ones in the older schema.
    op.execute("DELETE FROM ticket_clock WHERE superseded_at IS NOT NULL")
    with op.batch_alter_table('ticket_clock', schema=None) as batch_op:
        batch_op.drop_index('uq_ticket_clock_current', sqlite_where=CURRENT, postgresql_where=CURRENT)
        batch_op.create_unique_constraint('uq_ticket_clock', ['ticket_id', 'clock'])
        batch_op.drop_column('superseded_at')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_unit_purchase_channel_valid'), type_='check')
        batch_op.drop_column('purchase_channel')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_customer_phone_key'), type_='unique')
        batch_op.drop_column('phone_key')
    op.execute(sa.text(f"UPDATE ticket SET in_warranty = :no WHERE in_warranty IS NULL AND {UNKNOWN_WARRANTY}")
               .bindparams(sa.bindparam("no", False, type_=sa.Boolean())))
