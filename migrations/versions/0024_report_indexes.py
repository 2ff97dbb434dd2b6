"""home pages and reports at a million tickets (issue 16): summary rows and the indexes their queries use

- clock_stat, quality_stat: the SLA clocks per local due day and month and the fault reports per local
  month, per outlet (models.stats), kept by backoffice.stats with every ORM write; filled here from the
  tickets (the service time zone's days and months, BACKOFFICE_TIMEZONE).
- ticket_clock: the ticking clocks by ticket ("overdue now", a probe per open ticket), the ticking
  complaint answer clocks ("complaints awaiting answer") and the clocks met late ("breached (ever)").
- ticket_event: the lines moving a ticket to "resolved" by ticket and by instant, and the reopenings
  (first-time fix, repeat repairs).
- return_visit: visits still to make by due time with their ticket (visits due), visits made by
  ticket (visit coverage) and by day with their score (satisfaction).
- ledger_entry: an outlet's entries by instant (its statement) and by kind (what it holds on account).
- fee_claim: claims by status (the claims to audit).

Revision ID: 0024_report_indexes
Revises: 0023_ticket_search
Create Date: 2026-12-02 11:20:00

"""
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = '0024_report_indexes'
down_revision = '0023_ticket_search'
branch_labels = None
depends_on = None

TICKING = "met_at IS NULL AND paused_since IS NULL AND superseded_at IS NULL"
RESOLVED = "action = 'status' AND to_status = 'resolved'"
FAULT_REPORT = "t.kind IN ('repair', 'return_exchange') AND t.category = 'quality'"  # R-TKT-3, as of this revision
PARTIAL = (  # name, table, columns, predicate
    ("ix_ticket_clock_ticking", "ticket_clock", ["ticket_id", "due_at"], TICKING),
    ("ix_ticket_clock_answer_ticking", "ticket_clock", ["ticket_id"], f"clock = 'answer' AND {TICKING}"),
    ("ix_ticket_clock_met_late", "ticket_clock", ["ticket_id"], "met_at > due_at"),
    ("ix_ticket_event_resolved", "ticket_event", ["ticket_id", "at"], RESOLVED),
    ("ix_ticket_event_resolved_at", "ticket_event", ["at", "ticket_id"], RESOLVED),
    ("ix_ticket_event_reopened", "ticket_event", ["ticket_id"], "action = 'reopened'"),
    ("ix_return_visit_done_ticket", "return_visit", ["ticket_id"], "done_at IS NOT NULL"),
)
PLAIN = (
    ("ix_return_visit_done_score", "return_visit", ["done_at", "satisfaction"]),
    ("ix_ledger_entry_outlet_at", "ledger_entry", ["outlet_id", "at", "id"]),
    ("ix_ledger_entry_outlet_kind", "ledger_entry", ["outlet_id", "kind", "delta"]),
    ("ix_fee_claim_status", "fee_claim", ["status"]),
)


def upgrade():
    op.create_table('clock_stat',
                    sa.Column('span', sa.String(length=5), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('outlet_id', sa.Integer(), nullable=False),
                    sa.Column('clock', sa.String(length=20), nullable=False),
                    sa.Column('due', sa.Integer(), nullable=False),
                    sa.Column('met', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], name=op.f('fk_clock_stat_outlet_id_outlet')),
                    sa.PrimaryKeyConstraint('span', 'day', 'outlet_id', 'clock', name=op.f('pk_clock_stat')))
    op.create_index(op.f('ix_clock_stat_outlet_id'), 'clock_stat', ['outlet_id'], unique=False)
    op.create_index('ix_clock_stat_read', 'clock_stat', ['span', 'day', 'clock', 'outlet_id', 'due', 'met'],
                    unique=False)
    op.create_table('quality_stat',
                    sa.Column('dim', sa.String(length=12), nullable=False),
                    sa.Column('month', sa.Date(), nullable=False),
                    sa.Column('outlet_id', sa.Integer(), nullable=False),
                    sa.Column('model_id', sa.Integer(), nullable=False),
                    sa.Column('code_id', sa.Integer(), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'],
                                            name=op.f('fk_quality_stat_outlet_id_outlet')),
                    sa.PrimaryKeyConstraint('dim', 'month', 'outlet_id', 'model_id', 'code_id',
                                            name=op.f('pk_quality_stat')))
    op.create_index(op.f('ix_quality_stat_outlet_id'), 'quality_stat', ['outlet_id'], unique=False)
    op.create_index('ix_quality_stat_read', 'quality_stat', ['dim', 'month', 'outlet_id', 'model_id', 'code_id', 'n'],
                    unique=False)
    for name, table, columns, where in PARTIAL:
        op.create_index(name, table, columns, unique=False, postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))
    for name, table, columns in PLAIN:
        op.create_index(name, table, columns, unique=False)
    op.drop_index('ix_return_visit_open_due', table_name='return_visit')  # now with the ticket: read alone
    op.create_index('ix_return_visit_open_due', 'return_visit', ['done_at', 'due_at', 'ticket_id'], unique=False)
    _fill()


def _zone() -> str:
    try:
        from flask import current_app
        return current_app.config.get("BACKOFFICE_TIMEZONE") or "Asia/Shanghai"
    except RuntimeError:  # outside the app (alembic alone)
        return "Asia/Shanghai"


