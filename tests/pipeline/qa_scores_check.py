#!/usr/bin/env python3
"""qa_scores_check.py - the QA API's score figures against a hand computation. A spec of calls
over three days (every category scored; rules only, with categories not scored; a scorecard of
its own categories; calls without scores) is stored through store_job_scored by qa_seed (the
store the pipeline writes), `callqa serve` is started on it with a token, and every /api/qa
figure that comes from scores is computed here from the spec alone: totals by the old formula,
averages over the calls that scored a category (a null stays null, never 0), top and bottom
agents, flagged calls in order, the leaderboard; then supervisors' overrides
(PATCH /api/qa/call/{id}/scores, each refusal) and the agreement figures.

    usage: qa_scores_check.py QA_SEED CALLQA WORKDIR [STORE]
    STORE: a file or a postgresql:// URI (tests/lib/store_lib.sh); WORKDIR/qa.db by default

Prints one line per check; exits 1 on the first difference (with both values).
"""
import datetime
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cqport import free_port  # noqa: E402  a port below the ephemeral range

SEED, CQ, T = sys.argv[1], sys.argv[2], sys.argv[3]
STORE = sys.argv[4] if len(sys.argv) > 4 else f"{T}/qa.db"
CATS = ["greeting", "customer_id", "needs", "product", "communication", "resolution",
        "closing", "compliance"]
W = dict(zip(CATS, [0.10, 0.10, 0.15, 0.15, 0.15, 0.20, 0.10, 0.05]))
TOKEN = "score-test-token-0123456789"
checked = 0


def fail(what, got, want):
    print(f"FAIL {what}: got {got!r}, want {want!r}")
    sys.exit(1)


def same(what, got, want):
    global checked
    checked += 1
    if want is None or got is None or isinstance(want, (bool, str)):
        if got != want or type(got) is not type(want):
            fail(what, got, want)
        return
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)) or abs(got - want) > 1e-9:
            fail(what, got, want)
        return
    if got != want:
        fail(what, got, want)


def rnd(x, d):
    """As the service rounds: half away from zero."""
    if x is None:
        return None
    m = 10 ** d
    return math.copysign(math.floor(abs(x) * m + 0.5), x) / m


# ---- the spec ----------------------------------------------------------------------------------
today = datetime.date.today()
D = [(today - datetime.timedelta(days=k)).isoformat() for k in range(4)]  # today, -1, ...


def full(vals):
    return dict(zip(CATS, vals))


def score(cats, flag_reason=None, extra=None, custom=None, total=None):
    """A result as the scorer makes it: the old formula when every category is scored."""
    scored = {k: v for k, v in cats.items() if v is not None}
    if custom:  # a card of its own: its totals as given, its categories in the detail
        tot, part, cov = total, total, 1.0
        detail = {"categories": {k: {"score": v} for k, v in custom.items()}}
    else:
        ws = sum(W[k] for k in scored)
        part = 20 * sum(W[k] * v for k, v in scored.items()) / ws if scored else None
        cov = ws
        tot = 20 * sum(W[k] * v for k, v in scored.items()) if len(scored) == 8 else None
        detail = {"categories": {k: {"score": cats.get(k)} for k in CATS}}
    s = {"total": tot, "partial": part, "coverage": cov, "flagged": flag_reason is not None,
         "flag_reason": flag_reason, "cats": cats, "scorecard": "default",
         "scorecard_hash": "c0ffee" * 10 + "abcd", "backend": "rules", "detail": detail}
    s.update(extra or {})
    return s


LLM = {"summary": "The agent resolved the card issue.", "strengths": ["warm greeting", "clear"],
       "improvements": ["confirm the address"], "llm_provider": "anthropic",
       "llm_model": "claude-test", "backend": "anthropic", "provider_hash": "ab" * 32,
       "topic": ["cards", "lost card"]}
