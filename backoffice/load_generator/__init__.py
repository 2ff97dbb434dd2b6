"""A realistic synthetic data set for benchmarks (issue 16, point 1): `flask gen-load`.

`generate(engine, tickets)` adds a service network of its own (outlets in two tiers with Zipf-like
sizes, a dealer and engineers per outlet, a center manager and clerks) and `tickets` tickets spread
over `years` years, each walked along the workflow's path (R-TKT-4) as far as its age and a few
stalls allow: timeline lines, SLA clocks with pauses and reworks (R-SLA-1…4), diagnosis codes,
fee lines, signed reports, mail-in handling, complaints, return visits and the parts fitted. Then
the network's side: old parts owed, returned and credited, weekly parts requests restocking what
was fitted on account, every parts account with a ledger whose entries sum to its balance
(R-PART-2…8), fee claims of the resolved warranty services and their monthly settlements
(R-FEE-1/2), appraisal records of the engineers (R-APR-1) and the models' monthly sales (R-RPT-1).

Rows are made in Python from one seeded `random.Random`, chunk by chunk, and written with COPY on
PostgreSQL (executemany on SQLite), each chunk committed. It only adds rows: ids continue from the
tables' maxima (PostgreSQL's sequences are moved past them at the end, and the tables written
get a VACUUM ANALYZE; ANALYZE on SQLite), ticket numbers are taken
from the app's daily counters (backoffice.numbering) exactly as registration takes them, phones
are checked against the archive, and codes and usernames carry a run number. The audit trail is
not written (no one changed these rows), and nobody else should write to the database meanwhile.

Modules: base (limits, summary, ids, money, draws), sinks (COPY / executemany), reference
(catalogue and policies), network (outlets, staff), customers (customers, units), workflow
(the walk), tickets (chunks of tickets), parts (old parts, requests, ledger), fees (claims),
appraisals (appraisals, sales), books (the three after the tickets), run (orchestration).

No Flask here: the CLI command (backoffice.cli) parses options and refuses production.
"""
from .base import DEFAULT_CHUNK, MAX_OUTLETS, MAX_TICKETS, MAX_YEARS, LoadError, Summary, validate
from .run import generate

__all__ = ["DEFAULT_CHUNK", "MAX_OUTLETS", "MAX_TICKETS", "MAX_YEARS", "LoadError", "Summary", "generate",
           "validate"]