def _fill():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        zone = {"zone": _zone()}
        bind.execute(sa.text("""
            WITH c AS MATERIALIZED (
                SELECT (c.due_at AT TIME ZONE 'UTC' AT TIME ZONE :zone)::date AS day, t.outlet_id, c.clock,
                       (c.met_at IS NOT NULL AND c.met_at <= c.due_at)::int AS met
                FROM ticket_clock c JOIN ticket t ON t.id = c.ticket_id WHERE c.superseded_at IS NULL)
            INSERT INTO clock_stat (span, day, outlet_id, clock, due, met)
            SELECT 'day', day, outlet_id, clock, count(*), sum(met) FROM c GROUP BY day, outlet_id, clock
            UNION ALL SELECT 'month', date_trunc('month', day)::date, outlet_id, clock, count(*), sum(met) FROM c
                GROUP BY date_trunc('month', day), outlet_id, clock"""), zone)
        bind.execute(sa.text(f"""
            WITH f AS MATERIALIZED (
                SELECT date_trunc('month', t.created_at AT TIME ZONE 'UTC' AT TIME ZONE :zone)::date AS month,
                       t.outlet_id, coalesce(u.product_model_id, 0) AS model, coalesce(t.fault_code_id, 0) AS fault,
                       coalesce(t.cause_code_id, 0) AS cause
                FROM ticket t LEFT JOIN unit u ON u.id = t.unit_id WHERE {FAULT_REPORT})
            INSERT INTO quality_stat (dim, month, outlet_id, model_id, code_id, n)
            SELECT 'all', month, outlet_id, 0, 0, count(*) FROM f GROUP BY month, outlet_id
            UNION ALL SELECT 'model', month, outlet_id, model, 0, count(*) FROM f GROUP BY month, outlet_id, model
            UNION ALL SELECT 'fault', month, outlet_id, 0, fault, count(*) FROM f GROUP BY month, outlet_id, fault
            UNION ALL SELECT 'cause', month, outlet_id, 0, cause, count(*) FROM f GROUP BY month, outlet_id, cause
            UNION ALL SELECT 'model_fault', month, outlet_id, model, fault, count(*) FROM f
                GROUP BY month, outlet_id, model, fault"""), zone)
        return
    zone = ZoneInfo(_zone())

    def instant(value):
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    def local(value):
        return instant(value).replace(tzinfo=UTC).astimezone(zone).date()

    clocks = defaultdict(lambda: [0, 0])
    for due_at, met_at, clock, outlet_id in bind.execute(sa.text(
            "SELECT c.due_at, c.met_at, c.clock, t.outlet_id FROM ticket_clock c JOIN ticket t ON t.id = c.ticket_id "
            "WHERE c.superseded_at IS NULL")):
        day = local(due_at)
        for key in (("day", day, outlet_id, clock), ("month", day.replace(day=1), outlet_id, clock)):
            clocks[key][0] += 1
            clocks[key][1] += int(met_at is not None and instant(met_at) <= instant(due_at))
    faults = defaultdict(int)
    for created_at, outlet_id, model, fault, cause in bind.execute(sa.text(
            "SELECT t.created_at, t.outlet_id, coalesce(u.product_model_id, 0), coalesce(t.fault_code_id, 0), "
            f"coalesce(t.cause_code_id, 0) FROM ticket t LEFT JOIN unit u ON u.id = t.unit_id WHERE {FAULT_REPORT}")):
        month = local(created_at).replace(day=1)
        for key in (("all", 0, 0), ("model", model, 0), ("fault", 0, fault), ("cause", 0, cause),
                    ("model_fault", model, fault)):
            faults[(key[0], month, outlet_id, key[1], key[2])] += 1
    if clocks:
        bind.execute(sa.text("INSERT INTO clock_stat (span, day, outlet_id, clock, due, met) "
                             "VALUES (:span, :day, :outlet_id, :clock, :due, :met)"),
                     [{"span": span, "day": day, "outlet_id": outlet_id, "clock": clock, "due": due, "met": met}
                      for (span, day, outlet_id, clock), (due, met) in clocks.items()])
    if faults:
        bind.execute(sa.text("INSERT INTO quality_stat (dim, month, outlet_id, model_id, code_id, n) "
                             "VALUES (:dim, :month, :outlet_id, :model_id, :code_id, :n)"),
                     [{"dim": dim, "month": month, "outlet_id": outlet_id, "model_id": model_id, "code_id": code_id,
                       "n": n} for (dim, month, outlet_id, model_id, code_id), n in faults.items()])


def downgrade():
    op.drop_index('ix_return_visit_open_due', table_name='return_visit')
    op.create_index('ix_return_visit_open_due', 'return_visit', ['done_at', 'due_at'], unique=False)
    for name, table, _columns in reversed(PLAIN):
        op.drop_index(name, table_name=table)
    for name, table, _columns, _where in reversed(PARTIAL):
        op.drop_index(name, table_name=table)
    op.drop_index('ix_quality_stat_read', table_name='quality_stat')
    op.drop_index(op.f('ix_quality_stat_outlet_id'), table_name='quality_stat')
    op.drop_table('quality_stat')
    op.drop_index('ix_clock_stat_read', table_name='clock_stat')
    op.drop_index(op.f('ix_clock_stat_outlet_id'), table_name='clock_stat')
    op.drop_table('clock_stat')
