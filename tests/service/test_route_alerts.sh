#!/bin/sh
# test_route_alerts.sh - the routes' alerts from end to end: a store of three weeks of calls on
# two carriers, one of them (telco_b) losing 0.6 of MOS 20 hours ago; `callqa store routes
# --rebuild` computes the roll-ups and finds the change; `callqa serve`'s /metrics (checked by
# promtool, its hour's calls equal to a count of the calls written here) scraped by a real
# Prometheus that loads deploy/prometheus/callqa-routes.rules.yml: CallqaRouteDegraded fires for
# telco_b's MOS and for no figure of telco_a. Then `callqa worker` with route_webhook: its first
# scan POSTs telco_b's change once (and the server's and campaign's, which carried it), signed
# (tests/live/webhook_recv.py checks the signature), and nothing of telco_a; an agent's token is refused the routes (403).
#   usage: test_route_alerts.sh BUILD_DIR SOURCE_DIR
set -u
B=$1
SRC=$2
for p in prometheus promtool curl python3; do
    command -v "$p" > /dev/null || { echo "SKIP: $p is missing (scripts/deps installs it)"; exit 77; }
done
T=$(mktemp -d)
SVC="" WK="" RECV=""
cleanup() {
    for p in $SVC $WK $RECV; do kill "$p" 2> /dev/null; done
    prom_stop
    wait 2> /dev/null
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
CALLQA_TEST_LIB=$(cd "$(dirname "$0")/../lib" && pwd)
export CALLQA_TEST_LIB
. "$(dirname "$0")/../lib/prom_lib.sh"
DB=$T/callqa.db

"$B/callqa-service" store routes --db "$DB" > /dev/null || { echo "FAIL: the store"; exit 1; }
# three weeks, every hour, 30 calls an hour a carrier; telco_b's MOS 0.6 lower for the last 20 h
python3 - "$DB" <<'PY'
import random, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
r = random.Random(7)
now = time.time()
end = int(now // 3600) * 3600          # the start of the current hour
cid = 0
for h in range(21 * 24, 0, -1):
    t0 = end - h * 3600
    for carrier in ("telco_a", "telco_b"):
        for k in range(30):
            cid += 1
            t = t0 + r.randrange(3600)
            date = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
            db.execute("INSERT INTO calls (id, source, recording_id, call_date, day, hour, "
                       "call_epoch, campaign_id, carrier, server_ip, open, created, updated) "
                       "VALUES (?, 'd1', ?, ?, ?, ?, ?, 'SALES', ?, '10.0.0.1', 0, ?, ?)",
                       (cid, "r%d" % cid, date, date[:10], date[:13], t, carrier, t, t))
            db.execute("INSERT INTO jobs (call_id, state, priority, queued, updated, "
                       "next_attempt) VALUES (?, 'complete', 0, ?, ?, 0)", (cid, t, t))
            mos = min(5, max(1, r.gauss(4.0, 0.35) - (0.6 if carrier == "telco_b" and
                                                      t >= end - 20 * 3600 else 0)))
            db.execute("INSERT INTO analyses (call_id, server, file, identity, engine, created, "
                       "checked, report, mos_in, mos_out, mos_model, one_way) VALUES (?, 'd1', "
                       "?, '', 'x', ?, ?, '', ?, ?, 'NISQA v2', 0)", (cid, "r%d" % cid, t, t, mos, mos))
db.commit()
PY
"$B/callqa-service" store routes --db "$DB" --rebuild > "$T/scan.json" 2>&1
check "callqa store routes --rebuild finds telco_b's MOS change, in the worse direction" python3 - "$DB" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT name, figure, direction, t_found, level_before, level_after FROM "
                  "route_changes WHERE dim = 'carrier'").fetchall()
print("# changes:", rows)
b = [x for x in rows if x[0] == "telco_b" and x[1] == "mos" and x[2] == "worse"]
sys.exit(not (b and time.time() - b[0][3] < 86400 and -0.75 < b[0][5] - b[0][4] < -0.45
              and not [x for x in rows if x[0] == "telco_a"]))
PY

P=$(free_port)
"$B/callqa-service" serve --listen "127.0.0.1:$P" --db "$DB" --no-auth > "$T/serve.log" 2>&1 &
SVC=$!
serving "$SVC" "http://127.0.0.1:$P/health" || { echo "FAIL: serve: $(cat "$T/serve.log")"; exit 1; }
curl -s "http://127.0.0.1:$P/metrics" > "$T/metrics.txt"
check "/metrics with the routes' gauges passes promtool check metrics" \
    sh -c "promtool check metrics < '$T/metrics.txt'"
check "the gauges: the last hour's calls as counted here, telco_b's change active, nothing of telco_a's" \
    python3 - "$DB" "$T/metrics.txt" <<'PY'
import re, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
body = open(sys.argv[2]).read()
hour = time.strftime("%Y-%m-%d %H", time.localtime(time.time() - 3600))
n = db.execute("SELECT COUNT(*) FROM calls WHERE carrier = 'telco_a' AND hour = ?", (hour,)).fetchone()[0]
m = re.search(r'^callqa_route_calls\{route_dim="carrier",route_name="telco_a",window="hour"\} (\S+)$', body, re.M)
act = re.findall(r'^callqa_route_change_active\{route_dim="carrier",route_name="(\w+)",figure="(\w+)",direction="(\w+)"\} 1$', body, re.M)
print("# hour", hour, "calls", n, "gauge", m and m.group(1), "active", act)
sys.exit(not (m and float(m.group(1)) == n and n == 30 and ("telco_b", "mos", "worse") in act
              and not [a for a in act if a[0] == "telco_a"]))
PY
PROM_RULES=$SRC/deploy/prometheus/callqa-routes.rules.yml
export PROM_RULES
prom_start "$T" callqa="127.0.0.1:$P" || { echo "FAIL: Prometheus did not start"; exit 1; }
firing() { # the alerts firing now, as NAME:route_name lines
    curl -s "$PROM_URL/api/v1/alerts" | python3 -c "
import json, sys
for a in json.load(sys.stdin)['data']['alerts']:
    if a['state'] == 'firing':
        print(a['labels']['alertname'] + ':' + a['labels'].get('route_name', ''))"
}
degraded() { firing | grep -qx "CallqaRouteDegraded:telco_b"; }
check "Prometheus fires CallqaRouteDegraded for telco_b" wait_until 120 degraded
check "and no alert names telco_a" sh -c "! curl -s '$PROM_URL/api/v1/alerts' | grep -q telco_a"
prom_stop

# an agent is refused the routes; an admin (the bearer of the shared token) is not
printf 'tok-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" > "$T/token"
chmod 600 "$T/token"
kill "$SVC"
wait "$SVC" 2> /dev/null
echo 'a-long-enough-password-1' | "$B/callqa-service" user add ann --role agent --db "$DB" \
    --password-stdin > /dev/null 2>&1
ATOK=$("$B/callqa-service" user token ann --db "$DB" 2> /dev/null | tail -1)
"$B/callqa-service" serve --listen "127.0.0.1:$P" --db "$DB" --token-file "$T/token" > "$T/serve2.log" 2>&1 &
SVC=$!
serving "$SVC" "http://127.0.0.1:$P/health" || { echo "FAIL: serve: $(cat "$T/serve2.log")"; exit 1; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://127.0.0.1:$P$2"; }
check "an agent's token gets 403 from /api/qa/routes" sh -c "[ '$(code "$ATOK" /api/qa/routes)' = 403 ]"
check "the shared token gets 200" sh -c "[ '$(code "$(cat "$T/token")" '/api/qa/routes?days=30')' = 200 ]"
kill "$SVC"
wait "$SVC" 2> /dev/null
SVC=""

# the worker's scan POSTs the change, signed, once
printf 'route-secret-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" > "$T/whsecret"
chmod 600 "$T/whsecret"
python3 "$SRC/tests/live/webhook_recv.py" --secret-file "$T/whsecret" --port-file "$T/whport" \
    --log "$T/wh.jsonl" &
RECV=$!
wait_until 30 test -s "$T/whport" || { echo "FAIL: the webhook receiver did not start"; exit 1; }
sqlite3 "$DB" "DELETE FROM route_changes" 2> /dev/null ||
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM route_changes'); c.commit()" "$DB"
printf 'route_scan_sec = 1\nroute_webhook = http://127.0.0.1:%s/hook\nroute_webhook_secret_file = %s\n' \
    "$(cat "$T/whport")" "$T/whsecret" > "$T/worker.conf"
"$B/callqa-service" worker --config "$T/worker.conf" --db "$DB" --no-ingest > "$T/worker.log" 2>&1 &
WK=$!
posted() { grep -q 'route_change' "$T/wh.jsonl" 2> /dev/null; }
check "the worker's scan POSTs a route_change" wait_until 120 posted
sleep 3 # another scan or two: nothing sent again
kill "$WK"
wait "$WK" 2> /dev/null
WK=""
check "one event each, signed: telco_b's MOS worse (and the server's and campaign's it carried); none for telco_a" \
    python3 - "$T/wh.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
bodies = [json.loads(e["body"]) for e in ev]
got = sorted((b["dim"], b["name"], b["figure"], b["direction"]) for b in bodies)
print("# events:", got)
sys.exit(not (got == [("campaign", "SALES", "mos", "worse"), ("carrier", "telco_b", "mos", "worse"),
                      ("server", "10.0.0.1", "mos", "worse")]
              and all(e["sig_ok"] and e["ts_ok"] for e in ev)
              and all(b["event"] == "route_change" and b["examples"] for b in bodies)))
PY
finish "route alerts"
