#!/bin/sh
# test_service.sh - `callqa serve` end to end, against a real HTTP recording server
# (python3 -m http.server on 127.0.0.1) serving a ViciDial tree built here from
# ../shared/corpus/calls: RECORDINGS/, RECORDINGS/ORIG/ (legs, and 44-byte stubs),
# RECORDINGS/MP3/. Then the bad input of the issue: traversal, SSRF, NUL, unknown servers,
# huge and malformed uploads, a stalling server, HTML, redirects; auth; the cache; SIGTERM.
# The recording server (gate_httpd.py) can hold the fetch of plain.wav until the test lets it go:
# the requests that must be in flight at a given moment are known to be. Under the sanitizers
# (CQ_TEST_SAMPLE=1, their representative case) each recording is its first 15 s: the same
# requests and paths, a quarter of the analysis.
#   usage: test_service.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2" ] || [ ! -d "$2/../models" ]; then
    echo "SKIP: $2 or its models are missing"
    exit 77
fi
CQ=$1
C=$2/calls
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    store_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
DB=$(test_store "$T" store) || exit 1
json() { # json FILE PYTHON-EXPRESSION-ON-d
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
status_of() { # status_of URL [curl args...]: the HTTP status; the body in $T/body
    u=$1
    shift
    curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$u"
}
children_of() { # the pids whose parent is $1 (grep goes on past a process gone meanwhile, where
    # mawk stopped at its file and printed nothing)
    grep -l "^PPid:[[:space:]]*$1\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3
}

# ---- the recording server's tree ----
R=$T/www/RECORDINGS
mkdir -p "$R/ORIG" "$R/MP3" "$R/dir-all.wav"
TRIM=""
[ "${CQ_TEST_SAMPLE:-}" = 1 ] && TRIM="trim 0 15"
put() { # put SRC DST: a corpus recording (its first 15 s under the sanitizers) in the tree
    # shellcheck disable=SC2086 # $TRIM is sox's effect or nothing
    if [ -z "$TRIM" ]; then cp "$1" "$2"
    elif [ "${1##*.}" = mp3 ]; then ffmpeg -v error -i "$1" -t 15 -c copy "$2"
    else sox "$1" "$2" $TRIM; fi
}
# shellcheck disable=SC2086
sox "$C/call01_normal.wav" -b 16 -e signed "$R/ORIG/c1-in.wav" remix 1 $TRIM
# shellcheck disable=SC2086
sox "$C/call01_normal.wav" -b 16 -e signed "$R/ORIG/c1-out.wav" remix 2 $TRIM
put "$C/call01_normal.wav" "$R/c1-all.wav"
put "$C/call04_hold_music.wav" "$R/c4-all.wav"
head -c 44 "$R/ORIG/c1-in.wav" > "$R/ORIG/c4-in.wav"   # failed-recording stubs
head -c 44 "$R/ORIG/c1-in.wav" > "$R/ORIG/c4-out.wav"
put "$C/call14_vicidial-all.mp3" "$R/MP3/c14-all.mp3"
put "$C/call05_ringback_answer.wav" "$R/plain.wav"
C2=$T/c2.wav # the upload
put "$C/call02_one_way_audio.wav" "$C2"
printf '<!DOCTYPE html><html><body>Not found</body></html>\n' > "$R/html-all.wav"
HP=$(free_port)
GATE=$T/gate HELD=$T/held
python3 "$SRC/tests/service/gate_httpd.py" "$HP" "$T/www" "$GATE" "$HELD" /plain.wav > "$T/httpd.log" 2>&1 &
PIDS="$PIDS $!"
held() { # held N: the recording server holds (or has held) N fetches of plain.wav
    [ "$(cat "$HELD" 2>/dev/null | wc -l)" -ge "$1" ]
}
# a server that answers headers, then stalls (for longer than any hang guard here: only the
# service's fetch timeout ends the request)
SP=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nRIFF")
    time.sleep(600); c.close()
' "$SP" > /dev/null 2>&1 &
PIDS="$PIDS $!"
wait_http "$HP" || { echo "the recording server did not start: $(cat "$T/httpd.log")"; exit 1; }

# ---- the service ----
mkdir -p "$T/tmp"
AP=$(free_port)
start_service() { # start_service LOG [args...]; a proxy in the environment that goes nowhere:
    # the recording servers are reached directly all the same (never through a proxy). Fetches
    # get 60 s unless CALLQA_FETCH_TIMEOUT_SEC says otherwise (the stalling server's instance).
    log=$1
    shift
    http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
        CALLQA_TMP_DIR="$T/tmp" CALLQA_FETCH_TIMEOUT_SEC="${CALLQA_FETCH_TIMEOUT_SEC:-60}" \
        CALLQA_MAX_BODY_MB=20 "$CQ" serve \
        --listen "127.0.0.1:$AP" --recording-server "uk=http://127.0.0.1:$HP/RECORDINGS" \
        --recording-server "stall=http://127.0.0.1:$SP/RECORDINGS" --db "$DB" "$@" \
        > /dev/null 2> "$log" &
    SVC=$!
    PIDS="$PIDS $SVC"
    serving "$SVC" "http://127.0.0.1:$AP/health" && return 0
    echo "not ok - the service did not start ($log): $(tail -5 "$log")"
    exit 1
}
start_service "$T/serve.log" --no-auth
check "the service starts" curl -sf -o /dev/null "http://127.0.0.1:$AP/health"
U="http://127.0.0.1:$AP"

s=$(status_of "$U/health")
check "health: 200, models and store named" sh -c "[ $s = 200 ] && grep -q '\"store\":\"ok\"' $T/body && grep -q '\"vad_loaded\"' $T/body"

# legs preferred over the mix
s=$(status_of "$U/analyze?server=uk&file=c1-all.wav")
cp "$T/body" "$T/c1.json"
check "c1: 200" [ "$s" = 200 ]
check "c1: the ORIG legs were used" [ "$(json "$T/c1.json" "d['format']['layout']")" = leg_files ]
check "c1: the report says so" grep -q 'analysed the ViciDial legs ORIG/c1-in.wav and ORIG/c1-out.wav' "$T/c1.json"
check "c1: first time is a cache miss" grep -qi '^x-cache: miss' "$T/headers"
s=$(status_of "$U/analyze?server=uk&file=c1-all.wav")
check "c1 again: served from the store" sh -c "[ $s = 200 ] && grep -qi '^x-cache: hit' $T/headers"
s=$(status_of "$U/analyze?server=uk&file=c1-all.wav&refresh=1")
check "refresh=1 analyses again" sh -c "[ $s = 200 ] && grep -qi '^x-cache: miss' $T/headers"
# the old service's fields, and the same JSON as the command line
check "the old service's fields are there" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ["file", "duration", "has_legs", "inbound", "outbound", "one_way_audio", "one_way_direction", "nisqa", "analysis_time_sec"]:
    assert k in d, k
for leg in ("inbound", "outbound"):
    for k in ["rms_db", "peak_db", "speech_pct", "silence", "speech_segments"]:
        assert k in d[leg], (leg, k)
' "$T/c1.json"
"$CQ" analyze --json -q --in "$R/ORIG/c1-in.wav" --out "$R/ORIG/c1-out.wav" > "$T/c1.cli.json"
# equal but for timing and for the names: the service names the requested file and the URLs,
# the command line the paths it was given; the service adds which files it used
check "/analyze equals callqa analyze --json" python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def strip(d):
    d.pop("analysis_time_sec"); d.pop("file"); d.pop("warnings"); d.pop("warning_details")
    for leg in ("inbound", "outbound"):
        d[leg].pop("source")
    return d
assert strip(a) == strip(b)
' "$T/c1.json" "$T/c1.cli.json"

# fallbacks in order: stub legs skipped, then -all.wav; MP3/; the name as given
s=$(status_of "$U/analyze?server=uk&file=c4-all.wav")
check "c4: the 44-byte stub legs are skipped for -all.wav" sh -c "[ $s = 200 ] && grep -q 'only the mixed recording c4-all.wav' $T/body"
s=$(status_of "$U/analyze?server=uk&file=c14-all.wav")
check "c14: MP3/-all.mp3 when nothing else exists" sh -c "[ $s = 200 ] && grep -q 'only the mixed recording MP3/c14-all.mp3' $T/body"
s=$(status_of "$U/analyze?server=uk&file=plain.wav")
check "plain.wav: the name as given" sh -c "[ $s = 200 ] && grep -q 'analysed plain.wav' $T/body"
s=$(status_of "$U/analyze?server=uk&file=missing-all.wav")
check "a missing call: 404 not_found" sh -c "[ $s = 404 ] && grep -q '\"code\":\"not_found\"' $T/body"

# bad names: traversal, encodings, paths, NUL, SSRF
for q in "file=../../etc/passwd" "file=%2e%2e%2fetc%2fpasswd.wav" "file=%252e%252e%252fx.wav" \
    "file=/etc/passwd.wav" "file=a%00b.wav" "file=sub/x.wav" "file=x.txt" "file=..wav"; do
    s=$(status_of "$U/analyze?server=uk&$q")
    check "bad file ($q): 400 bad_file" sh -c "[ $s = 400 ] && grep -q '\"code\":\"bad_file\"' $T/body"
done
for sv in "http://127.0.0.1:$HP/RECORDINGS" "127.0.0.1" "localhost" "evil.example" "uk/.." "UK"; do
    s=$(status_of "$U/analyze" -G --data-urlencode "server=$sv" --data-urlencode "file=c1-all.wav")
    check "server '$sv': 404 unknown_server" sh -c "[ $s = 404 ] && grep -q '\"code\":\"unknown_server\"' $T/body"
done
check "nothing outside the configured hosts was asked for" sh -c "! grep -q 'passwd\|evil' $T/httpd.log"

# a misbehaving recording server
s=$(status_of "$U/analyze?server=uk&file=html-all.wav")
check "an HTML page instead of a recording: 502 bad_upstream" sh -c "[ $s = 502 ] && grep -q 'HTML' $T/body"
s=$(status_of "$U/analyze?server=uk&file=dir-all.wav")
check "a redirect is not followed: 502" [ "$s" = 502 ]

# uploads
s=$(status_of "$U/analyze?name=c2.wav" -X POST -H 'Content-Type: audio/wav' --data-binary "@$C2")
check "POST a recording: 200, one-way audio found" sh -c "[ $s = 200 ] && grep -q '\"one_way_audio\":true' $T/body"
s=$(status_of "$U/analyze?name=legs-all.wav" -F "in=@$R/ORIG/c1-in.wav" -F "out=@$R/ORIG/c1-out.wav")
check "POST multipart in/out legs: 200, leg files" sh -c "[ $s = 200 ] && grep -q '\"layout\":\"leg_files\"' $T/body"
s=$(status_of "$U/analyze" -X POST --data-binary 'not audio at all')
check "POST text: 422 bad_recording" sh -c "[ $s = 422 ] && grep -q bad_recording $T/body"
s=$(status_of "$U/analyze" -X POST)
check "POST nothing: 400 empty" [ "$s" = 400 ]
s=$(printf -- '--XX\r\nContent-Disposition: form-data; name="in"\r\n\r\nabc' |
    status_of "$U/analyze" -X POST -H 'Content-Type: multipart/form-data; boundary=XX' --data-binary @-)
check "malformed multipart: 400" [ "$s" = 400 ]
s=$(status_of "$U/analyze" -X POST -H 'Content-Type: multipart/form-data' --data-binary x)
check "multipart without a boundary: 400" [ "$s" = 400 ]
head -c $((25 * 1024 * 1024)) /dev/zero > "$T/big.bin"
s=$(status_of "$U/analyze" -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$T/big.bin")
check "an upload over max_body: 413" [ "$s" = 413 ]
s=$(status_of "$U/analyze" -X POST -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' --data-binary "@$T/big.bin")
check "a chunked upload over max_body: 413" [ "$s" = 413 ]

# the store
s=$(status_of "$U/calls?limit=2")
check "GET /calls: the newest two" sh -c "[ $s = 200 ] && [ \$(python3 -c \"import json; print(json.load(open('$T/body'))['count'])\") = 2 ]"
id=$(python3 -c "import json; print(json.load(open('$T/body'))['calls'][0]['id'])")
s=$(status_of "$U/calls/$id")
check "GET /calls/{id}" sh -c "[ $s = 200 ] && grep -q '\"report\":{' $T/body"
s=$(status_of "$U/calls/999999")
check "GET /calls/{missing}: 404" [ "$s" = 404 ]
s=$(status_of "$U/calls/abc")
check "GET /calls/abc: 400" [ "$s" = 400 ]
s=$(status_of "$U/cache?server=uk&file=c1-all.wav" -X DELETE)
check "DELETE /cache for one call: {deleted: 2}" sh -c "[ $s = 200 ] && grep -q '{\"deleted\":2}' $T/body"
s=$(status_of "$U/cache?server=uk" -X DELETE)
check "DELETE /cache with only a server: 400" [ "$s" = 400 ]

# revalidation: with freshness 0 the recording server is asked (If-Modified-Since -> 304)
kill "$SVC"
wait "$SVC" 2>/dev/null
start_service "$T/serve2.log" --no-auth --freshness-sec 0
status_of "$U/analyze?server=uk&file=c4-all.wav" > /dev/null
sleep 1.1
s=$(status_of "$U/analyze?server=uk&file=c4-all.wav")
check "stale result, recording unchanged: revalidated (304)" sh -c "[ $s = 200 ] && grep -qi '^x-cache: revalidated' $T/headers"
put "$C/call01_normal.wav" "$R/c4-all.wav"
touch -d '+2 seconds' "$R/c4-all.wav"
s=$(status_of "$U/analyze?server=uk&file=c4-all.wav")
check "the recording changed: analysed again" sh -c "[ $s = 200 ] && grep -qi '^x-cache: miss' $T/headers"

# identical requests at once share one fetch and analysis: the recording server holds the fetch
# until the four requests are in the service (callqa_inflight_requests: the four and the
# metrics request itself)
metric() { curl -s "$U/metrics" | sed -n "s/^$1 //p"; }
inflight_at_least() { [ "$(metric callqa_inflight_requests)" -ge "$1" ] 2>/dev/null; }
analyses_ok() { metric 'callqa_analyses_total{result="ok"}'; }
before=$(analyses_ok)
: > "$GATE"
: > "$HELD"
for i in 1 2 3 4; do
    curl -s -m 120 -o /dev/null -D "$T/h$i" -w '%{http_code}' "$U/analyze?server=uk&file=plain.wav&refresh=1" > "$T/s$i" &
done
wait_until 120 inflight_at_least 5 || echo "# the four requests were not all in flight within 120 s"
rm -f "$GATE"
all_answered() { [ -s "$T/s1" ] && [ -s "$T/s2" ] && [ -s "$T/s3" ] && [ -s "$T/s4" ]; }
wait_until 120 all_answered
counted() { [ "$(analyses_ok)" != "$before" ]; }
wait_until 60 counted
after=$(analyses_ok)
check "4 identical requests at once: all 200" [ "$(cat "$T/s1" "$T/s2" "$T/s3" "$T/s4")" = 200200200200 ]
check "4 identical requests at once: one analysis, the others shared it" sh -c "[ $((after - before)) = 1 ] && [ \$(cat $T/h1 $T/h2 $T/h3 $T/h4 | grep -ci '^x-cache: shared') = 3 ]"

# metrics and the API description
s=$(status_of "$U/metrics")
check "metrics in Prometheus format" sh -c "[ $s = 200 ] && grep -q '^callqa_http_requests_total{route=\"analyze\",status=\"200\"}' $T/body && grep -q '^callqa_analysis_seconds_bucket' $T/body && grep -q '^callqa_cache_requests_total' $T/body && grep -q '^callqa_leg_speech_pct_count' $T/body && grep -q '^callqa_inflight_requests' $T/body && grep -q '^callqa_stage_seconds_count{stage=\"fetch\"}' $T/body"
check "every metric the Grafana dashboard plots is exported" python3 -c '
import json, re, sys
dash = json.load(open(sys.argv[1]))
# the panels of the pipeline (callqa_qa_*) are checked by tests/pipeline/test_qa_api.sh, where
# there is a pipeline
names = {n for n in re.findall(r"callqa_[a-z_]+", json.dumps(dash)) if not n.startswith("callqa_qa_")}
body = open(sys.argv[2]).read()
for n in names:
    base = re.sub(r"_(bucket|count|sum)$", "", n)
    assert re.search(r"^" + base + r"(_bucket|_count|_sum)?[{ ]", body, re.M), n
' "$(dirname "$0")/../../deploy/grafana-callqa.json" "$T/body"
s=$(status_of "$U/openapi.json")
"$CQ" serve --list-routes > "$T/routes"
check "/openapi.json describes exactly the routes the server has" python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
have = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
want = {tuple(l.split()) for l in open(sys.argv[2]) if l.strip()}
assert have == want, (have ^ want)
' "$T/body" "$T/routes"
"$CQ" serve --openapi > "$T/openapi.json"
check "docs/openapi.json is the document served at /openapi.json" python3 -c '
import json, sys
a, b, c = (json.load(open(p)) for p in sys.argv[1:4])
assert a == b == c
' "$SRC/docs/openapi.json" "$T/openapi.json" "$T/body"

# SIGTERM: the in-flight request finishes, then the service exits 0. The request is in flight
# when the signal comes: its fetch is held by the recording server until the service has logged
# that it is stopping.
: > "$GATE"
: > "$HELD"
curl -s -m 120 -o "$T/term.json" -w '%{http_code}' "$U/analyze?server=uk&file=plain.wav&refresh=1" > "$T/term.status" &
CURL=$!
wait_until 120 held 1 || echo "# the analysis's fetch did not reach the recording server within 120 s"
HOST=$(children_of "$SVC")
kill -TERM "$SVC"
wait_until 120 grep -q '"msg":"stopping"' "$T/serve2.log" || echo "# no 'stopping' line within 120 s"
check "SIGTERM: the service says it is stopping with the analysis in flight" \
    grep -q '"msg":"stopping","signal":15,"inflight":[1-9]' "$T/serve2.log"
rm -f "$GATE"
wait "$CURL"
wait "$SVC"
rc=$?
check "SIGTERM: the in-flight analysis finished with 200" [ "$(cat "$T/term.status")" = 200 ]
check "SIGTERM: exit status 0" [ "$rc" = 0 ]
check "one JSON log line per request, with an id" sh -c "grep -c '\"id\":\"' $T/serve.log | grep -qv '^0$'"
check "no temporary files left" [ -z "$(ls -A "$T/tmp")" ]
# every child the service had then (the host, and any child of the moment) is gone, or a zombie
# left to init: exited all the same
gone() { # gone PID...: none of them still running
    [ $# -gt 0 ] || return 1
    for p in "$@"; do
        kill -0 "$p" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null && return 1
    done
    return 0
}
# shellcheck disable=SC2086 # one argument per pid
check "SIGTERM: the analysis host exited with the service ($(echo $HOST))" gone $HOST

# isolation: a crashing analysis fails its request only; a runaway one is stopped at the limit
export CALLQA_TEST_CRASH_ON=crashme # the analysis child raises SIGSEGV on names holding it
start_service "$T/serve4.log" --no-auth
unset CALLQA_TEST_CRASH_ON
s=$(status_of "$U/health")
check "health: analyses run isolated" sh -c "[ $s = 200 ] && grep -q '\"analyses\":\"isolated\"' $T/body"
s=$(status_of "$U/analyze?name=crashme.wav" -X POST -H 'Content-Type: audio/wav' --data-binary "@$C2")
# (under ASan the sanitizer catches the SIGSEGV and exits 1 instead, under TSan 66)
check "a crashing analysis: 500 analysis_crashed, saying how it ended" sh -c "[ $s = 500 ] && grep -q '\"code\":\"analysis_crashed\"' $T/body && grep -Eq 'signal 11|exit status (1|66)' $T/body"
s=$(status_of "$U/analyze?name=c2.wav" -X POST -H 'Content-Type: audio/wav' --data-binary "@$C2")
check "after the crash the next analysis succeeds" sh -c "[ $s = 200 ] && grep -q inbound_silent $T/body"
# a slow upload (100 bytes every 0.2 s of a 100 kB body, under the default upload limits) does
# not hold other requests up: /health is answered while the upload is still connected
python3 -c '
import http.client, socket, sys, threading
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /analyze?name=slow.wav HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\n"
          b"Content-Length: 100000\r\n\r\n" + b"\0" * 100)
got = {}
def health():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", "/health")
    got["status"] = c.getresponse().status
t = threading.Thread(target=health, daemon=True)
t.start()
sending = True
while t.is_alive() and sending:
    try:
        s.send(b"\0" * 100)
    except OSError:
        sending = False
    t.join(0.2)
s.setblocking(False)
try:
    s.recv(1)  # an answer, or the end of the stream: the upload is over
    still = False
except BlockingIOError:
    still = sending  # nothing to read and no end of the stream: still connected
print(got.get("status"), "connected" if still else "closed")
' "$AP" > "$T/slow_health.out"
check "a slow upload does not hold up other requests ($(cat "$T/slow_health.out"))" \
    [ "$(cat "$T/slow_health.out")" = "200 connected" ]
s=$(status_of "$U/metrics")
check "metrics count the lost process" grep -q '^callqa_analysis_processes_lost_total{reason="crash"} 1$' "$T/body"
check "the crash is logged" grep -Eq 'analysis process (died \(signal 11|failed \(exit status (1|66))' "$T/serve4.log"
HOST=$(children_of "$SVC")
kill -KILL $HOST
# the host is gone once the kernel has taken it down (a sanitizer's process takes a while)
health_is() { [ "$(status_of "$U/health")" = "$1" ]; }
wait_until 60 health_is 503
s=$(status_of "$U/health")
check "analysis host gone: health 503 'host down'" sh -c "[ $s = 503 ] && grep -q 'host down' $T/body"
s=$(status_of "$U/analyze?name=c2.wav" -X POST -H 'Content-Type: audio/wav' --data-binary "@$C2")
check "analysis host gone: analyses get 503 analysis_unavailable" sh -c "[ $s = 503 ] && grep -q analysis_unavailable $T/body"
s=$(status_of "$U/calls")
check "analysis host gone: stored results are still served" [ "$s" = 200 ]
kill -TERM "$SVC"
wait "$SVC"
check "analysis host gone: SIGTERM still exits 0" [ "$?" = 0 ]
sox "$C/call01_normal.wav" "$C/call01_normal.wav" "$C/call01_normal.wav" "$C/call01_normal.wav" "$T/long.wav"
export CALLQA_ANALYSIS_TIMEOUT_SEC=0.1
start_service "$T/serve5.log" --no-auth
unset CALLQA_ANALYSIS_TIMEOUT_SEC
s=$(status_of "$U/analyze?name=long.wav" -X POST -H 'Content-Type: audio/wav' --data-binary "@$T/long.wav")
check "an analysis over analysis_timeout_sec: 504 analysis_timeout" sh -c "[ $s = 504 ] && grep -q '\"code\":\"analysis_timeout\"' $T/body"
s=$(status_of "$U/metrics")
check "metrics count the stopped process" grep -q '^callqa_analysis_processes_lost_total{reason="timeout"} 1$' "$T/body"
check "the service still serves after the timeout" curl -sf -o /dev/null "$U/health"
kill -TERM "$SVC"
wait "$SVC"

# limits meant to be hit, on an instance of their own (the requests above have calm ones)
export CALLQA_FETCH_TIMEOUT_SEC=3 CALLQA_UPLOAD_TIMEOUT_SEC=2
start_service "$T/serve_short.log" --no-auth
unset CALLQA_FETCH_TIMEOUT_SEC CALLQA_UPLOAD_TIMEOUT_SEC
# the stalling server never sends its body within the hang guard: only the fetch timeout ends it
s=$(status_of "$U/analyze?server=stall&file=slow-all.wav" -m 120)
check "a stalling server: 504 upstream_timeout (the fetch timeout)" sh -c "[ $s = 504 ] && grep -q upstream_timeout $T/body"
# an upload that trickles (100 bytes every 0.2 s of a 100 kB body) for longer than the limit: the
# service closes the connection, no sooner than the limit, and logs a 408
python3 -c '
import select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /analyze?name=slow.wav HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\n"
          b"Content-Length: 100000\r\n\r\n")
t0, closed = time.monotonic(), False
while not closed and time.monotonic() - t0 < 120:
    try:
        s.send(b"\0" * 100)
    except OSError:
        closed = True
        break
    r, _, _ = select.select([s], [], [], 0.2)
    if r:
        try:
            closed = not s.recv(65536)
        except OSError:
            closed = True
print("%.1f %s" % (time.monotonic() - t0, "closed" if closed else "open"))
' "$AP" > "$T/slow.sec"
check "a slow upload: cut after the 2 s limit ($(cat "$T/slow.sec"); connection closed, logged as 408)" \
    sh -c "awk '{exit !(\$1 >= 2 && \$2 == \"closed\")}' $T/slow.sec && grep -q '\"route\":\"analyze_upload\",\"status\":408' $T/serve_short.log"
kill -TERM "$SVC"
wait "$SVC"
export CALLQA_ISOLATE=false
start_service "$T/serve6.log" --no-auth
unset CALLQA_ISOLATE
s=$(status_of "$U/health")
check "isolate = false: health says in-process" sh -c "[ $s = 200 ] && grep -q '\"analyses\":\"in-process\"' $T/body"
s=$(status_of "$U/analyze?name=c2.wav" -X POST -H 'Content-Type: audio/wav' --data-binary "@$C2")
KIDS=$(children_of "$SVC")
check "isolate = false: the analysis runs in the service" sh -c "[ $s = 200 ] && grep -q inbound_silent $T/body && [ -z '$KIDS' ]"
kill -TERM "$SVC"
wait "$SVC"

# authentication
printf 'a-test-token-0123456789\n' > "$T/token"
chmod 0644 "$T/token"
timeout 120 "$CQ" serve --listen "127.0.0.1:$AP" --db "$DB" --token-file "$T/token" 2> "$T/auth.err"
rc=$?
check "a token file others can read is refused (exit $rc)" sh -c "[ $rc != 0 ] && [ $rc != 124 ] && grep -q 'mode 0600' $T/auth.err"
chmod 0600 "$T/token"
start_service "$T/serve3.log" --token-file "$T/token"
s=$(status_of "$U/calls")
check "no token: 401" sh -c "[ $s = 401 ] && grep -q unauthorized $T/body"
s=$(status_of "$U/calls" -H 'Authorization: Bearer wrong-token-0123456789')
check "a wrong token: 401" [ "$s" = 401 ]
s=$(status_of "$U/calls" -H 'Authorization: Bearer a-test-token-0123456789')
check "the token: 200" [ "$s" = 200 ]
s=$(status_of "$U/health")
check "/health needs no token" [ "$s" = 200 ]
check "the service still serves after all of it" curl -sf -o /dev/null "$U/health"
kill -TERM "$SVC"
wait "$SVC"

# listening addresses
"$CQ" serve --listen "localhost:$AP" --no-auth --db "$DB" 2> "$T/listen.err"
check "a listen address that is not an address: exit 2 with a reason" sh -c "[ $? = 2 ] && grep -q 'not an IPv4 or IPv6 address' $T/listen.err"
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
    "$CQ" serve --listen "[::1]:$AP" --no-auth --db "$DB" 2> "$T/v6.log" &
    V6=$!
    PIDS="$PIDS $V6"
    serving "$V6" "http://[::1]:$AP/health"
    s=$(status_of "http://[::1]:$AP/health" -g)
    check "IPv6: [::1] serves" sh -c "[ $s = 200 ] && grep -q '\"addr\":\"\[::1\]:$AP\"' $T/v6.log"
    kill -TERM "$V6"
    wait "$V6"
else
    echo "# skipped the IPv6 check: no ::1 on this machine"
fi

# the service's analysis settings are the engine's parameters: set in the config file, they give
# what the command line's flags give; a result stored under other settings is not served
printf 'silence_noise = -40\nvad_min_silence_ms = 200\nnisqa_mode = file\n' > "$T/engine.conf"
start_service "$T/serve7.log" --no-auth --config "$T/engine.conf"
s=$(status_of "$U/analyze?server=uk&file=c1-all.wav")
cp "$T/body" "$T/c1_set.json"
check "other settings: the stored result is not served" sh -c "[ $s = 200 ] && grep -qi '^x-cache: miss' $T/headers"
"$CQ" analyze --json -q --silence-noise -40 --vad-min-silence-ms 200 --nisqa-mode file \
    --in "$R/ORIG/c1-in.wav" --out "$R/ORIG/c1-out.wav" > "$T/c1_set.cli.json"
check "silence_noise = -40 (and VAD, NISQA settings): /analyze equals callqa analyze with the flags" python3 -c '
import json, sys
a, b, d = (json.load(open(p)) for p in sys.argv[1:4])
def strip(d):
    for k in ("analysis_time_sec", "file", "warnings", "warning_details"):
        d.pop(k)
    for leg in ("inbound", "outbound"):
        d[leg].pop("source")
    return d
assert a["engine"]["silencedetect"]["noise_db"] == -40
assert a["engine"]["vad"]["params"]["min_silence_ms"] == 200
assert a["inbound"]["silences"] != d["inbound"]["silences"]  # the setting took effect
assert strip(a) == strip(b)
' "$T/c1_set.json" "$T/c1_set.cli.json" "$T/c1.json"
kill -TERM "$SVC"
wait "$SVC"
"$CQ" serve --help-settings > "$T/settings.txt"
check "every setting is in docs/config.md" python3 -c '
import sys
doc = open(sys.argv[2]).read()
keys = [l.split()[0] for l in open(sys.argv[1]) if l.strip()]
missing = [k for k in keys if "`" + k + "`" not in doc]
assert len(keys) > 30 and not missing, missing
' "$T/settings.txt" "$SRC/docs/config.md"

finish service
