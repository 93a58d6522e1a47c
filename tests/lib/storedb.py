#!/usr/bin/env python3
"""storedb.py - the tests' reads and writes of a store, SQLite or PostgreSQL, through sqlite3's
interface, so that one test runs on both (tests/lib/store_lib.sh picks the store).

    import storedb                        (tests/lib on sys.path: store_lib.sh exports PYTHONPATH)
    db = storedb.connect(STORE, readonly=False)
    db.execute(SQL, (PARAM, ...)).fetchone() / .fetchall() / iterate;  db.commit(); db.close()
    db.row_factory = storedb.Row          rows by column name too, as sqlite3.Row

STORE is a file path (then the connection is sqlite3's own) or a postgresql:// URI. On
PostgreSQL every statement runs through the `psql` client (-X -q -At, ON_ERROR_STOP; no Python
driver is needed) and is committed as it runs: commit() has nothing left to do, rollback() is
refused. Parameters are `?` placeholders, as in sqlite3; each value goes to psql as a variable
(--set pN=VALUE) and the statement names it as :'pN', which psql quotes as a literal: no value is
ever pasted into the SQL text. A SELECT (or WITH, VALUES) is described first (\\gdesc) and its rows
come back as row_to_json, decoded by the column types, so that the values have sqlite3's types:
bigint/integer -> int, double precision/real -> float, numeric -> int or float, boolean -> 0/1,
json -> its text, NULL -> None; columns stay in their order, duplicate names included.

The dialects differ in a few places the tests need; the connection says how (both classes):
    db.dialect                   'sqlite' or 'postgresql'
    db.json_text(EXPR, KEY)      a key of a JSON text column, as text
    db.search_sql(WHAT)          SELECT WHAT over the transcript search rows matching one ?
                                 (FTS5's transcript_fts, or transcript_segments' tsvector)
    db.size_bytes()              the store's size

As a command (for shell tests): storedb.py STORE SQL [PARAM...] prints the rows, the columns
joined by '|', NULL as nothing; on an error, the message on stderr and status 1.
"""
import os
import re
import sqlite3
import sys
import urllib.parse
# PostgreSQL's modules (glob, json, shutil, subprocess) are imported where they are used: a
# test polling a SQLite store from the shell starts this file many times

Error = sqlite3.Error
Row = sqlite3.Row


class PgError(sqlite3.OperationalError):
    """A statement or connection that failed on PostgreSQL (also a sqlite3.Error)."""


def is_pg(store):
    return str(store).startswith(("postgresql://", "postgres://"))


def dialect(store):
    return "postgresql" if is_pg(store) else "sqlite"


_KEY = re.compile(r"^[A-Za-z0-9_]+$")


def _key(key):
    if not _KEY.match(key):
        raise sqlite3.ProgrammingError(f"json key {key!r}: letters, digits and _ only")
    return key


class SqliteConnection(sqlite3.Connection):
    """sqlite3's connection, with the dialect helpers."""
    dialect = "sqlite"

    def json_text(self, expr, key):
        return f"json_extract({expr}, '$.{_key(key)}')"

    def search_sql(self, what):
        return f"SELECT {what} FROM transcript_fts WHERE transcript_fts MATCH ?"

    def size_bytes(self):
        return self.execute("SELECT page_count * page_size FROM pragma_page_count(), "
                            "pragma_page_size()").fetchone()[0]


def connect(store, readonly=False):
    """A connection to STORE (a path or a postgresql:// URI)."""
    if is_pg(store):
        return PgConnection(store, readonly)
    if readonly:
        return sqlite3.connect(f"file:{urllib.parse.quote(str(store))}?mode=ro", uri=True,
                               factory=SqliteConnection)
    return sqlite3.connect(store, factory=SqliteConnection)


# ---- PostgreSQL through psql -------------------------------------------------------------------
def find_psql():
    """psql: $CALLQA_PSQL, else the newest /usr/lib/postgresql/*/bin/psql (Debian's psql in
    PATH is a Perl wrapper that costs a tenth of a second a run), else psql in PATH."""
    import glob
    import shutil
    p = os.environ.get("CALLQA_PSQL")
    if not p:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"),
                       key=lambda x: int(x.split("/")[4]) if x.split("/")[4].isdigit() else 0)
        p = found[-1] if found else shutil.which("psql")
    if not p:
        raise PgError("psql is not installed (postgresql-client; scripts/deps installs postgresql)")
    return p


