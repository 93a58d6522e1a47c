"""cat_ask.py - POST /ask's time (docs/ask.md, "Time"): one call of a function the time limit
cannot see inside, and a long /ask beside other callers' requests. The service runs on a SQLite
store with the fake LLM of tests/clients (fake_llm.py --ask-plan: it asks for the query of the
question's plan, then answers).

  ask_functions    instr, LIKE, GLOB, replace, trim over long text (the review's 2 million
                   characters among them), long patterns, zeroblob, randomblob, hex, strings
                   built by a recursive CTE and group_concat, upper/lower/substr on long text
                   row after row: each query refused (its layer named) or cut, within 1 s of
                   ask_timeout_sec (3 s) in the service's CPU (SQLite runs in it), and the
                   service's /health answering after each (the lexical pre-check off: the
                   engine's layers hold alone). The queries the limit may cut run on a service
                   whose limit is 3 s, those refused by another layer on one whose limit is calm
                   (60 s), so that a loaded machine's slow refusal is never read as a timeout;
  ask_concurrency  one caller's long /ask (a query that runs to its limit, 20 s here), a second
                   caller's /ask answered before that query ended, and the first caller's
                   second /ask meanwhile 429 (the order seen in the fake LLM's log); two
                   callers' long /ask and a POST /analyze answered while both still ran (/ask
                   never holds an analysis thread).
"""
import json
import os
import subprocess
import sys
import threading
import time

import rtlib as rt
from rtlib import Service, check

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 3.0  # ask_timeout_sec of the service whose queries the limit may cut
CALM = 60.0  # ask_timeout_sec of the one whose queries other layers refuse
LONG_SEC = 20.0  # ask_timeout_sec of ask_concurrency's: the long /ask's window


def A(n):
    return "printf('%%.*c', %d, 'a')" % n


def RECUR(seed):
    return ("WITH RECURSIVE r(n, s) AS (SELECT 1, %s UNION ALL SELECT n + 1, s FROM r) " % seed)


# (id, sql, layers it may be refused by; "ran": it ran to its end, here at once)
FUNCTIONS = [
    # printf's result past the longest value (1 MiB) is NULL: instr(NULL, ...) ends at once
    ("review instr, 2 million characters", "SELECT instr(%s, %s || 'b')" % (A(2000000), A(1000000)),
     ["ran"]),
    ("instr over 1 MB", "SELECT instr(%s, %s || 'b')" % (A(1000000), A(500000)), ["size"]),
    ("LIKE over 1 MB", "SELECT %s LIKE '%%' || %s || 'b'" % (A(1000000), A(100000)), ["size"]),
    ("LIKE, a long pattern", "SELECT %s LIKE %s || '%%b'" % (A(1000000), A(40000)), ["size"]),
    ("like() called by name", "SELECT like('%%' || %s || 'b', %s)" % (A(100000), A(1000000)),
     ["size"]),
    ("GLOB over 1 MB", "SELECT %s GLOB '*' || %s || 'b'" % (A(1000000), A(100000)), ["size"]),
    ("GLOB, classes", "SELECT %s GLOB '*' || replace(%s, 'a', '[a]') || 'b'" % (A(1000000), A(3000)),
     ["size"]),
    ("replace over 1 MB", "SELECT length(replace(%s, %s || 'b', 'x'))" % (A(1000000), A(500000)),
     ["size"]),
    ("replace, its result", "SELECT length(replace(%s, 'a', %s))" % (A(1000000), A(100)), ["size"]),
    ("trim with a long set", "SELECT length(trim(%s, printf('%%.*c', 100000, 'b') || 'a'))"
     % A(1000000), ["size"]),
    ("zeroblob", "SELECT zeroblob(1000000000)", ["authorizer"]),
    ("randomblob", "SELECT randomblob(1000000000)", ["authorizer"]),
    ("hex of a long blob", "SELECT length(hex(zeroblob(100000000)))", ["authorizer"]),
    ("a string doubled by a recursive CTE",
     "WITH RECURSIVE r(s) AS (SELECT 'a' UNION ALL SELECT s || s FROM r) SELECT length(s) FROM r",
     ["size"]),
    ("group_concat of a recursive CTE",
     RECUR("printf('%.*c', 1000, 'a')") + "SELECT length(group_concat(s)) FROM r",
     ["timeout", "size"]),
    ("upper on 1 MB, row after row",
     RECUR(A(1000000)) + "SELECT count(*) FROM r WHERE length(upper(s)) > 0", ["timeout"]),
    ("lower and substr on 1 MB, row after row",
     RECUR(A(1000000)) + "SELECT count(*) FROM r WHERE substr(lower(s), 999999, 1) = 'b'",
     ["timeout"]),
    ("trim within its bound, row after row",
     RECUR(A(10000)) + "SELECT count(*) FROM r WHERE trim(s, printf('%.*c', 1900, 'b') || 'a') "
     "<> ''", ["timeout"]),
    ("LIKE within its bound, row after row",
     RECUR(A(100000)) + "SELECT count(*) FROM r WHERE s LIKE '%%' || %s || 'b'" % A(390),
     ["timeout"]),
]

