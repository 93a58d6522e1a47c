#!/usr/bin/env python3
"""test_access.py - users, roles, scopes and the audit trail against the real service.

    test_access.py BUILD/callqa SOURCE_DIR
    ACCESS_DB=postgresql://... ACCESS_LLM_URL=http://.../v1 test_access.py ...  (test_access_pg.sh:
        the same on PostgreSQL, with POST /ask answered by the fake LLM's plan "which calls?")

`callqa serve` on 127.0.0.1 with a SQLite store, its shared token and users made with
`callqa user add` (admin, supervisor, analyst, two agents, an analyst limited to a campaign),
each with a token from `callqa user token`. Three calls are uploaded (ann's in C1, bob's in C2
and C1) with a transcript each. Then:
- docs/privacy/access.md's table of routes is read and every operation of the running service's
  /openapi.json must be in it, with the role its x-callqa-role says;
- every route is called with every role, the shared token and no credential: 401 without one,
  403 forbidden below the route's role, never either at or above it;
- bob (an agent) asks every route that takes a call id, an agent or a file name for ann's call
  (by recording_id and uniqueid), searches, lists, streams the events and asks /ask, and reaches
  none of ann's calls, while his own are served; the campaign-limited analyst likewise;
- logins by name and password (a session of the user's role, CSRF, the per-account limit, a
  disabled user), and a password never taken from the command line;
- the audit trail: the listens, searches and logins above, admin only, as JSON and JSON lines,
  `callqa store audit`, and the database refusing to change it;
- on PostgreSQL, POST /ask through the QA store's views under the caller's scope: the campaign-
  limited analyst's query returns her campaign's calls only and the dialer's source is refused
  for her (layer "scope"), an admin's returns every call.
Prints TAP lines; exits 1 on any failure.
"""
import http.client
import json
import os
import re
import socket
import sqlite3  # noqa: F401 (storedb's errors are sqlite3's)
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

CQ, SRC = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
import storedb  # noqa: E402
from cqport import free_port  # noqa: E402  a port below the ephemeral range


T = tempfile.mkdtemp(prefix="callqa-access-")
DB = os.environ.get("ACCESS_DB") or os.path.join(T, "access.db")
PG = storedb.is_pg(DB)
LLM_URL = os.environ.get("ACCESS_LLM_URL")
TOKEN = "shared-test-token-0123456789"
PW = "a-long-password-1"
n = 0
fails = 0


def check(name, ok, detail=""):
    global n, fails
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, name) + ("" if ok else "  # " + str(detail)[:400]))
    if not ok:
        fails += 1


def run(*args, stdin=None):
    return subprocess.run([CQ, *args], input=stdin, capture_output=True, text=True)


def wav(path, seconds=1.0, rate=8000):
    """A mono PCM16 WAV of a quiet tone."""
    import math
    k = int(seconds * rate)
    data = b"".join(struct.pack("<h", int(800 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(k))
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16))
        f.write(b"data" + struct.pack("<I", len(data)) + data)


# ---- users, made with the command line ---------------------------------------------------------
USERS = {  # name: (role, scope)
    "root": ("admin", None),
    "sue": ("supervisor", None),
    "ana": ("analyst", None),
    "ann": ("agent", None),
    "bob": ("agent", None),
    "cara": ("analyst", "campaign:C1"),
    "dana": ("supervisor", "campaign:C1,campaign:C2"),
    "eve": ("analyst", None),
}
pwfile = os.path.join(T, "pw")
with open(pwfile, "w") as f:
    f.write(PW + "\n")
os.chmod(pwfile, 0o600)
tokens = {}
for name, (role, scope) in USERS.items():
    args = ["user", "add", name, "--role", role, "--db", DB]
    if scope:
        args += ["--scope", scope]
    r = run(*args, "--password-stdin", stdin=PW + "\n") if name != "sue" else run(*args, "--password-file", pwfile)
    check("callqa user add %s (%s)" % (name, role), r.returncode == 0, r.stderr)
    r = run("user", "token", name, "--db", DB)
    tokens[name] = r.stdout.strip()
    check("callqa user token %s: printed once, cqt_ and 64 hex digits" % name,
          r.returncode == 0 and re.fullmatch(r"cqt_[0-9a-f]{64}", tokens[name]) is not None, r.stderr)
