#!/usr/bin/env python3
"""gen_store.py - fill an empty callqa store with a year of generated calls, for the API benchmark
(bench/qa.sh api).

The store must exist already with callqa's schema (a `callqa serve --db S` or any command that
opens it runs the migrations); this script only adds rows, in one transaction, with bulk
executemany and a fixed random seed, so that every run makes the same store (for the same date).

What it makes (what /api/qa/daily-summary, /leaderboard and /flagged read, and the rest of a
call's rows so that the other routes see a plausible store):
  calls      CALLS calls over DAYS days ending today (or --end-day), from one ViciDial source:
             weekdays busy, Saturdays about half, Sundays a fifth, 08:00-20:00 with morning and
             afternoon peaks; AGENTS agents (some join or leave during the year, each works most
             weekdays), each on one or two of 12 campaigns (8 outbound, 4 inbound in-groups);
             lengths log-normal around 3 minutes.
  jobs       complete, except calls under 30 s (skipped: too short) and 0.3 % in error (missing).
  analyses   one per complete call: the queryable columns (duration, legs, speech %, MOS per leg,
             one-way, talk, dead air, overtalk, hold, tones, DTMF, warning codes); report '' (no
             blob).
  scores     one per complete call: the 8 categories (1-5, by the agent's level and the call),
             total = 20 x sum(weight x score), flagged when total < 60 with the old scorer's
             flag_reason; a one-line summary. The agents' levels are calibrated so that FLAGGED
             (10 %) of all calls are flagged.
  daily_stats  computed by the store's own roll-up statement, read from
             src/store/store_jobs_stats.c (rollup_day: DELETE then INSERT ... SELECT for one day),
             run for every day.
  day_summary  then the day's summary row, by the statements rollup_day ends with (summary_day:
             DELETE, then the INSERT of STORE__SUMMARY_LITE, src/store/store_int.h).
Prints what it made, the time of each part, and the median time of one day's roll-up.

Routes (--routes N, N > 0; docs/routes.md, bench/routes.sh): the same calls, agents, jobs and
scores, and besides
  calls      carrier "route-01".."route-N" (unequal shares: a Zipf tail, the three busiest sized
             so that each carries at least 50 calls in every weekday business hour, 09:00-17:00),
             server_ip one of 4 dialer servers, hour = substr(call_date, 1, 13). The hours of a
             day follow a fixed profile over 08:00-20:00 (a late-morning and a mid-afternoon
             peak, quiet evenings), each hour's calls spread over the routes by their shares
             (systematic rounding: each route floor or ceil of its share); the days' volumes as
             above (weekdays, Saturdays, Sundays) with a yearly swing of the calendar (365-day
             period, not the span's).
  analyses   per-call figures drawn per route: NISQA MOS (mos_model 'NISQA v2'; the route's mean
             3.9-4.2, a mild daily cycle of up to +0.05 at 14:00, per-call sd 0.35, in [1, 5];
             mos_in and mos_out around the call's MOS, mos_out NULL on a one-way call), one-way
             audio (the route's rate 0.5-2 %), a capture on about 60 % of the calls: packet loss
             % (log-normal, the route's mean 0.2-1 %), jitter ms (gamma, mean 8-30 ms) and the
             E-model's MOS of them (G.711 with PLC, Bpl 25.1; net_mos_model 'ITU-T G.107
             E-model').
--degrade: route-01's NISQA MOS -0.5, route-02's loss +2 points (every captured call), route-03's
one-way rate +5 points, each from a weekday business hour at least --degrade-after days (28) into
the data, for --degrade-days days (8; the one-way one starts 6 days before the end and lasts to
it, so that the last week shows it) and at least 3. --truth PATH: the routes and the
degradations (route, figure, start and end epoch, size in the unit route_changes stores: MOS
points, loss and one-way in percentage points) as JSON.
"""
import argparse
import datetime
import json
import math
import os
import random
import re
import sqlite3
import sys
import time

WEIGHTS = [("greeting", 0.10), ("customer_id", 0.10), ("needs", 0.15), ("product", 0.15),
           ("communication", 0.15), ("resolution", 0.20), ("closing", 0.10), ("compliance", 0.05)]
FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Elif", "Femi", "Grace", "Hiro", "Ines", "José", "Kai",
         "Lena", "Marek", "Nadia", "Owen", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Ulla",
         "Vera", "Wen", "Ximena", "Yusuf", "Zoë"]
