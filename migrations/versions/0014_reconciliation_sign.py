"""reconciliation both sides sign (R-PART-7): dispute outcome, reissue, freight

- parts_reconciliation: `revision` (1 for the first statement, +1 per resolved dispute) and
  `corrections` (the sum of the resolutions' correction entries, in the reissued figures).
- reconciliation_dispute: each dispute of a month's statement with the figures of the revision
  disputed, and the center's outcome (corrections or no change with the reason, who, when).
- parts_request.freight: the shipment's freight, paid by the receiver (manual 004).
- ledger_entry: two kinds, 'freight' (cash payable for a shipment) and 'cash_refund' (cash paid
  back to the outlet, the only entry whose cash amount is below zero).

Existing data: every statement is revision 1 without corrections; a statement disputed under
the older schema gets its dispute row (revision 1, its stored figures, its reason), still open
when the statement is still disputed. No request has a recorded freight.

Going down refuses while a freight or refund entry exists: the ledger is append-only, its
history is not rewritten to fit an older schema.

Revision ID: 0014_reconciliation_sign
Revises: 0013_part_sources
Create Date: 2026-12-02 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_reconciliation_sign'
down_revision = '0013_part_sources'
branch_labels = None
depends_on = None

OLD_KINDS = "'quota', 'issue', 'purchase', 'return_credit', 'charge', 'adjustment'"
NEW_KINDS = OLD_KINDS + ", 'freight', 'cash_refund'"
OLD_CASH = "cash_amount >= 0"
NEW_CASH = "cash_amount >= 0 OR kind = 'cash_refund'"

# The append-only guards of 0007 on SQLite: a batch rebuild of ledger_entry drops them, so they
# are dropped first and put back after (PostgreSQL alters the table in place and keeps them).
SQLITE_GUARDS = [
    "CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry "
    "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
    "CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry "
    "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _ledger_checks(kinds: str, cash: str) -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_no_delete")
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_entry_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_entry_kind_valid'), f"kind IN ({kinds})")
        batch_op.drop_constraint(op.f('ck_ledger_entry_cash_not_negative'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_entry_cash_not_negative'), cash)
    if _sqlite():
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def upgrade():
    with op.batch_alter_table('parts_reconciliation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('corrections', sa.Numeric(precision=12, scale=2), nullable=False,
                                      server_default='0'))

    op.create_table('reconciliation_dispute',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reconciliation_id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('opening', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('closing', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('cash_total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('disputed_by_id', sa.Integer(), nullable=True),
    sa.Column('disputed_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=False),
    sa.Column('corrections', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("outcome IN ('corrections', 'no_change')", name=op.f('ck_reconciliation_dispute_outcome_valid')),
    sa.ForeignKeyConstraint(['disputed_by_id'], ['user_account.id'],
                            name=op.f('fk_reconciliation_dispute_disputed_by_id_user_account')),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], name=op.f('fk_reconciliation_dispute_outlet_id_outlet')),
    sa.ForeignKeyConstraint(['reconciliation_id'], ['parts_reconciliation.id'],
                            name=op.f('fk_reconciliation_dispute_reconciliation_id_parts_reconciliation')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user_account.id'],
                            name=op.f('fk_reconciliation_dispute_resolved_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_dispute')),
    sa.UniqueConstraint('reconciliation_id', 'revision', name='uq_reconciliation_dispute_revision')
    )
    with op.batch_alter_table('reconciliation_dispute', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_dispute_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_dispute_disputed_by_id'), ['disputed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_dispute_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_dispute_reconciliation_id'), ['reconciliation_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_dispute_resolved_by_id'), ['resolved_by_id'], unique=False)

    # A dispute recorded under the older schema keeps its reason, as the first revision's dispute.
    op.execute("INSERT INTO reconciliation_dispute (reconciliation_id, outlet_id, revision, opening, closing, "
               "cash_total, reason, disputed_at, outcome_note, created_at, updated_at) "
               "SELECT id, outlet_id, 1, opening, closing, cash_total, dispute_reason, updated_at, '', "
               "updated_at, updated_at FROM parts_reconciliation WHERE dispute_reason <> ''")

    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('freight', sa.Numeric(precision=12, scale=2), nullable=True))

    _ledger_checks(NEW_KINDS, NEW_CASH)


def downgrade():
    found = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM ledger_entry WHERE kind IN ('freight', 'cash_refund')")).scalar()
    if found:
        raise RuntimeError(f"{found} freight or refund ledger entries exist: the append-only ledger cannot "
                           "go back to a schema without them")
    _ledger_checks(OLD_KINDS, OLD_CASH)

    with op.batch_alter_table('parts_request', schema=None) as batch_op:
        batch_op.drop_column('freight')

    with op.batch_alter_table('reconciliation_dispute', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_dispute_resolved_by_id'))
        batch_op.drop_index(batch_op.f('ix_reconciliation_dispute_reconciliation_id'))
        batch_op.drop_index(batch_op.f('ix_reconciliation_dispute_outlet_id'))
        batch_op.drop_index(batch_op.f('ix_reconciliation_dispute_disputed_by_id'))
        batch_op.drop_index(batch_op.f('ix_reconciliation_dispute_created_at'))
    op.drop_table('reconciliation_dispute')

    with op.batch_alter_table('parts_reconciliation', schema=None) as batch_op:
        batch_op.drop_column('corrections')
        batch_op.drop_column('revision')
