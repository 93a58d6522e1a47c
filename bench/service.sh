#!/bin/sh
# bench/service.sh - `callqa serve` under load, on this machine.
#   load [SECONDS [cached]]   wrk against the service: cached GET /analyze (the result in the
#          store, within the freshness window) and, for comparison, GET /health; then uncached
#          throughput (refresh=1: fetch + analysis each time) against the command line's
#          analysis throughput on the same recording; then the price of isolation (a child of
#          the analysis host per analysis): 100 uploads of a 1 s call one after another, with
#          isolate on and off, alternating in three rounds. SECONDS of wrk each (default 10);
#          cached: only the cached GET /analyze and GET /health, and the audit trail's figures.
#          CQ=DIR/callqa: another build's program (another checkout's, for a before and after).
#          Needs wrk, python3, sox; ../shared/corpus.
#   request-cost [BUILD] [N]  what one cached GET /analyze costs the service in counts that do
#          not depend on the machine's load: instructions (callgrind, the service's threads; a
#          run of N requests on one kept-alive connection less a run of none) and system calls
#          (strace -c -f over N requests), per request. Compare two builds with it where timed
#          figures are too noisy. BUILD: a build folder (default build), N 2000; needs valgrind,
#          strace, sox, curl.
#   runs [RUNS [SECONDS]]   the cached GET /analyze RUNS times in a row (default 10, SECONDS of
#          wrk -t2 -c16 --latency each, default 10), one line a run: requests per second, p50,
#          p99 (wrk's, corrected for the requests a stalled connection did not send) and the
#          slowest request, with the 1-minute load average before the run. CQ_BEFORE=PROGRAM:
#          another build's callqa served beside it (its own store), its runs alternating with
#          CQ's (ABBA order), so that the ratio of the two comes from one stretch of the
#          machine's load; the summary gives each build's median req/s, its worst p99 and the
#          ratio of the medians.
#   soak [SECONDS]   normal traffic with the red team's attacks interleaved, bounded (bench/soak.py:
#          the service's RSS and the normal requests' p99 latency in the first and the last
#          minute, and every normal request that did not succeed); default 600 s.
# Measure for bench/before_after.sh (probe cached BUILD DIR: requests per second):
#   cached   cached GET /analyze of `callqa serve` (the result stored, within the freshness
#            window): requests per second from wrk -t2 -c16 -d5s
#   usage: bench/service.sh [SECTION [ARGS...]]...   (default: load; after scripts/build)
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_SECTIONS="load runs request-cost soak"
BENCH_DEFAULT="load"
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}

# The recording server the cached requests read once: corpus call01 as a ViciDial tree's two legs
# (c1-in.wav, c1-out.wav) under DIR/www, served by python3's http.server on PORT; its pid goes to
# DIR/pids.
recordings_serve() { # DIR PORT
    mkdir -p "$1/www/RECORDINGS/ORIG"
    sox "$SHARED/corpus/calls/call01_normal.wav" -b 16 -e signed "$1/www/RECORDINGS/ORIG/c1-in.wav" remix 1
    sox "$SHARED/corpus/calls/call01_normal.wav" -b 16 -e signed "$1/www/RECORDINGS/ORIG/c1-out.wav" remix 2
    (cd "$1/www" && exec python3 -m http.server "$2" --bind 127.0.0.1 > /dev/null 2>&1) &
    echo $! >> "$1/pids"
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$2/" && break; sleep 0.1; done
}

sec_load() {
    D=${1:-10}
    ONLY=${2:-}
    C=$SHARED/corpus/calls
    T=$(mktemp -d)
    trap 'kill $(cat "$T/pids" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
    recordings_serve "$T" 28081
    # wrk's connections all come from 127.0.0.1: the service's own defaults hold them (a
    # kept-alive connection waiting for its next request is not a pending one, svc_guard.c), and
    # any answer other than 200 is printed (Non-2xx).
    "$CQ" serve --listen 127.0.0.1:28080 --no-auth --db "$T/db" \
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
    echo "== the audit trail: $(sqlite3 "$T/db" 'SELECT COUNT(*) FROM audit_log' 2> /dev/null || echo '?') rows"
    curl -s "$U/metrics" | grep -E "^callqa_audit_(rows_total|commits_total|queue_high_rows)" || true
    [ "$ONLY" = cached ] && exit 0
    echo "== uncached GET /analyze?refresh=1 (fetch + analysis each), wrk -t2 -c4 -d${D}s"
    wrk -t2 -c4 -d"${D}s" --timeout 30s "$U/analyze?server=uk&file=c1-all.wav&refresh=1" | grep -E "Requests/sec"
    echo "== the command line on the same legs, 8 calls, -j 2"
    for i in 1 2 3 4 5 6 7 8; do echo "--in $T/www/RECORDINGS/ORIG/c1-in.wav --out $T/www/RECORDINGS/ORIG/c1-out.wav"; done > "$T/list"
    t0=$(date +%s.%N)
    xargs -P 2 -L 1 "$CQ" analyze --json -q < "$T/list" > /dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "Requests/sec: %.2f (calls per second)\n", 8 / (b - a)}'

    # The price of isolation (a child of the analysis host per analysis): 100 uploads of a 1 s
    # call one after another, so that the fixed cost shows, with isolate on (the service above)
    # and off (a second service), alternating in three rounds.
    sox "$C/call01_normal.wav" "$T/short.wav" trim 0 1
    CALLQA_ISOLATE=false "$CQ" serve --listen 127.0.0.1:28082 --no-auth --db "$T/db2" 2> "$T/log2" &
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
}

