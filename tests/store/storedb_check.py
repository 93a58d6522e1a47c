#!/usr/bin/env python3
"""storedb_check.py - tests/lib/storedb.py on a SQLite file and on a PostgreSQL database: rows
with NULLs, big and negative integers, floats, quotes, question marks, psql's own syntax
(:'p1', $$, backslashes), newlines, Unicode and an injection attempt go in as parameters and
come back equal, with sqlite3's types; ? inside literals is left alone; duplicate column names,
rows by name, booleans as 0/1, aggregates; the dialect helpers (a JSON key, the transcript
search, the size); a read-only connection refuses writes; errors are sqlite3.Error; the command
line prints the same rows on both. Every result is compared between the two stores.

    usage: storedb_check.py SQLITE_PATH POSTGRESQL_URI
"""
import os
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import storedb  # noqa: E402

ROWS = [
    (1, 0.1, "plain", 1, '{"transcribe": "done", "n": 2}'),
    (None, None, None, None, None),
    (2 ** 62, 1e300, "it's \"quoted\" ? :'p1' :p2 $1 $$x$$ \\ back\nslash\ttab ;", 0,
     '{"transcribe": "failed"}'),
    (-7, -2.5, "Zoë Łukasz 李小龍 🎧 <b>&amp;</b>", 1, None),
    (0, 3.0, "'); DROP TABLE t; --", 0, "{}"),
    (42, 1719842400.0, "", 1, '{"transcribe": null}'),
    (-2 ** 63, 5e-324, "x" * 5000, 0, '{"transcribe": "done"}'),
]
checked = 0


def ok(what, cond, detail=""):
    global checked
    checked += 1
    if not cond:
        print(f"FAIL {what}: {detail}")
        sys.exit(1)


