#!/usr/bin/env python3
"""routes_eval.py - the changes `callqa store routes` found on a generated fleet, against its
ground truth (bench/gen_store.py --routes N --degrade --truth TRUTH; docs/routes.md).

  usage: routes_eval.py STORE TRUTH [--json OUT]

STORE is the SQLite store the generator filled and `callqa store routes --db STORE --rebuild`
scanned; TRUTH its --truth file. Only the carrier dimension is read (route_changes dim =
'carrier': the generator's routes); the dialer servers and campaigns mix the routes' calls and
are left out.

For each true degradation (route, figure, start, size): the first change on that route and figure
with direction 'worse' and t_start within +-6 h of the true start (by t_found). Then
  delay      t_found - start in hours of data time (t_found is the start of the hour whose data
             raised it, as fl_detect and bench/fleet_change.c count it), and the hours in between
             in which the route carried calls;
  calls      the route's calls from the start to the end of the hour t_found (the calls table);
  in time    t_found <= max(start + 2 h, the hour of the route's 100th call from the start)
             (fleet_change.c's "in time"; "strict": max(start + 1 h, ...), i.e. two hours of data);
  t_start    its error, in hours;
  size       |(after - before) - size| / |size| (before and after as route_changes stores them:
             MOS points, loss % and one-way % points), within 20 %.
A 'better' change within +-6 h of a degradation's end is its recovery. Every other change is a
false alarm: on the stable routes (those the truth degrades nowhere) counted per route-year of data
(each route's first to last day), which must be at most 1; on the degraded routes (another figure,
or far from the truth) listed and counted apart, with those of net_mos within a loss degradation
marked (the E-model's MOS is computed from the loss: it moves with it).
Prints a table; exits 1 when a degradation is missed, late or mis-sized, or the stable routes'
false alarms exceed 1 per route-year.
"""
import json
import math
import sqlite3
import sys
import time

WINDOW = 6 * 3600.0  # a change's t_start this close to the truth's start is that degradation's
SIZE_TOL = 0.20
FA_PER_YEAR = 1.0
YEAR = 365.25 * 86400


