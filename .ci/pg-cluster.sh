#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, CI and benchmarks, on 127.0.0.1 only.
#
#   .ci/pg-cluster.sh start [--tls] [--fast] [--dir DIR]   start it (if needed); print its URL
#   .ci/pg-cluster.sh url   [--tls] [--dir DIR]            print the URL of the running server
#   .ci/pg-cluster.sh ca    [--tls] [--dir DIR]            print the CA certificate's path (--tls)
#   .ci/pg-cluster.sh psql  [--tls] [--dir DIR] [-- ARGS]  psql connected to it as the test role
#   .ci/pg-cluster.sh status [--tls] [--dir DIR]           exit 0 when running
#   .ci/pg-cluster.sh stop  [--tls] [--dir DIR]            stop it and delete its directory
#
# `start` installs Debian's `postgresql` when no `initdb` is found (apt-get update once, then
# install, without creating or starting the system's own cluster), then, as an unprivileged
# user (`postgres` when run as root, since PostgreSQL refuses to run as root; the caller
# otherwise), runs initdb in DIR, starts the server on a free port of 127.0.0.1 with its unix
# socket inside DIR, creates the role `klk` (random password, LOGIN, CREATEDB: a test can make
# a database of its own) and the database `klk`, and prints
#     postgres://klk:PASSWORD@127.0.0.1:PORT/klk
# The password is in the URL on purpose: this server is for tests only.
#
# --tls   a second server of its own (its own DIR) that accepts TCP connections only over TLS
#         (`hostssl`; a plain connection is refused), with a test CA and a server
#         certificate it signed (made with openssl) for 127.0.0.1 and localhost. Its URL ends
#         in `?sslmode=require`; for verify-full use `ca`, e.g. with psql:
#         psql "$(pg-cluster.sh url --tls | sed 's/require$/verify-full/')&sslrootcert=$(pg-cluster.sh ca --tls)"
# --fast  no fsync, no synchronous commit, no full-page writes: for suites where the server
#         never crashes (only clients do). Not for benchmarks.
# --dir   where it lives; default $TMPDIR (or /tmp) /klk-etl-pg-<hash of this checkout>[-tls],
#         so each checkout (worktree) has its own server. Env: KLK_PG_DIR.
#
# Idempotent: `start` on a running server prints its URL again; a stale directory (the machine
# rebooted, the server was killed) is deleted and made afresh; `stop` on nothing succeeds.
# Every failure ends with one line `pg-cluster: error: ...` on stderr and exit 1.
# Env: KLK_PG_BINDIR (PostgreSQL's bin directory), KLK_PG_USER (who runs the server when
# called as root; default postgres).
set -euo pipefail

say() { printf 'pg-cluster: %s\n' "$*" >&2; }
die() { printf 'pg-cluster: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
tls=0
fast=0
dir="${KLK_PG_DIR:-}"
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --tls) tls=1 ;;
        --fast) fast=1 ;;
        --dir) [[ $# -ge 2 ]] || die "--dir needs a directory"; dir="$2"; shift ;;
        --) shift; extra=("$@"); break ;;
        *) die "unknown argument '$1' (see the top of $0)" ;;
    esac
    shift
done
if [[ -z "$dir" ]]; then
    checkout="$(cd "$(dirname "$0")/.." && pwd -P)"
    dir="${TMPDIR:-/tmp}/klk-etl-pg-$(printf '%s' "$checkout" | md5sum | cut -c1-8)"
    [[ $tls -eq 1 ]] && dir="$dir-tls"
