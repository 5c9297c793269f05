#!/usr/bin/env bash
# PostgreSQL references for the load benchmark, in one command:   bash bench/pg.sh
#
# On the same generated /ventas body as bench/run.sh (made with `bench_load gen` when missing)
# and one throwaway PostgreSQL server on 127.0.0.1 (.ci/pg-cluster.sh, durable settings:
# fsync and synchronous_commit on), each run into a fresh database's `ventas`, committed:
#   (a) klk-etl's own parse + load (`bench_load load --database URL`): the body streamed
#       through klk::parse::parse_sales, then BEGIN, etl::load_pg::load_sales (binary COPY),
#       the execution marked exitoso, COMMIT, on a session opened before the clock;
#   (b) the usual Python path: json + flatten + psycopg2 execute_values
#       INSERT ... ON CONFLICT DO UPDATE, pages of 1,000;
#   (c) the SQL floor for the same job: COPY of the pre-flattened rows into a temp table, then
#       INSERT ... SELECT DISTINCT ON (key) ... ON CONFLICT DO UPDATE;
#   (d) COPY of the pre-flattened rows straight into the fresh keyed table (no upsert).
# Prints one table, the median of the runs, and (a)'s targets (issue 16): at least 10 times
# (b), and faster than (c).
#
# Environment (all optional):
#   BENCH_LINES=200000   lines in the generated body (the same file as bench/run.sh's)
#   BENCH_RUNS=3         runs of each case; the median is reported
#   BENCH_DIR            work files; default $CARGO_TARGET_DIR/bench
#   BENCH_PG_URL         a server of your own (postgres://user:pass@host:port/db; the role
#                        must be allowed to create databases); default: a throwaway one,
#                        started here and stopped at the end
#   BENCH_PYTHON         a python with psycopg2; default $HOME/.cache/klk-etl/venv (created,
#                        or completed with psycopg2-binary, when missing)
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klk-etl/target}"
LINES="${BENCH_LINES:-200000}"
RUNS="${BENCH_RUNS:-3}"
DIR="${BENCH_DIR:-$CARGO_TARGET_DIR/bench}"
VENV="$HOME/.cache/klk-etl/venv"
PYTHON="${BENCH_PYTHON:-$VENV/bin/python}"

say() { printf '%s\n' "$*" >&2; }

if ! "$PYTHON" -c 'import psycopg2' 2>/dev/null; then
    say "installing psycopg2-binary into $VENV..."
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'psycopg2-binary==2.9.13'
    PYTHON="$VENV/bin/python"
fi

say "building bench_load (release)..."
cargo build --release --quiet --example bench_load
LOAD="$CARGO_TARGET_DIR/release/examples/bench_load"

mkdir -p "$DIR"
BODY="$DIR/ventas-$LINES.json"
NDJSON="$DIR/ventas-$LINES.ndjson"
if [[ ! -s "$BODY" || ! -s "$NDJSON" ]]; then
    say "generating a /ventas body of about $LINES lines..."
    "$LOAD" gen --lines "$LINES" --body "$BODY" --ndjson "$NDJSON" >/dev/null
fi

URL="${BENCH_PG_URL:-}"
if [[ -z "$URL" ]]; then
    # Outside $DIR: the server runs as the `postgres` user when this runs as root, and a
    # target directory under /root is not reachable by it.
    CLUSTER="${TMPDIR:-/tmp}/klk-etl-pg-bench-$(id -u)"
    trap '.ci/pg-cluster.sh stop --dir "$CLUSTER" >/dev/null 2>&1 || true' EXIT
    URL="$(.ci/pg-cluster.sh start --dir "$CLUSTER")"
fi
# Each run drops and creates this database, so the table is fresh.
RUN_URL="${URL%%\?*}"
RUN_URL="${RUN_URL%/*}/klk_bench_load"

RESULTS="$DIR/pg-results.jsonl"
printf '{"case": "load", "result": {"before": "%s"}}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >"$RESULTS"
for run in $(seq "$RUNS"); do
    say "(a) run $run of $RUNS..."
    printf '{"case": "a", "result": %s}\n' "$("$LOAD" load --body "$BODY" --database "$RUN_URL")" >>"$RESULTS"
    for case in b c d; do
        say "($case) run $run of $RUNS..."
        printf '{"case": "%s", "result": %s}\n' "$case" "$("$PYTHON" bench/pg_load.py "$case" "$BODY" "$RUN_URL")" >>"$RESULTS"
    done
done
printf '{"case": "load", "result": {"after": "%s"}}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"
"$PYTHON" bench/pg_report.py "$RESULTS" "$DIR/results.jsonl"