calls = [
    # today
    ("S1", "ann", "BANK", D[0], score(full([4, 5, 3, 4, 4, 3, 5, 5]), extra=LLM)),
    ("S2", "ann", "BANK", D[0], score({"greeting": 2, "customer_id": 3, "needs": None,
                                       "product": None, "communication": 4, "resolution": None,
                                       "closing": 1, "compliance": 5},
                                      "Score 58 below 60; critical: greeting, closing")),
    ("S3", "ann", "SALES", D[0], score(full([5] * 8))),
    ("S4", "bob", "BANK", D[0], score(full([2] * 8), "Score 40 below 60; critical: greeting, "
                                      "customer_id, needs, product, communication, resolution, "
                                      "closing, compliance")),
    ("S5", "bob", "BANK", D[0], None),
    ("S6", "carl", "BANK", D[0], score({"greeting": 3}, "Score 50 below 60",
                                       custom={"greeting": 3, "empathy": 2}, total=50.0)),
    ("S7", "ann", "BANK", D[0], score(full([3] * 8))),
    ("S8", "bob", "SALES", D[0], score(full([4] * 8))),
    ("S9", "bob", "BANK", D[0], score(full([3, 4, 3, 4, 3, 4, 3, 4]))),
    # yesterday
    ("S10", "zoe", "SALES", D[1], score(full([5, 4, 5, 4, 5, 4, 5, 4]))),
    ("S11", "zoe", "SALES", D[1], score({"greeting": 4, "compliance": 5})),
    ("S12", "ann", "BANK", D[2], score(full([1] * 8), "Score 20 below 60; critical: greeting, "
                                       "customer_id, needs, product, communication, resolution, "
                                       "closing, compliance")),
    ("S13", "zoe", "BANK", D[2], None),
    # three days ago: rules only; needs, product and resolution averages must be null, not 0
    ("S14", "carl", "SALES", D[3], score({"greeting": 5, "customer_id": 4, "communication": 3,
                                          "closing": 4, "compliance": 5})),
]
# the customers' sentiment (docs/sentiment.md): a shift and a drop on some calls, null on others
SENT = {"S1": (-2.5, True), "S3": (1.25, False), "S4": (-0.4, None), "S7": (None, None),
        "S10": (0.3, False), "S12": (-6.0, True)}
for rid, _, _, _, sc in calls:
    if sc is not None and rid in SENT:
        sc["customer_shift"], sc["customer_drop"] = SENT[rid]
names = {"ann": "Ann Smith", "bob": "Bob Jones", "carl": "Carl", "zoe": "Zoë Ålund"}
spec = {"calls": [{"recording_id": rid, "agent_user": ag, "agent_name": names[ag],
                   "campaign_id": camp, "call_date": f"{day} 10:{i:02d}:00", "length_sec": 60 + i,
                   "score": sc} for i, (rid, ag, camp, day, sc) in enumerate(calls)]}
C = {c["recording_id"]: c for c in spec["calls"]}
for c in spec["calls"]:
    c["day"] = c["call_date"][:10]
with open(f"{T}/spec.json", "w") as f:
    json.dump(spec, f)
assert C["S1"]["score"]["total"] == 78 and abs(C["S2"]["score"]["partial"] - 58) < 1e-9
subprocess.run([SEED, STORE, f"{T}/spec.json"], check=True)

# ---- the service -------------------------------------------------------------------------------
with open(f"{T}/token", "w") as f:
    f.write(TOKEN + "\n")
