#!/bin/sh
# bench/run-service.sh - `callqa serve` under load with wrk, on this machine: cached
# GET /analyze (the result in the store, within the freshness window) and, for comparison,
# GET /health; then uncached throughput (refresh=1: fetch + analysis each time) against the
# command line's analysis throughput on the same recording.
#   usage: bench/run-service.sh [SECONDS [cached]]     (needs wrk, python3, sox; ../shared/corpus)
#   cached: only the cached GET /analyze and GET /health, and the audit trail's figures
#   CALLQA_BIN=DIR/callqa: another build's program (another checkout's, for a before and after)
set -eu
cd "$(dirname "$0")/.."
D=${1:-10}
ONLY=${2:-}
BIN=${CALLQA_BIN:-build/callqa}
C=${CALLQA_SHARED_DIR:-../shared}/corpus/calls
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-${CALLQA_SHARED_DIR:-../shared}/models}
T=$(mktemp -d)
trap 'kill $(cat "$T/pids" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/www/RECORDINGS/ORIG"
sox "$C/call01_normal.wav" -b 16 -e signed "$T/www/RECORDINGS/ORIG/c1-in.wav" remix 1
sox "$C/call01_normal.wav" -b 16 -e signed "$T/www/RECORDINGS/ORIG/c1-out.wav" remix 2
(cd "$T/www" && exec python3 -m http.server 28081 --bind 127.0.0.1 > /dev/null 2>&1) &
echo $! >> "$T/pids"
# wrk's connections all come from 127.0.0.1: the service's own defaults hold them (a kept-alive
# connection waiting for its next request is not a pending one, svc_guard.c), and any answer
# other than 200 is printed (Non-2xx).
"$BIN" serve --listen 127.0.0.1:28080 --no-auth --db "$T/db" \
    --freshness-sec 86400 --recording-server uk=http://127.0.0.1:28081/RECORDINGS 2> "$T/log" &
echo $! >> "$T/pids"
sleep 1.5
U=http://127.0.0.1:28080
curl -sf -o /dev/null "$U/analyze?server=uk&file=c1-all.wav" # into the store
for c in 16 64; do
    echo "== cached GET /analyze (c1: 64 s stereo call, $(curl -s "$U/analyze?server=uk&file=c1-all.wav" | wc -c) bytes of JSON), wrk -t2 -c$c -d${D}s --latency"
    wrk -t2 -c$c -d"${D}s" --latency "$U/analyze?server=uk&file=c1-all.wav" | grep -E "Requests/sec|50%|90%|99%|Non-2xx"
done
echo "== GET /health, wrk -t2 -c64 -d${D}s --latency"
wrk -t2 -c64 -d"${D}s" --latency "$U/health" | grep -E "Requests/sec|99%|Non-2xx"
echo "== the audit trail: $(sqlite3 "$T/db" 'SELECT COUNT(*) FROM audit_log' 2>/dev/null || echo '?') rows"
curl -s "$U/metrics" | grep -E "^callqa_audit_(rows_total|commits_total|queue_high_rows)" || true
[ "$ONLY" = cached ] && exit 0
echo "== uncached GET /analyze?refresh=1 (fetch + analysis each), wrk -t2 -c4 -d${D}s"
wrk -t2 -c4 -d"${D}s" --timeout 30s "$U/analyze?server=uk&file=c1-all.wav&refresh=1" | grep -E "Requests/sec"
echo "== the command line on the same legs, 8 calls, -j 2"
for i in 1 2 3 4 5 6 7 8; do echo "--in $T/www/RECORDINGS/ORIG/c1-in.wav --out $T/www/RECORDINGS/ORIG/c1-out.wav"; done > "$T/list"
t0=$(date +%s.%N)
xargs -P 2 -L 1 "$BIN" analyze --json -q < "$T/list" > /dev/null
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN {printf "Requests/sec: %.2f (calls per second)\n", 8 / (b - a)}'

# The price of isolation (a child of the analysis host per analysis): 100 uploads of a 1 s
# call one after another, so that the fixed cost shows, with isolate on (the service above)
# and off (a second service), alternating in three rounds.
sox "$C/call01_normal.wav" "$T/short.wav" trim 0 1
CALLQA_ISOLATE=false "$BIN" serve --listen 127.0.0.1:28082 --no-auth --db "$T/db2" 2> "$T/log2" &
echo $! >> "$T/pids"
sleep 1.5
posts() { # posts PORT: ms per upload analysed, 100 sequential
    t0=$(date +%s.%N)
    i=0
    while [ $i -lt 100 ]; do
        curl -sf -o /dev/null -X POST -H 'Content-Type: audio/wav' --data-binary "@$T/short.wav" \
            "http://127.0.0.1:$1/analyze?name=short.wav" || echo "upload failed" >&2
        i=$((i + 1))
    done
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) * 10}'
}
echo "== 1 s uploads, ms per request (100 in a row): isolated / in-process"
for round in 1 2 3; do
    echo "round $round: $(posts 28080) / $(posts 28082)"
done
