#!/usr/bin/env python3
"""qa_check.py - every /api/qa/* answer against figures computed here, independently, from the
store's rows: the calls, the job states and the stored reports (the JSON of `callqa analyze`,
read field by field as docs/report.md names them; never the store's own analysis columns or
roll-ups). Scores, transcripts and everything derived from them must be null (never 0) while
no call has a score. Out-of-range arguments must give 400.

    usage: qa_check.py STORE BASE_URL [TOKEN]   (STORE: a file or a postgresql:// URI)

Prints what it checked; exits 1 on the first difference (with both values).
"""
import datetime
import json
import math
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import storedb  # noqa: E402

CATS = ["greeting", "customer_id", "needs", "product", "communication", "resolution",
        "closing", "compliance"]

db_path, base = sys.argv[1], sys.argv[2].rstrip("/")
token = sys.argv[3] if len(sys.argv) > 3 else None
checked = 0
# the day the figures are computed for; the service takes its own at each request
DAY0 = datetime.date.today()


def fail(what, got, want):
    if datetime.date.today() != DAY0 and "QA_CHECK_AGAIN" not in os.environ:
        # midnight passed during the check: the service's days moved on, run it again once
        print(f"qa_check: the day changed during the check ({what}): checking again")
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, QA_CHECK_AGAIN="1"))
    print(f"FAIL {what}: got {got!r}, want {want!r}")
    sys.exit(1)


def same(what, got, want, tol=0.0):
    global checked
    checked += 1
    if want is None or got is None:
        if got is not want:
            fail(what, got, want)
        return
    if isinstance(want, bool) or isinstance(want, str):
        if got != want:
            fail(what, got, want)
        return
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            fail(what, got, want)
        if abs(got - want) > tol + 1e-9:
            fail(what, got, want)
        return
    if got != want:
        fail(what, got, want)


def get(path, status=200):
    req = urllib.request.Request(base + path)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            code, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    same(f"GET {path} status", code, status)
    return json.loads(body)


def rnd(x, d):
    """Rounded as the service rounds (half away from zero at the last decimal, within 1)."""
    return None if x is None else round(x, d)


# ---- the store's rows, and the figures of each call from its report ---------------------------
con = storedb.connect(db_path, readonly=True)
con.row_factory = storedb.Row
calls = {}
for row in con.execute("SELECT c.*, j.state, j.finished FROM calls c JOIN jobs j ON j.call_id = c.id"):
    calls[row["id"]] = dict(row)
reports = {r["call_id"]: json.loads(r["report"])
           for r in con.execute("SELECT call_id, report FROM analyses")}
scores = {r["call_id"]: dict(r) for r in con.execute("SELECT * FROM scores")}


def figures(rep):
    """talk, hold, dead air, one-way and MOS of one report."""
    conv = rep.get("conversation") or {}
    talk = None
    if conv:
        talk = sum((conv.get(leg) or {}).get("talk_sec") or 0 for leg in ("inbound", "outbound"))
    hold = (rep.get("call_events") or {}).get("hold_total_sec")
    dead = (conv.get("dead_air") or {}).get("total_sec") if conv else None
    one_way = rep.get("one_way_audio") is True
    mos = [((rep.get(leg) or {}).get("nisqa") or {}).get("mos") for leg in ("inbound", "outbound")]
    mos = [m for m in mos if m is not None]
    return {"talk": talk, "hold": hold, "dead": dead, "one_way": one_way,
            "mos": sum(mos) / len(mos) if mos else None}


for cid, c in calls.items():
    c["day"] = c["call_date"][:10] if c["call_date"] else None
    c["fig"] = figures(reports[cid]) if cid in reports else None


def period_figures(sel):
    """What a day's or an agent's figures must be, over the calls in sel."""
    an = [c for c in sel if c["fig"]]
    mos = [c["fig"]["mos"] for c in an if c["fig"]["mos"] is not None]
    return {
        "total_calls": len(sel),
        "analysed_calls": len(an),
        "skipped_calls": sum(c["state"] == "skipped" for c in sel),
        "error_calls": sum(c["state"] == "error" for c in sel),
        "talk_sec": rnd(sum(c["fig"]["talk"] or 0 for c in an), 1) if an else None,
        "hold_sec": rnd(sum(c["fig"]["hold"] or 0 for c in an), 1) if an else None,
        "dead_air_sec": rnd(sum(c["fig"]["dead"] or 0 for c in an), 1) if an else None,
        "one_way_calls": sum(c["fig"]["one_way"] for c in an) if an else None,
        "avg_mos": rnd(sum(mos) / len(mos), 2) if mos else None,
    }


def check_figures(what, got, want):
    for k, v in want.items():
        if k == "total_calls":
            continue
        # report values carry 3 decimals: a sum of them rounded to 1 may differ by 0.1
        same(f"{what}.{k}", got.get(k, "absent"), v, 0.1 if k.endswith("_sec") else 0.011)


def check_unscored(what, o, keys):
    for k in keys:
        same(f"{what}.{k} (no scores yet)", o.get(k, "absent"), None)


