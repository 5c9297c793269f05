#!/usr/bin/env bash
# The test command: installs what the tests need besides Rust, then `cargo test --release`.
# Extra arguments go to `cargo test` (e.g. `bash tests/run.sh --test it serve::`).
#
# - Headless Chromium and its WebDriver drive the dashboard (tests/it/serve_browser.rs);
#   installed with apt-get when missing (as root; otherwise install `chromium` and
#   `chromium-driver` yourself).
# - Python's duckdb (with ICU, like the user's tools) runs the seed document's SQL against our
#   database file (tests/it/seed_adoption.rs); prometheus_client parses our metrics output
#   strictly (tests/it/monitoring.rs); aiosmtpd is the SMTP server e-mail alerts are sent to
#   (tests/it/integrations.rs, tests/it/reliability_secrets.rs). They live in a virtualenv
#   under ~/.cache/klk-etl/venv (KLK_ETL_VENV), and KLK_ETL_PYTHON points the tests at it.
#
# - PostgreSQL (tests/it/postgres.rs): two throwaway servers on 127.0.0.1, one plain and one
#   TLS-only, started here with .ci/pg-cluster.sh (which installs Debian's postgresql when
#   missing and runs them as an unprivileged user) and stopped at the end. Then
#   tests/pg/run.sh proves the PostgreSQL schema and logic answer what DuckDB's do (psycopg2
#   and psycopg join the virtualenv for it).
#
# A test whose tool is missing fails saying so; it never passes by skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/klk-etl/target}"

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: missing $*; install them (apt-get install $*) or run as root" >&2
    exit 1
  fi
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt_install chromium chromium-driver
fi

venv="${KLK_ETL_VENV:-$HOME/.cache/klk-etl/venv}"
if ! "$venv/bin/python" -c 'import duckdb, prometheus_client, aiosmtpd, psycopg2, psycopg' 2>/dev/null; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt_install python3-venv
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'duckdb==2.0.0' 'prometheus_client==0.26.0' 'aiosmtpd==1.4.6' \
    'psycopg2-binary==2.9.13' 'psycopg[binary]==3.3.9'
fi
export KLK_ETL_PYTHON="$venv/bin/python"

pg_base="$(mktemp -d "${TMPDIR:-/tmp}/klk-etl-tests-pg.XXXXXX")"
stop_servers() {
  .ci/pg-cluster.sh stop --dir "$pg_base/plain" >/dev/null 2>&1 || true
  .ci/pg-cluster.sh stop --dir "$pg_base/tls" >/dev/null 2>&1 || true
  rm -rf "$pg_base"
}
trap stop_servers EXIT
chmod 755 "$pg_base"  # the servers run as another user
KLK_ETL_TEST_PG_URL="$(.ci/pg-cluster.sh start --fast --dir "$pg_base/plain")"
KLK_ETL_TEST_PG_TLS_URL="$(.ci/pg-cluster.sh start --tls --fast --dir "$pg_base/tls")"
KLK_ETL_TEST_PG_CA="$(.ci/pg-cluster.sh ca --dir "$pg_base/tls")"
export KLK_ETL_TEST_PG_URL KLK_ETL_TEST_PG_TLS_URL KLK_ETL_TEST_PG_CA

cargo test --release --locked "$@"

# Only for the whole suite (extra arguments select some tests).
if [ "$#" = 0 ]; then
  KLK_PG_URL="$KLK_ETL_TEST_PG_URL" bash tests/pg/run.sh
fi