LONG = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
SHORT = "SELECT count(*) AS n FROM calls"


def plans(path):
    p = {}
    for i, (name, sql, _) in enumerate(FUNCTIONS):
        p["fn%d" % i] = {"mode": "text", "rounds": [[{"type": "callqa", "sql": sql}]],
                         "answer": "done"}
    # a long /ask: a query that runs to its limit
    p["long"] = {"mode": "text", "rounds": [[{"type": "callqa", "sql": LONG}]], "answer": "long"}
    p["short"] = {"mode": "text", "rounds": [[{"type": "callqa", "sql": SHORT}]], "answer": "short"}
    with open(path, "w") as f:
        json.dump(p, f)


class Ask:
    """the fake LLM and a service on a SQLite store, /ask's limit `limit`"""

    def __init__(self, root, lexical=True, limit=TIMEOUT):
        os.makedirs(root, exist_ok=True)
        plans(os.path.join(root, "plans.json"))
        port_file = os.path.join(root, "llm.port")
        self.llm = subprocess.Popen(
            [sys.executable, os.path.join(SRC, "tests", "clients", "fake_llm.py"), "--log",
             os.path.join(root, "llm"), "--port-file", port_file, "--model", "fake-ask",
             "--ask-plan", os.path.join(root, "plans.json")],
            stderr=open(os.path.join(root, "llm.err"), "ab"))
        rt.until(lambda: os.path.exists(port_file) or self.llm.poll() is not None)
        port = int(open(port_file).read().strip())
        self.log = os.path.join(root, "llm", "requests.jsonl")
        self.svc = Service(os.path.join(root, "svc"), env={
            "CALLQA_LLM_PROVIDER": "openai", "CALLQA_LLM_URL": "http://127.0.0.1:%d/v1" % port,
            "CALLQA_LLM_MODEL": "fake-ask", "CALLQA_ASK_TIMEOUT_SEC": str(limit),
            "CALLQA_ASK_TOOLS": "false", "CALLQA_MAX_CONCURRENT": "2",
            "CALLQA_ASK_LEXICAL": "true" if lexical else "false"})

    def ask(self, question, source=None, timeout=rt.HANG):
        """(status, answer, seconds)"""
        t0 = time.time()
        s, _, b = self.svc.request("POST", "/ask", json.dumps({"question": question}).encode(),
                                   {"Content-Type": "application/json"}, timeout=timeout,
                                   source=source)
        try:
            a = json.loads(b)
        except ValueError:
            a = {"raw": b[:200]}
        return s, a, time.time() - t0

    def asked(self, question, rnd):
        """how many requests for the question's round `rnd` the fake LLM has had (each is
        recorded before its answer goes out)"""
        try:
            with open(self.log) as f:
                recs = [json.loads(line) for line in f if line.strip()]
        except OSError:
            return 0
        return sum(1 for r in recs if r.get("ask", {}).get("question") == question and
                   r["ask"].get("round") == rnd)

    def stop(self):
        self.svc.stop()
        self.llm.terminate()
        self.llm.wait()


HZ = os.sysconf("SC_CLK_TCK")


def cpu_sec(pid):
    """seconds of CPU of process pid (every thread, and its ended children reaped)"""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    return sum(int(x) for x in st[st.rindex(")") + 2:].split()[11:15]) / HZ


def outcome(st, a):
    """the last query's outcome: its refusing layer, "ran", or the HTTP status"""
    qs = a.get("queries") or []
    if st != 200 or not qs:
        return "http %s %s" % (st, a.get("code"))
    q = qs[-1]
    return q["refused"]["layer"] if q.get("refused") else "ran"


