#!/usr/bin/env bash
# The PostgreSQL groundwork's checks, in one command:   bash tests/pg/run.sh
#
#   1. .ci/pg-cluster.sh itself: a TLS-only server accepts sslmode=verify-full with its CA and
#      refuses a plain connection;
#   2. tests/pg/equality.py: the PostgreSQL schema and logic (src/tracker/schema/postgres/)
#      answer, row by row, what klk-etl's DuckDB answers, on hand-made and random histories;
#   3. tests/pg/seed_sql.py: the seed document's SQL in psql against PostgreSQL.
#
# Starts a throwaway PostgreSQL server (installing Debian's postgresql if it is missing) and
# stops it at the end; with KLK_PG_URL set, uses that server instead (the role must be allowed
# to create databases). A server that cannot be started is a failure, with its reason.
# Environment: KLK_PG_RANDOM (random histories, default 40), KLK_PG_SEED (default: the
# clock, printed), KLK_ETL_BIN (default: $CARGO_TARGET_DIR/release/klk-etl, built if missing),
# KLK_ETL_VENV (default ~/.cache/klk-etl/venv).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klk-etl/target}"
venv="${KLK_ETL_VENV:-$HOME/.cache/klk-etl/venv}"
if ! "$venv/bin/python" -c 'import duckdb, psycopg2, psycopg' 2>/dev/null; then
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'duckdb==2.0.0' 'psycopg2-binary==2.9.13' 'psycopg[binary]==3.3.9'
fi
py="$venv/bin/python"
bin="${KLK_ETL_BIN:-$CARGO_TARGET_DIR/release/klk-etl}"
if [[ ! -x "$bin" ]]; then
    cargo build --release --quiet --bin klk-etl
fi

base="${TMPDIR:-/tmp}/klk-etl-pg-tests-$$"
cleanup() {
    .ci/pg-cluster.sh stop --dir "$base" >/dev/null 2>&1 || true
    .ci/pg-cluster.sh stop --dir "$base-tls" >/dev/null 2>&1 || true
    rm -f "$base.lock" "$base-tls.lock"
}
trap cleanup EXIT

echo "== .ci/pg-cluster.sh --tls: verify-full with the test CA, plain refused"
tls_url="$(.ci/pg-cluster.sh start --tls --dir "$base-tls")"
ca="$(.ci/pg-cluster.sh ca --dir "$base-tls")"
psql_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql"
[[ -x "$psql_bin" ]] || psql_bin="$(command -v psql)"
bare="${tls_url%%\?*}"
got="$(PGCONNECT_TIMEOUT=10 "$psql_bin" -X -At -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" \
    "$bare?sslmode=verify-full&sslrootcert=$ca")"
[[ "$got" == "t" ]] || { echo "FAILED: verify-full over TLS answered '$got'"; exit 1; }
if PGCONNECT_TIMEOUT=10 "$psql_bin" -X -At -c "SELECT 1" "$bare?sslmode=disable" >/dev/null 2>&1; then
    echo "FAILED: the TLS-only server accepted a plain connection"
    exit 1
fi
.ci/pg-cluster.sh stop --dir "$base-tls"
echo "ok"

if [[ -n "${KLK_PG_URL:-}" ]]; then
    url="$KLK_PG_URL"
else
    url="$(.ci/pg-cluster.sh start --fast --dir "$base")"
fi

echo "== tests/pg/equality.py: PostgreSQL's logic against klk-etl's DuckDB"
"$py" tests/pg/equality.py --url "$url" --bin "$bin" --random "${KLK_PG_RANDOM:-40}" \
    ${KLK_PG_SEED:+--seed "$KLK_PG_SEED"}
echo "== tests/pg/seed_sql.py: the seed document's SQL in psql"
"$py" tests/pg/seed_sql.py --url "$url" --bin "$bin" --psql "$psql_bin"
