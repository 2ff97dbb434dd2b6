#!/bin/sh
# `make bench-growth`: regenerate the 10k / 100k / 1M data sets and benchmark each, so one command
# gives bench/RESULTS.md all three sections and the growth table between them.
# For each size N: database bench_N is dropped and created afresh on the server of BENCH_PG, migrated
# (`flask db upgrade`), filled (`flask gen-load --tickets N`), then measured (bench/bench.py, which
# labels it 10k / 100k / 1M from its ticket count). BENCH_ARGS is passed on (e.g. "--runs 10").
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BENCH_PG=${BENCH_PG:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
SIZES=${SIZES:-"10000 100000 1000000"}
SERVER=${BENCH_PG%/*}  # the URL without its database name

fresh_database() {  # $1 = name: dropped if there, created empty (outside a transaction)
  "$PY" - "$BENCH_PG" "$1" <<'PYTHON'
import sys
from sqlalchemy import create_engine
url, name = sys.argv[1], sys.argv[2]
engine = create_engine(url, isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
PYTHON
}

for n in $SIZES; do
  url="$SERVER/bench_$n"
  echo "== bench_$n: $n tickets"
  fresh_database "bench_$n"
  DATABASE_URL="$url" "$PY" -m flask --app app db upgrade
  DATABASE_URL="$url" "$PY" -m flask --app app gen-load --tickets "$n"
  # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
  "$PY" bench/bench.py --database-url "$url" ${BENCH_ARGS:-}
done
