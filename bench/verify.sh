#!/usr/bin/env bash
# What verifying closed days costs, in one command:   bash bench/verify.sh
#
# Loads one day of the chain's 19 stores (one of them BENCH_BIG times the others' volume)
# with the half-hourly runs against the simulator (BENCH_LATENCY per /ventas request), then
# times, on fresh copies, the 03:05 run without verification, with every store's day
# re-pulled and compared, and the same whole-day re-pulls without the comparison
# (examples/bench_verify.rs). Prints one table; docs/performance.md has the numbers.
#
# Environment (all optional):
#   BENCH_LATENCY=300ms  added to every /ventas answer
#   BENCH_BIG=40         the big store's volume multiplier (a "40x" day)
#   BENCH_RUNS=3         repetitions (medians are reported)
#   BENCH_DIR            work files; default $CARGO_TARGET_DIR/bench-verify
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klk-etl/target}"
LATENCY="${BENCH_LATENCY:-300ms}"
BIG="${BENCH_BIG:-40}"
RUNS="${BENCH_RUNS:-3}"
DIR="${BENCH_DIR:-$CARGO_TARGET_DIR/bench-verify}"

echo "building (release)..." >&2
cargo build --release --quiet --bin klk-etl --example bench_verify
mkdir -p "$DIR"
result="$("$CARGO_TARGET_DIR/release/examples/bench_verify" --bin "$CARGO_TARGET_DIR/release/klk-etl" \
    --work "$DIR" --latency "$LATENCY" --big "$BIG" --runs "$RUNS")"
echo "$result" >"$DIR/result.json"
python3 - "$DIR/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"verification of closed days: {r['stores']} stores, one {r['big_multiplier']:g}x, "
      f"{r['latency_s']*1000:.0f} ms per request, median of {r['runs']} runs")
print()
print(f"| run at 03:05 | wall s | last half-hourly window committed after s |")
print(f"|---|---|---|")
print(f"| windows only (--no-verify) | {r['plain_run_s']:.2f} | {r['windows_done_plain_s']:.2f} |")
print(f"| windows + 19 verifications | {r['verify_run_s']:.2f} | {r['windows_done_verify_s']:.2f} |")
print(f"| 19 whole-day re-pulls, no comparison | {r['repull_run_s']:.2f} | - |")
print()
print("| store | lines | verification s | re-pull without comparison s |")
print("|---|---|---|---|")
for s in r["per_store"]:
    print(f"| {s['store']} | {s['lines']} | {s['verify_s']:.3f} | {s['repull_s']:.3f} |")
print()
print("| store-day | lines | body MB | request s | parse s | load s | load + comparison s |")
print("|---|---|---|---|---|---|---|")
for b in r["breakdown"]:
    print(f"| {b['store']} | {b['lines']} | {b['body_bytes']/1e6:.1f} | {b['request_s']:.3f} | "
          f"{b['parse_s']:.3f} | {b['load_s']:.3f} | {b['load_and_compare_s']:.3f} |")
PY
