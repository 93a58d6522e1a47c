#!/usr/bin/env python3
"""gen_store.py - fill an empty callqa store with a year of generated calls, for the API benchmark
(bench/qa.sh api).

The store must exist already with callqa's schema (a `callqa serve --db S` or any command that
opens it runs the migrations); this script only adds rows, in one transaction, with bulk
executemany and a fixed random seed, so that every run makes the same store (for the same date).

What it makes (what /api/qa/daily-summary, /leaderboard and /flagged read, and the rest of a
call's rows so that the other routes see a plausible store):
  calls      CALLS calls over DAYS days ending today, from one ViciDial source: weekdays busy,
             Saturdays about half, Sundays a fifth, 08:00-20:00 with morning and afternoon peaks;
             AGENTS agents (some join or leave during the year, each works most weekdays), each on
             one or two of 12 campaigns (8 outbound, 4 inbound in-groups); lengths log-normal
             around 3 minutes.
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
"""
import argparse
import datetime
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
    a = ap.parse_args()
    if a.calls < a.days or a.agents < 3:
        sys.exit("gen_store.py: --calls must be at least --days, --agents at least 3")
    delete_sql, rollup_insert, summary_delete, summary_insert = rollup_sql(a.store_c)
    db = sqlite3.connect(a.db, isolation_level=None)
    ver = db.execute("PRAGMA user_version").fetchone()[0]
    if ver < 3:
        sys.exit("gen_store.py: %s is at schema version %d: let callqa create it first" % (a.db, ver))
    if db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]:
        sys.exit("gen_store.py: %s already holds calls" % a.db)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1048576")  # 1 GiB
    rnd = random.Random(a.seed)
    t_start = time.perf_counter()

    # ---- agents and campaigns ----
    today = datetime.date.today()
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
                 (1 + 0.15 * math.sin(2 * math.pi * d / a.days)))
    exact = [a.calls * x / sum(w) for x in w]
    per_day = [int(x) for x in exact]
    for d in sorted(range(a.days), key=lambda d: per_day[d] - exact[d])[:a.calls - sum(per_day)]:
        per_day[d] += 1

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
    ins_job = ("INSERT INTO jobs (id, call_id, state, priority, next_attempt, retry_count, "
               "lease_owner, lease_expires, lease_token, heartbeat, stages, skip_reason, "
               "error_stage, error_message, queued, started, finished, updated) VALUES (?, ?, ?, "
               "?, 0, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    ins_an = ("INSERT INTO analyses (call_id, server, file, identity, engine, source, validators, "
              "created, checked, report, duration_sec, legs, speech_pct_in, speech_pct_out, "
              "mos_in, mos_out, one_way, talk_sec_in, talk_sec_out, dead_air_sec, overtalk_sec, "
              "hold_sec, hold_count, tone_count, dtmf_count, warning_codes) VALUES (?, 'dialer1', "
              "?, '', ?, 'pipeline', '', ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
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
        secs = sorted(int(min(max(28800 + (rnd.gauss(11400, 5400) if rnd.random() < 0.55 else
                                           rnd.gauss(30600, 5400)), 28800), 71999))
                      for _ in range(per_day[d]))
        calls, jobs, ans, scs = [], [], [], []
        for ag, sec in zip(who, secs):
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
            one_way = 1 if rnd.random() < 0.015 else 0
            hold = rnd.uniform(10, min(300, dur / 2)) if rnd.random() < 0.18 and dur > 40 else 0
            talk = dur - hold
            sp_in = rnd.uniform(25, 55)
            sp_out = 0.0 if one_way else rnd.uniform(25, 55)
            dead = max(0.0, rnd.gauss(0.06, 0.04) * talk)
            over = max(0.0, rnd.gauss(0.03, 0.02) * talk)
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
    print("times: set-up %.1f s, rows %.1f s, roll-ups %.1f s (one day's roll-up and summary by "
          "the store's statements: median %.1f ms, max %.1f ms), commit %.1f s, checkpoint %.1f s" %
          (t_rows - t_start, t_roll - t_rows, t_roll_end - t_roll,
           roll_times[len(roll_times) // 2] * 1e3, roll_times[-1] * 1e3, t_commit - t_roll_end,
           t_end - t_commit))


if __name__ == "__main__":
    main()
