#!/usr/bin/env python3
"""migrate_check.py - helpers of tests/pipeline/test_store_migrate.sh.

  migrate_check.py fill DB           rows of every kind the store keeps that the other steps of
                                     the test do not make in bulk (llm_calls, job_events,
                                     counters, ingest_sources, workers), with awkward values:
                                     NULLs, UTF-8, quotes, newlines, a 70 kB text, integers past
                                     2^32, reals that are not short decimals
  migrate_check.py transcript N WORD a transcript in callqa's format with N segments, WORD in
                                     every seventh one (stdout)
  migrate_check.py compare A B PATH...  GET each PATH from the services at A and B; their JSON
                                     answers parsed and compared: equal, or the first place
                                     they differ. Numbers equal but for the last bits of a
                                     double are counted apart. Exit 1 when any answer differs
                                     or is not a 200. PATH#-KEY leaves the answer's KEY out.
"""
import json
import math
import sqlite3
import sys
import urllib.error
import urllib.request


def fill(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    n_calls = db.execute("SELECT MAX(id) FROM calls").fetchone()[0] or 0
    base = 1795000000.0
    purposes = ["score", "topic", "ai-analyze", "ask"]
    providers = ["openai", "anthropic", "Zoë's \"local\" LLM"]
    reals = [0.1 + 0.2, 1e-300, -0.0, 1e300, 123456789.123456789, 2.5, 1 / 3, 7.0]
    for i in range(1500):
        model = "gpt-%d" % (i % 7) if i % 5 else None
        if i == 3:
            model = "m" * 70000  # a long text
        if i == 4:
            model = "line one\nline two\ttab \\ backslash 'quote' \"dq\" 日本語 🎧"
        db.execute(
            "INSERT INTO llm_calls (ts, day, call_id, purpose, provider, model, input_tokens, "
            "output_tokens, latency_sec, cost_usd, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (base + i * 37.25, "2026-11-%02d" % (1 + i % 20), (i % n_calls) + 1 if i % 3 else None,
             purposes[i % 4], providers[i % 3], model,
             None if i % 11 == 0 else (2 ** 40 + i if i % 13 == 0 else 100 + i),
             None if i % 17 == 0 else 7 * i, reals[i % len(reals)] * (i + 1),
             None if i % 2 else reals[(i + 3) % len(reals)], "ok" if i % 9 else "http_429"))
    for i in range(130):  # POST /ask's record: who asked, the question, its queries (JSON)
        db.execute("INSERT INTO ask_log (ts, day, who, question, status, rounds, queries, refused, "
                   "elapsed_sec, error, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (base + i * 11.5, "2026-11-%02d" % (1 + i % 20), "token 10.0.0.%d" % (i % 250),
                    "calls of Zoë's team «today»? %d" % i, 200 if i % 7 else 503, i % 4, i % 11,
                    i % 3, reals[i % len(reals)], None if i % 7 else "llm_cap: the cap",
                    '[{"round":1,"sql":"SELECT \'x\'"}]'))
    states = ["pending", "analysing", "transcribed", "scoring", "complete", "skipped", "error"]
    for i in range(2200):
        db.execute("INSERT INTO job_events (ts, call_id, state) VALUES (?, ?, ?)",
                   (base + i * 0.001, (i % n_calls) + 1, states[i % len(states)]))
    for name, labels, v in [
            ("qa_jobs_finished_total", 'state="complete"', 2500.0),
            ("qa_errors_total", 'stage="analyse",reason="missing"', 25.0),
            ("qa_llm_cost_usd_total", 'provider="Zoë\'s \\"local\\" LLM"', 0.1 + 0.2),
            ("qa_queue_to_complete_seconds_sum", "", 1e12 + 0.5),
            ("qa_worker_pauses_total", 'reason="load"', 3.0)]:
        db.execute("INSERT OR REPLACE INTO counters (name, labels, value) VALUES (?, ?, ?)",
                   (name, labels, v))
    for src, mark, scan, owner in [("dialer1", 12345, base, None), ("watch", 0, None, "w:1"),
                                   ("Zoë-dialer", 2 ** 53 + 1, base + 0.125, "host:77")]:
        db.execute("INSERT INTO ingest_sources (source, mark, last_scan, lease_owner, "
                   "lease_expires, lease_token) VALUES (?, ?, ?, ?, ?, ?)",
                   (src, mark, scan, owner, base + 60 if owner else None, 3))
    db.execute("INSERT INTO workers (id, host, pid, started, heartbeat, state, pause_reason, "
               "jobs_done, current_call) VALUES ('büro:42', 'büro', 42, ?, ?, 'stopped', NULL, "
               "17, NULL)", (base, base + 5.5))
    db.execute("COMMIT")
    print("filled: llm_calls 1500, job_events 2200, counters 5, ingest_sources 3, workers 1")