r = run("user", "add", "mallory", "--role", "agent", "--db", DB, "a-password-on-the-line")
check("a password on the command line is refused (exit 2), no user made",
      r.returncode == 2 and "mallory" not in run("user", "list", "--db", DB).stdout, r.stderr)
os.chmod(pwfile, 0o644)
r = run("user", "add", "mallory", "--role", "agent", "--db", DB, "--password-file", pwfile)
check("a password file others may read is refused", r.returncode != 0 and "0600" in r.stderr, r.stderr)
r = run("user", "list", "--json", "--db", DB)
lst = json.loads(r.stdout) if r.returncode == 0 else []
check("callqa user list: the users, their roles and scopes, no password or hash",
      {u["name"]: u["role"] for u in lst} == {k: v[0] for k, v in USERS.items()}
      and [u["scope"] for u in lst if u["name"] == "cara"] == ["campaign:C1"]
      and "argon2" not in r.stdout and PW not in r.stdout, r.stdout)
con = storedb.connect(DB)
rows = con.execute("SELECT password FROM users").fetchall()
check("the store keeps argon2id strings, never a password",
      all(p.startswith("$argon2id$") for (p,) in rows) and not any(PW in p for (p,) in rows))
hashes = [h for (h,) in con.execute("SELECT hash FROM user_tokens").fetchall()]
check("the store keeps the tokens' hashes, never a token",
      len(hashes) == len(USERS) and not any(t[4:] in h or h in t for t in tokens.values() for h in hashes))
con.close()

# ---- the service -------------------------------------------------------------------------------
tokfile = os.path.join(T, "token")
with open(tokfile, "w") as f:
    f.write(TOKEN + "\n")
os.chmod(tokfile, 0o600)
os.makedirs(os.path.join(T, "models"))
PORT = free_port()
env = dict(os.environ, CALLQA_MODEL_DIR=os.path.join(T, "models"), CALLQA_AUTH_METRICS="true",
           CALLQA_LOGIN_MAX_FAILURES_ACCOUNT="3", CALLQA_LOGIN_MAX_FAILURES="1000", TMPDIR=T,
           CALLQA_UPLOAD_DIR=os.path.join(T, "uploads"))
if LLM_URL:
    env.update(CALLQA_LLM_PROVIDER="openai", CALLQA_LLM_URL=LLM_URL, CALLQA_LLM_MODEL="fake-ask")
log = open(os.path.join(T, "serve.log"), "w")
svc = subprocess.Popen([CQ, "serve", "--listen", "127.0.0.1:%d" % PORT, "--db", DB, "--token-file", tokfile],
                       stdout=log, stderr=log, env=env)


# HANG: how long an awaited answer may take before the test calls it a hang
HANG = 120


def stop():
    """SIGTERM; the exit status (a sanitizer's report at exit makes it non-zero), -9 if killed"""
    svc.terminate()
    try:
        return svc.wait(HANG)
    except subprocess.TimeoutExpired:
        svc.kill()
        return -9


def headers_in(data):
    """the answer's head is in: an open event stream (200) needs no more; any other answer is
    read to its end (the connection closes)"""
    return b"\r\n\r\n" in data and re.match(rb"HTTP/1\.[01] 200", data) is not None


def sse(path, token, until=headers_in):
    """(status, an event stream's body) over a plain socket: read until until(data) holds (data:
    everything received, head and body), the server closes, or HANG seconds pass. Once until()
    holds, what the server had already sent is read too (0.3 s without more ends it)."""
    k = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    k.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n"
               % (path, PORT, "Authorization: Bearer %s\r\n" % token if token else "")).encode())
    k.settimeout(0.2)
    data = b""
    end = time.monotonic() + HANG
    tail = None
    while time.monotonic() < (tail or end):
        try:
            chunk = k.recv(65536)
        except (socket.timeout, TimeoutError):
            if tail is None and until(data):
                tail = time.monotonic() + 0.3
            continue
        if not chunk:
            break
        data += chunk
        if tail is None and until(data):
            tail = time.monotonic() + 0.3
    k.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    text = body.decode("utf-8", "replace")
    try:
        text = json.loads(text)
    except ValueError:
        pass
    return int(m.group(1)) if m else 0, text, {}


def req(method, path, token=None, body=None, headers=None, stream=False):
    """(status, json body or text, headers); stream: an event stream (sse; a function: read until
    it holds of the data received)."""
    if stream:
        return sse(path, token, headers_in if stream is True else stream)
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=HANG)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, json.loads(data), r.headers
    except ValueError:
        return r.status, data.decode("utf-8", "replace"), r.headers