def run(store):
    """Every check on one store; the results, for the comparison of the two."""
    res = []
    db = storedb.connect(store)
    pg = db.dialect == "postgresql"
    ok(f"{store}: dialect", db.dialect == storedb.dialect(store), db.dialect)
    if pg:
        db.execute("CREATE TABLE t (id bigserial PRIMARY KEY, i bigint, r double precision, "
                   "s text, f integer, j text)")
        db.execute("CREATE TABLE transcript_segments (call_id bigint, seg integer, speaker text, "
                   "t_start double precision, t_end double precision, text text, tsv tsvector)")
    else:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, "
                   "f INTEGER, j TEXT)")
        db.execute("CREATE VIRTUAL TABLE transcript_fts USING fts5(text, call_id UNINDEXED, "
                   "speaker UNINDEXED)")
    for r in ROWS:
        db.execute("INSERT INTO t (i, r, s, f, j) VALUES (?, ?, ?, ?, ?)", r)
    db.commit()

    got = db.execute("SELECT i, r, s, f, j FROM t ORDER BY id").fetchall()
    ok(f"{store}: {len(ROWS)} rows back as they went in", got == ROWS, (got, ROWS))
    for g, w in zip(got, ROWS):
        ok(f"{store}: types", [type(v) for v in g] == [type(v) for v in w], (g, w))
    res.append(got)
    for k, r in enumerate(ROWS):
        if r[2] is None:
            continue
        n = db.execute("SELECT COUNT(*) FROM t WHERE s = ?", (r[2],)).fetchone()[0]
        ok(f"{store}: row {k} found by its text", n == 1, n)
    ok(f"{store}: nothing is found by NULL =", db.execute(
        "SELECT COUNT(*) FROM t WHERE s = ?", (None,)).fetchone()[0] == 0)
    r = db.execute("SELECT '?', ?, 'it''s ?', ? -- a ? in a comment\n", ("x", None)).fetchone()
    ok(f"{store}: ? in literals and comments left alone", r == ("?", "x", "it's ?", None), r)
    res.append(r)
    r = db.execute("SELECT COUNT(*), SUM(f), COUNT(DISTINCT f), MAX(i), MIN(r), "
                   "COUNT(j) FROM t").fetchone()
    ok(f"{store}: aggregates", r == (7, 3, 2, 2 ** 62, -2.5, 5) and type(r[1]) is int, r)
    res.append(r)
    r = [x for (x,) in db.execute("SELECT i > 0 FROM t ORDER BY id")]
    ok(f"{store}: a comparison is 0 or 1", r == [1, None, 1, 0, 0, 1, 0], r)
    res.append(r)
    r = db.execute("SELECT r > 1e12, i || '/' || s FROM t WHERE i = ?", (42,)).fetchone()
    ok(f"{store}: an integer parameter, text joined to a number", r == (0, "42/"), r)
    res.append(r)
    r = dict(db.execute("SELECT f, COUNT(*) FROM t WHERE f IS NOT NULL GROUP BY f"))
    ok(f"{store}: dict() of a cursor", r == {0: 3, 1: 3}, r)
    res.append(sorted(r.items()))
    r = db.execute("SELECT a.id, b.id, a.s FROM t a JOIN t b ON b.id = a.id WHERE a.i = ?",
                   (-7,)).fetchone()
    ok(f"{store}: duplicate column names", r[0] == r[1] and r[2].startswith("Zoë"), r)
    res.append(r)
    db.row_factory = storedb.Row
    row = db.execute("SELECT id, i, s, r AS \"the r\" FROM t WHERE i = ?", (-7,)).fetchone()
    d = dict(row)
    ok(f"{store}: rows by name", list(d) == ["id", "i", "s", "the r"] and d["the r"] == -2.5
       and row["s"] == row[2] and row.keys() == ["id", "i", "s", "the r"], d)
    res.append(sorted(d.items()))
    db.row_factory = None
    ok(f"{store}: no row", db.execute("SELECT * FROM t WHERE id < 0").fetchone() is None)
    cur = db.execute("SELECT id FROM t ORDER BY id")
    ok(f"{store}: fetchone, then fetchall the rest",
       cur.fetchone() == (1,) and len(cur.fetchall()) == 6 and cur.fetchall() == [])
    ok(f"{store}: description", [c[0] for c in db.execute("SELECT i, s AS x FROM t").description]
       == ["i", "x"])

    # the dialect helpers
    r = [x for (x,) in db.execute(f"SELECT {db.json_text('j', 'transcribe')} FROM t ORDER BY id")]
    ok(f"{store}: json_text", r == ["done", None, "failed", None, None, None, "done"], r)
    res.append(r)
    n = db.execute(f"SELECT COUNT(*) FROM t WHERE {db.json_text('j', 'transcribe')} = ?",
                   ("done",)).fetchone()[0]
    ok(f"{store}: json_text in a condition", n == 2, n)
    segs = [(1, 0, "agent", 0.6, 5.5, "Good morning, this is Ann at ACME bank."),
            (1, 1, "customer", 6.6, 12.0, "I would like to check my savings balance."),
            (2, 0, "mixed", 1.0, 3.0, "Alpha bravo, Zoë's SAVINGS!")]
    for s in segs:
        if pg:
            db.execute("INSERT INTO transcript_segments (call_id, seg, speaker, t_start, t_end, "
                       "text, tsv) VALUES (?, ?, ?, ?, ?, ?, to_tsvector('simple', ?))",
                       s + (s[5],))
        else:
            db.execute("INSERT INTO transcript_fts (text, call_id, speaker) VALUES (?, ?, ?)",
                       (s[5], s[0], s[2]))
    db.commit()
    for q, want in (("savings", [1, 2]), ("Savings", [1, 2]), ("bank", [1]), ("nothing", []),
                    ("alpha bravo", [2])):
        got = sorted(x for (x,) in db.execute(db.search_sql("call_id"), (q,)))
        ok(f"{store}: search_sql {q!r}", got == want, got)
        res.append(got)
    size = db.size_bytes()
    ok(f"{store}: size_bytes", isinstance(size, int) and size > 0, size)

    # errors
    for sql, params in (("SELECT nosuch FROM t", ()), ("SELEC 1", ()),
                        ("INSERT INTO t (id) VALUES (?)", (1,))):
        try:
            db.execute(sql, params).fetchall()
            ok(f"{store}: {sql} fails", False, "no error")
        except storedb.Error as e:
            ok(f"{store}: {sql} is a sqlite3.Error", isinstance(e, sqlite3.Error), e)
    for params in ((), (1, 2)):
        try:
            db.execute("SELECT ?", params)
            ok(f"{store}: a wrong number of parameters fails", False)
        except sqlite3.ProgrammingError:
            ok(f"{store}: a wrong number of parameters is a ProgrammingError", True)
    db.execute("UPDATE t SET s = ? WHERE i = ?", ("updated", 0))
    db.execute("DELETE FROM t WHERE i IS NULL")
    db.commit()
    r = db.execute("SELECT COUNT(*), SUM(CASE WHEN s = 'updated' THEN 1 ELSE 0 END) FROM t").fetchone()
    ok(f"{store}: UPDATE and DELETE", tuple(r) == (6, 1), r)
    db.close()

    ro = storedb.connect(store, readonly=True)
    ok(f"{store}: read-only reads", ro.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 6)
    try:
        ro.execute("DELETE FROM t")
        ro.commit()
        ok(f"{store}: read-only refuses a write", False, "deleted")
    except storedb.Error:
        pass
    ro.close()
    ok(f"{store}: the read-only connection deleted nothing",
       storedb.connect(store).execute("SELECT COUNT(*) FROM t").fetchone()[0] == 6)

    cli = subprocess.run([sys.executable, os.path.join(HERE, "..", "lib", "storedb.py"), store,
                          "SELECT i, r, s, f, j FROM t WHERE i IN (?, ?) ORDER BY id", "42",
                          "-7"], capture_output=True, text=True)
    want = "-7|-2.5|Zoë Łukasz 李小龍 🎧 <b>&amp;</b>|1|\n42|1719842400.0||1|{\"transcribe\": null}\n"
    ok(f"{store}: the command line", cli.returncode == 0 and cli.stdout == want,
       (cli.returncode, cli.stdout, cli.stderr))
    cli = subprocess.run([sys.executable, os.path.join(HERE, "..", "lib", "storedb.py"), store,
                          "SELECT nosuch FROM t"], capture_output=True, text=True)
    ok(f"{store}: the command line's error", cli.returncode == 1 and "nosuch" in cli.stderr,
       (cli.returncode, cli.stderr))
    return res


sq, pg = sys.argv[1], sys.argv[2]
a = run(sq)
b = run(pg)
ok("SQLite and PostgreSQL give the same results", a == b,
   [(x, y) for x, y in zip(a, b) if x != y])
print(f"storedb: {checked} checks on SQLite and PostgreSQL, {len(a)} results equal on both")
