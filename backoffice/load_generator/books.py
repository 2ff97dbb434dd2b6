"""Everything the tickets leave in the network's books: old parts, parts accounts and ledger
(parts), fee claims (fees), appraisals and sales (appraisals)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING

from .appraisals import APPRAISAL_SALES_COLUMNS, AppraisalsAndSales
from .fees import FEE_COLUMNS, FeeClaims
from .parts import PARTS_COLUMNS, PartsAndLedger

if TYPE_CHECKING:
    from .run import Run
    from .workflow import Ticket

BOOK_COLUMNS = {**PARTS_COLUMNS, **FEE_COLUMNS, **APPRAISAL_SALES_COLUMNS}  # in foreign-key order


class Books(PartsAndLedger, FeeClaims, AppraisalsAndSales):
    """Everything the tickets leave in the network's books, made once every chunk is written."""

    def __init__(self, run: Run):
        self.run, self.rng, self.ids, self.now = run, run.rng, run.ids, run.now
        self.policy = run.ref.policy
        self.sales: Counter = Counter()
        self.fitted_parts: list = []
        self.claim_specs: list = []
        self.rows: dict[str, list] = defaultdict(list)
        self.events: dict[int, list] = defaultdict(list)  # outlet id -> ledger movements
        self.settled_at: dict[int, tuple] = {}  # replaced part id -> (state, when) of its old part

    # -- what the tickets report --------------------------------------------------------------------
    def sold(self, model_id: int, invoice: date) -> None:
        self.sales[model_id, invoice.replace(day=1)] += 1

    def fitted(self, ticket: Ticket, row: tuple, position: int, part: dict, at: datetime) -> None:
        self.fitted_parts.append((row, ticket.id, ticket.number, position, ticket.outlet, part, at))

    def claimable(self, ticket: Ticket) -> None:
        remedy = ticket.codes[2] if ticket.codes else None
        self.claim_specs.append((ticket.id, ticket.number, ticket.outlet.id, ticket.resolved, remedy,
                                 ticket.customer[6], tuple(ticket.parts)))

    # -- the books ------------------------------------------------------------------------------------
    def build(self) -> None:
        network = self.run.network
        self.clerks, self.manager = network.clerks, network.manager
        self._old_parts()
        self._accounts()
        self._claims()
        self._sales()
        self._appraisals()
        for table, columns in BOOK_COLUMNS.items():
            self.run.sink.write(table, columns, self.rows[table])

