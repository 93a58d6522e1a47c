#!/bin/sh
# test_ask_prom.sh - POST /ask's Prometheus source (src/ask/ask_prom.c) against Debian's real
# prometheus on loopback, scraping itself every second under two jobs (so `up` has two series),
# and against fake servers (python3): one that records the requests it gets and answers with a
# canned answer (or redirects), one that accepts and never answers.
#   - an instant query and a range query answer the same series and values as curl asking the
#     HTTP API directly with the same times (Unix seconds, RFC 3339, "now-30s"), at a time both
#     jobs' latest samples have passed (so that no sample can come in between the two);
#   - refused before anything is sent: a step under the minimum ("step"), a range over 7 days
#     or backwards, a time that cannot be read ("range"), too many points ("points"), an empty
#     or too long query, a bad URL ("source");
#   - Prometheus's own refusal (a PromQL syntax error) comes back with its message ("prometheus");
#   - a series cap of 1 on two series: one kept, truncated; an answer over max_bytes refused;
#   - nothing listening ("prometheus", connection refused); a server that never answers
#     ("timeout", not before the timeout, and within 30 s: a hang's bound);
#   - Prometheus's own timeout error is "timeout"; an HTML page is "prometheus"; a native
#     histogram's sample comes under "histograms";
#   - the path is fixed: a query holding "../admin/tsdb/delete_series" goes escaped as the
#     query parameter of /api/v1/query; a redirect to the admin API is not followed; a proxy in
#     the environment is not used.
#   usage: test_ask_prom.sh BUILD/tests/ask_prom_probe
set -u
PROBE=$1
for p in prometheus curl python3; do
    command -v "$p" > /dev/null || { echo "SKIP: $p is missing (scripts/deps installs it)"; exit 77; }