_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


def translate(sql, params):
    """SQL with sqlite3's ? placeholders and their values -> (the SQL with psql's :'p1'... in
    their place, a None as NULL; psql's --set arguments). Quoted literals, quoted names, comments
    and dollar-quoted strings are left as they are; a backslash outside them (a psql command)
    is refused."""
    out, sets, i, n, L = [], [], 0, 0, len(sql)
    while i < L:
        c = sql[i]
        if c == "'":
            esc = i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum() or
                                                                 sql[i - 2] == "_"))
            j = i + 1
            while j < L:
                if esc and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == "'":
                    if j + 1 < L and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1])
            i = j + 1
        elif c == '"':
            j = sql.find('"', i + 1)
            while j != -1 and j + 1 < L and sql[j + 1] == '"':
                j = sql.find('"', j + 2)
            j = L - 1 if j == -1 else j
            out.append(sql[i:j + 1])
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = L if j == -1 else j
            out.append(sql[i:j])
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = L if j == -1 else j + 2
            out.append(sql[i:j])
            i = j
        elif c == "$" and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")) and \
                _DOLLAR.match(sql, i):
            tag = _DOLLAR.match(sql, i).group(0)
            j = sql.find(tag, i + len(tag))
            j = L if j == -1 else j + len(tag)
            out.append(sql[i:j])
            i = j
        elif c == "?":
            if n < len(params):
                if params[n] is None:
                    out.append("NULL")
                else:
                    out.append(f":'p{n + 1}'")
                    sets.append(f"--set=p{n + 1}={_param(params[n])}")
            n += 1
            i += 1
        elif c == "\\":
            raise sqlite3.ProgrammingError("a backslash outside a quoted literal (a psql command)")
        else:
            out.append(c)
            i += 1
    if n != len(params):
        raise sqlite3.ProgrammingError(
            f"Incorrect number of bindings supplied. The current statement uses {n}, and there "
            f"are {len(params)} supplied.")
    return "".join(out), sets


