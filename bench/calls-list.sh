#!/bin/sh
# bench/calls-list.sh - the dashboard's calls list: the first page (limit 50) of GET /api/qa/calls
# of `callqa serve` on a store of CALLS generated calls (bench/gen_store.py, as bench/pipeline.sh
# api makes it), in the default order, every sort key in both orders, and a few filters; REQS
# sequential requests each. The server time of each request is the "ms" the service logs for it
# (one JSON line per request); curl's time_total on loopback is shown beside it. p50 / p99 / max.
#   usage: bench/calls-list.sh [pg]   (after scripts/build; pg: the same store copied into a
#          private PostgreSQL server by `callqa store migrate`, tests/pg/pg_lib.sh)
#   settings (environment): CALLS=100000 REQS=20 CQ=build/callqa
# Writes bench/out/calls-list[-pg].txt (and prints it).
set -eu
cd "$(dirname "$0")/.."
CQ=${CQ:-build/callqa}
CALLS=${CALLS:-100000}
REQS=${REQS:-20}
OUT=bench/out
mkdir -p "$OUT"
die() {
    echo "bench/calls-list.sh: $*" >&2
    exit 1
}
[ -x "$CQ" ] || die "$CQ is not built (scripts/build, or set CQ)"
command -v curl > /dev/null || die "curl is missing"
T=$(mktemp -d "${TMPDIR:-/tmp}/cq-calls.XXXXXX")
SERVE=""
cleanup() {
    [ -n "$SERVE" ] && kill "$SERVE" 2> /dev/null && wait "$SERVE" 2> /dev/null
    if command -v pg_cleanup > /dev/null 2>&1; then pg_cleanup; fi
    rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
serve_start() { # serve_start STORE LOG
    port=$(free_port)
    U="http://127.0.0.1:$port"
    "$CQ" serve --db "$1" --no-auth --listen "127.0.0.1:$port" > "$2" 2>&1 &
    SERVE=$!
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$U/health" && return 0
        kill -0 "$SERVE" 2> /dev/null || break
        sleep 0.1
    done
    die "callqa serve did not start: $(cat "$2")"
}
serve_stop() {
    kill "$SERVE"
    wait "$SERVE" 2> /dev/null || true
    SERVE=""
}

S=$T/store.db
serve_start "$S" "$T/schema.log" # the schema: callqa's own migrations
serve_stop
g0=$(date +%s.%N)
python3 bench/gen_store.py --db "$S" --calls "$CALLS" --store-c src/store/store.c > "$T/gen.txt" ||
    die "gen_store.py failed"
g1=$(date +%s.%N)
SERVED=$S
suffix=""
if [ "${1:-}" = pg ]; then
    . tests/pg/pg_lib.sh
    pg_available || die "PostgreSQL's server is not installed (scripts/deps)"
    pg_start "$T" > /dev/null || die "PostgreSQL did not start"
    "$CQ" store migrate --from "$S" --to "$PG_URI" > "$T/migrate.txt" 2>&1 ||
        die "callqa store migrate failed: $(tail -3 "$T/migrate.txt")"
    pg_psql -c "VACUUM ANALYZE" > /dev/null
    SERVED=$PG_URI
    export CALLQA_UPLOAD_DIR="$T/uploads"
    suffix=-pg
fi
LOG=$T/serve.log
serve_start "$SERVED" "$LOG"
AGENT=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT agent_user FROM calls GROUP BY agent_user ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0])' "$S")
CASES="default"
for k in call_date agent_user campaign_id total_score mos duration dead_air call_length; do
    CASES="$CASES sort=$k&order=asc sort=$k&order=desc"
done
CASES="$CASES one_way=1 flagged=1&sort=total_score&order=asc mos_below=2.5&sort=mos dtmf=1&sort=duration agent=$AGENT from=$(date -d '30 days ago' +%F)&sort=dead_air"
load0=$(cat /proc/loadavg)
: > "$T/results.txt"
for c in $CASES; do
    qs="limit=50"
    [ "$c" = default ] || qs="$qs&$c"
    curl -s -o "$T/body.json" "$U/api/qa/calls?$qs" # the first, not timed: the answer checked
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert "calls" in d, d; print(d["total"], len(d["calls"]))' "$T/body.json" > "$T/first.txt" ||
        die "$qs: $(head -c 300 "$T/body.json")"
    n0=$(wc -l < "$LOG")
    i=0
    : > "$T/curl.txt"
    while [ $i -lt "$REQS" ]; do
        curl -s -o /dev/null -w '%{time_total}\n' "$U/api/qa/calls?$qs" >> "$T/curl.txt"
        i=$((i + 1))
    done
    sleep 0.2
    tail -n +$((n0 + 1)) "$LOG" | python3 -c '
import json, sys
qs, first, curl = sys.argv[1], open(sys.argv[2]).read().split(), [float(x) * 1e3 for x in open(sys.argv[3])]
ms = sorted(json.loads(l)["ms"] for l in sys.stdin if "\"route\":\"qa_calls\"" in l)
assert len(ms) == len(curl), (len(ms), len(curl))
curl.sort()
q = lambda t, f: t[min(len(t) - 1, int(round(f * len(t) + 0.5)) - 1)]
print("%-46s total %6s  server p50 %6.1f  p99 %6.1f  max %6.1f ms   curl p50 %6.1f  p99 %6.1f ms" %
      (qs, first[0], q(ms, .5), q(ms, .99), ms[-1], q(curl, .5), q(curl, .99)))
' "$qs" "$T/first.txt" "$T/curl.txt" >> "$T/results.txt"
done
load1=$(cat /proc/loadavg)
serve_stop
out=$OUT/calls-list$suffix.txt
{
    echo "== the calls list's first page: $CALLS calls made by bench/gen_store.py, served by callqa serve --db $([ -n "$suffix" ] && echo "postgresql://... (the store copied by callqa store migrate, VACUUM ANALYZE)" || echo "S (SQLite)"); $REQS sequential requests per case (a new connection each, curl)"
    echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)"
    echo "callqa: commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
    echo "load average before: $load0"
    echo "load average after:  $load1"
    echo "generation: $(awk -v a="$g0" -v b="$g1" 'BEGIN {printf "%.1f", b - a}') s"
    sed 's/^/  /' "$T/gen.txt"
    echo "server: the service's logged ms per request; curl: time_total on loopback"
    cat "$T/results.txt"
} > "$out"
cat "$out"
