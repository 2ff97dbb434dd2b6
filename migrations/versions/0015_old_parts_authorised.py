"""old parts return authorisation, tags, late returns, send back or scrap (R-PART-9)

A return application (退货申请) is authorised by the center (核准) before the parcel ships: the
return gets the statuses requested / authorised / refused / withdrawn, who decided and when, a
refusal reason, who shipped and when, and the freight the center paid on receipt; its listed
lines (struck or kept) are kept in parts_return_line. Each old part gets a tag number, the day it
was shipped back and whether that was late, and the outlet's choice for a non-creditable part
(send back or scrap) with its completion.

Existing data: every old part gets its tag (JT + its ticket's number without the SV prefix + the
line's position on the ticket, as backoffice.old_parts.tag_for makes them); existing returns were
shipped without an application, so they stand as shipped, listed in full, shipped when created,
and their parts shipped back on that day (not flagged late: the rule did not exist then).
Going down, applications not yet shipped are deleted and their parts are owed again.

Revision ID: 0015_old_parts_authorised
Revises: 0014_reconciliation_sign
Create Date: 2026-12-02 05:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_old_parts_authorised'
down_revision = '0014_reconciliation_sign'
branch_labels = None
depends_on = None

OLD_STATUS = "'shipped', 'received', 'inspected'"
NEW_STATUS = OLD_STATUS + ", 'requested', 'authorised', 'refused', 'withdrawn'"
USER_COLUMNS_RETURN = ('decided_by_id', 'withdrawn_by_id', 'shipped_by_id')
USER_COLUMNS_OLD_PART = ('disposal_chosen_by_id', 'disposed_by_id')


def tag_for(ticket_number: str, position: int) -> str:
    """As backoffice.old_parts.tag_for (kept here: a migration must not import the app)."""
    base = ticket_number[2:] if ticket_number.startswith("SV") else f"-{ticket_number}"
    return f"JT{base}-{position}"


def upgrade():
    with op.batch_alter_table('parts_return', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('on_paper', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('refusal_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('shipped_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('shipped_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('freight', sa.Numeric(precision=12, scale=2), nullable=True))
        for column in USER_COLUMNS_RETURN:
            batch_op.create_index(batch_op.f(f'ix_parts_return_{column}'), [column], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_parts_return_{column}_user_account'), 'user_account',
                                        [column], ['id'])
        batch_op.create_check_constraint(op.f('ck_parts_return_freight_not_negative'), "freight >= 0")
        batch_op.drop_constraint(op.f('ck_parts_return_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_return_status_valid'), f"status IN ({NEW_STATUS})")

    with op.batch_alter_table('old_part', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tag', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('returned_late', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('disposal', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('disposal_chosen_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('disposal_chosen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('disposed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('disposed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('send_back_courier', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('send_back_tracking_no', sa.String(length=60), nullable=False,
                                      server_default=''))
        batch_op.create_index(batch_op.f('ix_old_part_returned_on'), ['returned_on'], unique=False)
        for column in USER_COLUMNS_OLD_PART:
            batch_op.create_index(batch_op.f(f'ix_old_part_{column}'), [column], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_old_part_{column}_user_account'), 'user_account',
                                        [column], ['id'])
        batch_op.create_check_constraint(op.f('ck_old_part_disposal_valid'), "disposal IN ('send_back', 'scrap')")

    op.create_table(
        'parts_return_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('return_id', sa.Integer(), nullable=False),
        sa.Column('outlet_id', sa.Integer(), nullable=False),
        sa.Column('old_part_id', sa.Integer(), nullable=False),
        sa.Column('struck', sa.Boolean(), nullable=False),
        sa.Column('strike_reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['old_part_id'], ['old_part.id'],
                                name=op.f('fk_parts_return_line_old_part_id_old_part')),
        sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], name=op.f('fk_parts_return_line_outlet_id_outlet')),
        sa.ForeignKeyConstraint(['return_id'], ['parts_return.id'],
                                name=op.f('fk_parts_return_line_return_id_parts_return')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_parts_return_line')),
        sa.UniqueConstraint('return_id', 'old_part_id', name='uq_parts_return_line_old_part'),
    )
    with op.batch_alter_table('parts_return_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parts_return_line_old_part_id'), ['old_part_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parts_return_line_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parts_return_line_return_id'), ['return_id'], unique=False)

    _backfill()

    with op.batch_alter_table('old_part', schema=None) as batch_op:
        batch_op.alter_column('tag', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_old_part_tag'), ['tag'])


def _backfill():
    """Tags for every old part; existing returns shipped in full on the day they were made."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT o.id, t.number, "
        "(SELECT COUNT(*) FROM replaced_part r WHERE r.ticket_id = o.ticket_id AND r.id <= o.replaced_part_id) "
        "FROM old_part o JOIN ticket t ON t.id = o.ticket_id")).all()
    for old_id, number, position in rows:
        bind.execute(sa.text("UPDATE old_part SET tag = :tag WHERE id = :id"),
                     {"tag": tag_for(number, int(position)), "id": old_id})
    bind.execute(sa.text("UPDATE parts_return SET shipped_at = created_at, shipped_by_id = created_by_id"))
    parcels = bind.execute(sa.text("SELECT id, created_at FROM parts_return")).all()
    for parcel_id, created_at in parcels:
        day = created_at.date() if hasattr(created_at, "date") else str(created_at)[:10]
        bind.execute(sa.text("UPDATE old_part SET returned_on = :day WHERE return_id = :id"),
                     {"day": day, "id": parcel_id})
    bind.execute(sa.text(
        "INSERT INTO parts_return_line (return_id, outlet_id, old_part_id, struck, strike_reason) "
        "SELECT return_id, outlet_id, id, :no, '' FROM old_part WHERE return_id IS NOT NULL"), {"no": False})


def downgrade():
    bind = op.get_bind()
    unshipped = "SELECT id FROM parts_return WHERE status IN ('requested', 'authorised', 'refused', 'withdrawn')"
    bind.execute(sa.text(f"UPDATE old_part SET return_id = NULL WHERE return_id IN ({unshipped})"))
    op.drop_table('parts_return_line')
    bind.execute(sa.text(f"DELETE FROM parts_return WHERE id IN ({unshipped})"))

    with op.batch_alter_table('old_part', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_old_part_tag'), type_='unique')
        batch_op.drop_constraint(op.f('ck_old_part_disposal_valid'), type_='check')
        for column in USER_COLUMNS_OLD_PART:
            batch_op.drop_constraint(batch_op.f(f'fk_old_part_{column}_user_account'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_old_part_{column}'))
        batch_op.drop_index(batch_op.f('ix_old_part_returned_on'))
        for column in ('send_back_tracking_no', 'send_back_courier', 'disposed_at', 'disposed_by_id',
                       'disposal_chosen_at', 'disposal_chosen_by_id', 'disposal', 'returned_late', 'returned_on',
                       'tag'):
            batch_op.drop_column(column)

    with op.batch_alter_table('parts_return', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_parts_return_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_parts_return_status_valid'), f"status IN ({OLD_STATUS})")
        batch_op.drop_constraint(op.f('ck_parts_return_freight_not_negative'), type_='check')
        for column in USER_COLUMNS_RETURN:
            batch_op.drop_constraint(batch_op.f(f'fk_parts_return_{column}_user_account'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_parts_return_{column}'))
        for column in ('freight', 'shipped_at', 'shipped_by_id', 'withdrawn_at', 'withdrawn_by_id', 'refusal_reason',
                       'decided_at', 'decided_by_id', 'on_paper', 'note'):
            batch_op.drop_column(column)
