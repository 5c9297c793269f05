#!/usr/bin/env bash
# klk-etl serve under load: p50/p95/p99 latency of every page and API endpoint with 20
# concurrent clients (wrk), on the scale generator's history (100 stores x 365 days), while
# cron's `run` loads sales from a simulated KLK API in a loop. A benchmark, not a test.
#
#   bash bench/serve.sh
#
# Environment (all optional):
#   STORES=100 DAYS=365     the history (bench/scale.sh's generator, examples/scale_history.rs)
#   LINES=1000              sales lines per store and day in the history
#   DURATION=15s            wrk's run per endpoint
#   CLIENTS=20              concurrent connections
#   CACHE_TTLS="2s 0s"      [serve] cache_ttl values to measure (0s: every request computes)
#   RUN_LOAD=1              keep `klk-etl run` loading during the measurement (0: idle)
#   KLK_BENCH_DIR=DIR       where the database goes [default: ${TMPDIR:-/tmp}/klk-serve-bench]
#   REUSE=1                 keep a database generated earlier with the same settings
#
# Needs: cargo, wrk (Debian's `wrk`), curl, awk. See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/klk-etl/target}
STORES=${STORES:-100}
DAYS=${DAYS:-365}
LINES=${LINES:-1000}
DURATION=${DURATION:-15s}
CLIENTS=${CLIENTS:-20}
CACHE_TTLS=${CACHE_TTLS:-"2s 0s"}
RUN_LOAD=${RUN_LOAD:-1}
DIR=${KLK_BENCH_DIR:-${TMPDIR:-/tmp}/klk-serve-bench}
REUSE=${REUSE:-0}
mkdir -p "$DIR"
command -v wrk >/dev/null || { echo "bench/serve.sh needs wrk (apt-get install wrk)" >&2; exit 2; }

cargo build --release --quiet --bin klk-etl --example scale_history
BIN=$CARGO_TARGET_DIR/release/klk-etl
HISTORY=$CARGO_TARGET_DIR/release/examples/scale_history

db="$DIR/serve-${STORES}x${DAYS}-l${LINES}.duckdb"
stores_toml="$DIR/serve-${STORES}x${DAYS}-l${LINES}.stores.toml"
stamp="$db.now"
if [ "$REUSE" = 1 ] && [ -f "$db" ] && [ -f "$stamp" ]; then
    now=$(cat "$stamp")
    echo "reusing $db (now = $now)" >&2
else
    rm -f "$db" "$db.wal" "$stores_toml" "$stamp"
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    echo "generating $STORES stores x $DAYS days into $db ..." >&2
    "$HISTORY" --now "$now" --db "$db" --stores "$STORES" --days "$DAYS" \
        --sales-lines-per-store-day "$LINES" --write-config "$stores_toml" >&2
    echo "$now" >"$stamp"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sim_port=$(free_port)
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# The simulated KLK API serves the same stores.
"$BIN" --config "$stores_toml" sim --port "$sim_port" --articles 500 >/dev/null 2>"$DIR/sim.log" &
pids+=($!)

# Cron: `run --tipo ventas` again and again, each half an hour later than the last (a new
# window for every store, plus the gap recoveries), for as long as the measurement lasts.
cron_loop() {
    local config=$1 i=1
    # (stopped between two runs: a run killed halfway, or left running after the simulator
    # stops, would leave failed windows behind)
    while [ ! -f "$DIR/stop-cron" ]; do
        local at
        at=$(date -u -d "$now + $((i * 30)) minutes" +%Y-%m-%dT%H:%M:%SZ)
        local rc=0
        "$BIN" --now "$at" --config "$config" --quiet run --tipo ventas --jobs 4 --wait 60s \
            >>"$DIR/run.log" 2>&1 || rc=$?
        echo "cron run $i (now $at): exit $rc" >>"$DIR/runs.log"
        i=$((i + 1))
    done
}