def cat_ask_functions(root):
    # the lexical pre-check off: it refuses replace (a keyword) and zeroblob by name, and the
    # engine's layers must hold without it
    asks = {}
    try:
        worst = 0.0
        for i, (name, sql, layers) in enumerate(FUNCTIONS):
            which = "short" if "timeout" in layers else "calm"
            if which not in asks:
                asks[which] = Ask(os.path.join(root, "ask_functions_" + which), lexical=False,
                                  limit=TIMEOUT if which == "short" else CALM)
            ask = asks[which]
            c0 = cpu_sec(ask.svc.proc.pid)
            try:
                st, a, t = ask.ask("fn%d" % i)
            except OSError as e:  # no answer at all within the request's own time
                check("/ask %s: answered" % name, False, "no answer in %.0f s: %s" % (rt.HANG, e))
                continue
            cpu = cpu_sec(ask.svc.proc.pid) - c0
            got = outcome(st, a)
            q = (a.get("queries") or [{}])[-1]
            el = q.get("elapsed_sec") or 0
            worst = max(worst, cpu)
            h, ht = ask.svc.health()
            check("/ask %s: %s within 1 s of ask_timeout_sec in the service's CPU (%.2f s of CPU; "
                  "the query %.2f s, the request %.2f s)" % (name, got, cpu, el, t),
                  got in layers and cpu <= TIMEOUT + 1.0 and h == 200,
                  "%s, not %s; %s; %.2f s of CPU; health %s" % (
                      got, "/".join(layers), (q.get("refused") or {}).get("error"), cpu, h))
        print("# the most CPU of one /ask: %.2f s (ask_timeout_sec %.1f)" % (worst, TIMEOUT))
    finally:
        for ask in asks.values():
            ask.stop()


def in_thread(fn, *args):
    out = {}

    def run():
        try:
            out["r"] = fn(*args)
        except Exception as e:  # noqa: BLE001 - recorded, checked by the caller
            out["e"] = e
        out["t"] = time.time()
    th = threading.Thread(target=run)
    th.start()
    return th, out


def cat_ask_concurrency(root):
    ask = Ask(os.path.join(root, "ask_concurrency"), limit=LONG_SEC)
    # a short recording (2.8 s): its analysis, with the models, ends well within the long /ask
    wav = os.path.join(rt.CORPUS, "speech", "ps_goforward.wav")
    try:
        # one caller's long /ask; once its query runs (the fake LLM has answered its first
        # request), a second caller's /ask is answered before that query ends (the first's
        # result not yet handed to the fake LLM), and the first caller's second /ask is 429
        th, long1 = in_thread(ask.ask, "long", "127.0.0.2")
        rt.until(lambda: ask.asked("long", 0) >= 1 or not th.is_alive())
        st, a, t = ask.ask("short", "127.0.0.3")
        before_end = ask.asked("long", 1) == 0
        st2, a2, t2 = ask.ask("short", "127.0.0.2")
        running = ask.asked("long", 1) == 0 and th.is_alive()
        th.join()
        s1, a1, t1 = long1.get("r", (None, {}, 0))
        check("a long /ask (%.1f s, %s) and a second caller's /ask answered before its query "
              "ended (%.2f s)" % (t1, outcome(s1, a1), t),
              st == 200 and outcome(st, a) == "ran" and before_end
              and outcome(s1, a1) == "timeout",
              "second: %s %s in %.2f s, before the first's query ended: %s; first %s"
              % (st, outcome(st, a), t, before_end, outcome(s1, a1)))
        check("the same caller's second /ask while its first runs: 429 ask_busy (%.2f s)" % t2,
              st2 == 429 and a2.get("code") == "ask_busy" and running,
              "%s %s; the first still running: %s" % (st2, a2, running))
        # two callers' long /ask: the analyses go on meanwhile
        n0 = ask.asked("long", 0)
        th1, o1 = in_thread(ask.ask, "long", "127.0.0.2")
        th2, o2 = in_thread(ask.ask, "long", "127.0.0.3")
        rt.until(lambda: ask.asked("long", 0) >= n0 + 2 or not (th1.is_alive() and th2.is_alive()))
        t0 = time.time()
        s, _, b = ask.svc.request("POST", "/analyze?name=x.wav", open(wav, "rb").read(),
                                  {"Content-Type": "audio/wav"})
        ta = time.time() - t0
        both = th1.is_alive() and th2.is_alive()
        h, ht = ask.svc.health()
        th1.join()
        th2.join()
        check("two callers' long /ask (%.1f s, %.1f s) and a POST /analyze answered while both "
              "still ran (%.2f s), /health in %.2f s"
              % (o1.get("t", t0) - t0, o2.get("t", t0) - t0, ta, ht),
              s == 200 and both and h == 200, "analyze %s %s; both /ask running: %s"
              % (s, b[:120], both))
    finally:
        ask.stop()


CATEGORIES = [("ask_functions", cat_ask_functions), ("ask_concurrency", cat_ask_concurrency)]