up = False
end = time.monotonic() + HANG
while not up and svc.poll() is None and time.monotonic() < end:
    try:
        up = req("GET", "/health")[0] in (200, 503)
    except OSError:
        time.sleep(0.1)
if not up:
    print("not ok - the service did not start: " + open(os.path.join(T, "serve.log")).read()[-2000:])
    sys.exit(1)

# three calls, uploaded with the shared token (admin)
CALLS = {"RA1": ("ann", "C1", "UA1"), "RB1": ("bob", "C2", "UB1"), "RB2": ("bob", "C1", "UB2"),
         "RC1": ("carl", "C3", "UC1")}
audio = os.path.join(T, "tone.wav")
wav(audio)
today = time.strftime("%Y-%m-%d")
for rid, (agent, camp, uid) in CALLS.items():
    meta = json.dumps({"recording_id": rid, "uniqueid": uid, "agent_user": agent, "campaign_id": camp,
                       "call_date": today + " 09:00:00"})
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer " + TOKEN,
                        "-F", "metadata=%s;type=application/json" % meta, "-F", "audio=@" + audio,
                        "http://127.0.0.1:%d/api/qa/calls" % PORT], capture_output=True, text=True)
    check("upload %s (%s, %s): 201" % (rid, agent, camp), p.stdout == "201", p.stdout + p.stderr)
    s, b, _ = req("POST", "/api/qa/call/%s/transcript" % rid, TOKEN,
                  {"segments": [{"speaker": "agent", "start": 0.0, "end": 0.9,
                                 "text": "the refund for %s is on its way" % rid}]})
    check("a transcript for %s: 200" % rid, s in (200, 201), (s, b))

# ---- the table of docs/privacy/access.md against the running service ----------------------------------
doc = open(os.path.join(SRC, "docs", "privacy", "access.md"), encoding="utf-8").read()
sec = doc[doc.find("## Users, roles and access"):]
table = {}
for m in re.finditer(r"^\|\s*(GET|POST|PATCH|DELETE|PUT)\s*\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|", sec, re.M):
    table[(m.group(1), m.group(2))] = m.group(3)
s, api, _ = req("GET", "/openapi.json", TOKEN)
ops = {}
for path, item in api["paths"].items():
    for method, op in item.items():
        ops[(method.upper(), path)] = op.get("x-callqa-role")
missing = sorted(set(ops) - set(table))
check("every route of the running service is in docs/privacy/access.md's table (%d routes)" % len(ops), not missing,
      "missing: %s" % missing)
extra = sorted(set(table) - set(ops))
check("docs/privacy/access.md's table names no route the service lacks", not extra, extra)
differ = sorted(k for k in ops if k in table and table[k] != ops[k])
check("each route's role in the table is its x-callqa-role", not differ,
      ["%s %s: table %s, service %s" % (k[0], k[1], table[k], ops[k]) for k in differ])

# ---- every route with every role ---------------------------------------------------------------
RANK = {"none": 0, "agent": 1, "analyst": 2, "supervisor": 3, "admin": 4}
callers = [("none", None), ("agent", tokens["ann"]), ("analyst", tokens["ana"]), ("supervisor", tokens["sue"]),
           ("admin", tokens["root"]), ("admin", TOKEN)]
QUERY = {"/analyze": "?server=nosuch&file=x.wav", "/ai-analyze": "?server=nosuch&file=x.wav",
         "/cache": "?server=nosuch&file=x.wav", "/api/qa/search": "?q=refund"}
BODY = {("POST", "/api/session"): {"token": TOKEN}}
bad = []
for (method, path), role in sorted(ops.items()):
    concrete = path.replace("{id}", "RA1").replace("{agent_user}", "ann").replace("{name}", "app.js")
    concrete += QUERY.get(path, "")
    for who, tok in callers:
        body = BODY.get((method, path), {} if method in ("POST", "PATCH") else None)
        s, b, _ = req(method, concrete, tok, body, stream=path == "/api/qa/events")
        code = b.get("code") if isinstance(b, dict) else None
        if role == "none":
            ok = s not in (401, 403)
        elif who == "none":
            ok = s == 401
        elif RANK[who] < RANK[role]:
            ok = s == 403 and code == "forbidden"
        else:
            ok = s != 401 and code != "forbidden"
        if not ok:
            bad.append("%s %s as %s (needs %s): %d %s" % (method, concrete, who, role, s, code))
