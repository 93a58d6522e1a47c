#!/bin/sh
# bench/before_after.sh - two builds of callqa side by side, alternating run by run (A B A B...)
# so that a slow spell of the machine hits both, on what bench/run.sh, bench/startup.sh,
# bench/pipeline.sh and bench/run-service.sh measure:
#   analyze   `callqa analyze --json -q --only levels,silence` on bench/run.sh's three inputs
#             (3-minute mono PCM16, 3-minute stereo u-law, 1-hour mono), one process each
#   full      `callqa analyze --json -q` (every default analyzer, the models) on a corpus call
#   startup   `callqa version`, 100 processes one after the other
#   worker    `callqa worker --once --jobs 2 --no-idle` draining the corpus calls queued in a
#             store (bench/pipeline.sh's worker section, one copy), a fresh copy each run
#   cached    cached GET /analyze of `callqa serve` (the result stored, within the freshness
#             window): requests per second from wrk -t2 -c16 -d5s (bench/run-service.sh's)
# Prints, for each, the median of RUNS runs of each build and after/before (time: lower is
# better; requests/s: higher is better).
#   usage: bench/before_after.sh BEFORE_BUILD AFTER_BUILD [RUNS]   (default 5; needs sox, wrk,
#          python3; BUILD: a build folder holding callqa and callqa-service)
set -eu
cd "$(dirname "$0")/.."
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
RUNS=${3:-5}
SHARED=${CALLQA_SHARED_DIR:-../shared}
C=$SHARED/corpus
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}
W=bench/out
mkdir -p "$W"
sh bench/make-inputs.sh "$C" "$W" > /dev/null
T=$(mktemp -d)
trap 'kill $(cat "$T/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$T"' EXIT

now() { date +%s.%N; }
secs() { # secs CMD...: wall seconds of one run
    t0=$(now)
    "$@" > /dev/null 2>&1
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

m_analyze() { # BUILD
    for f in "$W/mono3.wav" "$W/stereo3.wav" "$W/hour.wav"; do
        "$1/callqa" analyze --json -q --only levels,silence "$f"
    done
}
m_full() { "$1/callqa" analyze --json -q "$C/calls/call01_normal.wav"; }
m_startup() {
    i=0
    while [ $i -lt 100 ]; do "$1/callqa" version; i=$((i + 1)); done
}
prepare_store() { # the 14 corpus calls queued in $T/s0.db, once (both builds' schema is the same)
    mkdir -p "$T/in"
    for f in "$C"/calls/*.wav; do cp "$f" "$T/in/"; done
    sleep 1 # older than the watch's settle time
    "$B/callqa" ingest watch --dir "$T/in" --db "$T/s0.db" --source bench --settle-sec 0.2 \
        --once > "$T/ingest.log" 2>&1
}
m_worker() { # BUILD: the queued calls drained by the worker, on a fresh copy of the store
    rm -f "$T/s.db" "$T/s.db-wal" "$T/s.db-shm"
    cp "$T/s0.db" "$T/s.db"
    t0=$(now)
    "$1/callqa" worker --db "$T/s.db" --once --jobs 2 --max-load 0 --no-idle > /dev/null 2>&1
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
m_cached() { # BUILD: requests per second
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
}

prepare_store
printf '| measure | before | after | after / before |\n|---|---|---|---|\n'
for m in analyze full startup worker cached; do
    : > "$T/a" && : > "$T/b"
    for _ in $(seq "$RUNS"); do
        case $m in
        worker | cached)
            "m_$m" "$A" >> "$T/a"
            "m_$m" "$B" >> "$T/b"
            ;;
        *)
            secs "m_$m" "$A" >> "$T/a"
            secs "m_$m" "$B" >> "$T/b"
            ;;
        esac
    done
    a=$(median < "$T/a")
    b=$(median < "$T/b")
    unit=s
    [ $m = cached ] && unit=req/s
    awk -v m="$m" -v a="$a" -v b="$b" -v u="$unit" 'BEGIN { printf "| %s | %.3f %s | %.3f %s | %.3f |\n", m, a, u, b, u, b / a }'
done