def _param(v):
    """A parameter as psql's variable text."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "Infinity" if v > 0 else "-Infinity"
        return repr(v)
    if isinstance(v, str):
        if "\0" in v:
            raise sqlite3.ProgrammingError("a NUL character in a text parameter")
        if len(v.encode()) > 100000:
            raise sqlite3.ProgrammingError("a text parameter over 100 kB (psql's command line)")
        return v
    raise sqlite3.ProgrammingError(f"unsupported parameter type {type(v).__name__}")


_ROWS = "--storedb-rows--"
_WRAP = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*\(*\s*(select|with|values|table)\b",
                   re.I | re.S)


class _Pairs(list):
    """A JSON object as its (key, value) pairs, in order, duplicates kept."""


def _plain(v):
    if isinstance(v, _Pairs):
        return {k: _plain(x) for k, x in v}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _convert(v, typ):
    import json
    if v is None:
        return None
    if typ in ("double precision", "real"):
        return float(v)  # also "NaN", "Infinity", "-Infinity"
    if typ in ("bigint", "integer", "smallint"):
        return int(v)
    if typ == "boolean":
        return int(v)
    if typ in ("json", "jsonb"):
        return json.dumps(_plain(v), ensure_ascii=False, separators=(", ", ": "))
    if typ == "bytea" and isinstance(v, str) and v.startswith("\\x"):
        return bytes.fromhex(v[2:])
    if isinstance(v, (_Pairs, list)):
        return json.dumps(_plain(v), ensure_ascii=False)
    return v


class PgRow(tuple):
    """A row by position or by column name (the first of that name), as sqlite3.Row."""

    def __new__(cls, values, names):
        r = super().__new__(cls, values)
        r._names = names
        return r

    def keys(self):
        return list(self._names)

    def __getitem__(self, k):
        if isinstance(k, str):
            for i, name in enumerate(self._names):
                if name == k:
                    return tuple.__getitem__(self, i)
            for i, name in enumerate(self._names):
                if name.lower() == k.lower():
                    return tuple.__getitem__(self, i)
            raise IndexError("No item with that key")
        return tuple.__getitem__(self, k)


class PgCursor:
    def __init__(self, con):
        self.connection = con
        self.description = None
        self.rowcount = -1
        self.lastrowid = None
        self.arraysize = 1
        self._rows = []
        self._pos = 0

    def execute(self, sql, params=()):
        import json
        if isinstance(params, dict):
            raise sqlite3.ProgrammingError("named parameters: use ? placeholders")
        q, sets = translate(sql.strip().rstrip(";").rstrip(), tuple(params))
        wrap = bool(_WRAP.match(q))
        if wrap:
            script = f"{q}\n\\gdesc\n\\echo {_ROWS}\nSELECT row_to_json(storedb_q) FROM ({q}\n) storedb_q;\n"
        else:
            script = q + ";\n"
        out = self.connection._run(script, sets)
        self._rows, self._pos = [], 0
        if not wrap:
            self.description = None
            return self
        head, _, body = out.partition(_ROWS + "\n")
        cols = [line.rsplit("|", 1) for line in head.split("\n") if line]
        names = [c[0] for c in cols]
        types = [c[1] if len(c) > 1 else "" for c in cols]
        self.description = tuple((nm, None, None, None, None, None, None) for nm in names)
        factory = self.connection.row_factory
        for line in body.split("\n"):
            if not line:
                continue
            pairs = json.loads(line, object_pairs_hook=_Pairs)
            vals = tuple(_convert(v, t) for (_, v), t in zip(pairs, types))
            self._rows.append(PgRow(vals, names) if factory is not None else vals)
        self.rowcount = len(self._rows)
        return self

    def executemany(self, sql, seq):
        for p in seq:
            self.execute(sql, p)
        return self

    def fetchone(self):
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchmany(self, size=None):
        size = size or self.arraysize
        r = self._rows[self._pos:self._pos + size]
        self._pos += len(r)
        return r

    def fetchall(self):
        r = self._rows[self._pos:]
        self._pos = len(self._rows)
        return r

    def __iter__(self):
        while True:
            r = self.fetchone()
            if r is None:
                return
            yield r

    def close(self):
        self._rows = []


class PgConnection:
    dialect = "postgresql"

    def __init__(self, uri, readonly=False):
        self.uri = uri
        self.readonly = readonly
        self.row_factory = None
        self.closed = False
        self.psql = find_psql()

    def _run(self, script, sets):
        import subprocess
        if self.closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        env = dict(os.environ, PGCLIENTENCODING="UTF8", PGAPPNAME="storedb",
                   PGCONNECT_TIMEOUT=os.environ.get("PGCONNECT_TIMEOUT", "10"))
        if self.readonly:
            env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c default_transaction_read_only=on").strip()
        cmd = [self.psql, "-X", "-q", "-At", "--set=ON_ERROR_STOP=1", "-d", self.uri, "-f", "-"]
        r = subprocess.run(cmd + sets, input=script.encode(), capture_output=True, env=env)
        if r.returncode != 0:
            msg = r.stderr.decode(errors="replace").strip() or f"psql exited {r.returncode}"
            # psql names its standard input as the file: what the server said is enough
            msg = re.sub(r"^psql:<stdin>:\d+: ", "", msg, flags=re.M)
            raise PgError(msg)
        return r.stdout.decode()

    def cursor(self):
        return PgCursor(self)

    def execute(self, sql, params=()):
        return PgCursor(self).execute(sql, params)

    def executemany(self, sql, seq):
        return PgCursor(self).executemany(sql, seq)

    def commit(self):
        pass  # each statement was committed as psql ran it

    def rollback(self):
        raise sqlite3.NotSupportedError("storedb on PostgreSQL commits each statement: no rollback")

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def json_text(self, expr, key):
        return f"(({expr})::json ->> '{_key(key)}')"

    def search_sql(self, what):
        return (f"SELECT {what} FROM transcript_segments "
                f"WHERE tsv @@ websearch_to_tsquery('simple', ?)")

    def size_bytes(self):
        return self.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def main(argv):
    if len(argv) < 3:
        print("usage: storedb.py STORE SQL [PARAM...]", file=sys.stderr)
        return 2
    try:
        db = connect(argv[1])
        for row in db.execute(argv[2], argv[3:]).fetchall():
            print("|".join("" if v is None else str(v) for v in row))
        db.commit()
    except sqlite3.Error as e:
        print(f"storedb: {argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
