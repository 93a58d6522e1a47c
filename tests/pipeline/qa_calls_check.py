#!/usr/bin/env python3
"""qa_calls_check.py - GET /api/qa/calls' filters, orders and badges, and the operations routes
(/api/qa/errors, /api/qa/throughput), against the store's own rows (test_qa_api.sh runs it after
the worker, on SQLite and on PostgreSQL).
   usage: qa_calls_check.py STORE BASE_URL"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import storedb

db = storedb.connect(sys.argv[1])
base = sys.argv[2]
fails = 0


def get(path, status=200):
    try:
        with urllib.request.urlopen(base + path) as r:
            code, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    assert code == status, (path, code, body[:300])
    return json.loads(body)


def check(name, fn):
    global fails
    try:
        note = fn()
        print("ok - %s%s" % (name, " (%s)" % note if note else ""))
    except AssertionError as e:  # noqa: PERF203
        fails += 1
        print("not ok - %s: %s" % (name, str(e)[:600]))


def ids(path):
    return [c["call_id"] for c in get(path)["calls"]]


rows = db.execute(
    "SELECT c.id, c.call_date, c.agent_user, c.campaign_id, sc.total_score, a.mos_in, a.mos_out, "
    "a.duration_sec, a.dead_air_sec, c.length_sec, a.legs, a.one_way, a.dtmf_count, a.warning_codes, "
    "a.clipping_pct, a.level_db FROM calls c LEFT JOIN analyses a ON a.call_id = c.id LEFT JOIN "
    "scores sc ON sc.call_id = c.id").fetchall()
by_id = {r[0]: r for r in rows}


def lower(a, b):
    vals = [v for v in (a, b) if v is not None]
    return min(vals) if vals else None


KEYS = {"call_date": lambda r: r[1], "agent_user": lambda r: r[2], "campaign_id": lambda r: r[3],
        "total_score": lambda r: r[4], "mos": lambda r: lower(r[5], r[6]),
        "duration": lambda r: r[7], "dead_air": lambda r: r[8], "call_length": lambda r: r[9]}


def want_order(key, asc):
    f = KEYS[key]
    nonnull = sorted((r for r in rows if f(r) is not None), key=lambda r: (f(r), r[0]),
                     reverse=not asc)
    nulls = sorted((r for r in rows if f(r) is None), key=lambda r: r[0], reverse=not asc)
    return [r[0] for r in nonnull + nulls]


def orders():
    seen = []
    for key in KEYS:
        for asc in (True, False):
            got = ids("/api/qa/calls?limit=500&sort=%s&order=%s" % (key, "asc" if asc else "desc"))
            want = want_order(key, asc)
            assert got == want, (key, asc, got, want)
        seen.append("%s %d null" % (key, sum(1 for r in rows if KEYS[key](r) is None)))
    assert ids("/api/qa/calls?limit=500") == want_order("call_date", False), "the default order"
    # a page of an order is the slice of it
    assert ids("/api/qa/calls?sort=mos&order=asc&limit=3&offset=2") == want_order("mos", True)[2:5]
    assert any(KEYS["mos"](r) is None for r in rows) and any(r[9] is None for r in rows), \
        "the orders' test needs calls without MOS and without a length"
    return "%d calls; %s" % (len(rows), ", ".join(seen))


check("every order, both directions, matches the store's values with nulls last and ties by id",
      orders)


def bad_args():
    for q in ("sort=length", "order=up", "dtmf=maybe", "q=", "q=%22%22", "sort="):
        d = get("/api/qa/calls?" + q, 400)
        assert d["code"] == "bad_argument" and " " in d["error"], (q, d)


check("unknown sort, order, dtmf and an empty q are refused with a sentence", bad_args)


def dtmf():
    with_ = sorted(ids("/api/qa/calls?limit=500&dtmf=1"))
    without = sorted(ids("/api/qa/calls?limit=500&dtmf=0"))
    assert with_ == sorted(r[0] for r in rows if (r[12] or 0) > 0), with_
    assert without == sorted(r[0] for r in rows if r[12] == 0), without
    assert with_ and without, "the corpus has calls with and without DTMF"
    assert get("/api/qa/calls?dtmf=1")["total"] == len(with_)
    return "%d with DTMF, %d analysed without" % (len(with_), len(without))


check("dtmf=1 and dtmf=0 select the calls with and without DTMF digits", dtmf)


def storedb_epoch(call_id):
    return db.execute("SELECT call_epoch FROM calls WHERE id = ?", (call_id,)).fetchone()[0]


def badges():
    n = {}
    for c in get("/api/qa/calls?limit=500")["calls"]:
        r = by_id[c["call_id"]]
        if r[10] is None:
            assert c["badges"] is None, c
            n["null"] = n.get("null", 0) + 1
            continue
        codes = (r[13] or "").split(",")
        want = [b for b, on in (
            ("one_way", r[11] == 1), ("dead_air", (r[8] or 0) >= 10),
            ("clipping", r[14] is not None and r[14] >= 0.1),
            ("low_level", r[15] is not None and r[15] < -35),
            ("fake_stereo", "fake_stereo" in codes or "near_identical_legs" in codes),
            ("swapped_legs", "legs_swapped" in codes),
            ("mos_low", any(m is not None and m < 3.0 for m in (r[5], r[6])))) if on]
        assert c["badges"] == want, (c["recording_id"], c["badges"], want)
        assert c["call_epoch"] == storedb_epoch(c["call_id"]), c
        assert "call_epoch" in c, c
        for b in want:
            n[b] = n.get(b, 0) + 1
    one_way = get("/api/qa/call/R2")
    assert "one_way" in one_way["badges"], one_way["badges"]
    assert get("/api/qa/call/R11")["badges"] is None
    assert n.get("clipping", 0) >= 1, "call07_clipping has the clipping badge"
    return ", ".join("%s %d" % kv for kv in sorted(n.items()))


check("badges follow the stored figures; the one-way call has one_way, an unanalysed call null",
      badges)


def search():
    word = "zyxwvutsrq"
    tx = {"segments": [{"speaker": "agent", "start": 0.5, "end": 2.0,
                        "text": "Thank you for calling, my name is Ann " + word},
                       {"speaker": "customer", "start": 2.5, "end": 4.0,
                        "text": "I would like to close my account"}]}
    req = urllib.request.Request(base + "/api/qa/call/R1/transcript", data=json.dumps(tx).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    r1 = get("/api/qa/call/R1")["call_id"]
    assert ids("/api/qa/calls?q=" + word) == [r1]
    assert ids("/api/qa/calls?q=" + urllib.parse.quote('"close my account"')) == [r1]
    assert ids("/api/qa/calls?q=" + urllib.parse.quote('"my account close"')) == []
    assert ids("/api/qa/calls?q=%s%%20nosuchword" % word) == []
    # FTS5 syntax in the words is words, not syntax
    assert ids("/api/qa/calls?q=" + urllib.parse.quote('close* AND (NEAR') ) == []
    assert ids("/api/qa/calls?q=account&dtmf=1&sort=mos") == \
        ([r1] if (by_id[r1][12] or 0) > 0 else [])
    d = get("/api/qa/calls?q=account")
    assert d["total"] == 1 and d["calls"][0]["call_id"] == r1, d["total"]


check("q finds the calls whose transcript holds the words (a phrase, syntax as words)", search)


def errors():
    d = get("/api/qa/errors")
    want = db.execute("SELECT j.error_stage, j.error_message, c.recording_id FROM jobs j JOIN calls "
                      "c ON c.id = j.call_id WHERE j.state = 'error'").fetchall()
    assert d["hours"] == 24 and d["total"] == len(want) >= 1, (d, want)
    assert sum(g["n"] for g in d["errors"]) == len(want)
    g = d["errors"][0]
    assert (g["stage"], g["reason"], g["n"]) == ("analyse", "unreadable", 1), g
    # no server path, as stored (the worker names files by their names) and as answered (a
    # message stored with paths before is answered with file names: docs/service.md)
    stored = want[0][1]
    assert "/" not in stored and "/" not in g["example"]["message"], (g, stored)
    assert g["example"]["recording_id"] == "R11", g
    assert g["example"]["message"] == stored, (g, stored)
    assert g["example"]["message"].startswith("unreadable: ") and g["last_ts"] > 0
    assert isinstance(d["retries"], list)
    assert get("/api/qa/errors?hours=720")["total"] == len(want)
    for bad in ("0", "721", "x"):
        assert "hours" in get("/api/qa/errors?hours=" + bad, 400)["error"]
    return "%d error: %s %s" % (len(want), g["stage"], g["reason"])


check("/api/qa/errors groups the failed jobs by stage and reason with an example", errors)


def throughput():
    d = get("/api/qa/throughput?hours=24")
    b = d["buckets"]
    assert len(b) == 24 and all(b[i + 1]["hour"] - b[i]["hour"] == 3600 for i in range(23))
    assert b[0]["hour"] == d["since"] and b[-1]["hour"] % 3600 == 0
    states = dict(db.execute("SELECT state, COUNT(*) FROM jobs WHERE state IN ('complete', "
                             "'error', 'skipped') GROUP BY state").fetchall())
    for st in ("complete", "error", "skipped"):
        assert sum(x[st] for x in b) == states.get(st, 0) == d["totals"][st], (st, states, d)
    per_hour = {}
    for (f, st) in db.execute("SELECT finished, state FROM jobs WHERE finished IS NOT NULL"):
        k = int(f // 3600 * 3600)
        per_hour.setdefault(k, {}).setdefault(st, 0)
        per_hour[k][st] += 1
    for x in b:
        for st in ("complete", "error", "skipped"):
            assert x[st] == per_hour.get(x["hour"], {}).get(st, 0), (x, per_hour)
    # the same current hour (or the next one, when an hour began between the two requests)
    h1 = get("/api/qa/throughput?hours=1")["buckets"][0]["hour"]
    assert h1 == b[-1]["hour"] or h1 == get("/api/qa/throughput?hours=24")["buckets"][-1]["hour"], (h1, b[-1])
    get("/api/qa/throughput?hours=721", 400)
    return "complete %d, error %d, skipped %d" % tuple(states.get(s, 0) for s in
                                                       ("complete", "error", "skipped"))


check("/api/qa/throughput counts the finished jobs per UTC hour, every hour present", throughput)
sys.exit(1 if fails else 0)
