"""cat_audit.py - the audit trail and who may do what, against the real service: every read that
returns calls leaves a row per call, off the request's path (a locked store does not stall the
answers, a full queue is counted, a SIGTERM writes what is queued); pause marks name their
sender, are refused on another's stored call, applied by the worker only within the sender's
scope, and rate-limited; a new password ends the user's sessions (tokens are revoked apart)."""
import json
import math
import os
import sqlite3
import subprocess
import threading
import time
import urllib.parse

import rtlib as rt
from rtlib import Service, healthy, metric, multipart

TOKEN = "audit-token-" + "a" * 30
PW = "a-long-password-1"


def check(name, ok, detail=""):
    return rt.check(name, ok, repr(detail) if isinstance(detail, tuple) else detail)


RUNNING = []  # the services a category started (ending stops what is left of them)


def started(*args, **kw):
    RUNNING.append(Service(*args, **kw))
    return RUNNING[-1]


def ending(fn):
    """The category's services end with it, even when a case raised (else one would outlive the
    suite)."""
    def run(root):
        try:
            fn(root)
        finally:
            while RUNNING:
                svc = RUNNING.pop()
                if svc.proc.poll() is None:
                    svc.proc.kill()
                    svc.proc.wait()
    return run


def cli(*args, stdin=None):
    return subprocess.run([rt.CQ, *args], input=stdin, capture_output=True, text=True)


def add_user(svc, name, role, scope=None):
    args = ["user", "add", name, "--role", role, "--db", svc.db, "--password-stdin"]
    if scope:
        args += ["--scope", scope]
    r = cli(*args, stdin=PW + "\n")
    t = cli("user", "token", name, "--db", svc.db)
    if r.returncode or t.returncode:
        raise RuntimeError("callqa user: %s %s" % (r.stderr, t.stderr))
    return t.stdout.strip()


def as_(token):
    return {"Authorization": "Bearer " + token} if token else {"Authorization": None}


def get(svc, path, token=TOKEN, headers=None, timeout=rt.HANG):
    h = as_(token)
    h.update(headers or {})
    try:
        s, hd, b = svc.request("GET", path, headers=h, timeout=timeout)
    except OSError as e:  # no answer within the timeout
        return 0, str(e), {}
    try:
        return s, json.loads(b), hd
    except ValueError:
        return s, b, hd


def post(svc, path, body, token=TOKEN, headers=None):
    h = as_(token)
    h.update({"Content-Type": "application/json"})
    h.update(headers or {})
    s, hd, b = svc.request("POST", path, json.dumps(body).encode(), h)
    try:
        return s, json.loads(b), hd
    except ValueError:
        return s, b, hd


def upload(svc, rid, agent, campaign, uid=None, call_date=None, wav=None):
    meta = {"recording_id": rid, "agent_user": agent, "campaign_id": campaign,
            "call_date": call_date or time.strftime("%Y-%m-%d") + " 09:00:00"}
    if uid:
        meta["uniqueid"] = uid
    wav = wav or os.path.join(rt.CORPUS, "calls", "call10_busy.wav")
    body, ctype = multipart([("metadata", None, "application/json", json.dumps(meta).encode()),
                             ("audio", os.path.basename(wav), "audio/wav", open(wav, "rb").read())])
    s, _, b = svc.request("POST", "/api/qa/calls", body, {"Content-Type": ctype})
    if s != 201:
        raise RuntimeError("upload %s: %s %s" % (rid, s, b[:200]))


def audit_after(svc, after, want=1, action=None):
    """The audit trail's entries after id `after` (the admin's read: the queue is written
    first), read again until there are `want` (of `action`, when given; rt.HANG s at most): a
    request's rows are handed over once its answer is sent, which its client may have read a
    moment before."""
    end = time.time() + rt.HANG
    while True:
        s, b, _ = get(svc, "/api/qa/audit?limit=100000&after=%d" % after)
        ent = b.get("entries", []) if s == 200 else []
        if len([e for e in ent if action is None or e["action"] == action]) >= want or \
                time.time() > end:
            return ent
        time.sleep(0.05)


def last_id(svc):
    e = audit_after(svc, 0, 0)
    return e[-1]["id"] if e else 0


