#!/bin/sh
# bench/request_cost.sh - what one cached GET /analyze costs `callqa serve` in counts that do
# not depend on the machine's load: instructions (callgrind, the service's threads; a run of N
# requests on one kept-alive connection less a run of none) and system calls (strace -c -f over
# N requests), per request. Compare two builds with it where timed figures are too noisy.
#   usage: bench/request_cost.sh BUILD [N]   (default 2000; needs valgrind, strace, sox, curl)
set -eu
cd "$(dirname "$0")/.."
B=$(cd "$1" && pwd)
N=${2:-2000}
SHARED=${CALLQA_SHARED_DIR:-../shared}
C=$SHARED/corpus
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}
PORT=28280
T=$(mktemp -d)
trap 'kill $(cat "$T/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$T"' EXIT
mkdir -p "$T/www/RECORDINGS/ORIG"
sox "$C/calls/call01_normal.wav" -b 16 -e signed "$T/www/RECORDINGS/ORIG/c1-in.wav" remix 1
sox "$C/calls/call01_normal.wav" -b 16 -e signed "$T/www/RECORDINGS/ORIG/c1-out.wav" remix 2
(cd "$T/www" && exec python3 -m http.server $((PORT + 1)) --bind 127.0.0.1 > /dev/null 2>&1) &
echo $! >> "$T/pids"
sleep 1
ARGS="serve --listen 127.0.0.1:$PORT --no-auth --db $T/db --freshness-sec 86400"
ARGS="$ARGS --recording-server uk=http://127.0.0.1:$((PORT + 1))/RECORDINGS"
U=http://127.0.0.1:$PORT
Q="/analyze?server=uk&file=c1-all.wav"
up() { for _ in $(seq 1 600); do curl -s -o /dev/null "$U/health" && return 0; sleep 0.2; done; return 1; }
requests() { # N: GETs on one kept-alive connection
    python3 - "$PORT" "$1" "$Q" << 'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
for _ in range(int(sys.argv[2])):
    c.request("GET", sys.argv[3])
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
}
# the result into the store, by a service at full speed
# shellcheck disable=SC2086 # ARGS: words
"$B/callqa-service" $ARGS 2> /dev/null &
svc=$!
up
curl -sf -o /dev/null "$U$Q"
kill $svc
wait $svc 2> /dev/null || true
for n in 0 "$N"; do
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$T/cg.%p" "$B/callqa-service" $ARGS 2> /dev/null &
    svc=$!
    up
    requests "$n"
    kill $svc
    wait $svc 2> /dev/null || true
    grep -h "^summary:" "$T/cg.$svc" | awk '{ print $2 }' > "$T/ir.$n"
    rm -f "$T"/cg.*
done
awk -v n="$N" -v a="$(cat "$T/ir.0")" -v b="$(cat "$T/ir.$N")" \
    'BEGIN { printf "instructions per request: %.0f\n", (b - a) / n }'
# shellcheck disable=SC2086
"$B/callqa-service" $ARGS 2> /dev/null &
svc=$!
up
pid=$(ss -ltnpH "sport = :$PORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
strace -c -f -p "$pid" -o "$T/st" 2> /dev/null &
st=$!
sleep 1
requests "$N"
kill -INT $st
wait $st 2> /dev/null || true
kill $svc
wait $svc 2> /dev/null || true
echo "system calls per request:"
awk -v n="$N" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $4 >= n / 2 { printf "  %s %.2f\n", $NF, $4 / n }' "$T/st"