check("every route with every role and none: 401 without a credential, 403 below its role, "
      "served at or above it (%d routes x %d callers)" % (len(ops), len(callers)), not bad, bad)

# ---- an agent probing another agent's call ------------------------------------------------------
bob = tokens["bob"]
probe = []
for ident in ("RA1", "UA1"):
    for suffix in ("", "/report", "/audio", "/envelope"):
        s, b, _ = req("GET", "/api/qa/call/%s%s" % (ident, suffix), bob)
        if s != 404 or "RA1" in json.dumps(b) and ident != "RA1":
            probe.append("GET /api/qa/call/%s%s: %d" % (ident, suffix, s))
    for method, suffix in (("PATCH", "/scores"), ("POST", "/transcript")):
        s, b, _ = req(method, "/api/qa/call/%s%s" % (ident, suffix), bob, {})
        if s not in (403, 404):
            probe.append("%s %s: %d" % (method, suffix, s))
check("bob asks for ann's call by recording_id and uniqueid (detail, report, audio, envelope): "
      "404 as for no call; scores and transcript: refused", not probe, probe)
s, b, _ = req("GET", "/api/qa/call/RB1/audio", bob)
s2, b2, _ = req("GET", "/api/qa/call/UB2", bob)
check("bob's own call: its audio (200) and its detail by uniqueid (200)", s == 200 and s2 == 200, (s, s2))
for path in ("/analyze?server=upload&file=RA1.wav", "/ai-analyze?server=upload&file=RA1.wav", "/calls",
             "/calls/1", "/api/qa/agent/ann", "/api/qa/daily-summary", "/api/qa/leaderboard"):
    s, b, _ = req("GET", path, bob)
    check("bob: GET %s refused (403)" % path, s == 403, (s, b))


def agents_of(b, key="calls"):
    rows = b.get(key) or b.get("results") or b.get("segments") or [] if isinstance(b, dict) else []
    return sorted({r.get("agent_user") for r in rows if isinstance(r, dict)})


s, b, _ = req("GET", "/api/qa/calls?agent=ann", bob)
check("bob lists calls with agent=ann: only his own (2)", s == 200 and agents_of(b) == ["bob"] and b.get("total") == 2,
      (s, b))
s, b, _ = req("GET", "/api/qa/calls", tokens["ana"])
check("an analyst lists every call (4)", s == 200 and b.get("total") == 4, (s, b))
s, b, _ = req("GET", "/api/qa/search?q=refund&agent=ann", bob)
txt = json.dumps(b)
check("bob searches 'refund' with agent=ann: his calls' segments only", s == 200 and "RA1" not in txt and "RB1" in txt,
      (s, txt[:300]))
s, b, _ = req("GET", "/api/qa/search?q=RA1", bob)
s2, b2, _ = req("GET", "/api/qa/search?q=RA1", tokens["ana"])
check("bob searches for the words of ann's call: nothing (an analyst finds it)",
      s == 200 and b.get("calls") == [] and s2 == 200 and len(b2.get("calls", [])) == 1, (s, b, s2, b2))
s, b, _ = req("GET", "/api/qa/search?q=refund", tokens["ana"])
check("an analyst's search finds all four calls", s == 200 and all(r in json.dumps(b) for r in CALLS), (s, b))
s, b, _ = req("GET", "/api/qa/flagged?agent=ann", bob)
check("bob's flagged list with agent=ann: nothing of ann's", s == 200 and "RA1" not in json.dumps(b), (s, b))
# the streams replay the store's events in order: bob's is read up to the last of his calls'
# events (and what came with it), by when every earlier event of ann's would have been sent
con = storedb.connect(DB)
bob_last = con.execute("SELECT MAX(e.id) FROM job_events e JOIN calls c ON c.id = e.call_id "
                       "WHERE c.agent_user = 'bob'").fetchone()[0]
con.close()
s, b, _ = req("GET", "/api/qa/events?after=0", bob,
              stream=lambda d: re.search(rb"^id: %d$" % bob_last, d, re.M) is not None)
check("bob's event stream: his calls' events, none of ann's",
      s == 200 and '"agent_user":"bob"' in b and '"ann"' not in b and "RA1" not in b, (s, b[:400]))
