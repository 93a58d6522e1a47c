#!/bin/sh
# test_metrics.sh - the Grafana dashboard (deploy/grafana-callqa.json) against a callqa serve
# that has just started on an empty store, scraped by a real Prometheus on loopback:
#   - its first /metrics passes `promtool check metrics`, and holds a series of every metric a
#     panel's expression reads, before any event (at 0);
#   - Prometheus scrapes it every second; after three scrapes every panel's expression, asked
#     through Prometheus's HTTP API, answers with at least one series (no "No data").
#   usage: test_metrics.sh BUILD/callqa SOURCE_DIR
set -u
CQ=$1
SRC=$2
for p in prometheus promtool curl python3; do
    command -v "$p" > /dev/null || { echo "SKIP: $p is missing (scripts/deps installs it)"; exit 77; }
done
T=$(mktemp -d)
SVC="" PROM=""
cleanup() {
    [ -n "$SVC" ] && kill "$SVC" 2> /dev/null
    [ -n "$PROM" ] && kill "$PROM" 2> /dev/null
    wait 2> /dev/null
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/prom_lib.sh"
DASH=$SRC/deploy/grafana-callqa.json

P=$(free_port)
"$CQ" serve --listen "127.0.0.1:$P" --db "$T/callqa.db" --no-auth > "$T/serve.log" 2>&1 &
SVC=$!
serving "$SVC" "http://127.0.0.1:$P/health" || { echo "FAIL: the service did not start: $(cat "$T/serve.log")"; exit 1; }
curl -s "http://127.0.0.1:$P/metrics" > "$T/first.txt"
check "the first /metrics passes promtool check metrics" sh -c "promtool check metrics < '$T/first.txt'"
check "every metric the dashboard reads has a series in the first /metrics, before any event" \
    python3 - "$DASH" "$T/first.txt" <<'PY'
import json, re, sys
dash = json.dumps(json.load(open(sys.argv[1])))
body = open(sys.argv[2]).read()
names = sorted(set(re.findall(r"callqa_[a-z_]+", dash)))
missing = [n for n in names if not re.search(r"^" + n + r"[{ ]", body, re.M)]
print("%d metrics read by the panels, %d without a series: %s" % (len(names), len(missing), missing))
sys.exit(1 if missing or len(names) < 15 else 0)
PY

# a real Prometheus scraping it every second
prom_start "$T" callqa="127.0.0.1:$P" || { echo "FAIL: Prometheus did not start"; exit 1; }
PP=$PROM_PORT
PROM=$PROM_PID
scraped() { # scraped N: Prometheus holds N samples of the service's `up` from the last minute, at 1
    curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=count_over_time(up{job=\"callqa\"}[1m]) >= $1 and up{job=\"callqa\"} == 1" |
        grep -q '"result":\[{'
}
check "Prometheus scrapes the service" wait_until 120 scraped 1
# three scrapes, so that rate() and increase() have two samples
check "Prometheus has scraped it three times" wait_until 120 scraped 3
check "every panel's expression answers with at least one series" \
    python3 - "$DASH" "http://127.0.0.1:$PP" <<'PY'
import json, sys, urllib.parse, urllib.request
exprs = []
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            (exprs.append(v) if k == "expr" else walk(v))
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(json.load(open(sys.argv[1])))
empty = []
for e in exprs:
    url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": e})
    r = json.load(urllib.request.urlopen(url, timeout=120))
    if r.get("status") != "success" or not r["data"]["result"]:
        empty.append(e)
print("%d expressions, %d with no series: %s" % (len(exprs), len(empty), empty))
sys.exit(1 if empty or len(exprs) < 20 else 0)
PY
stop_wait "$PROM" "prometheus"
PROM=""
stop_wait "$SVC" "callqa serve"
SVC=""
finish "metrics"
