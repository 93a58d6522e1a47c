#!/bin/sh
# test_assess_corpus.sh CALLQA TEST_ASSESS SHARED_DIR - the /ai-analyze assessment on reports
# made now by `callqa analyze --json` from the corpus calls (a clean call, one-way audio, dead
# air, hold, IVR and DTMF, clipping, a low level, noise, busy, SIT, overtalk, a mono mix).
# 77 without ../shared.
set -eu
callqa=$1 test_assess=$2 shared=$3
calls="$shared/corpus/calls"
[ -f "$calls/call01_normal.wav" ] || { echo "SKIP: no $calls"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for f in "$calls"/call0[1-9]_*.wav "$calls"/call1[0-3]_*.wav; do
    b=$(basename "$f" .wav)
    "$callqa" analyze --json "$f" >"$tmp/$b.json" 2>"$tmp/$b.err" || { cat "$tmp/$b.err"; exit 1; }
    n=$((n + 1))
done
echo "$n corpus reports made"
exec "$test_assess" corpus "$tmp"