fi
[[ "$dir" = /* ]] || dir="$(pwd -P)/$dir"

DB_ROLE=klk
DB_NAME=klk

# --- who runs the server ------------------------------------------------------------------
if [[ $(id -u) -eq 0 ]]; then
    run_user="${KLK_PG_USER:-postgres}"
    as_server() { runuser -u "$run_user" -- "$@"; }
else
    run_user="$(id -un)"
    as_server() { "$@"; }
fi

# --- PostgreSQL's binaries, installed when missing ----------------------------------------
find_bindir() {
    if [[ -n "${KLK_PG_BINDIR:-}" ]]; then
        [[ -x "$KLK_PG_BINDIR/initdb" ]] || die "KLK_PG_BINDIR=$KLK_PG_BINDIR has no initdb"
        printf '%s\n' "$KLK_PG_BINDIR"
        return
    fi
    local candidate
    # Debian keeps them out of PATH, under /usr/lib/postgresql/<major>/bin; take the newest.
    candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$candidate" && -x "$candidate/initdb" ]]; then
        printf '%s\n' "$candidate"
        return
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
}

apt_updated=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 \
        || die "PostgreSQL is not installed and this is not a Debian-like system (no apt-get): install PostgreSQL (initdb, pg_ctl, psql) or set KLK_PG_BINDIR"
    [[ $(id -u) -eq 0 ]] \
        || die "PostgreSQL is not installed and installing it needs root: run 'apt-get install postgresql' or set KLK_PG_BINDIR"
    export DEBIAN_FRONTEND=noninteractive
    if [[ $apt_updated -eq 0 ]]; then
        say "apt-get update..."
        apt-get update -qq >&2 || die "apt-get update failed"
        apt_updated=1
    fi
    say "apt-get install $*..."
    apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

ensure_postgresql() {
    bindir="$(find_bindir)"
    if [[ -z "$bindir" ]]; then
        # The package would create and start the system's own cluster on port 5432; tests
        # want none of it. postgresql-common first, told not to create one, then the server.
        apt_install postgresql-common
        local conf=/etc/postgresql-common/createcluster.conf
        if [[ -f "$conf" ]]; then
            sed -i 's/^#\{0,1\}[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' "$conf"
        fi
        apt_install postgresql postgresql-client
        bindir="$(find_bindir)"
        [[ -n "$bindir" ]] || die "installed Debian's postgresql but found no initdb under /usr/lib/postgresql/*/bin"
    fi
    for tool in initdb pg_ctl psql; do
        [[ -x "$bindir/$tool" ]] || die "$bindir has no $tool"
    done
}

ensure_openssl() {
    command -v openssl >/dev/null 2>&1 && return
    apt_install openssl
}

# --- state ---------------------------------------------------------------------------------
data="$dir/data"
sock="$dir/sock"

running() {
    [[ -f "$data/postmaster.pid" && -f "$dir/url" ]] || return 1
    [[ -n "${bindir:-}" ]] || bindir="$(find_bindir)"
    [[ -n "$bindir" ]] || return 1
    as_server "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

free_port() {
    python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

make_certificates() {
    ensure_openssl
    local t="$dir/tls"
    mkdir -p "$t"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
        -subj "/CN=klk-etl test CA" -keyout "$t/ca.key" -out "$t/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        >/dev/null 2>&1 || die "openssl could not make the test CA"
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
        -keyout "$t/server.key" -out "$t/server.csr" >/dev/null 2>&1 \
        || die "openssl could not make the server key"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$t/server.ext"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
        -days 3650 -sha256 -extfile "$t/server.ext" -out "$t/server.crt" >/dev/null 2>&1 \
        || die "openssl could not sign the server certificate"
    rm -f "$t/server.csr" "$t/server.ext" "$t/ca.srl"
    chmod 600 "$t/ca.key" "$t/server.key"
    chmod 644 "$t/ca.crt" "$t/server.crt"
}

start() {
    ensure_postgresql
    if running; then
        say "already running in $dir"
        cat "$dir/url"
        return
    fi
    if [[ -e "$dir" ]]; then
        say "$dir holds no running server (stale): deleting it and starting afresh"
        if [[ -f "$data/postmaster.pid" ]]; then
            as_server "$bindir/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true
        fi
        rm -rf "$dir"
    fi
    local started=$SECONDS t0
    t0=$(date +%s.%N)
    mkdir -p "$dir"
    chmod 700 "$dir"
    mkdir -p "$sock"
    local password
    password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    [[ ${#password} -eq 32 ]] || die "could not read 16 random bytes for the password"
    [[ $tls -eq 1 ]] && make_certificates
    if [[ $(id -u) -eq 0 ]]; then
        id "$run_user" >/dev/null 2>&1 \
            || die "no user '$run_user' to run the server as (PostgreSQL refuses root); set KLK_PG_USER"
        chown -R "$run_user:" "$dir"
    fi
    # A directory the server's user cannot reach (e.g. under a 0700 home) fails here clearly.
    as_server test -w "$dir" || die "$run_user cannot write $dir: choose another --dir"
    as_server "$bindir/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
        || die "initdb failed (see $dir/initdb.log): $(tail -n 1 "$dir/initdb.log")"

    {
        echo "# pg-cluster.sh"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$sock'"
        echo "password_encryption = 'scram-sha-256'"
        echo "max_connections = 200"
        echo "log_line_prefix = '%m [%p] %q%u@%d %a '"
        if [[ $tls -eq 1 ]]; then
            echo "ssl = on"
            echo "ssl_cert_file = '$dir/tls/server.crt'"
            echo "ssl_key_file = '$dir/tls/server.key'"
            echo "ssl_ca_file = '$dir/tls/ca.crt'"
        fi
        if [[ $fast -eq 1 ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >>"$data/postgresql.conf"
    {
        echo "# pg-cluster.sh: the superuser only over the private socket; everyone else by"
        echo "# password over TCP on 127.0.0.1$([[ $tls -eq 1 ]] && echo ', and only over TLS')."
        echo "local all postgres trust"
        if [[ $tls -eq 1 ]]; then
            echo "hostssl all all 127.0.0.1/32 scram-sha-256"
        else
            echo "host all all 127.0.0.1/32 scram-sha-256"
        fi
    } >"$data/pg_hba.conf"
    chown "$(stat -c %u "$data")" "$data/pg_hba.conf" 2>/dev/null || true

    local port attempt
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        if as_server "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port" start >/dev/null 2>&1 9>&-; then
            break
        fi
        if grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null && [[ $attempt -lt 5 ]]; then
            say "port $port was taken meanwhile; trying another"
            continue
        fi
        die "the server did not start (see $dir/server.log): $(grep -m1 'FATAL\|ERROR' "$dir/server.log" 2>/dev/null || tail -n 1 "$dir/server.log")"
    done
    echo "$port" >"$dir/port"

    # The password goes through stdin, never argv (ps would show it).
    as_server "$bindir/psql" -X -q -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        >"$dir/setup.log" 2>&1 <<EOF || die "creating the role and database failed (see $dir/setup.log)"
CREATE ROLE $DB_ROLE LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE $DB_NAME OWNER $DB_ROLE;
EOF
    local url="postgres://$DB_ROLE:$password@127.0.0.1:$port/$DB_NAME"
    [[ $tls -eq 1 ]] && url="$url?sslmode=require"
    (umask 077; echo "$url" >"$dir/url")
    [[ $(id -u) -eq 0 ]] && chown "$run_user:" "$dir/url" "$dir/port"
    # What a test reads: the server answers a password login over TCP (TLS for --tls).
    PGCONNECT_TIMEOUT=10 "$bindir/psql" -X -q -At "$url" -c "SELECT 1" >/dev/null 2>&1 \
        || die "the server started but a login as $DB_ROLE over 127.0.0.1:$port failed (see $dir/server.log)"
    local t1
    t1=$(date +%s.%N)
    say "PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') on 127.0.0.1:$port$([[ $tls -eq 1 ]] && echo ' (TLS only)')$([[ $fast -eq 1 ]] && echo ' (no fsync)'), data in $dir, started in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
    cat "$dir/url"
}

stop() {
    if [[ ! -e "$dir" ]]; then
        say "nothing in $dir: nothing to stop"
        return
    fi
    bindir="$(find_bindir)"
    if [[ -f "$data/postmaster.pid" && -n "$bindir" ]]; then
        as_server "$bindir/pg_ctl" -D "$data" stop -m fast -w -t 30 >/dev/null 2>&1 \
            || as_server "$bindir/pg_ctl" -D "$data" stop -m immediate -w -t 30 >/dev/null 2>&1 \
            || true
        if as_server "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
            die "the server in $dir did not stop; its pid is in $data/postmaster.pid"
        fi
    fi
    rm -rf "$dir"
    say "stopped; deleted $dir"
}

# One command at a time per directory: parallel test processes may all call `start`.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock -w 120 9 || die "another pg-cluster.sh holds $dir.lock for over 2 minutes"

case "$cmd" in
    start) start ;;
    stop) stop ;;
    url)
        running || die "no server running in $dir (run: $0 start$([[ $tls -eq 1 ]] && echo ' --tls'))"
        cat "$dir/url"
        ;;
    ca)
        [[ -f "$dir/tls/ca.crt" ]] || die "no TLS server in $dir (run: $0 start --tls)"
        printf '%s\n' "$dir/tls/ca.crt"
        ;;
    psql)
        running || die "no server running in $dir (run: $0 start$([[ $tls -eq 1 ]] && echo ' --tls'))"
        url="$(cat "$dir/url")"
        exec 9>&-
        exec "$bindir/psql" -X "$url" "${extra[@]}"
        ;;
    status)
        if running; then
            say "running on 127.0.0.1:$(cat "$dir/port"), data in $dir"
        else
            say "not running ($dir)"
            exit 1
        fi
        ;;
    *) usage ;;
esac