os.chmod(f"{T}/token", 0o600)
port = free_port()
base = f"http://127.0.0.1:{port}"
log = open(f"{T}/serve.log", "w")
srv = subprocess.Popen([CQ, "serve", "--db", STORE, "--token-file", f"{T}/token",
                        "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log)


def request(method, path, body=None, token=TOKEN, ctype="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def get(path, status=200):
    code, o = request("GET", path)
    same(f"GET {path} status", code, status)
    return o


try:
    for _ in range(600):  # up to a minute (slower under valgrind)
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)

    def scored(c):
        return c["score"] is not None

    def tot(c):
        return c["score"]["total"] if scored(c) else None

    def cat(c, k):
        return c["score"]["cats"].get(k) if scored(c) else None

    def figures(sel):
        """The score figures of a set of calls, by hand."""
        tots = [tot(c) for c in sel if tot(c) is not None]
        parts = [c["score"]["partial"] for c in sel if scored(c) and c["score"]["partial"] is not None]
        # the partial-only calls: a partial score and no total
        only = [c["score"]["partial"] for c in sel
                if scored(c) and c["score"]["partial"] is not None and tot(c) is None]
        shifts = [c["score"]["customer_shift"] for c in sel
                  if scored(c) and c["score"].get("customer_shift") is not None]
        cats = {}
        for k in CATS:
            v = [cat(c, k) for c in sel if cat(c, k) is not None]
            cats[k] = rnd(sum(v) / len(v), 2) if v else None
        return {"n": len(tots), "avg": rnd(sum(tots) / len(tots), 1) if tots else None,
                "min": rnd(min(tots), 1) if tots else None,
                "max": rnd(max(tots), 1) if tots else None,
                "flagged": sum(1 for c in sel if scored(c) and c["score"]["flagged"]),
                "cats": cats, "pn": len(parts),
                "pavg": rnd(sum(parts) / len(parts), 1) if parts else None,
                "on": len(only), "oavg": rnd(sum(only) / len(only), 1) if only else None,
                "sn": len(shifts), "savg": rnd(sum(shifts) / len(shifts), 2) if shifts else None,
                "drops": sum(1 for c in sel if scored(c) and c["score"].get("customer_drop"))}

    def check_cats(what, got, want):
        same(f"{what} keys", sorted(got), sorted(CATS))
        for k in CATS:
            same(f"{what}.{k}", got[k], want[k])

    # /api/qa/health
    h = get("/api/qa/health")
    same("health.total_scored", h["total_scored"], sum(1 for c in C.values() if tot(c) is not None))
    same("health.total_flagged", h["total_flagged"],
         sum(1 for c in C.values() if scored(c) and c["score"]["flagged"]))
    print(f"ok - health: {h['total_scored']} totals, {h['total_flagged']} flagged")

    # /api/qa/daily-summary?days=3: oldest first
    ds = get("/api/qa/daily-summary?days=4")
    same("daily-summary days", [d["date"] for d in ds], list(reversed(D)))
    nulls_seen = 0
    for d in ds:
        sel = [c for c in C.values() if c["day"] == d["date"]]
        f = figures(sel)
        w = f"daily {d['date']}"
        same(f"{w}.total_calls", d["total_calls"], len(sel))
        same(f"{w}.scored_calls", d["scored_calls"], f["n"])
        same(f"{w}.avg_score", d["avg_score"], f["avg"])
        same(f"{w}.flagged_calls", d["flagged_calls"], f["flagged"])
        same(f"{w}.partial_scored_calls", d["partial_scored_calls"], f["pn"])
        same(f"{w}.avg_partial_score", d["avg_partial_score"], f["pavg"])
        same(f"{w}.partial_only_calls", d["partial_only_calls"], f["on"])
        same(f"{w}.avg_partial_only_score", d["avg_partial_only_score"], f["oavg"])
        same(f"{w}.customer_shift_calls", d["customer_shift_calls"], f["sn"])
        same(f"{w}.avg_customer_shift", d["avg_customer_shift"], f["savg"])
        same(f"{w}.customer_drop_calls", d["customer_drop_calls"], f["drops"])
        check_cats(f"{w}.category_averages", d["category_averages"], f["cats"])
        nulls_seen += sum(v is None for v in f["cats"].values())
        # top and bottom: agents with 3 or more calls with a total that day
        by = {}
        for c in sel:
            if tot(c) is not None:
                by.setdefault(c["agent_user"], []).append(tot(c))
        ok = {a: sum(v) / len(v) for a, v in by.items() if len(v) >= 3}
        top = min(ok, key=lambda a: (-ok[a], a)) if ok else None
        bot = min(ok, key=lambda a: (ok[a], a)) if ok else None
        same(f"{w}.top_agent", d["top_agent"], top)
        same(f"{w}.top_score", d["top_score"], rnd(ok[top], 1) if top else None)
        same(f"{w}.bottom_agent", d["bottom_agent"], bot)
        same(f"{w}.bottom_score", d["bottom_score"], rnd(ok[bot], 1) if bot else None)
    same("today's needs average is over the calls that scored it (not 0 for the others)",
         ds[-1]["category_averages"]["needs"], rnd((3 + 5 + 2 + 3 + 4 + 3) / 6, 2))
    same("today's top agent", ds[-1]["top_agent"], "ann")
    same("a day of rules-only scores: needs null, greeting 5.0",
         (ds[0]["category_averages"]["needs"], ds[0]["category_averages"]["greeting"],
          ds[0]["avg_score"], ds[0]["scored_calls"], ds[0]["partial_scored_calls"]),
         (None, 5.0, None, 0, 1))
    same("today's customers' shift: three calls measured it, one dropped",
         (ds[-1]["customer_shift_calls"], ds[-1]["avg_customer_shift"],
          ds[-1]["customer_drop_calls"]), (3, rnd((-2.5 + 1.25 - 0.4) / 3, 2), 1))
    same("a day without a measured shift: null, not 0", ds[0]["avg_customer_shift"], None)
    print(f"ok - daily-summary: 4 days, {nulls_seen} null category averages")

    # /api/qa/trends, with and without a campaign
    for q, camp in (("?days=7", None), ("?days=7&campaign=BANK", "BANK")):
        tr = get("/api/qa/trends" + q)
        days7 = [(today - datetime.timedelta(days=k)).isoformat() for k in range(6, -1, -1)]
        same(f"trends{q} days", [d["date"] for d in tr], days7)
        for d in tr:
            sel = [c for c in C.values() if c["day"] == d["date"] and
                   (camp is None or c["campaign_id"] == camp)]
            f = figures(sel)
            w = f"trends{q} {d['date']}"
            same(f"{w}.calls", d["calls"], len(sel))
            same(f"{w}.avg_score", d["avg_score"], f["avg"])
            same(f"{w}.flagged", d["flagged"], f["flagged"])
            same(f"{w}.partial_only_calls", d["partial_only_calls"], f["on"])
            same(f"{w}.avg_partial_only_score", d["avg_partial_only_score"], f["oavg"])
            check_cats(f"{w}.categories", d["categories"], f["cats"])
    print("ok - trends: 7 days, all campaigns and BANK")

    # /api/qa/agent/{agent}
    for ag in ("ann", "bob", "zoe", "carl"):
        a = get(f"/api/qa/agent/{ag}?days=7")
        sel = [c for c in C.values() if c["agent_user"] == ag]
        f = figures(sel)
        w = f"agent {ag}"
        same(f"{w}.agent_name", a["agent_name"], names[ag])
        same(f"{w}.total_calls", a["total_calls"], len(sel))
        same(f"{w}.avg_score", a["avg_score"], f["avg"])
        same(f"{w}.min_score", a["min_score"], f["min"])
        same(f"{w}.max_score", a["max_score"], f["max"])
        same(f"{w}.flagged_calls", a["flagged_calls"], f["flagged"])
        same(f"{w}.avg_partial_score", a["avg_partial_score"], f["pavg"])
        same(f"{w}.partial_only_calls", a["partial_only_calls"], f["on"])
        same(f"{w}.avg_partial_only_score", a["avg_partial_only_score"], f["oavg"])
        same(f"{w}.customer_shift_calls", a["customer_shift_calls"], f["sn"])
        same(f"{w}.avg_customer_shift", a["avg_customer_shift"], f["savg"])
        same(f"{w}.customer_drop_calls", a["customer_drop_calls"], f["drops"])
        check_cats(f"{w}.category_averages", a["category_averages"], f["cats"])
        for t in a["trend"]:
            ts = [c for c in sel if c["day"] == t["date"]]
            same(f"{w}.trend {t['date']}.calls", t["calls"], len(ts))
            same(f"{w}.trend {t['date']}.avg_score", t["avg_score"], figures(ts)["avg"])
        same(f"{w}.trend days", [t["date"] for t in a["trend"]],
             sorted({c["day"] for c in sel}))
    print("ok - agents: ann, bob, zoe, carl")

    # /api/qa/flagged: lowest total (or partial score) first
    def rank(c):
        s = c["score"]
        return (s["total"] if s["total"] is not None else s["partial"], c["recording_id"])

    for q, pick in (("", lambda c: True), ("&agent=bob", lambda c: c["agent_user"] == "bob"),
                    ("&campaign=BANK", lambda c: c["campaign_id"] == "BANK")):
        fl = get("/api/qa/flagged?days=7" + q)
        want = sorted([c for c in C.values() if scored(c) and c["score"]["flagged"] and pick(c)],
                      key=lambda c: (rank(c)[0], list(C).index(c["recording_id"])))
        same(f"flagged{q} order", [x["recording_id"] for x in fl],
             [c["recording_id"] for c in want])
        for x, c in zip(fl, want):
            w = f"flagged{q} {c['recording_id']}"
            sc = c["score"]
            same(f"{w}.total_score", x["total_score"], rnd(sc["total"], 1))
            same(f"{w}.partial_score", x["partial_score"], rnd(sc["partial"], 1))
            same(f"{w}.flag_reason", x["flag_reason"], sc["flag_reason"])
            same(f"{w}.agent_name", x["agent_name"], names[c["agent_user"]])
            same(f"{w}.call_length", x["call_length"], c["length_sec"])
            for k in CATS:
                v = sc["cats"].get(k)
                same(f"{w}.scores.{k}", x["scores"][k], None if v is None else float(v))
    print(f"ok - flagged: {len(get('/api/qa/flagged?days=7'))} calls in order, by agent and campaign")

    # /api/qa/leaderboard
    lb = get("/api/qa/leaderboard?days=7&min_calls=2")
    agents = {}
    for c in C.values():
        if c["agent_user"]:
            agents.setdefault(c["agent_user"], []).append(c)
    rows = []
    for ag, sel in agents.items():
        f = figures(sel)
        if f["n"] >= 2:
            rows.append((ag, f))
    rows.sort(key=lambda r: (-(sum(tot(c) for c in agents[r[0]] if tot(c) is not None) /
                               r[1]["n"]), r[0]))
    same("leaderboard agents", [x["agent_user"] for x in lb], [r[0] for r in rows])
    for i, (x, (ag, f)) in enumerate(zip(lb, rows)):
        same(f"leaderboard {ag}.rank", x["rank"], i + 1)
        same(f"leaderboard {ag}.calls", x["calls"], f["n"])
        same(f"leaderboard {ag}.avg_score", x["avg_score"], f["avg"])
        same(f"leaderboard {ag}.min_score", x["min_score"], f["min"])
        same(f"leaderboard {ag}.max_score", x["max_score"], f["max"])
        same(f"leaderboard {ag}.flagged", x["flagged"], f["flagged"])
        same(f"leaderboard {ag}.partial_only_calls", x["partial_only_calls"], f["on"])
        same(f"leaderboard {ag}.avg_partial_only_score", x["avg_partial_only_score"], f["oavg"])
    print(f"ok - leaderboard: {len(lb)} agents with 2 totals or more")
    # partial=1: after them, unranked, the other agents with partial-only calls
    lbp = get("/api/qa/leaderboard?days=7&min_calls=2&partial=1")
    extra = sorted(ag for ag, sel in agents.items() if figures(sel)["n"] < 2 and figures(sel)["on"] > 0)
    same("leaderboard partial=1 agents", [x["agent_user"] for x in lbp], [r[0] for r in rows] + extra)
    same("leaderboard partial=1: the ranked ones as without it", lbp[:len(lb)], lb)
    for x in lbp[len(lb):]:
        f = figures(agents[x["agent_user"]])
        ag = x["agent_user"]
        same(f"leaderboard partial=1 {ag}: no rank, the totals' figures of its calls with one",
             (x["rank"], x["calls"], x["avg_score"]), (None, f["n"], f["avg"]))
        same(f"leaderboard partial=1 {ag}.partial_only_calls", x["partial_only_calls"], f["on"])
        same(f"leaderboard partial=1 {ag}.avg_partial_only_score", x["avg_partial_only_score"], f["oavg"])
    same("partial=1 lists an unranked agent", len(lbp) > len(lb), True)
    print(f"ok - leaderboard partial=1: {len(lbp) - len(lb)} agents unranked after them")

    # /api/qa/call/{id}
    for rid, c in C.items():
        o = get(f"/api/qa/call/{rid}")
        sc = c["score"]
        w = f"call {rid}"
        same(f"{w}.overrides", o["overrides"], {})
        if sc is None:
            for k in ("total_score", "scores", "summary", "strengths", "improvements",
                      "flag_reason", "llm_provider", "partial_score", "coverage", "score_detail",
                      "topic", "scorecard_hash"):
                same(f"{w}.{k} (not scored)", o[k], None)
            same(f"{w}.flagged", o["flagged"], False)
            same(f"{w}.stages.score", o["stages"]["score"], "not_configured")
            continue
        same(f"{w}.stages.score", o["stages"]["score"], "done")
        same(f"{w}.processing_status", o["processing_status"], "complete")
        same(f"{w}.total_score", o["total_score"], rnd(sc["total"], 1))
        same(f"{w}.partial_score", o["partial_score"], rnd(sc["partial"], 1))
        same(f"{w}.coverage", o["coverage"], rnd(sc["coverage"], 2))
        same(f"{w}.flagged", o["flagged"], sc["flagged"])
        same(f"{w}.flag_reason", o["flag_reason"], sc["flag_reason"])
        for k in CATS:
            v = sc["cats"].get(k)
            same(f"{w}.scores.{k}", o["scores"][k], None if v is None else float(v))
        for k in ("summary", "strengths", "improvements", "llm_provider", "llm_model",
                  "provider_hash"):
            same(f"{w}.{k}", o[k], sc.get(k))
        same(f"{w}.scorecard_hash", o["scorecard_hash"], sc["scorecard_hash"])
        same(f"{w}.scorecard", o["scorecard"], "default")
        tp = sc.get("topic")
        same(f"{w}.topic", o["topic"], {"class": tp[0], "subclass": tp[1]} if tp else None)
        same(f"{w}.score_detail", o["score_detail"], sc["detail"])
    print(f"ok - calls: {len(C)} calls, scored and not")

    # ---- PATCH /api/qa/call/{id}/scores ---------------------------------------------------------
    def patch(rid, body, status, code=None, token=TOKEN, ctype="application/json"):
        got, o = request("PATCH", f"/api/qa/call/{rid}/scores", body, token, ctype)
        same(f"PATCH {rid} {body if not isinstance(body, bytes) else body[:40]!r} status", got,
             status)
        if code:
            same(f"PATCH {rid} error code", o.get("code"), code)
            same(f"PATCH {rid} error message is text", isinstance(o.get("error"), str) and
                 len(o["error"]) > 10, True)
        return o

    bad = [
        (b"{", "bad_json"), (b"[1]", "bad_json"), (b"", "empty"),
        ({"supervisor": "sue", "scores": {"greeting": 3}, "why": 1}, "bad_field"),
        ({"scores": {"greeting": 3}}, "bad_field"),
        ({"supervisor": "", "scores": {"greeting": 3}}, "bad_field"),
        ({"supervisor": 5, "scores": {"greeting": 3}}, "bad_field"),
        ({"supervisor": "sue", "comment": 5, "scores": {"greeting": 3}}, "bad_field"),
        ({"supervisor": "sue", "scores": {}}, "bad_field"),
        ({"supervisor": "sue", "scores": [3]}, "bad_field"),
        ({"supervisor": "sue", "scores": {"greeting": 0}}, "bad_score"),
        ({"supervisor": "sue", "scores": {"greeting": 6}}, "bad_score"),
        ({"supervisor": "sue", "scores": {"greeting": 4.5}}, "bad_score"),
        ({"supervisor": "sue", "scores": {"greeting": "4"}}, "bad_score"),
        ({"supervisor": "sue", "scores": {"greeting": True}}, "bad_score"),
        ({"supervisor": "sue", "scores": {"greting": 4}}, "unknown_category"),
        (b'{"supervisor": "sue", "supervisor": "tom", "scores": {"greeting": 4}}', "bad_json"),
    ]
    for body, code in bad:
        patch("S1", body, 400, code)
    patch("S6", {"supervisor": "sue", "scores": {"needs": 3}}, 400, "unknown_category")
    patch("S1", {"supervisor": "sue", "comment": "x" * 70000, "scores": {"greeting": 3}}, 413,
          "too_large")
    patch("NOPE", {"supervisor": "sue", "scores": {"greeting": 3}}, 404, "not_found")
    patch("S5", {"supervisor": "sue", "scores": {"greeting": 3}}, 409, "not_scored")
    patch("S1", {"supervisor": "sue", "scores": {"greeting": 3}}, 401, "unauthorized", token=None)
    got, _ = request("GET", "/api/qa/call/S1/scores")
    same("GET on .../scores", got, 405)
    same("nothing was stored by the refusals", get("/api/qa/call/S1")["overrides"], {})
    print(f"ok - PATCH refusals: {len(bad) + 6} bodies and calls")

    overrides = [  # (call, supervisor, comment, {category: score}), oldest first
        ("S1", "sue", None, {"greeting": 3}),
        ("S1", "tom", "fair greeting after all", {"greeting": 4, "needs": 5}),
        ("S2", "sue", "listened well", {"needs": 3, "closing": 3}),
        ("S6", "sue", None, {"empathy": 4, "greeting": 3}),
        ("S4", "tom", None, {"customer_id": 3}),
    ]
    for rid, sup, com, scs in overrides:
        body = {"supervisor": sup, "scores": scs}
        if com:
            body["comment"] = com
        o = patch(rid, body, 200)
        for k, v in scs.items():
            same(f"PATCH {rid} answer {k}", o["overrides"][k]["score"], v)
            same(f"PATCH {rid} answer {k} supervisor", o["overrides"][k]["supervisor"], sup)
    newest = {}
    for rid, sup, com, scs in overrides:
        for k, v in scs.items():
            newest[(rid, k)] = (v, sup, com)
    for rid in ("S1", "S2", "S4", "S6", "S3"):
        o = get(f"/api/qa/call/{rid}")
        want = {k: v for (r, k), v in newest.items() if r == rid}
        same(f"call {rid} override categories", sorted(o["overrides"]), sorted(want))
        for k, (v, sup, com) in want.items():
            x = o["overrides"][k]
            same(f"call {rid} override {k}", (x["score"], x["supervisor"], x["comment"]),
                 (v, sup, com))
            same(f"call {rid} override {k} created", len(x["created"]), 19)
        for k in CATS:  # the automatic scores stay
            v = C[rid]["score"]["cats"].get(k)
            same(f"call {rid} automatic {k}", o["scores"][k], None if v is None else float(v))
    ds2 = get("/api/qa/daily-summary?days=4")
    same("the roll-ups keep the automatic scores", ds2, ds)
    print(f"ok - overrides: {len(newest)} kept, the newest per category shown")

    # ---- GET /api/qa/agreement ------------------------------------------------------------------
    def auto(rid, k):
        c = C[rid]
        if k in CATS:
            return c["score"]["cats"].get(k)
        return c["score"]["detail"]["categories"][k]["score"]

    ag = get("/api/qa/agreement?days=7")
    keys = sorted(set(CATS) | {k for (_, k) in newest})
    same("agreement categories", sorted(ag["categories"]), keys)
    for k in keys:
        pairs = [(auto(r, kk), v[0]) for (r, kk), v in newest.items() if kk == k]
        cmp = [(a, h) for a, h in pairs if a is not None]
        x = ag["categories"][k]
        same(f"agreement {k}.n", x["n"], len(pairs))
        same(f"agreement {k}.compared", x["compared"], len(cmp))
        same(f"agreement {k}.exact_rate", x["exact_rate"],
             rnd(sum(a == h for a, h in cmp) / len(cmp), 3) if cmp else None)
        same(f"agreement {k}.within_one_rate", x["within_one_rate"],
             rnd(sum(abs(a - h) <= 1 for a, h in cmp) / len(cmp), 3) if cmp else None)
        same(f"agreement {k}.mean_abs_diff", x["mean_abs_diff"],
             rnd(sum(abs(a - h) for a, h in cmp) / len(cmp), 2) if cmp else None)
    same("agreement: greeting agrees on S1 (4 = 4), S6 (3 = 3)", ag["categories"]["greeting"]
         ["exact_rate"], 1.0)
    same("agreement: product has no overrides: n 0, rates null", ag["categories"]["product"],
         {"n": 0, "compared": 0, "exact_rate": None, "within_one_rate": None,
          "mean_abs_diff": None})
    same("agreement out of range", request("GET", "/api/qa/agreement?days=0")[0], 400)
    same("agreement of today's calls only: needs", get("/api/qa/agreement?days=1")
         ["categories"]["needs"]["n"], sum(1 for (r, k) in newest if k == "needs" and
                                           C[r]["day"] == D[0]))
    print(f"ok - agreement: {len(keys)} categories")
finally:
    srv.terminate()
    srv.wait()
    log.close()
errors = [l for l in open(f"{T}/serve.log") if '"level":"error"' in l]
same("the service logged no error", errors, [])
print(f"qa_scores_check: {checked} figures checked")