done
T=$(mktemp -d)
FAKES=""
IS_PID=""
cleanup() {
    prom_stop
    for f in $FAKES $IS_PID; do kill "$f" 2> /dev/null; done
    wait 2> /dev/null
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/prom_lib.sh"

# a real Prometheus scraping itself every second, as two jobs
prom_start "$T" self=self self_again=self || { echo "FAIL: Prometheus did not start"; exit 1; }
PP=$PROM_PORT
U=$PROM_URL
prom_value() { # prom_value QUERY: the first value of an instant query now (0 when none)
    curl -s "$U/api/v1/query" --data-urlencode "query=$1" | python3 -c \
        'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2> /dev/null
}
up=0
for _ in $(seq 1 600); do # 120 s at most: a hang's bound
    [ "$(prom_value 'count(up)')" = 2 ] && { up=1; break; }
    sleep 0.2
done
check "Prometheus scrapes itself as two jobs (up has two series)" [ $up = 1 ]
# five samples of each series for the range queries (120 s at most)
for _ in $(seq 1 600); do
    [ "$(prom_value 'min(count_over_time(up[5m]))')" -ge 5 ] 2> /dev/null && break
    sleep 0.2
done

# probe ARGS... > FILE; then `is FILE EXPR` holds when the Python expression is true of the
# probe's line (r), printing the line when it is not. One python3 answers every `is` (through
# two FIFOs): a start of python3 costs half a second of CPU on a slow machine, and the checks
# are many
probe() { "$PROBE" "$@"; }
mkfifo "$T/is.in" "$T/is.out"
python3 - "$T/is.in" "$T/is.out" <<'PY' &
import json, sys
requests, answers = open(sys.argv[1]), open(sys.argv[2], "w")
for line in requests:
    path, expr = line.rstrip("\n").split("\t", 1)
    try:
        r = json.load(open(path))
        ok = eval(expr)
    except Exception as e:  # noqa: BLE001 - a check that cannot be read fails, with why
        r, ok = repr(e), False
    if not ok:
        print("   ", json.dumps(r)[:600])
    sys.stdout.flush()
    answers.write("0\n" if ok else "1\n")
    answers.flush()
PY
IS_PID=$!
exec 3> "$T/is.in" 4< "$T/is.out"
is() {
    printf '%s\t%s\n' "$1" "$2" >&3
    read -r is_rc <&4
    return "${is_rc:-1}"
}
# the times the answers are compared at: NOW is before each job's latest sample, and a job's
# scrapes come in order, so every sample up to NOW is in before either side asks
NOW=$(python3 -c "import math; print('%.3f' % (math.floor(float('$(prom_value 'min(timestamp(up))')') * 1000) / 1000 - 0.001))")

# ---- answers equal the HTTP API's -------------------------------------------------------------
probe "$U" up "time=$NOW" > "$T/inst.json"
curl -s "$U/api/v1/query?query=up&time=$NOW" > "$T/inst.curl"
check "instant query: a vector of the same series and values as curl's /api/v1/query" \
    python3 - "$T/inst.json" "$T/inst.curl" <<'PY'
import json, sys
r, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
mine = {json.dumps(s["metric"], sort_keys=True): s["values"] for s in r["result"]["series"]}
theirs = {json.dumps(s["metric"], sort_keys=True): [s["value"]] for s in c["data"]["result"]}
print("    %d series; %s" % (len(mine), list(mine.values())[:1]))
sys.exit(0 if r["rc"] == 0 and r["result"]["resultType"] == "vector" and len(mine) == 2
         and mine == theirs and r["rows"] == 2 and r["result"]["truncated"] is False else 1)
PY

START=$(python3 -c "print('%.3f' % ($NOW - 30))")
probe "$U" up start=now-30s end=now step=1 "now=$NOW" min_step=1 > "$T/range.json"
curl -s "$U/api/v1/query_range?query=up&start=$START&end=$NOW&step=1" > "$T/range.curl"
check "range query (now-30s to now, step 1 s, min_step 1): the same matrix as curl's /api/v1/query_range" \
    python3 - "$T/range.json" "$T/range.curl" <<'PY'
import json, sys
r, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
mine = {json.dumps(s["metric"], sort_keys=True): s["values"] for s in r["result"]["series"]}
theirs = {json.dumps(s["metric"], sort_keys=True): s["values"] for s in c["data"]["result"]}
print("    %d series, %s points" % (len(mine), [len(v) for v in mine.values()]))
sys.exit(0 if r["rc"] == 0 and r["result"]["resultType"] == "matrix" and len(mine) == 2
         and mine == theirs and min(len(v) for v in mine.values()) >= 3 else 1)
PY
RFC_START=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($NOW - 30, datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z'))")
RFC_END=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($NOW, datetime.timezone(datetime.timedelta(hours=2))).isoformat(timespec='milliseconds'))")
probe "$U" up "start=$RFC_START" "end=$RFC_END" step=1s min_step=1 > "$T/range_rfc.json"
check "the same range in RFC 3339 ($RFC_START, $RFC_END) answers the same" \
    python3 -c "import json,sys; a=json.load(open('$T/range.json')); b=json.load(open('$T/range_rfc.json')); sys.exit(0 if a['rc'] == 0 and a['result'] == b['result'] else 1)"
probe "$U" up start=now-30s end=now step=1 "now=$NOW" > "$T/x.json"
check "the same range query with the default limits: refused by \"step\" (1 s under 60 s)" \
    is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "step"'
probe "$U" up start=now-30s end=now step=1m "now=$NOW" > "$T/x.json"
check "with the default limits and step 1m: accepted, one point per series" \
    is "$T/x.json" 'r["rc"] == 0 and all(len(s["values"]) == 1 for s in r["result"]["series"])'
probe "$U" 'scalar(count(up))' "time=$NOW" > "$T/x.json"
check "a scalar: one series with no labels and one value" \
    is "$T/x.json" 'r["rc"] == 0 and r["result"]["resultType"] == "scalar" and r["result"]["series"][0]["metric"] == {} and r["result"]["series"][0]["values"][0][1] == "2"'
probe "$U" '"some text"' "time=$NOW" > "$T/x.json"
check "a string: one series with no labels and one value" \
    is "$T/x.json" 'r["rc"] == 0 and r["result"]["resultType"] == "string" and r["result"]["series"][0]["metric"] == {} and r["result"]["series"][0]["values"][0][1] == "some text"'
probe "$U" 'up[10s]' "time=$NOW" > "$T/x.json"
check "an instant query of a range vector: a matrix" \
    is "$T/x.json" 'r["rc"] == 0 and r["result"]["resultType"] == "matrix" and len(r["result"]["series"]) == 2'

# ---- caps and refusals before anything is sent -------------------------------------------------
probe "$U" up start=now-8d end=now step=1h > "$T/x.json"
check "a range over 8 days: refused by \"range\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "range"'
probe "$U" up start=now end=now-1h step=1m > "$T/x.json"
check "an end before the start: refused by \"range\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "range"'
probe "$U" up start=yesterday step=1m > "$T/x.json"
check "a time that cannot be read: refused by \"range\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "range"'
probe "$U" up start=now-7d end=now step=1m > "$T/x.json"
check "7 days at 1 minute (10080 points): refused by \"points\"" \
    is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "points"'
probe "$U" up start=now-7d end=now step=10m > "$T/x.json"
check "7 days at 10 minutes (1008 points): accepted" is "$T/x.json" 'r["rc"] == 0'
probe "$U" up start=now-1h end=now step=abc > "$T/x.json"
check "a step that cannot be read: refused by \"step\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "step"'
probe "$U" up start=now-1h end=now > "$T/x.json"
check "a range query with no step: refused by \"step\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "step"'
probe "$U" '' > "$T/x.json"
check "an empty query: refused by \"source\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "source"'
probe "$U" "$(python3 -c 'print("up" + " " * 4000)')" > "$T/x.json"
check "a query over 4000 bytes: refused by \"source\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "source"'
for bad in "ftp://127.0.0.1:$PP" "http://" "http://:$PP/" "http://127.0.0.1:$PP/?x=1" "127.0.0.1:$PP"; do
    probe "$bad" up > "$T/x.json"
    check "the URL $bad: refused by \"source\"" is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "source"'
done

# ---- Prometheus's answers ---------------------------------------------------------------------
probe "$U" 'up{' > "$T/x.json"
curl -s "$U/api/v1/query?query=up%7B" > "$T/x.curl"
check "a PromQL syntax error: \"prometheus\" with the server's message" \
    python3 - "$T/x.json" "$T/x.curl" <<'PY'
import json, sys
r, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("    %s: %s" % (r.get("layer"), r.get("error")))
sys.exit(0 if r["rc"] == -1 and r["layer"] == "prometheus" and c["error"][:100] in r["error"]
         and "bad_data" in r["error"] else 1)
PY
probe "$U" up "time=$NOW" max_series=1 > "$T/x.json"
check "a series cap of 1 on two series: one kept, truncated" \
    is "$T/x.json" 'r["rc"] == 0 and r["rows"] == 1 and r["truncated"] and r["result"]["truncated"] and len(r["result"]["series"]) == 1'
probe "$U" '{__name__=~".+"}' "time=$NOW" max_bytes=2048 > "$T/x.json"
check "an answer over max_bytes (2 KiB): refused by \"prometheus\", answer too large" \
    is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "prometheus" and "too large" in r["error"]'

# ---- servers that are not there or do not answer -----------------------------------------------
DEAD=$(free_port)
probe "http://127.0.0.1:$DEAD" up > "$T/x.json"
check "nothing listening: \"prometheus\" (could not be reached)" \
    is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "prometheus" and "reached" in r["error"]'

cat > "$T/fake.py" <<'PY'
import socket, sys, threading
mode, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
status = sys.argv[4] if len(sys.argv) > 4 else "200 OK"
body = (open(sys.argv[5], "rb").read() if len(sys.argv) > 5
        else b'{"status":"success","data":{"resultType":"vector","result":[]}}')
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(portfile + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
held = []
while True:
    c, _ = s.accept()
    if mode == "silent":  # accept, read, never answer
        held.append(c)
        continue
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(65536)
        if not d:
            break
        req += d
    with open(log, "ab") as f:
        f.write(req.split(b"\r\n")[0] + b"\n")
    if mode == "redirect":
        c.sendall(b"HTTP/1.1 302 Found\r\nLocation: /api/v1/admin/tsdb/delete_series?match[]=up\r\n"
                  b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    else:  # the canned answer
        c.sendall(b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    c.close()
PY
fake() { # fake MODE NAME [STATUS BODYFILE]: started in the background; its port in $T/NAME.port
    python3 "$T/fake.py" "$1" "$T/$2.port" "$T/$2.log" ${3:+"$3"} ${4:+"$4"} 2> "$T/$2.err" &
    FAKES="$FAKES $!"
    wait_port "$T/$2.port" "$T/$2.err"
}
fake silent silent
probe "http://127.0.0.1:$(cat "$T/silent.port")" up timeout=2 > "$T/x.json"
check "a server that accepts and never answers (timeout 2 s): \"timeout\", not before 2 s (30 s: a hang's bound)" \
    is "$T/x.json" 'print("    %.2f s: %s" % (r["elapsed"], r["error"])) or (r["rc"] == -1 and r["layer"] == "timeout" and 1.9 <= r["elapsed"] <= 30.0)'

fake record rec
RU=http://127.0.0.1:$(cat "$T/rec.port")
probe "$RU" '../admin/tsdb/delete_series' "time=$NOW" > "$T/x.json"
check "a query holding ../admin/tsdb/delete_series goes escaped, as the query of GET /api/v1/query" \
    python3 - "$T/x.json" "$T/rec.log" <<'PY'
import json, sys, urllib.parse
r = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
print("    " + "\n    ".join(lines))
method, target, _ = lines[0].split(" ")
path, _, qs = target.partition("?")
params = urllib.parse.parse_qs(qs)
sys.exit(0 if r["rc"] == 0 and len(lines) == 1 and method == "GET" and path == "/api/v1/query"
         and params["query"] == ["../admin/tsdb/delete_series"] and "/admin" not in qs
         and "%2F" in qs and params["timeout"] == ["10s"] and "time" in params else 1)
PY
probe "$U" '../admin/tsdb/delete_series' > "$T/x.json"
check "the same query against Prometheus: read as PromQL and refused (\"prometheus\", bad_data)" \
    is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "prometheus" and "bad_data" in r["error"]'
: > "$T/rec.log"
probe "$U" up "time=$NOW" > "$T/x.json"
http_proxy=$RU HTTP_PROXY=$RU https_proxy=$RU HTTPS_PROXY=$RU ALL_PROXY=$RU all_proxy=$RU \
    "$PROBE" "$U" up "time=$NOW" > "$T/y.json"
check "a proxy in the environment is not used: the same answer, the proxy saw no request" \
    python3 -c "import json,sys,os; a=json.load(open('$T/x.json')); b=json.load(open('$T/y.json')); sys.exit(0 if a['rc'] == 0 and a['result'] == b['result'] and os.path.getsize('$T/rec.log') == 0 else 1)"
fake redirect redir
probe "http://127.0.0.1:$(cat "$T/redir.port")" up > "$T/x.json"
check "a redirect to the admin API is not followed: \"prometheus\" (HTTP 302), one request made" \
    python3 - "$T/x.json" "$T/redir.log" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
print("    %s: %s; requests: %s" % (r.get("layer"), r.get("error"), lines))
sys.exit(0 if r["rc"] == -1 and r["layer"] == "prometheus" and "302" in r["error"]
         and len(lines) == 1 and lines[0].startswith("GET /api/v1/query?") else 1)
PY

# canned answers: Prometheus's own timeout, an HTML page, native histograms
printf '%s' '{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}' > "$T/tmo.body"
fake record tmo "503 Service Unavailable" "$T/tmo.body"
probe "http://127.0.0.1:$(cat "$T/tmo.port")" up > "$T/x.json"
check "Prometheus's own timeout (HTTP 503, errorType timeout): \"timeout\" with its message" \
    is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "timeout" and "query timed out" in r["error"]'
printf '%s' '<html><body>a login page</body></html>' > "$T/html.body"
fake record html "200 OK" "$T/html.body"
probe "http://127.0.0.1:$(cat "$T/html.port")" up > "$T/x.json"
check "an HTML page: \"prometheus\" (not Prometheus's JSON)" \
    is "$T/x.json" 'r["rc"] == -1 and r["layer"] == "prometheus" and "JSON" in r["error"]'
printf '%s' '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"h"},"histogram":[1700000000.5,{"count":"3","sum":"4.5","buckets":[[0,"0","1","3"]]}]},{"metric":{"__name__":"g"},"value":[1700000000.5,"7"]}]}}' > "$T/hist.body"
fake record hist "200 OK" "$T/hist.body"
probe "http://127.0.0.1:$(cat "$T/hist.port")" h > "$T/x.json"
check "a native histogram's sample: under histograms, beside an empty values" \
    is "$T/x.json" 'r["rc"] == 0 and r["result"]["series"][0]["values"] == [] and r["result"]["series"][0]["histograms"] == [[1700000000.5, {"count": "3", "sum": "4.5", "buckets": [[0, "0", "1", "3"]]}]] and r["result"]["series"][1]["values"] == [[1700000000.5, "7"]]'
code=$(curl -s -o "$T/admin.out" -w '%{http_code}' -X POST "$U/api/v1/admin/tsdb/delete_series?match%5B%5D=up")
check "Prometheus as started here keeps its admin API off (HTTP $code: $(cat "$T/admin.out"))" \
    [ "$code" != 200 ] && [ "$code" != 204 ]

stop_wait "$PROM_PID" "prometheus"
PROM_PID=""
finish "ask_prom"