s, b, _ = req("GET", "/api/qa/events?after=0", tokens["ana"], stream=lambda d: b"RA1" in d)
check("an analyst's event stream has ann's call too", s == 200 and "RA1" in b, (s, b[:300]))
s, b, _ = req("POST", "/ask", bob, {"question": "what did ann say on RA1?"})
check("bob's POST /ask: refused (403 out_of_scope): an agent has no /ask",
      s == 403 and isinstance(b, dict) and b.get("code") == "out_of_scope", (s, b))

# the campaign-limited analyst
cara = tokens["cara"]
s, b, _ = req("GET", "/api/qa/call/RB1", cara)
s2, b2, _ = req("GET", "/api/qa/call/RB2", cara)
check("cara (campaign C1): RB1 of C2 is 404, RB2 of C1 is 200", s == 404 and s2 == 200, (s, s2))
s, b, _ = req("GET", "/api/qa/calls", cara)
check("cara lists C1's calls only (RA1, RB2)",
      s == 200 and sorted(c.get("recording_id") for c in b.get("calls", [])) == ["RA1", "RB2"], (s, b))
s, b, _ = req("GET", "/api/qa/calls?campaign=C2", cara)
check("cara asks for campaign C2: 403 out_of_scope", s == 403 and b.get("code") == "out_of_scope", (s, b))
for path in ("/calls", "/api/qa/daily-summary", "/api/qa/events"):
    s, b, _ = req("GET", path, cara, stream=path.endswith("events"))
    check("cara: GET %s refused (403)" % path, s == 403, (s, b))
if not PG:
    s, b, _ = req("POST", "/ask", cara, {"question": "which calls?"})
    check("cara's POST /ask on a SQLite store: 403", s == 403, (s, b))
else:
    def ask_rows(tok, question):
        s, b, _ = req("POST", "/ask", tok, {"question": question})
        q = b.get("queries", []) if isinstance(b, dict) else []
        return s, b, q

    s, b, q = ask_rows(cara, "which calls? (cara)")
    check("cara's POST /ask on PostgreSQL: 200, the QA store's query sees her campaign's 2 calls",
          s == 200 and len(q) == 2 and q[0].get("type") == "callqa" and q[0].get("rows") == 2, (s, b))
    check("... and the dialer's source is refused to her, layer scope",
          len(q) == 2 and (q[1].get("refused") or {}).get("layer") == "scope", q)
    s, b, q = ask_rows(tokens["ana"], "which calls? (ana)")
    check("an unlimited analyst's POST /ask: the same query sees all 4 calls",
          s == 200 and len(q) == 2 and q[0].get("rows") == 4 and (q[1].get("refused") or {}).get("layer") != "scope",
          (s, b))
    handed = {}
    for line in open(os.path.join(os.environ["ACCESS_LLM_LOG"], "requests.jsonl")):
        a = json.loads(line).get("ask") if line.strip() else None
        for r in (a or {}).get("results", []):
            if r.get("type") == "callqa" and "rows" in r:
                handed[a["question"]] = sorted(x[0] for x in r["rows"])
    check("the rows handed to the model: cara's RA1 and RB2 (C1), ana's all four",
          handed.get("which calls? (cara)") == ["RA1", "RB2"]
          and handed.get("which calls? (ana)") == ["RA1", "RB1", "RB2", "RC1"],
          handed)

# a supervisor of two campaigns: the lists and the search read both, never a third
dana = tokens["dana"]
s, b, _ = req("GET", "/api/qa/calls", dana)
check("dana (C1 and C2) lists the calls of both campaigns, not C3's",
      s == 200 and sorted(c.get("recording_id") for c in b.get("calls", [])) == ["RA1", "RB1", "RB2"], (s, b))
s, b, _ = req("GET", "/api/qa/calls?campaign=C2", dana)
check("... one of them when she names it", s == 200 and [c.get("recording_id") for c in b.get("calls", [])] == ["RB1"],
      (s, b))
s, b, _ = req("GET", "/api/qa/search?q=refund", dana)
txt = json.dumps(b)
check("... her search finds the three, not RC1", s == 200 and "RB1" in txt and "RA1" in txt and "RC1" not in txt,
      (s, txt[:300]))
