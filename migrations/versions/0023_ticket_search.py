"""indexes for the ticket list at a million rows; the normalised contact phone (issue 16)

- ticket.contact_phone_key: the contact phone as searches compare it (digits only, without a
  +86 / 0086 mobile prefix: models.customers.phone_key), filled for existing tickets.
- ticket (created_at, id) and (kind, created_at, id): the list's orders walk an index
  (the single-column kind index is replaced by the composite one); the home pages' and menu
  badges' open work, an engineer's and an outlet's tickets by status, (id, outlet_id) for scope
  probes and closed tickets by closing time (the engineer index replaces the single-column one).
- PostgreSQL only: pg_trgm GIN indexes on the customer's name, address and normalised phone,
  so a partial name, address or phone (the intake's lookup as the clerk types, the ticket
  search) is an index lookup (trgm_* indexes are not in the
  models: SQLite has no equivalent, and the model comparison skips them, migrations/env.py).

Revision ID: 0023_ticket_search
Revises: 0022_ticket_clock_open_index
Create Date: 2026-12-02 10:30:00

"""
import re

import sqlalchemy as sa
from alembic import op

revision = '0023_ticket_search'
down_revision = '0022_ticket_clock_open_index'
branch_labels = None
depends_on = None

OPEN_WORK = "status <> 'closed'"
CLOSED = "status = 'closed'"
TRIGRAM_INDEXES = (("trgm_customer_name", "customer", "name"),
                   ("trgm_customer_address", "customer", "address"),
                   ("trgm_customer_phone_key", "customer", "phone_key"))


def phone_key(phone):
    """models.customers.phone_key as of this revision (a migration must not import the models)."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


def upgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_phone_key', sa.String(length=30), nullable=True))
        batch_op.create_index('ix_ticket_contact_phone_key', ['contact_phone_key'], unique=False)
        batch_op.create_index('ix_ticket_created_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_kind_created', ['kind', 'created_at', 'id'], unique=False)
        batch_op.drop_index('ix_ticket_kind')
        # Home pages and menu badges (backoffice.dashboard).
        batch_op.create_index('ix_ticket_open_work', ['outlet_id', 'status', 'assigned_engineer_id', 'kind', 'id'],
                              unique=False, sqlite_where=sa.text(OPEN_WORK), postgresql_where=sa.text(OPEN_WORK))
        batch_op.create_index('ix_ticket_engineer_status', ['assigned_engineer_id', 'status', 'outlet_id'],
                              unique=False)
        batch_op.drop_index('ix_ticket_assigned_engineer_id')
        batch_op.create_index('ix_ticket_outlet_status', ['outlet_id', 'status'], unique=False)
        batch_op.create_index('ix_ticket_id_outlet', ['id', 'outlet_id'], unique=False)
        batch_op.create_index('ix_ticket_closed_at', ['closed_at'], unique=False,
                              sqlite_where=sa.text(CLOSED), postgresql_where=sa.text(CLOSED))
    _fill_contact_phone_keys()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema = op.get_bind().scalar(sa.text(  # wherever it was installed, not only the search path
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"))
        for name, table, column in TRIGRAM_INDEXES:
            op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} "{schema}".gin_trgm_ops)')


def _fill_contact_phone_keys():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # one statement, the same rule as phone_key in SQL
        op.execute(r"""
            UPDATE ticket SET contact_phone_key = NULLIF(CASE
                WHEN d LIKE '0086%' THEN substr(d, 5)
                WHEN d LIKE '86%' AND length(d) = 13 THEN substr(d, 3)
                ELSE d END, '')
            FROM (SELECT id AS tid, regexp_replace(contact_phone, '\D', '', 'g') AS d FROM ticket) AS norm
            WHERE ticket.id = norm.tid""")
        return
    rows = bind.execute(sa.text("SELECT id, contact_phone FROM ticket WHERE contact_phone <> ''")).all()
    update = sa.text("UPDATE ticket SET contact_phone_key = :key WHERE id = :id")
    for start in range(0, len(rows), 5000):
        batch = [{"id": row.id, "key": phone_key(row.contact_phone)} for row in rows[start:start + 5000]]
        bind.execute(update, batch)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        for name in ('ix_ticket_closed_at', 'ix_ticket_id_outlet', 'ix_ticket_outlet_status',
                     'ix_ticket_engineer_status', 'ix_ticket_open_work'):
            batch_op.drop_index(name)
        batch_op.create_index('ix_ticket_assigned_engineer_id', ['assigned_engineer_id'], unique=False)
        batch_op.create_index('ix_ticket_kind', ['kind'], unique=False)
        batch_op.drop_index('ix_ticket_kind_created')
        batch_op.drop_index('ix_ticket_created_id')
        batch_op.drop_index('ix_ticket_contact_phone_key')
        batch_op.drop_column('contact_phone_key')