assert not scores, "this check is for a store without scores"
today = DAY0
days = sorted({c["day"] for c in calls.values() if c["day"]})
print(f"qa_check: {len(calls)} calls over {len(days)} days, {len(reports)} reports")

# ---- /api/qa/health ----------------------------------------------------------------------------
h = get("/api/qa/health")
same("health.status", h["status"], "ok")
same("health.total_scored", h["total_scored"], 0)
same("health.total_flagged", h["total_flagged"], 0)
fin = [c["finished"] for c in calls.values() if c["state"] == "complete" and c["finished"]]
want_last = (datetime.datetime.fromtimestamp(int(max(fin))).strftime("%Y-%m-%d %H:%M:%S")
             if fin else None)
same("health.last_processed", h["last_processed"], want_last)
same("health.total_calls", h["total_calls"], len(calls))
size_mb = con.size_bytes() / 1048576
same("health.db_size_mb", h["db_size_mb"], size_mb, 0.05)

# ---- /api/qa/daily-summary ----------------------------------------------------------------------
for d in days:
    arr = get(f"/api/qa/daily-summary?date={d}")
    same(f"daily-summary?date={d} length", len(arr), 1)
    o = arr[0]
    sel = [c for c in calls.values() if c["day"] == d]
    same(f"daily {d}.date", o["date"], d)
    same(f"daily {d}.total_calls", o["total_calls"], len(sel))
    same(f"daily {d}.scored_calls", o["scored_calls"], 0)
    same(f"daily {d}.flagged_calls", o["flagged_calls"], 0)
    check_unscored(f"daily {d}", o, ["avg_score", "top_agent", "top_score", "bottom_agent",
                                      "bottom_score"])
    for k in CATS:
        same(f"daily {d}.category_averages.{k}", o["category_averages"][k], None)
    check_figures(f"daily {d}", o, period_figures(sel))
arr = get("/api/qa/daily-summary?days=7")
same("daily-summary?days=7 length", len(arr), 7)
same("daily-summary?days=7 first", arr[0]["date"], str(today - datetime.timedelta(days=6)))
same("daily-summary?days=7 last", arr[-1]["date"], str(today))
for o in arr:
    sel = [c for c in calls.values() if c["day"] == o["date"]]
    same(f"daily(days) {o['date']}.total_calls", o["total_calls"], len(sel))
    check_figures(f"daily(days) {o['date']}", o, period_figures(sel))

# ---- /api/qa/trends ----------------------------------------------------------------------------
campaigns = sorted({c["campaign_id"] for c in calls.values() if c["campaign_id"]})
for camp in [None] + campaigns:
    q = "/api/qa/trends?days=30" + (f"&campaign={urllib.parse.quote(camp)}" if camp else "")
    arr = get(q)
    same(f"{q} length", len(arr), 30)
    for o in arr:
        sel = [c for c in calls.values() if c["day"] == o["date"] and
               (camp is None or c["campaign_id"] == camp)]
        same(f"{q} {o['date']}.calls", o["calls"], len(sel))
        same(f"{q} {o['date']}.flagged", o["flagged"], 0)
        check_unscored(f"{q} {o['date']}", o, ["avg_score"])
        for k in CATS:
            same(f"{q} {o['date']}.categories.{k}", o["categories"][k], None)
        check_figures(f"{q} {o['date']}", o, period_figures(sel))

# ---- /api/qa/agent/{agent_user} -----------------------------------------------------------------
agents = sorted({c["agent_user"] for c in calls.values() if c["agent_user"]})
for a in agents:
    o = get("/api/qa/agent/" + urllib.parse.quote(a, safe="") + "?days=30")
    start = today - datetime.timedelta(days=29)
    sel = [c for c in calls.values() if c["agent_user"] == a and c["day"] and
           str(start) <= c["day"] <= str(today)]
    same(f"agent {a}.agent_user", o["agent_user"], a)
    names = [c for c in calls.values() if c["agent_user"] == a and c["agent_name"]]
    same(f"agent {a}.agent_name", o["agent_name"],
         max(names, key=lambda c: c["id"])["agent_name"] if names else None)
    same(f"agent {a}.period_start", o["period_start"], str(start))
    same(f"agent {a}.period_end", o["period_end"], str(today))
    same(f"agent {a}.total_calls", o["total_calls"], len(sel))
    same(f"agent {a}.flagged_calls", o["flagged_calls"], 0)
    check_unscored(f"agent {a}", o, ["avg_score", "min_score", "max_score"])
    for k in CATS:
        same(f"agent {a}.category_averages.{k}", o["category_averages"][k], None)
    check_figures(f"agent {a}", o, period_figures(sel))
    want_trend = [{"date": d, "calls": sum(c["day"] == d for c in sel), "avg_score": None}
                  for d in sorted({c["day"] for c in sel})]
    same(f"agent {a}.trend", o["trend"], want_trend)