ENDPOINTS=(
    "/"
    "/days"
    "/gaps"
    "/executions?store=t001&from=$(date -u -d "$now - 4 hours" +%Y-%m-%dT%H:00)&to=$(date -u -d "$now - 2 hours" +%Y-%m-%dT%H:00)"
    "/fragments/live"
    "/health"
    "/metrics"
    "/api/v1/gaps"
    "/api/v1/metrics?days=7"
    "/api/v1/executions?limit=50"
    "/api/v1/status"
    "/api/v1/stores"
    "/api/etl/tracking/ejecuciones?limite=50"
    "/api/etl/tracking/gaps?max_horas=168"
    "/api/etl/tracking/metricas?dias=7"
    "/api/etl/tracking/cron/status"
    "/api/etl/tracking/connectivity/klk"
)

declare -A RESULT
for ttl in $CACHE_TTLS; do
    config="$DIR/serve-bench-$ttl.toml"
    { cat "$stores_toml"
      printf '\n[api]\nbase_url = "http://127.0.0.1:%s"\nread_timeout = "60s"\nmax_attempts = 2\n' "$sim_port"
      printf '\n[serve]\ntoken = "%s"\ncache_ttl = "%s"\n' "$token" "$ttl"
    } >"$config"
    "$BIN" --now "$now" --config "$config" --quiet db migrate >/dev/null
    port=$(free_port)
    "$BIN" --now "$now" --config "$config" serve --listen "127.0.0.1:$port" 2>"$DIR/serve-$ttl.log" &
    serve_pid=$!
    pids+=("$serve_pid")
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/v1/stores" >/dev/null && break; sleep 0.2; done
    cron_pid=""
    rm -f "$DIR/stop-cron"
    if [ "$RUN_LOAD" = 1 ]; then
        cron_loop "$config" &
        cron_pid=$!
        pids+=("$cron_pid")
        sleep 3
    fi
    for path in "${ENDPOINTS[@]}"; do
        echo "cache_ttl=$ttl $path ..." >&2
        # A server in service is warm: one answer first (retried while a run holds the file).
        for _ in $(seq 30); do curl -fs -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 1; done
        line=$(KLK_BENCH_TOKEN="" wrk -t2 -c"$CLIENTS" -d"$DURATION" --timeout 30s \
            -s bench/wrk-p95.lua "http://127.0.0.1:$port$path" | grep '^RESULT' || echo "RESULT - - - - 0 0")
        RESULT["$path|$ttl"]=${line#RESULT }
    done
    if [ -n "$cron_pid" ]; then
        touch "$DIR/stop-cron"
        wait "$cron_pid" 2>/dev/null || true
    fi
    kill "$serve_pid"
    wait "$serve_pid" || true
done

echo
echo "klk-etl serve: latency in ms with $CLIENTS concurrent clients, $DURATION per endpoint; ${STORES} stores x ${DAYS} days; run loading: $RUN_LOAD; $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
header="| endpoint |"
rule="|---|"
for ttl in $CACHE_TTLS; do
    header+=" p50 ($ttl) | p95 ($ttl) | p99 ($ttl) | requests ($ttl) | errors ($ttl) |"
    rule+="---:|---:|---:|---:|---:|"
done
echo "$header"
echo "$rule"
for path in "${ENDPOINTS[@]}"; do
    shown=${path%%\?*}
    [ "$shown" != "$path" ] && shown="$shown?${path#*\?}"
    line="| \`${shown:0:60}\` |"
    for ttl in $CACHE_TTLS; do
        read -r p50 p95 p99 max requests errors <<<"${RESULT["$path|$ttl"]}"
        line+=" $p50 | $p95 | $p99 | $requests | $errors |"
    done
    echo "$line"
done
echo
echo "- history: $(du -m "$db" | cut -f1) MiB; now $now; cron runs during the measurement: $(grep -c 'exit' "$DIR/runs.log" 2>/dev/null || echo 0) ($(grep -c 'exit 0' "$DIR/runs.log" 2>/dev/null || echo 0) exit 0)"
