#!/bin/sh
# test_routes_fleet.sh - the routes' change test on a generated fleet (docs/routes.md; the small
# twin of bench/routes.sh):
#   - bench/gen_store.py --routes 4 --degrade: 44,000 calls over the 28 days ending 2026-11-27
#     (fixed, so every run reads the same calls; TZ=UTC), four carriers, three of them degrading
#     from a weekday business hour at least 3 weeks in (NISQA MOS -0.5, loss +2 points, one-way
#     +5 points), each carrying at least 50 calls in every weekday business hour (09-17: the
#     generator refuses otherwise, and says so);
#   - `callqa store routes --db S --rebuild`: every day's roll-ups rebuilt, the change test run;
#   - bench/routes_eval.py against the generator's truth: each degradation found, its start
#     within 2 h and its size within 20 %; MOS and loss within max(2 h, the hour of the 100th
#     affected call); no false alarm on the stable route's means; the one-way rise's delay and the
#     stable route's rates reported against the same bounds as TAP TODOs (the measured limit:
#     docs/routes.md);
#   - route_hourly and route_daily of the carriers and the servers equal an aggregation of the
#     calls and their analyses written here (calls; NISQA MOS, E-model MOS, loss, jitter: sum,
#     sum of squares, count; one-way: count of 1s and of known), key for key; no trunk rows
#     (no capture names one).
#   usage: test_routes_fleet.sh BUILD/callqa SOURCE_DIR
set -u
CQ=$1
SRC=$2
T=$(mktemp -d)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
export TZ=UTC
S=$T/fleet.db

# the schema: callqa's own migrations, run by the first open of the store
"$CQ" store routes --db "$S" > "$T/empty.json" 2>&1
check "an empty store made by callqa" grep -q '"routes":0' "$T/empty.json"
python3 "$SRC/bench/gen_store.py" --db "$S" --calls 44000 --days 28 --agents 60 --routes 4 \
    --degrade --degrade-after 21 --end-day 2026-11-27 --truth "$T/truth.json" \
    --store-c "$SRC/src/store/store_jobs_stats.c" > "$T/gen.txt" 2>&1
rc=$?
sed 's/^/# /' "$T/gen.txt"
check "the fleet generated (three degraded routes with >= 50 calls per business hour)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || finish "routes fleet"

"$CQ" store routes --db "$S" --rebuild > "$T/routes.json" 2> "$T/routes.err"
rc=$?
echo "# $(cat "$T/routes.json" "$T/routes.err")"
check "callqa store routes --rebuild" [ $rc -eq 0 ]
check "every day of the data rebuilt" grep -q '"rebuilt_days":28,' "$T/routes.json"

python3 "$SRC/bench/routes_eval.py" "$S" "$T/truth.json" --json "$T/eval.json" > "$T/eval.txt" 2>&1
sed 's/^/# /' "$T/eval.txt"
ev() { # ev PYTHON-EXPRESSION over the evaluation's JSON (e), its degradations by figure (d)
    python3 -c "
import json, sys
e = json.load(open('$T/eval.json'))
d = {r['figure']: r for r in e['degradations']}
sys.exit(0 if ($1) else 1)"
}
check "each degradation found, in the worse direction, its start within 2 h, its size within 20 %" \
    ev "len(d) == 3 and all(r.get('found') and abs(r['start_error_h']) <= 2 and r['size_ok'] for r in d.values())"
check "MOS -0.5 and loss +2 points found within 2 h of data or 100 affected calls (the later)" \
    ev "d['mos']['in_time'] and d['loss']['in_time']"
check "no false alarm on the stable route's means (MOS, network MOS, loss, jitter, score)" \
    ev "not [c for c in e.get('false_alarm_list', []) if c['figure'] in ('mos', 'net_mos', 'loss', 'jitter', 'score')]"
# Known limits, measured and said (docs/routes.md, "What changed, and since when"): a one-way rise
# of 5 points at 50 calls an hour gives the test 0.06 nats a call, about 6 in the 100 calls of the
# bound, where a false-alarm rate of 1 a route-year needs a threshold of about 10; and one stable
# route over 28 days cannot measure a rate of false alarms a year (a burst of one-way calls in
# it is one). Reported as TAP's TODO: not counted, never hidden.
todo() { # todo NAME WHY EXPRESSION
    n=$((n + 1))
    if ev "$3"; then echo "ok $n - $1"; else echo "not ok $n - $1 # TODO $2"; fi
}
todo "one-way +5 points found within 2 h of data or 100 affected calls" \
    "$(python3 -c "import json; r=[x for x in json.load(open('$T/eval.json'))['degradations'] if x['figure']=='one_way'][0]; print('found after %.0f h, %d calls: the evidence of 100 calls is under the threshold (docs/routes.md)' % (r.get('delay_h', -1), r.get('calls', -1)))")" \
    "d['one_way']['in_time']"
