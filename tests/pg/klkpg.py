"""Shared by the PostgreSQL harnesses: the schema files under src/tracker/schema/postgres/,
applied the way klk-etl will apply them, and small connection helpers.

    duckdb_migrations(bin)  -> {version: description}: what klk-etl's DuckDB records (asked of
                               the binary, checked against src/tracker/schema/mod.rs)
    duckdb_sql(name)        -> a file of src/tracker/schema/duckdb/ (e.g. summary_refresh.sql)
    apply_schema(conn, descriptions) -> [(version, description), ...] applied
    fresh_database(url, name) -> URL of a new, empty database (dropped first if it exists)
"""

import json
import os
import re
import subprocess
import tempfile
import urllib.parse

import psycopg2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# KLK_PG_SCHEMA_DIR: another copy of the files (e.g. a deliberately broken one, to see the
# harness fail).
SCHEMA_DIR = os.environ.get("KLK_PG_SCHEMA_DIR") or os.path.join(ROOT, "src", "tracker", "schema", "postgres")
# DuckDB's schema (main's layout): the migration list in mod.rs, the SQL under duckdb/.
DUCKDB_SCHEMA_DIR = os.path.join(ROOT, "src", "tracker", "schema")
SCHEMA_MOD_RS = os.path.join(DUCKDB_SCHEMA_DIR, "mod.rs")


def source_migrations():
    """{version: description} of DuckDB's MIGRATIONS in src/tracker/schema/mod.rs: both engines
    record the same. Its LATEST_VERSION is the last entry's version, i.e. max() of these."""
    text = open(SCHEMA_MOD_RS, encoding="utf-8").read()
    found = re.findall(r'version:\s*(\d+),\s*description:\s*"((?:[^"\\]|\\.)*)"', text)
    if not found:
        raise RuntimeError(f"no Migration {{ version, description }} found in {SCHEMA_MOD_RS}")
    return {int(v): d for v, d in found}


def binary_migrations(bin_path):
    """(schema_version, {version: description}) that klk-etl itself reports (`db info --format
    json`) for a fresh DuckDB file: what the binary the harness compares against migrates to."""
    with tempfile.TemporaryDirectory(prefix="klk-pg-dbinfo-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KLK_ETL_")}
        run = subprocess.run(
            [bin_path, "db", "info", "--db", os.path.join(tmp, "x.duckdb"), "--format", "json"],
            cwd=tmp, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{bin_path} db info: exit {run.returncode}: {run.stderr.strip()}")
        info = json.loads(run.stdout)
    return info["schema_version"], {m["version"]: m["description"] for m in info["migrations"]}


def duckdb_migrations(bin_path):
    """{version: description} from the binary, which must agree with this tree's mod.rs (the
    harness reads DuckDB SQL from the tree too) and report the last of them as its version."""
    version, found = binary_migrations(bin_path)
    source = source_migrations()
    if found != source:
        raise RuntimeError(f"{bin_path} reports migrations {sorted(found)} that differ from "
                           f"{SCHEMA_MOD_RS}'s {sorted(source)} (or their descriptions): "
                           "is the binary built from this tree?")
    if version != max(found):
        raise RuntimeError(f"{bin_path} reports schema version {version}, its last migration is {max(found)}")
    return found


def duckdb_sql(name):
    """A DuckDB SQL file of the tree, e.g. duckdb_sql("summary_refresh.sql")."""
    return open(os.path.join(DUCKDB_SCHEMA_DIR, "duckdb", name), encoding="utf-8").read()


def migration_files():
    """[(version, path)] of NNN_*.sql, version > 0, in order."""
    files = []
    for name in sorted(os.listdir(SCHEMA_DIR)):
        m = re.match(r"^(\d{3})_.*\.sql$", name)
        if m and int(m.group(1)) > 0:
            files.append((int(m.group(1)), os.path.join(SCHEMA_DIR, name)))
    return files


def read(name):
    return open(os.path.join(SCHEMA_DIR, name), encoding="utf-8").read()


def apply_schema(conn, descriptions=None):
    """Applies the pending migrations and then the logic, in one transaction, under the
    advisory lock that makes runners started together migrate once. Returns those applied.
    descriptions: {version: description} (duckdb_migrations(bin)); default: the tree's mod.rs."""
    if descriptions is None:
        descriptions = source_migrations()
    applied = []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('klk-etl'), 0)")
        cur.execute(read("000_schema_version.sql"))
        cur.execute("SELECT coalesce(max(version), 0) FROM etl_schema_version")
        current = cur.fetchone()[0]
        for version, path in migration_files():
            if version <= current:
                continue
            sql = open(path, encoding="utf-8").read()
            if re.sub(r"--[^\n]*", "", sql).strip():  # logic-only versions have no statement
                cur.execute(sql)
            cur.execute(
                "INSERT INTO etl_schema_version VALUES (%s, %s, now() AT TIME ZONE 'UTC')",
                (version, descriptions[version]),
            )
            applied.append((version, descriptions[version]))
        if applied:
            cur.execute(read("logic.sql"))
    conn.commit()
    return applied


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def fresh_database(url, name):
    """Creates database `name` on the server of `url` (dropping it first) and returns its URL."""
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return with_database(url, name)


def drop_database(url, name):
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def split_password(url):
    """(the URL without its password, the password or None)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url, None
    netloc = parts.netloc.replace(":" + parts.password + "@", "@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), urllib.parse.unquote(parts.password)


def redact(text):
    """A URL's password never reaches a log."""
    return re.sub(r"(postgres(?:ql)?://[^:/@\s]+):[^@\s]*@", r"\1:***@", str(text))