LAST = ["Smith", "Müller", "García", "Nowak", "Okafor", "Tanaka", "Rossi", "Kowalski", "Dubois",
        "Ålund", "O'Brien", "Nguyen", "Silva", "Jensen", "Haddad", "Ivanova", "Murphy", "Chen"]
OUT_DISPO = ["SALE", "NI", "NI", "CALLBK", "DNC", "A", "NP", "SALE", "NI", "B"]
IN_DISPO = ["RESOLV", "RESOLV", "CALLBK", "XFER", "RESOLV", "INFO"]


def rollup_sql(store_c):
    """The store's roll-up statements, as rollup_day runs them: the day's daily_stats rows
    (DELETE, INSERT ... SELECT), then its day_summary row (DELETE, WITH ... INSERT)."""
    text = open(store_c, encoding="utf-8").read()
    int_h = os.path.join(os.path.dirname(store_c), "store_int.h")

    def function(name):
        m = re.search(r"static int %s\(store \*s, const char \*day\)\s*\{(.*?)\n\}" % name, text, re.S)
        if not m:
            sys.exit("gen_store.py: %s not found in %s" % (name, store_c))
        return m.group(1)

    body, summary = function("rollup_day"), function("summary_day")
    if "return summary_day(s, day)" not in body:
        sys.exit("gen_store.py: rollup_day no longer ends with summary_day in %s" % store_c)
    # the string macros (#define NAME "..." "...", continued with backslashes) of the file and
    # of store_int.h
    macros = {}
    for src in (open(int_h, encoding="utf-8").read(), text):
        for d in re.finditer(r"^#define (\w+)[ \t]*((?:.*\\\n)*.*)$", src, re.M):
            macros[d.group(1)] = d.group(2).replace("\\\n", "\n")

    def strings(code):
        out = []
        for t in re.finditer(r'"((?:[^"\\]|\\.)*)"|\b([A-Z_][A-Z0-9_]*)\b', code):
            if t.group(1) is not None:
                out.append(t.group(1).encode().decode("unicode_escape"))
            elif t.group(2) in macros:
                out.append(strings(macros[t.group(2)]))
        return "".join(out)

    def literal(code, after):
        i = code.find(after)
        if i < 0:
            sys.exit("gen_store.py: %s not found in %s" % (after, store_c))
        j = code.find(");", i)
        arg = code[i + len(after):j]
        # STORE_SQL(s, SQLITE, POSTGRESQL): SQLite's
        k = arg.find("STORE_SQL(s,")
        if k >= 0:
            arg = arg[k + len("STORE_SQL(s,"):].split(",")[0]
        return strings(arg)

    delete, insert = literal(body, "Q_ROLLUP_DELETE"), literal(body, "Q_ROLLUP_INSERT")
    if not delete.startswith("DELETE FROM daily_stats") or "INSERT INTO daily_stats" not in insert:
        sys.exit("gen_store.py: unexpected roll-up statements in %s" % store_c)
    s_delete = literal(summary, "Q_SUMMARY_DELETE")
    s_insert = literal(summary, "Q_SUMMARY_INSERT")
    if not s_delete.startswith("DELETE FROM day_summary") or "INSERT INTO day_summary" not in s_insert:
        sys.exit("gen_store.py: unexpected summary statements in %s" % store_c)
    return delete, insert, s_delete, s_insert


def local_tz():
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        return os.path.realpath("/etc/localtime").split("/zoneinfo/", 1)[1]
    except (IndexError, OSError):
        return "UTC"


# ---- routes (--routes) ---------------------------------------------------------------------------
# The hours of a day (local 08:00-20:00) by weight; 09:00-17:00 are the business hours.
HOUR_W = {8: 0.5, 9: 0.95, 10: 1.1, 11: 1.15, 12: 1.0, 13: 0.92, 14: 1.05, 15: 1.1, 16: 1.0,
          17: 0.6, 18: 0.4, 19: 0.25}
BUSINESS = range(9, 17)
SERVERS = [("10.20.0.11", 0.35), ("10.20.0.12", 0.30), ("10.20.0.13", 0.20), ("10.20.0.14", 0.15)]
# the degradations: (route index, figure, size, start hour, where in the span)
DEGRADE = [(0, "mos", -0.5, 10, 0.35), (1, "loss", 2.0, 11, 0.60), (2, "one_way", 5.0, 14, None)]
MIN_PER_HOUR = 50