todo "no false alarm on the stable route's rates (one-way, dead air, clipping)" \
    "$(python3 -c "import json; e=json.load(open('$T/eval.json')); print('%d in %.3f route-years' % (e['false_alarms_stable'], e['stable_route_years']))")" \
    "e['false_alarms_stable'] == 0"

# the roll-ups against the calls, aggregated here
python3 - "$S" > "$T/rollups.txt" 2>&1 << 'EOF'
import math, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# per call: its NISQA MOS (the mean of its legs, or its one leg), as a reader of the analyses
# would take it
mine = """
WITH per_call AS (
  SELECT %(col)s AS name, c.hour AS hour, substr(c.hour, 1, 10) AS day,
         CASE WHEN a.mos_model = 'NISQA v2' AND a.mos_in IS NOT NULL AND a.mos_out IS NOT NULL
              THEN 0.5 * (a.mos_in + a.mos_out)
              WHEN a.mos_model = 'NISQA v2' THEN IFNULL(a.mos_in, a.mos_out) END AS mos,
         a.net_mos AS net_mos, a.net_loss_pct AS loss, a.net_jitter_ms AS jitter,
         a.one_way AS one_way
  FROM calls c LEFT JOIN analyses a ON a.call_id = c.id
  WHERE %(col)s IS NOT NULL AND %(col)s != '')
SELECT name, %(key)s, COUNT(*),
       TOTAL(mos), TOTAL(mos * mos), COUNT(mos),
       TOTAL(net_mos), TOTAL(net_mos * net_mos), COUNT(net_mos),
       TOTAL(loss), TOTAL(loss * loss), COUNT(loss),
       TOTAL(jitter), TOTAL(jitter * jitter), COUNT(jitter),
       SUM(one_way = 1), COUNT(one_way)
FROM per_call GROUP BY name, %(key)s
"""
theirs = """
SELECT name, %(key)s, calls, mos_sum, mos_sq, mos_n, net_mos_sum, net_mos_sq, net_mos_n,
       loss_sum, loss_sq, loss_n, jitter_sum, jitter_sq, jitter_n, one_way, one_way_n
FROM %(table)s WHERE dim = '%(dim)s'
"""
cols = ("calls", "mos_sum", "mos_sq", "mos_n", "net_mos_sum", "net_mos_sq", "net_mos_n",
        "loss_sum", "loss_sq", "loss_n", "jitter_sum", "jitter_sq", "jitter_n", "one_way",
        "one_way_n")
bad = 0
for dim, col in (("carrier", "c.carrier"), ("server", "c.server_ip")):
    for table, key in (("route_hourly", "hour"), ("route_daily", "day")):
        a = {(r[0], r[1]): r[2:] for r in db.execute(mine % {"col": col, "key": key})}
        b = {(r[0], r[1]): r[2:] for r in db.execute(theirs % {"table": table, "key": key,
                                                                 "dim": dim})}
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        diff = []
        for k in sorted(set(a) & set(b)):
            for c, x, y in zip(cols, a[k], b[k]):
                x, y = x or 0, y or 0
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6):
                    diff.append((k, c, x, y))
        ok = not only_a and not only_b and not diff
        bad += not ok
        print("%s %s: %d rows here, %d in %s; %d missing there, %d extra there, %d figures "
              "differ%s" % (dim, key, len(a), len(b), table, len(only_a), len(only_b), len(diff),
                            "" if ok else ": " + repr((only_a[:3], only_b[:3], diff[:5]))))
        tot = db.execute("SELECT SUM(calls), SUM(mos_n), SUM(loss_n), SUM(one_way) FROM %s WHERE "
                         "dim = ?" % table, (dim,)).fetchone()
        print("  totals: calls %d, MOS %d, loss %d, one-way %d" % tot)
n_trunk = db.execute("SELECT COUNT(*) FROM route_hourly WHERE dim = 'trunk'").fetchone()[0]
print("trunk rows: %d" % n_trunk)
n_calls = db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
n_roll = db.execute("SELECT SUM(calls) FROM route_daily WHERE dim = 'carrier'").fetchone()[0]
print("calls %d, in the carriers' days %d" % (n_calls, n_roll))
sys.exit(1 if bad or n_trunk or n_calls != n_roll else 0)
EOF
rc=$?
sed 's/^/# /' "$T/rollups.txt"
check "route_hourly and route_daily equal the calls aggregated here" [ $rc -eq 0 ]
finish "routes fleet"