def transcript(n, word):
    words = ["the", "account", "balance", "is", "fine", "thank", "you", "café", "Zoë", "please",
             "hold", "one", "moment", "order", "number", "twenty", "five"]
    segs = []
    for i in range(n):
        text = " ".join(words[(i * 3 + k) % len(words)] for k in range(6))
        if i % 7 == 0:
            text += " " + word
        segs.append({"speaker": "agent" if i % 2 else "customer", "start": i * 2.0,
                     "end": i * 2.0 + 1.75, "text": text})
    json.dump({"segments": segs}, sys.stdout, ensure_ascii=False)


class Diff(Exception):
    pass


def same(a, b, where, near):
    if isinstance(a, bool) or isinstance(b, bool):
        if a is not b:
            raise Diff("%s: %r vs %r" % (where, a, b))
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a != b:
            if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12):
                near.append("%s: %r vs %r" % (where, a, b))
            else:
                raise Diff("%s: %r vs %r" % (where, a, b))
    elif isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            raise Diff("%s: keys %s vs %s" % (where, sorted(set(a) - set(b)),
                                               sorted(set(b) - set(a))))
        for k in a:
            same(a[k], b[k], "%s.%s" % (where, k), near)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise Diff("%s: %d items vs %d" % (where, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, "%s[%d]" % (where, i), near)
    elif a != b or type(a) is not type(b):
        raise Diff("%s: %r vs %r" % (where, a, b))


def count_values(v):
    if isinstance(v, dict):
        return sum(count_values(x) for x in v.values())
    if isinstance(v, list):
        return sum(count_values(x) for x in v)
    return 1


def compare(a, b, paths):
    bad = 0
    for spec in paths:
        # PATH#-KEY: the answer's top-level KEY is left out (shown, not compared)
        p, *skip = spec.split("#-")
        got = []
        for base in (a, b):
            try:
                with urllib.request.urlopen(base + p, timeout=60) as r:
                    got.append((r.status, json.loads(r.read().decode("utf-8"))))
            except urllib.error.HTTPError as e:  # an error's answer is compared too
                got.append((e.code, json.loads(e.read().decode("utf-8"))))
        for k in skip:
            print("  %s %s: %r vs %r, not compared" % (p, k, got[0][1].pop(k, None),
                                                       got[1][1].pop(k, None)))
        near = []
        if got[0][0] != 200 and got[0][0] == got[1][0]:
            print("ERROR %s: status %d on both: %s" % (p, got[0][0], got[0][1]))
            bad += 1
            continue
        try:
            if got[0][0] != got[1][0]:
                raise Diff("status %d vs %d" % (got[0][0], got[1][0]))
            same(got[0][1], got[1][1], "$", near)
        except Diff as e:
            print("DIFF %s: %s" % (p, e))
            bad += 1
            continue
        print("same %s: %d values%s" % (p, count_values(got[0][1]),
                                        ", %d equal but for a double's last bits (%s)" %
                                        (len(near), near[0]) if near else ""))
    return 1 if bad else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "fill":
        fill(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "transcript":
        transcript(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
