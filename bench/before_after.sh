#!/bin/sh
# bench/before_after.sh - two builds of callqa side by side, alternating run by run (A B A B...)
# so that a slow spell of the machine hits both, on measures of the benchmark families (each
# family's driver runs one of its measures once with a given build: bench/FAMILY.sh probe
# MEASURE BUILD DIR):
#   analyze   bench/audio.sh: `callqa analyze --json -q --only levels,silence` on its levels
#             section's three inputs (3-minute mono PCM16, 3-minute stereo u-law, 1-hour mono),
#             one process each
#   full      bench/audio.sh: `callqa analyze --json -q` (every default analyzer, the models) on
#             a corpus call
#   startup   bench/audio.sh: `callqa version`, 100 processes one after the other
#   worker    bench/qa.sh: `callqa worker --once --jobs 2 --no-idle` draining the corpus calls
#             queued in a store (its worker section's, one copy), a fresh copy each run
#   cached    bench/service.sh: cached GET /analyze of `callqa serve` (the result stored, within
#             the freshness window): requests per second from wrk -t2 -c16 -d5s (its load
#             section's)
# Prints, for each, the median of RUNS runs of each build and after/before (time: lower is
# better; requests/s: higher is better). Two commits: build each (scripts/build in a checkout
# of each, or a `git worktree` of the commit) and give their build folders.
#   usage: bench/before_after.sh BEFORE_BUILD AFTER_BUILD [RUNS]   (default 5; needs sox, wrk,
#          python3; BUILD: a build folder holding callqa and callqa-service)
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# -ge 2 ] || die "usage: bench/before_after.sh BEFORE_BUILD AFTER_BUILD [RUNS]"
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
RUNS=${3:-5}
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

family() { # the family whose driver holds the measure
    case $1 in
    analyze | full | startup) echo audio ;;
    worker) echo qa ;;
    cached) echo service ;;
    esac
}

# the 14 corpus calls queued in $T/s0.db, once (both builds' schema is the same)
sh bench/qa.sh probe worker-queue "$B" "$T"
printf '| measure | before | after | after / before |\n|---|---|---|---|\n'
for m in analyze full startup worker cached; do
    f=$(family $m)
    : > "$T/a" && : > "$T/b"
    for _ in $(seq "$RUNS"); do
        sh "bench/$f.sh" probe $m "$A" "$T" >> "$T/a"
        sh "bench/$f.sh" probe $m "$B" "$T" >> "$T/b"
    done
    a=$(median < "$T/a")
    b=$(median < "$T/b")
    unit=s
    [ $m = cached ] && unit=req/s
    awk -v m="$m" -v a="$a" -v b="$b" -v u="$unit" 'BEGIN { printf "| %s | %.3f %s | %.3f %s | %.3f |\n", m, a, u, b, u, b / a }'
done
