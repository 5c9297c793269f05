"""Shared by the PostgreSQL harnesses: the schema files under src/tracker/schema/postgres/,
applied the way klk-etl will apply them, and small connection helpers.

    apply_schema(conn)      -> [(version, description), ...] applied
    fresh_database(url, name) -> URL of a new, empty database (dropped first if it exists)
"""

import os
import re
import urllib.parse

import psycopg2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# KLK_PG_SCHEMA_DIR: another copy of the files (e.g. a deliberately broken one, to see the
# harness fail).
SCHEMA_DIR = os.environ.get("KLK_PG_SCHEMA_DIR") or os.path.join(ROOT, "src", "tracker", "schema", "postgres")
SCHEMA_RS = os.path.join(ROOT, "src", "tracker", "schema.rs")


def migration_descriptions():
    """{version: description} from DuckDB's MIGRATIONS in schema.rs: both engines record the same."""
    text = open(SCHEMA_RS, encoding="utf-8").read()
    found = re.findall(r'version:\s*(\d+),\s*description:\s*"((?:[^"\\]|\\.)*)"', text)
    return {int(v): d for v, d in found}


def latest_version_rs():
    text = open(SCHEMA_RS, encoding="utf-8").read()
    return int(re.search(r"pub const LATEST_VERSION: i32 = (\d+);", text).group(1))


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


def apply_schema(conn):
    """Applies the pending migrations and then the logic, in one transaction, under the
    advisory lock that makes runners started together migrate once. Returns those applied."""
    descriptions = migration_descriptions()
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
