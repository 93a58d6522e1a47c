#!/bin/sh
# .ci/fuzz.sh - every parser's libFuzzer harness (tests/fuzz/harnesses), built with clang, ASan
# and UBSan (build-fuzz/: the harnesses and what they link, nothing else), then each run over its
# seed corpus (tests/fuzz/corpus/NAME: every finding kept as a seed, so a fixed fault stays a
# test) and for a short bounded time past it, CQ_FUZZ_SECONDS each (default 5), two at a time.
# A crash, a leak, a timeout of 20 s on one input or 1 GiB of memory fails the stage, with the
# harness's log and its reproducer (build-fuzz/NAME-crash-...).
#   usage: .ci/fuzz.sh [NAME...]   (default: every harness)
set -eu
cd "$(dirname "$0")/.."
FUZZ=${*:-$(cat tests/fuzz/harnesses)}
targets=$(for f in $FUZZ; do printf 'fuzz_%s ' "$f"; done)
t0=$(date +%s)
# shellcheck disable=SC2086 # a list of targets
JOBS=$(nproc) scripts/build fuzz --target $targets > build-fuzz.log 2>&1 ||
    { tail -40 build-fuzz.log; echo "CI: the fuzz build failed"; exit 1; }
echo "fuzz: $(echo "$FUZZ" | wc -w) harnesses built in $(($(date +%s) - t0)) s"

fuzz_one() {
    f=$1 st=0
    mkdir -p "build-fuzz/work-$f"
    dict=""
    [ -f "tests/fuzz/$f.dict" ] && dict="-dict=tests/fuzz/$f.dict"
    # shellcheck disable=SC2086 # $dict: one option or none
    "build-fuzz/tests/fuzz/fuzz_$f" -max_total_time="${CQ_FUZZ_SECONDS:-5}" -rss_limit_mb=1024 \
        -timeout=20 -artifact_prefix="build-fuzz/$f-" $dict \
        "build-fuzz/work-$f" "tests/fuzz/corpus/$f" > "build-fuzz/fuzz-$f.log" 2>&1 || st=$?
    echo "fuzz_$f: $(grep -E '^Done|INITED' "build-fuzz/fuzz-$f.log" | tail -1)"
    [ $st -eq 0 ] || { echo "fuzz_$f failed:"; tail -40 "build-fuzz/fuzz-$f.log"; }
    return $st
}

# two at a time (each harness is one process on one core)
pids="" rc=0
for f in $FUZZ; do
    fuzz_one "$f" &
    pids="$pids $!"
    # shellcheck disable=SC2086
    set -- $pids
    if [ $# -ge 2 ]; then
        wait "$1" || rc=1
        shift
        pids="$*"
    fi
done
for p in $pids; do wait "$p" || rc=1; done
[ $rc -eq 0 ] || { echo "CI: a fuzz harness failed"; exit 1; }