s, b, _ = req("GET", "/api/qa/flagged", dana)
check("... her flagged queue answers (200)", s == 200, (s, b))
s, b, _ = req("GET", "/api/qa/call/UC1/audio", dana)
check("... RC1's audio by uniqueid: 404", s == 404, s)
s, b, _ = req("GET", "/api/qa/calls?campaign=C3", dana)
check("... campaign=C3: 403 out_of_scope", s == 403 and b.get("code") == "out_of_scope", (s, b))
s, b, _ = req("GET", "/api/qa/trends", dana)
check("... the trends of several campaigns need one named (400 campaign_required), one is served",
      s == 400 and b.get("code") == "campaign_required" and req("GET", "/api/qa/trends?campaign=C1", dana)[0] == 200,
      (s, b))

# ---- logins by name and password ---------------------------------------------------------------
s, b, h = req("POST", "/api/session", None, {"username": "ann", "password": PW})
cookie = (h.get("Set-Cookie") or "").split(";")[0]
check("ann logs in: 200, her role, a v3 session cookie (bound to her credential)",
      s == 200 and b.get("role") == "agent" and b.get("user") == "ann" and cookie.startswith("callqa_session=v3."),
      (s, b))
csrf = b.get("csrf") if isinstance(b, dict) else None
s, b, _ = req("GET", "/api/session", None, headers={"Cookie": cookie})
check("GET /api/session with her cookie: agent, scoped", b.get("role") == "agent" and b.get("scoped") is True, b)
s, b, _ = req("GET", "/api/qa/calls", None, headers={"Cookie": cookie})
check("her session lists her call only", s == 200 and agents_of(b) == ["ann"], (s, b))
s, b, _ = req("GET", "/api/qa/call/RB1", None, headers={"Cookie": cookie})
check("her session, bob's call: 404", s == 404, s)
s, b, _ = req("POST", "/ask", None, {"question": "x"}, headers={"Cookie": cookie})
check("her session, an unsafe method without X-CSRF-Token: 403 csrf", s == 403 and b.get("code") == "csrf", (s, b))
s, b, _ = req("PATCH", "/api/qa/call/RA1/scores", None, {}, headers={"Cookie": cookie, "X-CSRF-Token": csrf or ""})
check("her session with the CSRF value, a supervisor's route: 403 forbidden",
      s == 403 and b.get("code") == "forbidden", (s, b))
s, b, _ = req("POST", "/api/session", None, {"username": "ann", "password": PW + "x"})
check("a wrong password: 401", s == 401, s)
s, b, _ = req("POST", "/api/session", None, {"username": "nobody", "password": PW})
check("an unknown user: 401, the same answer", s == 401 and b.get("code") == "unauthorized", (s, b))
for _ in range(3):
    req("POST", "/api/session", None, {"username": "eve", "password": "wrong-password-x"})
s, b, _ = req("POST", "/api/session", None, {"username": "eve", "password": PW})
check("three wrong passwords for eve (login_max_failures_account 3): the right one is 429",
      s == 429 and b.get("code") == "too_many_logins", (s, b))
r = run("user", "disable", "bob", "--db", DB)
s, b, _ = req("GET", "/api/qa/calls", bob)
check("callqa user disable bob: his token is 401 at once", r.returncode == 0 and s == 401, (r.stderr, s))
s, b, _ = req("POST", "/api/session", None, {"username": "bob", "password": PW})
check("... and his login 401", s == 401, s)
s, b, _ = req("GET", "/api/qa/calls", None, headers={"Cookie": cookie})
check("ann's session goes on", s == 200, s)
# a new password ends her sessions; her API token stays until revoked (callqa user revoke)
r = run("user", "password", "ann", "--db", DB, "--password-stdin", stdin=PW + "-new\n")
s, b, _ = req("GET", "/api/qa/calls", None, headers={"Cookie": cookie})
check("callqa user password ann: her session is 401 session_ended at once",
      r.returncode == 0 and s == 401 and b.get("code") == "session_ended", (r.stderr, s, b))
s, b, _ = req("GET", "/api/session", None, headers={"Cookie": cookie})
check("... GET /api/session says not logged in", b.get("authenticated") is False, b)
s, b, h = req("POST", "/api/session", None, {"username": "ann", "password": PW + "-new"})
cookie = (h.get("Set-Cookie") or "").split(";")[0]
check("... the new password logs in, and that session is served",
      s == 200 and req("GET", "/api/qa/calls", None, headers={"Cookie": cookie})[0] == 200, (s, b))
s, b, _ = req("GET", "/api/qa/calls", tokens["ann"])
check("... her API token still works (tokens are revoked explicitly)", s == 200, s)
r = run("user", "tokens", "ann", "--json", "--db", DB)
tl = json.loads(r.stdout) if r.returncode == 0 else []
check("callqa user tokens ann: one token, its id and label, no hash",
      len(tl) == 1 and set(tl[0]) == {"id", "label", "created"}, (r.stdout, r.stderr))