def largest_remainder(total, weights):
    """total split by weights into integers that sum to it."""
    s = float(sum(weights))
    exact = [total * w / s for w in weights]
    out = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: out[i] - exact[i])[:total - sum(out)]:
        out[i] += 1
    return out


def spread(k, cum, u):
    """k calls over routes of cumulative shares cum (the last 1): systematic rounding from the
    offset u in [0, 1), each route floor or ceil of its share of k."""
    out, prev = [], 0
    for i, c in enumerate(cum):
        n = k if i == len(cum) - 1 else min(k, int(math.floor(c * k + u)))
        out.append(n - prev)
        prev = n
    return out


def emodel_mos(loss, jitter):
    """ITU-T G.107's MOS of a G.711 call with packet-loss concealment (Ie 0, Bpl 25.1, random
    loss) and a one-way delay of 40 ms plus twice the jitter (the jitter buffer)."""
    ie = 95.0 * loss / (loss + 25.1)
    d = 40 + 2 * jitter
    idd = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0)
    r = min(100.0, max(0.0, 93.2 - ie - idd))
    return min(4.5, max(1.0, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)))


def route_plan(a, first_day, per_day, rr):
    """The routes' figures and shares, each day's calls per hour, and the degradations."""
    n = a.routes
    width = max(2, len(str(n)))
    routes = []
    for i in range(n):
        mean_loss = rr.uniform(0.2, 1.0)
        sigma = rr.uniform(0.8, 1.1)
        routes.append({"name": "route-%0*d" % (width, i + 1),
                       "mos": round(rr.uniform(3.9, 4.2), 3), "mos_sd": 0.35,
                       "capture": round(rr.uniform(0.55, 0.65), 3),
                       "loss_mean": round(mean_loss, 3), "loss_sigma": round(sigma, 3),
                       "jitter_mean": round(rr.uniform(8, 30), 2),
                       "jitter_shape": round(rr.uniform(2, 4), 2),
                       "one_way": round(rr.uniform(0.005, 0.02), 4)})
    # each day's calls per hour
    hours = sorted(HOUR_W)
    per_hour = [largest_remainder(per_day[d], [HOUR_W[h] for h in hours]) for d in range(a.days)]
    weekday = [(first_day + datetime.timedelta(days=d)).weekday() < 5 for d in range(a.days)]
    # the shares: a Zipf tail; with --degrade the three busiest sized for MIN_PER_HOUR calls in
    # the quietest weekday business hour (with 1 % to spare)
    zipf = [1.0 / (i + 1) ** 0.8 for i in range(n)]
    shares = [z / sum(zipf) for z in zipf]
    quietest = min((per_hour[d][hours.index(h)] for d in range(a.days) if weekday[d]
                    for h in BUSINESS), default=0)
    if a.degrade:
        if n < 4:
            sys.exit("gen_store.py: --degrade needs --routes 4 at least (three degraded, one "
                     "stable)")
        if quietest <= 0:
            sys.exit("gen_store.py: --degrade: no weekday business hour in the data")
        need = MIN_PER_HOUR * 1.01 / quietest
        top = [max(shares[i], need * (1.10, 1.05, 1.0)[i]) for i in range(3)]
        if sum(top) > 0.97:  # the tail's shape gives way first
            top = [need * (1.10, 1.05, 1.0)[i] for i in range(3)]
        if sum(top) > 0.97:
            sys.exit("gen_store.py: --degrade: %d calls over %d days are too few for %d calls in "
                     "every weekday business hour on three routes (the quietest such hour has %d "
                     "calls in all; need about %d)" %
                     (a.calls, a.days, MIN_PER_HOUR, quietest, int(3.2 * MIN_PER_HOUR)))
        rest = sum(shares[3:])
        shares = top + [x * (1 - sum(top)) / rest for x in shares[3:]]
    for r, sh in zip(routes, shares):
        r["share"] = round(sh, 6)
    cum, c = [], 0.0
    for sh in shares:
        c += sh
        cum.append(c)
    # the degradations
    degr = []
    if a.degrade:
        for ri, fig, size, hour, at in DEGRADE:
            d0 = a.days - 6 if at is None else int(round(at * a.days))
            d0 = max(d0, a.degrade_after)
            while d0 < a.days and not weekday[d0]:
                d0 += 1
            d1 = a.days if at is None else min(a.days, d0 + a.degrade_days)
            if d1 - d0 < 3:
                sys.exit("gen_store.py: --degrade: %s of %s would start on day %d of %d: too late "
                         "for 3 days of it (more --days, or less --degrade-after)" %
                         (fig, routes[ri]["name"], d0, a.days))
            day0 = first_day + datetime.timedelta(days=d0)
            mid0 = time.mktime((day0.year, day0.month, day0.day, 0, 0, 0, 0, 0, -1))
            day1 = first_day + datetime.timedelta(days=d1)
            mid1 = time.mktime((day1.year, day1.month, day1.day, 0, 0, 0, 0, 0, -1))
            # it ends at the same hour as it began (or with the data)
            t1 = mid1 + hour * 3600 if d1 < a.days else mid1
            degr.append({"route": routes[ri]["name"], "index": ri, "figure": fig, "size": size,
                         "start": mid0 + hour * 3600, "end": t1,
                         "start_local": "%s %02d:00" % (day0.isoformat(), hour),
                         "end_local": (("%s %02d:00" % (day1.isoformat(), hour)) if d1 < a.days
                                       else "%s 00:00 (the data's end)" % day1.isoformat()),
                         "start_day": d0})
    return routes, cum, hours, per_hour, weekday, degr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, help="the store (created by callqa, empty)")
    ap.add_argument("--calls", type=int, default=1000000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--flagged", type=float, default=0.10, help="share of all calls flagged")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--store-c", default=os.path.join(os.path.dirname(__file__), "..", "src",
                                                      "store", "store_jobs_stats.c"))
    ap.add_argument("--routes", type=int, default=0,
                    help="carriers route-01..route-N with per-route figures (0: none, as before)")
    ap.add_argument("--degrade", action="store_true",
                    help="three routes degrade (MOS -0.5, loss +2 points, one-way +5 points)")
    ap.add_argument("--degrade-after", type=int, default=28,
                    help="the degradations start at least this many days into the data (28)")
    ap.add_argument("--degrade-days", type=int, default=8, help="how long they last (8)")
    ap.add_argument("--truth", help="the routes and the degradations written here (JSON)")
    ap.add_argument("--end-day", help="the last day of the data, YYYY-MM-DD (default: today)")
    a = ap.parse_args()
    if a.calls < a.days or a.agents < 3:
        sys.exit("gen_store.py: --calls must be at least --days, --agents at least 3")
    if a.routes < 0 or ((a.degrade or a.truth) and a.routes == 0):
        sys.exit("gen_store.py: --degrade and --truth need --routes N (N > 0)")
    delete_sql, rollup_insert, summary_delete, summary_insert = rollup_sql(a.store_c)
    db = sqlite3.connect(a.db, isolation_level=None)
    ver = db.execute("PRAGMA user_version").fetchone()[0]
    if ver < 3:
        sys.exit("gen_store.py: %s is at schema version %d: let callqa create it first" % (a.db, ver))
    has_hour = "hour" in [r[1] for r in db.execute("PRAGMA table_info(calls)")]
    if a.routes and (ver < 21 or not has_hour):
        sys.exit("gen_store.py: --routes needs a store at schema 21 (routes); %s is at %d" %
                 (a.db, ver))
    if db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]:
        sys.exit("gen_store.py: %s already holds calls" % a.db)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1048576")  # 1 GiB
    rnd = random.Random(a.seed)
    t_start = time.perf_counter()

    # ---- agents and campaigns ----
    today = datetime.date.fromisoformat(a.end_day) if a.end_day else datetime.date.today()
    first_day = today - datetime.timedelta(days=a.days - 1)
    camps = [("OUT%d" % i, "Outbound %d" % i, "outbound") for i in range(1, 9)] + \
            [("IN%d" % i, "In-group %d" % i, "inbound") for i in range(1, 5)]
    agents = []
    for i in range(a.agents):
        join, leave = 0, a.days
        if a.days < 4:
            pass
        elif rnd.random() < 0.15:
            join = rnd.randrange(a.days // 2)
        elif rnd.random() < 0.10:
            leave = rnd.randrange(a.days // 2, a.days)
        cs = rnd.sample(range(len(camps)), 1 if rnd.random() < 0.6 else 2)
        agents.append({"user": str(1001 + i),
                       "name": "%s %s" % (rnd.choice(FIRST), rnd.choice(LAST)),
                       "level": rnd.gauss(0, 0.33), "pace": rnd.uniform(0.6, 1.4),
                       "camps": cs, "join": join, "leave": leave})

    # ---- how many calls each day: weekday weights, a slow seasonal swing; exactly a.calls ----
    w = []
    for d in range(a.days):
        day = first_day + datetime.timedelta(days=d)
        wd = day.weekday()
        w.append((1.0 if wd < 5 else 0.45 if wd == 5 else 0.2) *
                 (1 + 0.15 * math.sin(2 * math.pi * d / (365 if a.routes else a.days))))
    exact = [a.calls * x / sum(w) for x in w]
    per_day = [int(x) for x in exact]
    for d in sorted(range(a.days), key=lambda d: per_day[d] - exact[d])[:a.calls - sum(per_day)]:
        per_day[d] += 1

    # ---- the routes: their figures, shares, hours and degradations (their own random stream) ----
    rr = random.Random(a.seed + 21)
    if a.routes:
        routes, cum, hours, per_hour, weekday, degr = route_plan(a, first_day, per_day, rr)
        srv_names = [x for x, _ in SERVERS]
        srv_cum = [sum(w for _, w in SERVERS[:i + 1]) for i in range(len(SERVERS))]
        # calls of each degraded route in each weekday business hour (the plan's, exact)
        bh_calls = {g["route"]: [] for g in degr}
        route_calls = [0] * a.routes

    # ---- the agents' levels, calibrated: a.flagged of all calls flagged ----
    def call_scores(r, level):
        e = level + r.gauss(0, 0.45)
        s = [min(5, max(1, round(r.gauss(e, 0.7)))) for _ in WEIGHTS]
        return s, 20 * sum(x * wt for x, (_, wt) in zip(s, WEIGHTS))

    def flag_rate(mean):
        r = random.Random(a.seed + 1)
        pick = r.choices(agents, weights=[ag["pace"] for ag in agents], k=40000)
        return sum(call_scores(r, mean + ag["level"])[1] < 60 for ag in pick) / len(pick)

    # complete: not under 30 s (log-normal below), not in error (0.3 %)
    complete_share = (1 - 0.5 * math.erfc(-math.log(30 / 180) / 0.9 / math.sqrt(2))) * 0.997
    lo, hi = 2.5, 5.0
    for _ in range(18):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if flag_rate(mid) > a.flagged / complete_share else (lo, mid)
    base = (lo + hi) / 2

    tz = local_tz()
    engine = "cq1-bench-generated"
    ins_call = ("INSERT INTO calls (id, source, recording_id, vicidial_id, uniqueid, lead_id, "
                "agent_user, agent_name, campaign_id, campaign_name, direction, call_date, day, tz, "
                "call_epoch, length_sec, disposition, term_reason, audio, audio_in, audio_out, "
                "orig_deadline, open, created, updated) VALUES (?, 'dialer1', ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, 0, ?, ?)")
    if has_hour:  # schema 21: the call's route and local hour
        ins_call = ins_call.replace("open, created, updated)", "open, created, updated, carrier, "
                                    "server_ip, hour)").replace("0, ?, ?)", "0, ?, ?, ?, ?, ?)")
    ins_job = ("INSERT INTO jobs (id, call_id, state, priority, next_attempt, retry_count, "
               "lease_owner, lease_expires, lease_token, heartbeat, stages, skip_reason, "
               "error_stage, error_message, queued, started, finished, updated) VALUES (?, ?, ?, "
               "?, 0, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    ins_an = ("INSERT INTO analyses (call_id, server, file, identity, engine, source, validators, "
              "created, checked, report, duration_sec, legs, speech_pct_in, speech_pct_out, "
              "mos_in, mos_out, one_way, talk_sec_in, talk_sec_out, dead_air_sec, overtalk_sec, "
              "hold_sec, hold_count, tone_count, dtmf_count, warning_codes) VALUES (?, 'dialer1', "
              "?, '', ?, 'pipeline', '', ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    if a.routes:  # the call's measured route: NISQA MOS, the capture's loss, jitter and MOS
        ins_an = ins_an.replace("warning_codes)", "warning_codes, mos_model, net_mos, "
                                "net_mos_model, net_loss_pct, net_jitter_ms)").replace(
            "?, ?, ?, ?)", "?, ?, ?, ?, 'NISQA v2', ?, ?, ?, ?)")
    ins_sc = ("INSERT INTO scores (call_id, day, scorecard, backend, total_score, partial_score, "
              "coverage, flagged, flag_reason, greeting, customer_id, needs, product, "
              "communication, resolution, closing, compliance, summary, strengths, improvements, "
              "llm_provider, llm_model, detail, created) VALUES (?, ?, 'qa8', 'llm', ?, NULL, 1.0, "
              "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 'local', 'qa-model-1', NULL, ?)")
    stages_done = '{"transcribe":"done","score":"done"}'
    counts = {"calls": 0, "complete": 0, "skipped": 0, "error": 0, "flagged": 0, "one_way": 0}
    cid = 0
    t_rows = time.perf_counter()
    db.execute("BEGIN")
    for d in range(a.days):
        day = first_day + datetime.timedelta(days=d)
        dstr = day.isoformat()
        midnight = time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1))
        weekend = day.weekday() >= 5
        on = [ag for ag in agents if ag["join"] <= d < ag["leave"] and
              rnd.random() < (0.3 if weekend else 0.88)]
        if len(on) < 3:
            on = rnd.sample(agents, 3)
        who = rnd.choices(on, weights=[ag["pace"] for ag in on], k=per_day[d])
        if a.routes:
            # each hour's calls over the routes, at random seconds of the hour
            timed = []
            for h, k in zip(hours, per_hour[d]):
                split = spread(k, cum, rr.random())
                if weekday[d] and h in BUSINESS:
                    for g in degr:
                        bh_calls[g["route"]].append(split[g["index"]])
                for ri, m in enumerate(split):
                    route_calls[ri] += m
                    timed += [(h * 3600 + rr.randrange(3600), ri) for _ in range(m)]
            timed.sort()
            secs = [t for t, _ in timed]
            route_of = [ri for _, ri in timed]
        else:
            secs = sorted(int(min(max(28800 + (rnd.gauss(11400, 5400) if rnd.random() < 0.55 else
                                               rnd.gauss(30600, 5400)), 28800), 71999))
                          for _ in range(per_day[d]))
        calls, jobs, ans, scs = [], [], [], []
        for i_call, (ag, sec) in enumerate(zip(who, secs)):
            cid += 1
            c = camps[ag["camps"][0] if len(ag["camps"]) == 1 or rnd.random() < 0.7 else
                      ag["camps"][1]]
            inbound = c[2] == "inbound"
            epoch = midnight + sec
            hh, mm, ss = sec // 3600, sec // 60 % 60, sec % 60
            call_date = "%s %02d:%02d:%02d" % (dstr, hh, mm, ss)
            length = int(min(max(rnd.lognormvariate(math.log(180), 0.9), 3), 3600))
            uniqueid = "%d.%d" % (epoch, cid)
            name = "%s-%02d%02d%02d_%d" % (dstr.replace("-", ""), hh, mm, ss, cid)
            created = epoch + length + rnd.uniform(60, 360)  # the next ingest scan
            started = created + rnd.uniform(1, 600)
            finished = started + length * rnd.uniform(0.004, 0.012) + 0.2
            calls.append((cid, str(5000000 + cid), str(cid) if inbound else uniqueid, uniqueid,
                          str(200000 + rnd.randrange(800000)), ag["user"], ag["name"], c[0], c[1],
                          c[2], call_date, dstr, tz, epoch, length,
                          rnd.choice(IN_DISPO if inbound else OUT_DISPO),
                          rnd.choice(("CALLER", "AGENT")), "r1:MP3/%s-all.mp3" % name, created,
                          finished))
            if a.routes:
                ri = route_of[i_call]
                u = rr.random()
                calls[-1] += (routes[ri]["name"],
                              srv_names[next(i for i, c in enumerate(srv_cum) if u < c or
                                             i == len(srv_cum) - 1)], call_date[:13])
            elif has_hour:
                calls[-1] += (None, None, call_date[:13])
            if length < 30:
                counts["skipped"] += 1
                jobs.append((cid, cid, "skipped", 4e9 + created, 0, 0, None, "{}",
                             "too short: %d s, under 30 s" % length, None, None, created, None,
                             created, created))
                continue
            if rnd.random() < 0.003:
                counts["error"] += 1
                jobs.append((cid, cid, "error", 4e9 + created, 3, 4, finished, "{}", None,
                             "analyse", "missing: r1:MP3/%s-all.mp3: HTTP 404" % name, created,
                             started, finished, finished))
                continue
            counts["complete"] += 1
            jobs.append((cid, cid, "complete", 4e9 + created, 0, 1, finished, stages_done, None,
                         None, None, created, started, finished, finished))
            # the analysis
            dur = length + rnd.uniform(-1, 1)
            if a.routes:
                rt = routes[ri]
                shift = {g["figure"]: g["size"] for g in degr
                         if g["index"] == ri and g["start"] <= epoch < g["end"]}
                one_way = 1 if rr.random() < rt["one_way"] + shift.get("one_way", 0) / 100 else 0
            else:
                one_way = 1 if rnd.random() < 0.015 else 0
            hold = rnd.uniform(10, min(300, dur / 2)) if rnd.random() < 0.18 and dur > 40 else 0
            talk = dur - hold
            sp_in = rnd.uniform(25, 55)
            sp_out = 0.0 if one_way else rnd.uniform(25, 55)
            dead = max(0.0, rnd.gauss(0.06, 0.04) * talk)
            over = max(0.0, rnd.gauss(0.03, 0.02) * talk)
            if a.routes:
                # the call's MOS (the mean of its legs'), the route's with its daily cycle
                m = min(5.0, max(1.0, rr.gauss(rt["mos"] + shift.get("mos", 0) + 0.05 *
                                               math.cos(2 * math.pi * (sec / 3600 - 14) / 24),
                                               rt["mos_sd"])))
                e = rr.gauss(0, 0.12)
                mos_in, mos_out = (m, None) if one_way else (m + e, m - e)
                if mos_out is not None and not (1 <= mos_in <= 5 and 1 <= mos_out <= 5):
                    mos_in = mos_out = m
                net = (None, None, None, None)
                if rr.random() < rt["capture"]:
                    loss = rr.lognormvariate(math.log(rt["loss_mean"]) - rt["loss_sigma"] ** 2 / 2,
                                             rt["loss_sigma"])
                    loss = min(100.0, loss + shift.get("loss", 0))
                    jit = rr.gammavariate(rt["jitter_shape"],
                                          rt["jitter_mean"] / rt["jitter_shape"])
                    net = (round(emodel_mos(loss, jit), 3), "ITU-T G.107 E-model", round(loss, 4),
                           round(jit, 2))
            else:
                mos_in = min(4.6, max(1.2, rnd.gauss(3.3, 0.45)))
                mos_out = None if one_way else min(4.6, max(1.2, rnd.gauss(3.5, 0.4)))
            warn = ",".join(w for w, p in (("one_way_audio", one_way), ("low_level", rnd.random() < 0.04),
                                           ("clipping", rnd.random() < 0.02)) if p)
            counts["one_way"] += one_way
            ans.append((cid, str(5000000 + cid), engine, finished, finished, round(dur, 3), 2,
                        round(sp_in, 1), round(sp_out, 1), round(mos_in, 3),
                        None if mos_out is None else round(mos_out, 3), one_way,
                        round(talk * sp_in / 100, 2), round(talk * sp_out / 100, 2),
                        round(dead, 2), round(over, 2), round(hold, 2), 1 if hold else 0,
                        rnd.randrange(3), rnd.randrange(12) if inbound else rnd.randrange(2),
                        warn))
            if a.routes:
                ans[-1] += net
            # the score
            s, total = call_scores(rnd, base + ag["level"])
            flagged = 1 if total < 60 else 0
            reason = None
            if flagged:
                counts["flagged"] += 1
                reason = "Score %d below 60" % round(total)
                crit = [k for (k, _), x in zip(WEIGHTS, s) if x <= 2]
                if crit:
                    reason += "; critical: " + ", ".join(crit)
            summary = ("The agent %s the caller's %s; %s." %
                       (rnd.choice(("handled", "resolved", "escalated", "addressed")),
                        rnd.choice(("billing question", "order", "complaint", "account change")),
                        "a follow-up was agreed" if total >= 60 else "key steps were missed"))
            scs.append((cid, dstr, total, flagged, reason, *s, summary, finished + 30))
        db.executemany(ins_call, calls)
        db.executemany(ins_job, jobs)
        db.executemany(ins_an, ans)
        db.executemany(ins_sc, scs)
        counts["calls"] += len(calls)
    t_roll = time.perf_counter()
    roll_times = []
    for d in range(a.days):
        dstr = (first_day + datetime.timedelta(days=d)).isoformat()
        t = time.perf_counter()
        db.execute(delete_sql, (dstr,))
        db.execute(rollup_insert, (dstr,))
        db.execute(summary_delete, (dstr,))
        db.execute(summary_insert, (dstr,))
        roll_times.append(time.perf_counter() - t)
    t_roll_end = time.perf_counter()
    db.execute("COMMIT")
    t_commit = time.perf_counter()
    # no ANALYZE: the store never runs it, so the query plans are those a real store gets
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t_end = time.perf_counter()
    n_stats = db.execute("SELECT COUNT(*) FROM daily_stats").fetchone()[0]
    sums = db.execute("SELECT SUM(queued), SUM(analysed), SUM(flagged) FROM daily_stats").fetchone()
    if sums[0] != counts["calls"] or sums[1] != counts["complete"] or sums[2] != counts["flagged"]:
        sys.exit("gen_store.py: the roll-ups disagree with the rows: %r, %r" % (sums, counts))
    days = db.execute("SELECT COUNT(*), SUM(total_calls), SUM(analysed), SUM(flagged) FROM "
                      "day_summary").fetchone()
    if days != (a.days, counts["calls"], counts["complete"], counts["flagged"]):
        sys.exit("gen_store.py: the day summaries disagree with the rows: %r, %r" % (days, counts))
    roll_times.sort()
    print("calls %d over %d days (%s to %s), %d agents, 12 campaigns; complete %d, skipped %d, "
          "error %d; flagged %d (%.2f %% of all calls); one-way %d; daily_stats rows %d" %
          (counts["calls"], a.days, first_day, today, a.agents, counts["complete"],
           counts["skipped"], counts["error"], counts["flagged"],
           100.0 * counts["flagged"] / counts["calls"], counts["one_way"], n_stats))
    print("calls a day: %d..%d; agents' level base %.3f" %
          (min(per_day), max(per_day), base))
    if a.routes:
        print("routes %d: calls %s" % (a.routes, ", ".join(
            "%s %d (%.1f %%)" % (r["name"], c, 100.0 * c / counts["calls"])
            for r, c in zip(routes, route_calls))))
        for g in degr:
            v = sorted(bh_calls[g["route"]])
            g["business_hour_calls"] = {"min": v[0], "median": v[len(v) // 2], "max": v[-1],
                                        "hours": len(v)}
            print("degraded: %s %s %+g from %s to %s; calls per weekday business hour (09-17): "
                  "min %d, median %d, max %d over %d hours" %
                  (g["route"], g["figure"], g["size"], g["start_local"], g["end_local"], v[0],
                   v[len(v) // 2], v[-1], len(v)))
            if v[0] < MIN_PER_HOUR:
                sys.exit("gen_store.py: %s carries only %d calls in a business hour" %
                         (g["route"], v[0]))
        if a.truth:
            with open(a.truth, "w", encoding="utf-8") as f:
                json.dump({"generator": "bench/gen_store.py", "calls": counts["calls"],
                           "days": a.days, "first_day": first_day.isoformat(),
                           "last_day": today.isoformat(), "tz": tz, "seed": a.seed,
                           "dim": "carrier", "business_hours": "weekdays 09:00-17:00 local",
                           "routes": [dict(r, calls=c) for r, c in zip(routes, route_calls)],
                           "degradations": [{k: v for k, v in g.items() if k != "index"}
                                            for g in degr]}, f, indent=1)
                f.write("\n")
    print("times: set-up %.1f s, rows %.1f s, roll-ups %.1f s (one day's roll-up and summary by "
          "the store's statements: median %.1f ms, max %.1f ms), commit %.1f s, checkpoint %.1f s" %
          (t_rows - t_start, t_roll - t_rows, t_roll_end - t_roll,
           roll_times[len(roll_times) // 2] * 1e3, roll_times[-1] * 1e3, t_commit - t_roll_end,
           t_end - t_commit))


if __name__ == "__main__":
    main()