# ---- /api/qa/flagged, /api/qa/leaderboard: nothing scored, nothing listed -----------------------
same("flagged", get("/api/qa/flagged?days=90&limit=500"), [])
same("leaderboard", get("/api/qa/leaderboard?days=90&min_calls=1"), [])

# ---- /api/qa/call/{id} -------------------------------------------------------------------------
for cid, c in calls.items():
    o = get("/api/qa/call/" + urllib.parse.quote(c["recording_id"], safe=""))
    if o["call_id"] != cid:  # the same recording_id on two sources: the first by id
        first = min(k for k, v in calls.items() if v["recording_id"] == c["recording_id"])
        same(f"call {c['recording_id']}.call_id (two sources)", o["call_id"], first)
        continue
    for k in ("recording_id", "uniqueid", "agent_user", "agent_name", "campaign_id",
              "call_date", "source"):
        same(f"call {cid}.{k}", o[k], c[k])
    same(f"call {cid}.call_length", o["call_length"], c["length_sec"])
    same(f"call {cid}.call_status", o["call_status"], c["disposition"])
    same(f"call {cid}.processing_status", o["processing_status"], c["state"])
    check_unscored(f"call {cid}", o, ["transcript", "total_score", "scores", "summary",
                                      "strengths", "improvements", "flag_reason",
                                      "llm_provider"])
    same(f"call {cid}.flagged", o["flagged"], False)
    f = c["fig"]
    a = o["analysis"]
    if f is None:
        same(f"call {cid}.analysis (not analysed)", a, None)
        continue
    rep = reports[cid]
    same(f"call {cid}.analysis.duration_sec", a["duration_sec"], rep["duration"], 0.01)
    same(f"call {cid}.analysis.dead_air_sec", a["dead_air_sec"], f["dead"], 0.01)
    same(f"call {cid}.analysis.hold_sec", a["hold_sec"], f["hold"], 0.01)
    same(f"call {cid}.analysis.one_way", a["one_way"],
         None if rep.get("one_way_audio") is None else f["one_way"])
    for leg, key in (("inbound", "mos_in"), ("outbound", "mos_out")):
        nis = (rep.get(leg) or {}).get("nisqa") or {}
        same(f"call {cid}.analysis.{key}", a[key], nis.get("mos"), 0.01)
    same(f"call {cid}.analysis.warning_codes", a["warning_codes"],
         [w["code"] for w in rep.get("warning_details") or []])

# ---- /api/qa/calls -----------------------------------------------------------------------------
o = get("/api/qa/calls?limit=500")
same("calls.total", o["total"], len(calls))
order = sorted(calls.values(), key=lambda c: (c["call_date"] or "", c["id"]), reverse=True)
same("calls order", [x["call_id"] for x in o["calls"]], [c["id"] for c in order])
for st in ("complete", "error", "skipped", "pending"):
    o = get(f"/api/qa/calls?state={st}&limit=500")
    same(f"calls?state={st}.total", o["total"], sum(c["state"] == st for c in calls.values()))
for a in agents:
    o = get("/api/qa/calls?limit=2&offset=1&agent=" + urllib.parse.quote(a, safe=""))
    sel = [c for c in order if c["agent_user"] == a]
    same(f"calls?agent={a}.total", o["total"], len(sel))
    same(f"calls?agent={a} page", [x["call_id"] for x in o["calls"]], [c["id"] for c in sel[1:3]])
o = get("/api/qa/calls?one_way=1&limit=500")
same("calls?one_way=1.total", o["total"],
     sum(1 for c in calls.values() if c["fig"] and reports[c["id"]].get("one_way_audio") is True))
o = get("/api/qa/calls?dead_air=5&limit=500")
same("calls?dead_air=5.total", o["total"],
     sum(1 for c in calls.values() if c["fig"] and (c["fig"]["dead"] or 0) >= 5))

# ---- /api/qa/queue-status ----------------------------------------------------------------------
o = get("/api/qa/queue-status")
same("queue-status.total", o["total"], len(calls))
for st in ("pending", "analysing", "transcribing", "transcribed", "scoring", "complete",
           "skipped", "error"):
    same(f"queue-status.status_counts.{st}", o["status_counts"].get(st, 0),
         sum(c["state"] == st for c in calls.values()))

# ---- limits: out of range is 400 -----------------------------------------------------------------
for q in ("/api/qa/daily-summary?days=0", "/api/qa/daily-summary?days=91",
          "/api/qa/daily-summary?date=2026-13-01", "/api/qa/daily-summary?days=x",
          "/api/qa/agent/a?days=366", "/api/qa/flagged?limit=501", "/api/qa/flagged?days=91",
          "/api/qa/trends?days=6", "/api/qa/trends?days=366", "/api/qa/leaderboard?days=91",
          "/api/qa/calls?limit=0", "/api/qa/calls?state=nonsense", "/api/qa/calls?from=yesterday"):
    get(q, 400)
get("/api/qa/call/no-such-recording", 404)

print(f"qa_check: {checked} figures and answers checked, all equal")
