#!/bin/sh
# bench/call-view.sh - the dashboard's call view of the longest call the service allows (30
# minutes, max_duration_sec 1800) in headless Chromium, beside the same data fetched by curl.
# The store is the browser test's (tests/ui/fixture.sh with CALLQA_UI_LONG=1: corpus calls, and
# the 30-minute call made of them, uploaded to `callqa serve` and analysed by `callqa worker`).
#   browser  bench/call-view.mjs: cold (a new context opens the call's URL, until the timeline
#            is drawn), warm (back from the calls list), zoom (a click to the frame painted),
#            play (animation frames while the recording plays)
#   curl     the three answers the view reads, in its order, on one connection: the call, its
#            report, its envelope decimated to the points the view asks for (20,000)
#   usage: bench/call-view.sh   (after scripts/build; needs node, /usr/bin/chromium, sox)
#   settings (environment): RUNS=10 CQ=build/callqa CALLQA_SHARED_DIR=../shared
# Writes bench/out/call-view.txt (and prints it).
set -eu
cd "$(dirname "$0")/.."
CQ=${CQ:-build/callqa}
case $CQ in /*) ;; *) CQ=$(pwd)/$CQ ;; esac
RUNS=${RUNS:-10}
SHARED=${CALLQA_SHARED_DIR:-../shared}
OUT=bench/out
mkdir -p "$OUT"
die() {
    echo "bench/call-view.sh: $*" >&2
    exit 1
}
[ -x "$CQ" ] || die "$CQ is not built (scripts/build, or set CQ)"
[ -d "$SHARED/corpus/calls" ] || die "$SHARED/corpus is missing (set CALLQA_SHARED_DIR)"
[ -d ui/node_modules/playwright-core ] || die "ui/node_modules is missing (the build runs npm ci)"
for need in node curl sox "${CALLQA_CHROMIUM:-/usr/bin/chromium}"; do
    command -v "$need" > /dev/null 2>&1 || die "$need is missing (scripts/deps)"
done
T=$(mktemp -d "${TMPDIR:-/tmp}/cq-callview.XXXXXX")
SERVE=""
cleanup() {
    [ -n "$SERVE" ] && kill "$SERVE" 2> /dev/null && wait "$SERVE" 2> /dev/null
    rm -rf "$T"
}
trap cleanup EXIT
f0=$(date +%s.%N)
CALLQA_UI_LONG=1 sh tests/ui/fixture.sh "$CQ" "$SHARED/corpus" "$T" > "$T/fixture.txt" 2>&1 ||
    die "the store could not be made: $(tail -3 "$T/fixture.txt")"
f1=$(date +%s.%N)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
U="http://127.0.0.1:$PORT"
"$CQ" serve --db "$T/store.db" --no-auth --listen "127.0.0.1:$PORT" > "$T/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$U/health" && break
    sleep 0.1
done
curl -sf -o /dev/null "$U/api/qa/call/RLONG/envelope?points=20000" || die "the 30-minute call has no envelope"
load0=$(cat /proc/loadavg)

# curl: the view's three answers, RUNS times (one connection per run)
: > "$T/curl.txt"
i=0
while [ $i -lt "$RUNS" ]; do
    curl -s -w '%{time_total} %{size_download}\n' -o /dev/null "$U/api/qa/call/RLONG" \
        -o /dev/null "$U/api/qa/call/RLONG/report" -o /dev/null "$U/api/qa/call/RLONG/envelope?points=20000" |
        awk '{ t += $1; b += $2 } END { printf "%.1f %d\n", t * 1000, b }' >> "$T/curl.txt"
    i=$((i + 1))
done
# the browser
node bench/call-view.mjs "$U" RLONG "$RUNS" > "$T/browser.jsonl" || die "the browser run failed"
load1=$(cat /proc/loadavg)

out=$OUT/call-view.txt
{
    echo "== the call view of a 30-minute call (RLONG: two legs, max_duration_sec 1800) in headless Chromium, beside curl; $RUNS runs each"
    echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)"
    echo "callqa: commit $(git rev-parse --short HEAD 2> /dev/null || echo '?'); $(${CALLQA_CHROMIUM:-/usr/bin/chromium} --version 2> /dev/null | head -1); node $(node --version)"
    echo "load average before: $load0"
    echo "load average after:  $load1"
    echo "store made (15 calls analysed by the worker): $(awk -v a="$f0" -v b="$f1" 'BEGIN {printf "%.0f", b - a}') s"
    python3 - "$T/curl.txt" "$T/browser.jsonl" << 'EOF'
import json, sys
curl = [l.split() for l in open(sys.argv[1])]
runs = [json.loads(l) for l in open(sys.argv[2])]
def q(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(f * len(v) + 0.5)) - 1))]
def row(name, v, unit="ms"):
    print("  %-52s p50 %7.1f  max %7.1f %s" % (name, q(v, .5), max(v), unit))
c = [float(x[0]) for x in curl]
row("curl: the call, its report, its envelope (%.0f KiB)" % (int(curl[0][1]) / 1024), c)
cold = [r["cold_ms"] for r in runs]
warm = [r["warm_ms"] for r in runs]
row("browser cold: a new context to the timeline drawn", cold)
row("browser warm: from the calls list to the timeline drawn", warm)
row("browser zoom: click to the frame painted", [r["zoom_ms"] for r in runs])
print("  spans drawn: %d; long tasks (> 50 ms) while opening: p50 %d, longest %.0f ms" %
      (runs[0]["spans"], q([r["cold_long"] for r in runs], .5), max(r["cold_long_max"] for r in runs)))
p = [r["play"] for r in runs]
print("  playing (%.1f s of audio a run): frame interval p50 %.1f ms, p99 %.1f ms, max %.1f ms; long tasks %d in all (longest %.0f ms)" %
      (q([x["audio_sec"] for x in p], .5), q([x["p50"] for x in p], .5), q([x["p99"] for x in p], .5),
       max(x["max"] for x in p), sum(x["long"] for x in p), max(x["longMax"] for x in p)))
print("  ratio cold / curl (p50): %.1f; warm / curl: %.1f" % (q(cold, .5) / q(c, .5), q(warm, .5) / q(c, .5)))
EOF
} > "$out"
cat "$out"