def local(t):
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def main():
    args = sys.argv[1:]
    out_json = None
    if "--json" in args:
        i = args.index("--json")
        if i + 1 >= len(args):
            sys.exit(__doc__.split("\n\n")[1])
        out_json = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    store, truth_path = args
    truth = json.load(open(truth_path, encoding="utf-8"))
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    dim = truth.get("dim", "carrier")
    changes = [dict(zip(("name", "figure", "t_start", "t_found", "before", "after", "calls",
                         "direction"), r)) for r in db.execute(
        "SELECT name, figure, t_start, t_found, level_before, level_after, calls, direction FROM "
        "route_changes WHERE dim = ? ORDER BY t_found, name, figure", (dim,))]
    col = {"carrier": "carrier", "server": "server_ip", "campaign": "campaign_id"}[dim]
    # each route's span of data
    span = {n: (a, b) for n, a, b in db.execute(
        "SELECT %s, MIN(call_epoch), MAX(call_epoch) FROM calls WHERE %s IS NOT NULL GROUP BY %s" %
        (col, col, col))}
    degraded = {g["route"] for g in truth["degradations"]}
    routes = [r["name"] for r in truth["routes"]]
    stable = [n for n in routes if n not in degraded]
    used = set()
    failures = []
    rows = []
    print("changes found on dim %s: %d (%s)" % (dim, len(changes), ", ".join(
        "%s %d" % (f, sum(c["figure"] == f for c in changes))
        for f in sorted({c["figure"] for c in changes})) or "none"))
    print()
    print("%-9s %-8s %-16s %6s | %-16s %7s %6s %6s %6s %5s %7s %8s %7s %s" %
          ("route", "figure", "true start", "size", "found (hour of)", "delay h", "data h",
           "calls", "100 by", "start", "before", "after", "size", "verdict"))
    for g in truth["degradations"]:
        route, fig, t0, size = g["route"], g["figure"], float(g["start"]), float(g["size"])
        cand = [i for i, c in enumerate(changes) if c["name"] == route and c["figure"] == fig and
                c["direction"] == "worse" and abs(c["t_start"] - t0) <= WINDOW]
        r = {"route": route, "figure": fig, "start": t0, "start_local": local(t0), "size": size,
             "end": g.get("end")}
        # the hour of the route's 100th call from the start
        row = db.execute("SELECT call_epoch FROM calls WHERE %s = ? AND call_epoch >= ? ORDER BY "
                         "call_epoch LIMIT 1 OFFSET 99" % col, (route, t0)).fetchone()
        t100 = math.floor(row[0] / 3600) * 3600 if row else math.inf
        r["t100"] = t100
        if not cand:
            r["found"] = False
            failures.append("%s %s: not found (no 'worse' change with its start within 6 h of %s)"
                            % (route, fig, local(t0)))
            print("%-9s %-8s %-16s %+6g | not found" % (route, fig, local(t0), size))
            rows.append(r)
            continue
        used.add(cand[0])
        c = changes[cand[0]]
        calls = db.execute("SELECT COUNT(*) FROM calls WHERE %s = ? AND call_epoch >= ? AND "
                           "call_epoch < ?" % col, (route, t0, c["t_found"] + 3600)).fetchone()[0]
        data_h = db.execute("SELECT COUNT(DISTINCT hour) FROM calls WHERE %s = ? AND call_epoch "
                            ">= ? AND call_epoch < ?" % col,
                            (route, t0, c["t_found"] + 3600)).fetchone()[0]
        found_size = c["after"] - c["before"]
        err = abs(found_size - size) / abs(size)
        in_time = c["t_found"] <= max(t0 + 2 * 3600, t100)
        strict = c["t_found"] <= max(t0 + 3600, t100)
        size_ok = err <= SIZE_TOL
        r.update(found=True, t_start=c["t_start"], t_found=c["t_found"],
                 delay_h=(c["t_found"] - t0) / 3600, data_hours=data_h, calls=calls,
                 start_error_h=(c["t_start"] - t0) / 3600, before=c["before"], after=c["after"],
                 found_size=found_size, size_error=err, in_time=in_time, strict=strict,
                 size_ok=size_ok, detector_calls=c["calls"])
        verdict = ("ok" if in_time and size_ok else
                   "LATE" if not in_time and size_ok else
                   "SIZE" if in_time else "LATE, SIZE")
        if in_time and not strict:
            verdict += " (not strict)"
        print("%-9s %-8s %-16s %+6g | %-16s %7.0f %6d %6d %6s %+5.0f %7.3f %8.3f %+6.1f%% %s" %
              (route, fig, local(t0), size, local(c["t_found"]), r["delay_h"], data_h, calls,
               "%+.0fh" % ((t100 - t0) / 3600) if t100 < math.inf else "-",
               r["start_error_h"], c["before"], c["after"], 100 * (found_size - size) / abs(size),
               verdict))
        if not in_time:
            failures.append("%s %s: found %.0f h (%d calls) after its start; allowed: %.0f h "
                            "(max of 2 h and the hour of the 100th call)" %
                            (route, fig, r["delay_h"], calls,
                             (max(t0 + 2 * 3600, t100) - t0) / 3600))
        if not size_ok:
            failures.append("%s %s: size %+.3f against %+g (%.1f %% off; at most 20 %%)" %
                            (route, fig, found_size, size, 100 * err))
        rows.append(r)
    print("  (delay h: t_found - start, t_found the start of the hour whose data raised the "
          "change; data h: the route's hours with calls from the start to the end of that hour; "
          "calls: its calls then; 100 by: the hour of its 100th call from the start; start: the "
          "found start's error, h; size: (after - before) against the truth)")
    # recoveries: a 'better' change at a degradation's end
    recov = []
    for g in truth["degradations"]:
        end = g.get("end")
        if end is None or end >= span.get(g["route"], (0, 0))[1]:
            continue
        for i, c in enumerate(changes):
            if (i not in used and c["name"] == g["route"] and c["figure"] == g["figure"] and
                    c["direction"] == "better" and abs(c["t_start"] - end) <= WINDOW):
                used.add(i)
                recov.append((g, c))
                break
    for g, c in recov:
        print("recovery: %s %s back at %s (true end %s), found at %s, size %+.3f" %
              (g["route"], g["figure"], local(c["t_start"]), local(g["end"]), local(c["t_found"]),
               c["after"] - c["before"]))
    # false alarms
    def route_years(names):
        return sum((span[n][1] - span[n][0]) / YEAR for n in names if n in span)

    fa_stable = [c for i, c in enumerate(changes) if i not in used and c["name"] not in degraded]
    fa_degr = [c for i, c in enumerate(changes) if i not in used and c["name"] in degraded]

    def linked(c):  # net_mos moved by a loss degradation of its route
        return c["figure"] == "net_mos" and any(
            g["route"] == c["name"] and g["figure"] == "loss" and
            g["start"] - WINDOW <= c["t_start"] <= g["end"] + WINDOW for g in truth["degradations"])

    ry_s, ry_d = route_years(stable), route_years(degraded)
    rate_s = len(fa_stable) / ry_s if ry_s > 0 else math.inf
    n_linked = sum(linked(c) for c in fa_degr)
    print()
    print("false alarms, stable routes: %d changes over %d routes, %.2f route-years: %.2f per "
          "route-year (at most %g)" % (len(fa_stable), len(stable), ry_s, rate_s, FA_PER_YEAR))
    print("other changes, degraded routes: %d over %.2f route-years (%.2f per route-year), of "
          "which %d net_mos within a loss degradation (computed from the loss); all routes: %.2f per "
          "route-year without those, %.2f with them" %
          (len(fa_degr), ry_d, len(fa_degr) / ry_d if ry_d > 0 else 0, n_linked,
           (len(fa_stable) + len(fa_degr) - n_linked) / (ry_s + ry_d),
           (len(fa_stable) + len(fa_degr)) / (ry_s + ry_d)))
    for c in fa_stable + fa_degr:
        print("  %s %-9s %-8s %-6s start %s found %s, %.3f -> %.3f (%d calls)%s" %
              ("stable " if c["name"] not in degraded else "degraded", c["name"], c["figure"],
               c["direction"], local(c["t_start"]), local(c["t_found"]), c["before"], c["after"],
               c["calls"], "  [follows the loss]" if linked(c) else ""))
    if rate_s > FA_PER_YEAR:
        failures.append("stable routes: %.2f false alarms per route-year (%d in %.2f route-years); "
                        "at most %g" % (rate_s, len(fa_stable), ry_s, FA_PER_YEAR))
    print()
    if out_json:
        with open(out_json, "w", encoding="utf-8") as f:
            json.dump({"degradations": rows, "recoveries": len(recov),
                       "false_alarms_stable": len(fa_stable), "stable_route_years": ry_s,
                       "false_alarms_per_route_year": rate_s,
                       "other_changes_degraded": len(fa_degr), "linked_net_mos": n_linked,
                       "degraded_route_years": ry_d, "changes": len(changes),
                       "false_alarm_list": [{"name": c["name"], "figure": c["figure"],
                                             "direction": c["direction"]} for c in fa_stable],
                       "failures": failures}, f, indent=1)
            f.write("\n")
    if failures:
        print("FAIL:")
        for m in failures:
            print("  " + m)
        sys.exit(1)
    print("PASS: %d degradations found in time and within 20 %% of their size; %.2f false alarms "
          "per route-year on the stable routes" % (len(truth["degradations"]), rate_s))


if __name__ == "__main__":
    main()
