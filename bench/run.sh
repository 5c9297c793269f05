#!/usr/bin/env bash
# The benchmark of docs/performance.md, in one command:   bash bench/run.sh
#
# Builds what it needs (release profile only: the bundled DuckDB is compiled once), makes a
# deterministic /ventas body with the simulator, then prints one table:
#   (a) klk-etl's parse + load of that body into `ventas`, committed (bench_load);
#   (b) DuckDB's own read_json of the same lines as NDJSON (Python's duckdb), and (b') the
#       same into a table with ventas' primary key, one row per key: the job (a) does;
#   (c) a 19-store incremental `klk-etl run` with slow API answers, --jobs 19 vs 1 vs one store.
#
# Environment (all optional):
#   BENCH_LINES=200000   lines in the generated body
#   BENCH_RUNS=3         runs of (a) and (b); the median is reported
#   BENCH_LATENCY=2s     simulated latency of every /ventas request in (c)
#   BENCH_SINGLES=all    single-store runs in (c): all 19, or the first N
#   BENCH_DIR            work files (~450 MB); default $CARGO_TARGET_DIR/bench
#   BENCH_PYTHON         a python with duckdb==2.0.0; default $HOME/.cache/klk-etl/venv,
#                        created there (python3 -m venv + pip install) when missing
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klk-etl/target}"
LINES="${BENCH_LINES:-200000}"
RUNS="${BENCH_RUNS:-3}"
LATENCY="${BENCH_LATENCY:-2s}"
SINGLES="${BENCH_SINGLES:-all}"
DIR="${BENCH_DIR:-$CARGO_TARGET_DIR/bench}"
VENV="$HOME/.cache/klk-etl/venv"
PYTHON="${BENCH_PYTHON:-$VENV/bin/python}"

say() { printf '%s\n' "$*" >&2; }

say "building (release)..."
cargo build --release --quiet --bin klk-etl --example bench_load --example bench_cycle
BIN="$CARGO_TARGET_DIR/release/klk-etl"
LOAD="$CARGO_TARGET_DIR/release/examples/bench_load"
CYCLE="$CARGO_TARGET_DIR/release/examples/bench_cycle"

if ! "$PYTHON" -c 'import duckdb, sys; sys.exit(duckdb.__version__ != "2.0.0")' 2>/dev/null; then
    say "creating $VENV with duckdb==2.0.0..."
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet duckdb==2.0.0
    PYTHON="$VENV/bin/python"
fi

mkdir -p "$DIR"
BODY="$DIR/ventas-$LINES.json"
NDJSON="$DIR/ventas-$LINES.ndjson"
if [[ ! -s "$BODY" || ! -s "$NDJSON" ]]; then
    say "generating a /ventas body of about $LINES lines..."
    "$LOAD" gen --lines "$LINES" --body "$BODY" --ndjson "$NDJSON" >/dev/null
fi

RESULTS="$DIR/results.jsonl"
printf '{"case": "load", "result": {"before": "%s"}}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >"$RESULTS"
for run in $(seq "$RUNS"); do
    say "(a) klk-etl parse + load, run $run of $RUNS..."
    rm -f "$DIR/a.duckdb" "$DIR/a.duckdb.wal"
    printf '{"case": "a", "result": %s}\n' "$("$LOAD" load --body "$BODY" --db "$DIR/a.duckdb")" >>"$RESULTS"
    say "(b) DuckDB read_json, run $run of $RUNS..."
    rm -f "$DIR/b.duckdb" "$DIR/b.duckdb.wal"
    printf '{"case": "b", "result": %s}\n' "$("$PYTHON" bench/read_json.py "$NDJSON" "$DIR/b.duckdb")" >>"$RESULTS"
    say "(b') DuckDB read_json into a keyed table, run $run of $RUNS..."
    rm -f "$DIR/b2.duckdb" "$DIR/b2.duckdb.wal"
    printf '{"case": "b2", "result": %s}\n' \
        "$("$PYTHON" bench/read_json.py "$NDJSON" "$DIR/b2.duckdb" --keyed)" >>"$RESULTS"
done
printf '{"case": "load", "result": {"after": "%s"}}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"
say "(c) 19-store cycle with $LATENCY per request (takes about a minute and a half)..."
printf '{"case": "c", "result": %s}\n' \
    "$("$CYCLE" --bin "$BIN" --work "$DIR/cycle" --latency "$LATENCY" --singles "$SINGLES")" >>"$RESULTS"

"$PYTHON" bench/report.py "$RESULTS"