class Lock:
    """The store's write lock held by another connection (BEGIN IMMEDIATE), as a worker or an
    operator's transaction holds it."""

    def __init__(self, db):
        self.con = sqlite3.connect(db, timeout=10, isolation_level=None)
        self.con.execute("BEGIN IMMEDIATE")

    def release(self):
        self.con.execute("ROLLBACK")
        self.con.close()


# ---- reads that return calls ---------------------------------------------------------------------

@ending
def cat_audit_reads(root):
    svc = started(os.path.join(root, "audit_reads"), token=TOKEN)
    bob = add_user(svc, "bob", "agent")
    calls = {"RA%d" % i: ("ann", "BANK") for i in range(1, 4)}
    calls.update({"RB%d" % i: ("bob", "SALES") for i in range(1, 4)})
    for rid, (agent, camp) in calls.items():
        upload(svc, rid, agent, camp, uid="U" + rid)
        s, _, _ = post(svc, "/api/qa/call/%s/transcript" % rid,
                       {"segments": [{"speaker": "agent", "start": 0.0, "end": 0.9,
                                      "text": "your refund for %s is on its way" % rid}]})
    before = last_id(svc)
    s, b, _ = get(svc, "/api/qa/calls?limit=500")
    got = sorted(c["recording_id"] for c in b.get("calls", [])) if s == 200 else []
    rows = [e for e in audit_after(svc, before, 6, "list") if e["action"] == "list"]
    check("GET /api/qa/calls?limit=500 (6 calls, transcripts and all): one audit row per call "
          "returned", s == 200 and len(got) == 6 and sorted(e["target"] for e in rows) == got
          and all(e["who"] == "token" and e["status"] == 200 for e in rows),
          "answered %s, rows %s" % (got, [(e["target"], e["who"]) for e in rows]))
    before = last_id(svc)
    s, b, _ = get(svc, "/api/qa/calls", bob)
    got = sorted(c["recording_id"] for c in b.get("calls", [])) if s == 200 else []
    rows = [e for e in audit_after(svc, before, 3, "list") if e["action"] == "list"]
    check("  an agent's list: his three calls, a row each naming him",
          got == ["RB1", "RB2", "RB3"] and sorted(e["target"] for e in rows) == got
          and all(e["who"] == "bob" and e["role"] == "agent" for e in rows),
          "%s %s" % (got, [(e["target"], e["who"]) for e in rows]))
    before = last_id(svc)
    s, b, _ = get(svc, "/api/qa/search?q=refund", bob)
    got = sorted(c["recording_id"] for c in b.get("calls", [])) if s == 200 else []
    ent = audit_after(svc, before, 4)
    check("  a search: its own row (the words) and a row per call it returned",
          got == ["RB1", "RB2", "RB3"]
          and [e["target"] for e in ent if e["action"] == "search"] == ["refund"]
          and sorted(e["target"] for e in ent if e["action"] == "list") == got,
          "%s %s" % (got, [(e["action"], e["target"]) for e in ent]))
    before = last_id(svc)
    s, _, _ = get(svc, "/api/qa/flagged?days=90")
    s2, _, _ = get(svc, "/api/qa/call/RA1/envelope", bob)
    ent = audit_after(svc, before, 2)
    check("  the flagged queue (none flagged) and a call's envelope (refused: not his) leave "
          "their rows", s == 200 and s2 == 404 and
          sorted((e["action"], e["status"]) for e in ent) == [("envelope", 404), ("list", 200)],
          [(e["action"], e["target"], e["status"]) for e in ent])

    # off the request's path: the store's write lock held by another connection until 12 reads
    # have been answered (a read that waited on the audit trail would wait for the release)
    before = last_id(svc)
    lock = Lock(svc.db)
    times = []
    try:
        for i in range(12):
            t0 = time.time()
            s, _, _ = get(svc, "/api/qa/call/RA%d" % (i % 3 + 1))
            times.append((s, time.time() - t0))
    finally:
        lock.release()
    check("a store locked by another writer: 12 audited reads all answered while it was locked, "
          "none waiting on the audit trail (the longest %.2f s)" % max(dt for _, dt in times),
          all(s == 200 for s, _ in times), ["%d %.2fs" % x for x in times])
    rows = [e for e in audit_after(svc, before, 12, "view") if e["action"] == "view"]
    check("  their 12 view rows are written once the lock is released", len(rows) == 12,
          len(rows))

    # SIGTERM with rows queued (the store locked): the drain writes every one
    before = last_id(svc)
    lock = Lock(svc.db)
    answered = []

    def burst(k):
        for i in range(60):
            s, _, _ = get(svc, "/api/qa/call/RB%d" % (k % 3 + 1))
            answered.append(s)

    ts = [threading.Thread(target=burst, args=(k,)) for k in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    svc.proc.send_signal(15)
    time.sleep(1.0)  # the service drains: it waits for the store
    lock.release()
    rc = svc.proc.wait(rt.HANG)
    con = sqlite3.connect(svc.db)
    n = con.execute("SELECT COUNT(*) FROM audit_log WHERE id > ? AND action = 'view'",
                    (before,)).fetchone()[0]
    con.close()
    log = open(svc.log, errors="replace").read()
    check("SIGTERM while the store is locked: the 240 answered reads' rows are all written by "
          "the drain, the service exits 0", answered.count(200) == 240 and n == 240 and rc == 0,
          "answered %d, rows %d, rc %s" % (answered.count(200), n, rc))
    check("  the drain says what it wrote", '"msg":"the audit queue is drained"' in log
          and '"dropped":0' in log.split("the audit queue is drained")[-1][:200], log[-400:])


# ---- a full queue --------------------------------------------------------------------------------

@ending
def cat_audit_queue(root):
    svc = started(os.path.join(root, "audit_queue"), token=TOKEN,
                  env={"CALLQA_AUDIT_QUEUE_ROWS": "64", "CALLQA_AUDIT_QUEUE_WAIT_SEC": "0.2"})
    upload(svc, "Q1", "ann", "BANK")
    before = last_id(svc)
    lock = Lock(svc.db)
    times = []
    # the lock held until every read is answered: one that waited for the store would not be
    try:
        for i in range(100):
            t0 = time.time()
            s, _, _ = get(svc, "/api/qa/call/Q1")
            times.append((s, time.time() - t0))
        healthy(svc, "a full audit queue")
    finally:
        lock.release()
    time.sleep(0.5)  # the last request's row is handed over once its answer is sent
    rows = [e for e in audit_after(svc, before, 100 - int(
        metric(svc, 'callqa_audit_rows_total{outcome="dropped"}') or 0)) if e["action"] == "view"]
    dropped = metric(svc, 'callqa_audit_rows_total{outcome="dropped"}')
    slow = [dt for _, dt in times if dt > 0.15]
    check("a full audit queue (64 rows, the store locked): every read answered while the store "
          "was locked, those that found it full after a wait (%d over 0.15 s, the longest %.2f s)"
          % (len(slow), max(dt for _, dt in times)), all(s == 200 for s, _ in times) and slow,
          "slow %d, max %.2f" % (len(slow), max(dt for _, dt in times)))
    check("  what could not wait is counted: written + dropped = 100, dropped in /metrics",
          dropped is not None and dropped > 0 and len(rows) + dropped == 100,
          "rows %d, dropped %s" % (len(rows), dropped))
    log = open(svc.log, errors="replace").read()
    check("  and said in the log", "audit rows dropped" in log, log[-300:])
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0", rc == 0, rc)


# ---- pause marks -----------------------------------------------------------------------------------

@ending
def cat_audit_marks(root):
    models = os.path.join(os.path.dirname(os.path.abspath(rt.CORPUS)), "models")
    env = {"CALLQA_MARKS_PER_MINUTE": "10", "CALLQA_REDACT_CAMPAIGNS": "BANK=all",
           "CALLQA_REDACT_AUDIO": "mute"}
    if os.path.isdir(models):
        env["CALLQA_MODEL_DIR"] = models
    svc = started(os.path.join(root, "audit_marks"), token=TOKEN, env=env)
    env["CALLQA_REDACT_DIR"] = os.path.join(svc.root, "redacted")
    ann = add_user(svc, "ann", "agent")
    bob = add_user(svc, "bob", "agent")
    sue = add_user(svc, "sue", "supervisor", "campaign:SALES")
    upload(svc, "RA1", "ann", "BANK", uid="1764100000.7")
    now = time.time()
    for who, tok in (("bob (an agent)", bob), ("sue (a supervisor of SALES)", sue)):
        s1, b1, _ = post(svc, "/api/qa/marks", {"call": "1764100000.7", "mark": "pause"}, tok)
        s2, _, _ = post(svc, "/api/qa/marks", {"call": "RA1", "mark": "pause"}, tok)
        check("%s marks ann's stored BANK call, by uniqueid and recording id: 403 both" % who,
              s1 == 403 and s2 == 403 and b1.get("code") == "out_of_scope", (s1, s2, b1))
    s, _, _ = post(svc, "/api/qa/marks", {"call": "1764100000.7", "mark": "pause", "at": now}, ann)
    check("ann marks her own call: 201", s == 201, s)
    con = sqlite3.connect(svc.db)
    cur = con.execute("SELECT * FROM redact_marks")
    names = [d[0] for d in cur.description]
    rows = [tuple(dict(zip(names, r)).get(k) for k in ("call_ref", "who", "client", "scope"))
            for r in cur.fetchall()]
    con.close()
    check("  the mark names its sender, her address and her scope (not the address alone)",
          rows == [("1764100000.7", "ann", "127.0.0.1", "agent:ann")], rows)
    ent = [e for e in audit_after(svc, 0, 5, "mark") if e["action"] == "mark"]
    check("  the audit trail names each sender and the refusals",
          sorted((e["who"], e["status"]) for e in ent) ==
          [("ann", 201), ("bob", 403), ("bob", 403), ("sue", 403), ("sue", 403)],
          [(e["who"], e["status"]) for e in ent])
    # a mark placed before its call is stored: applied only within the sender's scope
    call_date = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now - 3600))
    t0 = time.mktime(time.strptime(call_date, "%Y-%m-%d %H:%M:%S"))
    s, _, _ = post(svc, "/api/qa/marks", {"call": "1764100000.9", "mark": "pause", "at": t0 + 40},
                   bob)
    check("bob pauses a call not stored yet at 40 s (no resume): kept (201)", s == 201, s)
    upload(svc, "RA2", "ann", "BANK", uid="1764100000.9", call_date=call_date,
           wav=os.path.join(rt.CORPUS, "calls", "call01_normal.wav"))
    con = sqlite3.connect(svc.db)
    epoch = con.execute("SELECT call_epoch FROM calls WHERE recording_id = 'RA2'").fetchone()[0]
    con.close()
    s1, _, _ = post(svc, "/api/qa/marks", {"call": "1764100000.9", "mark": "pause",
                                           "at": epoch + 10}, ann)
    s2, _, _ = post(svc, "/api/qa/marks", {"call": "1764100000.9", "mark": "resume",
                                           "at": epoch + 15}, ann)
    check("  it is stored as ann's call; she pauses 10-15 s (201, 201)", (s1, s2) == (201, 201),
          (s1, s2))
    w = subprocess.run([rt.CQ, "worker", "--db", svc.db, "--once", "--jobs", "1", "--max-load",
                        "0", "--no-idle", "--backoff-sec", "0.2", "--max-retries", "1"],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, **env, TMPDIR=os.path.join(svc.root, "tmp")))
    con = sqlite3.connect(svc.db)
    row = con.execute("SELECT a.report, a.redacted_audio FROM analyses a JOIN calls c ON "
                      "c.id = a.call_id WHERE c.recording_id = 'RA2'").fetchone()
    con.close()
    red = json.loads(row[0]).get("redaction", {}) if row and row[0] else {}
    quiet_after = None
    if row and row[1] and os.path.isfile(row[1]):
        import struct
        import wave
        f = wave.open(row[1])
        rate, ch, n = f.getframerate(), f.getnchannels(), f.getnframes()
        x = struct.unpack("<%dh" % (n * ch), f.readframes(n))
        late = x[int((t0 + 41 - epoch) * rate) * ch:int((t0 + 60 - epoch) * rate) * ch]
        quiet_after = max(abs(v) for v in late) == 0 if late else None
        muted = max(abs(v) for v in x[int(10.2 * rate) * ch:int(14.8 * rate) * ch]) == 0
    else:
        muted = None
    check("the worker applies ann's pause (10-15 s muted) and not bob's, made outside his scope "
          "before the call was stored (41-60 s not muted; no ASR here, so the copy's check "
          "lacks the transcript's part)",
          red.get("audio", {}).get("pauses") == 1 and muted is True and quiet_after is False
          and red.get("verify", {}).get("intervals_not_covered") == 0,
          "rc %s, redaction %s, muted %s, quiet after %s: %s" %
          (w.returncode, json.dumps(red.get("verify")), muted, quiet_after, w.stderr[-300:]))
    # the rate: 10 a minute per sender, a bucket of 10 that refills one mark every 6 s: her
    # marks at once until the first 429, those accepted no more than the bucket and what it
    # refilled meanwhile (a slow machine's marks take longer, and more refills, never fewer)
    got, t0 = [], time.time()
    while len(got) < 100 and (not got or got[-1][0] == 201):
        got.append(post(svc, "/api/qa/marks", {"call": "NOT-YET-%d" % len(got), "mark": "resume"},
                        ann))
    refilled = math.ceil((time.time() - t0) / 6.0)
    st = [g[0] for g in got]
    check("marks_per_minute 10: marks from ann at once: 201 while her bucket (10, and %d refilled "
          "meanwhile) lasts, then 429 with Retry-After" % refilled,
          st[0] == 201 and st[-1] == 429 and st.count(201) <= 10 + refilled
          and "retry-after" in got[-1][2], st)
    s, _, _ = post(svc, "/api/qa/marks", {"call": "NOT-YET-B2", "mark": "pause"}, bob)
    check("  another sender is not held by her rate", s == 201, s)

    healthy(svc, "marks")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0", rc == 0, rc)