r = run("user", "revoke", "ann", "--token", str(tl[0]["id"] if tl else 0), "--db", DB)
s, b, _ = req("GET", "/api/qa/calls", tokens["ann"])
check("callqa user revoke ann --token ID: that token is 401 at once", r.returncode == 0 and s == 401,
      (r.stdout, r.stderr, s))
check("... her session goes on", req("GET", "/api/qa/calls", None, headers={"Cookie": cookie})[0] == 200)
r = run("user", "revoke", "ann", "--db", DB)
check("callqa user revoke without --token or --all: a usage error (2)", r.returncode == 2, r.stderr)

# ---- the audit trail ---------------------------------------------------------------------------
s, b, _ = req("GET", "/api/qa/audit", tokens["ana"])
check("an analyst reads no audit trail: 403", s == 403, s)
s, b, _ = req("GET", "/api/qa/audit", tokens["sue"])
check("nor a supervisor: 403", s == 403, s)
s, b, _ = req("GET", "/api/qa/audit?limit=100000", tokens["root"])
ent = b.get("entries", []) if isinstance(b, dict) else []
check("an admin reads it: entries with id, ts, who, role, action, target, client, status",
      s == 200 and ent and set(ent[0]) == {"id", "ts", "who", "role", "action", "target", "client", "status"}, (s, b))


def has(**kw):
    return any(all(e.get(k) == v for k, v in kw.items()) for e in ent)


check("bob's listen to ann's call is there, refused (404)",
      has(who="bob", role="agent", action="listen", target="RA1", status=404))
check("bob's listen to his own call, served (200)", has(who="bob", action="listen", target="RB1", status=200))
check("bob's search for 'refund'", has(who="bob", action="search", target="refund"))
check("ann's login (200) and the wrong one (401)",
      has(who="ann", action="login", target="ann", status=200) and has(action="login", target="ann", status=401))
check("eve's refused login (429)", has(action="login", target="eve", status=429))
check("bob's /ask", has(who="bob", action="ask", status=403))
check("a report downloaded and a purge, by the matrix's admin",
      has(action="download", target="RA1", who="root") and has(action="purge", who="token"))
check("the ids rise and every entry has a client", all(e["client"] == "127.0.0.1" for e in ent)
      and [e["id"] for e in ent] == sorted(e["id"] for e in ent))
s, lines, h = req("GET", "/api/qa/audit?format=jsonl&limit=100000", TOKEN)
jl = [json.loads(x) for x in lines.splitlines() if x]
check("?format=jsonl: one JSON object a line, the same entries", s == 200 and [e["id"] for e in jl][:len(ent)] == [
    e["id"] for e in ent], (s, lines[:200]))
r = run("store", "audit", "--db", DB)
cl = [json.loads(x) for x in r.stdout.splitlines() if x]
check("callqa store audit: the same entries as JSON lines",
      r.returncode == 0 and [e["id"] for e in cl][:len(ent)] == [e["id"] for e in ent]
      and {k: v for k, v in cl[0].items() if k != "ts"} == {k: v for k, v in jl[0].items() if k != "ts"}
      and abs(cl[0]["ts"] - jl[0]["ts"]) < 0.001, (r.stderr, cl[:1], jl[:1]))
con = storedb.connect(DB)
for sql in ("UPDATE audit_log SET who = 'nobody'", "DELETE FROM audit_log"):
    try:
        con.execute(sql)
        con.commit()
        refused = False
    except storedb.Error as e:
        refused = "append-only" in str(e)
    check("the store refuses %s on the audit trail" % sql.split()[0], refused)
count = con.execute("SELECT COUNT(*) FROM audit_log WHERE who = 'bob'").fetchone()[0]
con.close()
check("bob's entries are all still there", count >= 10, count)

rc = stop()
log.flush()
check("the service stops on SIGTERM with status 0 (%s)" % rc, rc == 0,
      open(os.path.join(T, "serve.log")).read()[-3000:])
print("1..%d" % n)
if fails:
    print("%d of %d access checks failed" % (fails, n))
    print("the service's log: " + os.path.join(T, "serve.log"))
    sys.exit(1)
print("all %d access checks passed" % n)
subprocess.run(["rm", "-rf", T])