# runs: one service per build measured (PORT, the recording server at PORT + 1), the result
# stored once; then RUNS rounds of wrk, the builds alternating A B, B A, ...
sec_runs() {
    N=${1:-10}
    D=${2:-10}
    need wrk sox curl
    T=$(mktemp -d)
    trap 'kill $(cat "$T/pids" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
    recordings_serve "$T" 28381
    Q="/analyze?server=uk&file=c1-all.wav"
    start() { # NAME PROGRAM PORT
        "$2" serve --listen "127.0.0.1:$3" --no-auth --db "$T/db.$1" --freshness-sec 86400 \
            --recording-server uk=http://127.0.0.1:28381/RECORDINGS 2> "$T/log.$1" &
        echo $! >> "$T/pids"
        for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$3/health" && break; sleep 0.1; done
        curl -sf -o "$T/answer.$1" "http://127.0.0.1:$3$Q" || { tail -5 "$T/log.$1"; die "$2: GET /analyze failed"; } # into the store
    }
    start after "$CQ" 28380
    builds="after"
    if [ -n "${CQ_BEFORE:-}" ]; then
        start before "$CQ_BEFORE" 28382
        builds="after before"
        cmp -s "$T/answer.after" "$T/answer.before" || echo "(the two builds' answers differ)"
    fi
    echo "== cached GET /analyze ($(wc -c < "$T/answer.after") bytes), wrk -t2 -c16 -d${D}s --latency, $N runs"
    echo "run build    req/s    p50_ms   p99_ms   max_ms  load1"
    i=1
    while [ "$i" -le "$N" ]; do
        order=$builds
        [ $((i % 2)) = 0 ] && [ -n "${CQ_BEFORE:-}" ] && order="before after"
        for b in $order; do
            port=28380
            [ "$b" = before ] && port=28382
            load=$(cut -d' ' -f1 /proc/loadavg)
            wrk -t2 -c16 -d"${D}s" --latency "http://127.0.0.1:$port$Q" > "$T/wrk"
            awk -v run="$i" -v b="$b" -v la="$load" '
                function ms(v) { # 907.00ms, 1.20s, 500.00us: in ms
                    if (v ~ /us$/) return v * 0.001
                    if (v ~ /ms$/) return v + 0
                    if (v ~ /m$/) return v * 60000
                    return v * 1000
                }
                $1 == "Latency" && NF >= 5 { mx = ms($4) }
                $1 == "50%" { p50 = ms($2) }
                $1 == "99%" { p99 = ms($2) }
                $1 == "Requests/sec:" { rps = $2 }
                /Non-2xx|Socket errors/ { err = err " " $0 }
                END { printf "%3d %-6s %9.0f %8.2f %8.2f %8.2f %6s%s\n", run, b, rps, p50, p99, mx, la, err }
            ' "$T/wrk" | tee -a "$T/runs"
        done
        i=$((i + 1))
    done
    for b in $builds; do
        awk -v b="$b" '$2 == b { print $3 }' "$T/runs" | median > "$T/med.$b"
        awk -v b="$b" '$2 == b && $5 > m { m = $5 } $2 == b && $5 > 5 { k++ }
            END { printf "%s: median req/s %s, worst p99 %.2f ms, runs with p99 over 5 ms: %d\n", b, med, m, k }' \
            med="$(cat "$T/med.$b")" "$T/runs"
    done
    [ -n "${CQ_BEFORE:-}" ] &&
        awk -v a="$(cat "$T/med.after")" -v b="$(cat "$T/med.before")" 'BEGIN { printf "after / before (median req/s): %.2f\n", a / b }'
    echo "the audit trail (after): $(curl -s "http://127.0.0.1:28380/metrics" | grep -E "^callqa_audit_(rows_total|commits_total|queue_high_rows|wait_seconds_total)" | tr '\n' ' ')"
}

sec_request_cost() {
    B=$(cd "${1:-build}" && pwd)
    N=${2:-2000}
    PORT=28280
    T=$(mktemp -d)
    trap 'kill $(cat "$T/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$T"' EXIT
    recordings_serve "$T" $((PORT + 1))
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
    echo $svc >> "$T/pids"
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
}

sec_soak() {
    python3 bench/soak.py "$CQ" "$SHARED/corpus" "$@"
}

probe_cached() { # BUILD DIR: requests per second
    T=$2
    C=$SHARED/corpus
    trap 'kill $(cat "$T/pids" 2>/dev/null) 2>/dev/null || true' EXIT
    rm -rf "$T/s" && mkdir -p "$T/s/www/RECORDINGS/ORIG"
    sox "$C/calls/call01_normal.wav" -b 16 -e signed "$T/s/www/RECORDINGS/ORIG/c1-in.wav" remix 1
    sox "$C/calls/call01_normal.wav" -b 16 -e signed "$T/s/www/RECORDINGS/ORIG/c1-out.wav" remix 2
    (cd "$T/s/www" && exec python3 -m http.server 28181 --bind 127.0.0.1 > /dev/null 2>&1) &
    web=$!
    echo $web >> "$T/pids"
    for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:28181/ && break; sleep 0.1; done
    "$1/callqa" serve --listen 127.0.0.1:28180 --no-auth --db "$T/s/db" --freshness-sec 86400 \
        --recording-server uk=http://127.0.0.1:28181/RECORDINGS 2> /dev/null &
    svc=$!
    echo $svc >> "$T/pids"
    U=http://127.0.0.1:28180
    for _ in $(seq 1 100); do curl -s -o /dev/null "$U/health" && break; sleep 0.1; done
    curl -sf -o /dev/null "$U/analyze?server=uk&file=c1-all.wav"
    wrk -t2 -c16 -d5s "$U/analyze?server=uk&file=c1-all.wav" | awk '/Requests\/sec/ { print $2 }'
    kill $svc $web
    wait $svc $web 2> /dev/null || true
    rm -f "$T/pids"
}

bench_main "$@"
