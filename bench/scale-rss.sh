#!/usr/bin/env bash
# Peak memory of `klk-etl run` fetching and loading one whole day of one store from the
# simulator, as the store's volume grows (1x, 10x, 20x the default 120 lines per hour):
#
#   bash bench/scale-rss.sh
#
# Each run loads into a fresh database; with BIG_DB=FILE (a database made by
# examples/scale_history.rs, e.g. the 100 x 365 one of bench/scale.sh) the 10x day is also
# loaded into a copy of it, to show what a large `ventas` table adds. Prints a table of peak
# RSS (GNU time's "Maximum resident set size"), lines loaded and the response size.
#
# Environment: FACTORS="1 10 20", KLK_BENCH_DIR, BIG_DB, BIG_CONFIG (its configuration).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/klk-etl/target}
FACTORS=${FACTORS:-"1 10 20"}
DIR=${KLK_BENCH_DIR:-${TMPDIR:-/tmp}/klk-etl-bench-scale}/rss
BIG_DB=${BIG_DB:-}
BIG_CONFIG=${BIG_CONFIG:-}
mkdir -p "$DIR"
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }

cargo build --release --quiet --bin klk-etl
BIN=$CARGO_TARGET_DIR/release/klk-etl
DAY=2025-11-17
SIM_PID=

stop_sim() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        SIM_PID=
    fi
}
trap stop_sim EXIT

# Starts the simulator with SUC001 at volume $1; sets SIM_URL.
start_sim() {
    stop_sim
    : >"$DIR/sim.err"
    "$BIN" sim --port 0 --store-volume "SUC001=$1" 2>"$DIR/sim.err" &
    SIM_PID=$!
    for _ in $(seq 100); do
        if grep -q 'listening on' "$DIR/sim.err"; then
            SIM_URL=$(grep -o 'http://[0-9.:]*' "$DIR/sim.err" | head -1)
            return
        fi
        sleep 0.1
    done
    echo "the simulator did not start" >&2
    cat "$DIR/sim.err" >&2
    exit 1
}

# Runs one whole day of SUC001's sales into database $1 with configuration $2 and store $3;
# prints "peak_kb lines".
measure_run() {
    local db=$1 config=$2 store=$3
    KLK_ETL_API_URL=$SIM_URL /usr/bin/time -f '%M' -o "$DIR/time.out" \
        "$BIN" --config "$config" --db "$db" --format json --quiet \
        run --full --date "$DAY" --tipo ventas --store "$store" --no-recover --jobs 1 \
        >"$DIR/run.json" 2>"$DIR/run.err" || {
        echo "run failed:" >&2
        cat "$DIR/run.err" >&2
        exit 1
    }
    local lines
    lines=$(grep -o '"cargados": *[0-9]*' "$DIR/run.json" | head -1 | tr -dc '0-9')
    echo "$(tail -1 "$DIR/time.out") ${lines:-?}"
}

body_bytes() {
    if command -v curl >/dev/null; then
        curl -s -X POST "$SIM_URL/ventas" \
            -d "{\"sucursal\":\"SUC001\",\"fecha_desde\":\"$DAY\",\"fecha_hasta\":\"$DAY\"}" | wc -c
    else
        echo "?"
    fi
}

cat >"$DIR/one-store.toml" <<EOF
database = "$DIR/fresh.duckdb"

[[stores]]
id = "tienda_01"
name = "PERIFERICO"
sucursal = "SUC001"
warehouses = ["APP-TPF"]
EOF

echo
echo "klk-etl run: peak RSS loading one day of one store ($DAY), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| volume | database | lines loaded | response bytes | peak RSS MiB |"
echo "|---:|---|---:|---:|---:|"
for factor in $FACTORS; do
    start_sim "$factor"
    rm -f "$DIR/fresh.duckdb" "$DIR/fresh.duckdb.wal"
    read -r kb lines < <(measure_run "$DIR/fresh.duckdb" "$DIR/one-store.toml" tienda_01)
    echo "| ${factor}x | fresh | $lines | $(body_bytes) | $((kb / 1024)) |"
done
if [ -n "$BIG_DB" ] && [ -f "$BIG_DB" ] && [ -n "$BIG_CONFIG" ]; then
    start_sim 10
    cp "$BIG_DB" "$DIR/big.duckdb"
    rm -f "$DIR/big.duckdb.wal"
    # The generated stores are t001..; t001's sucursal is SUC001, the simulator's first store.
    read -r kb lines < <(measure_run "$DIR/big.duckdb" "$BIG_CONFIG" t001)
    rows=$(du -m "$BIG_DB" | cut -f1)
    echo "| 10x | copy of $(basename "$BIG_DB") (${rows} MiB) | $lines | $(body_bytes) | $((kb / 1024)) |"
    rm -f "$DIR/big.duckdb" "$DIR/big.duckdb.wal"
fi
stop_sim