# ---- sessions and passwords -----------------------------------------------------------------------

def login(svc, name, pw):
    s, b, h = post(svc, "/api/session", {"username": name, "password": pw}, None)
    return s, (h.get("set-cookie") or "").split(";")[0]


@ending
def cat_audit_sessions(root):
    svc = started(os.path.join(root, "audit_sessions"), token=TOKEN)
    carl = add_user(svc, "carl", "analyst")
    s, cookie = login(svc, "carl", PW)
    ck = {"Cookie": cookie}
    check("carl logs in (200) and his session reads", s == 200 and
          get(svc, "/api/qa/calls", None, ck)[0] == 200, s)
    r = cli("user", "password", "carl", "--db", svc.db, "--password-stdin", stdin=PW + "-2\n")
    s, b, _ = get(svc, "/api/qa/calls", None, ck)
    check("callqa user password carl: the session made before is 401 at once",
          r.returncode == 0 and s == 401 and b.get("code") == "session_ended", (r.stderr, s, b))
    s, b, _ = get(svc, "/api/session", None, ck)
    check("  GET /api/session with it: not logged in", s == 200 and b.get("authenticated") is False,
          b)
    s, b, _ = post(svc, "/api/session", {"username": "carl", "password": PW}, None)
    check("  the old password: 401", s == 401, s)
    s, cookie2 = login(svc, "carl", PW + "-2")
    check("  the new one logs in, and that session reads", s == 200 and
          get(svc, "/api/qa/calls", None, {"Cookie": cookie2})[0] == 200, s)
    check("  his API token still reads (tokens are revoked on their own)",
          get(svc, "/api/qa/calls", carl)[0] == 200)
    r = cli("user", "revoke", "carl", "--all", "--db", svc.db)
    check("callqa user revoke carl --all: his token is 401 at once, his session goes on",
          r.returncode == 0 and get(svc, "/api/qa/calls", carl)[0] == 401
          and get(svc, "/api/qa/calls", None, {"Cookie": cookie2})[0] == 200, r.stderr)
    cli("user", "disable", "carl", "--db", svc.db)
    cli("user", "enable", "carl", "--db", svc.db)
    s, _, _ = get(svc, "/api/qa/calls", None, {"Cookie": cookie2})
    check("disable then enable: a session made before the disable stays ended (401)", s == 401, s)
    forged = cookie2.replace("callqa_session=v3.", "callqa_session=v2.")
    check("  a value of the old form (v2) is not a session (401)",
          get(svc, "/api/qa/calls", None, {"Cookie": forged})[0] == 401)
    healthy(svc, "sessions")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0", rc == 0, rc)


CATEGORIES = [("audit_reads", cat_audit_reads), ("audit_queue", cat_audit_queue),
              ("audit_marks", cat_audit_marks), ("audit_sessions", cat_audit_sessions)]
