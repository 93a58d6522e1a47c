#!/bin/sh
# test_live.sh - the live-call test material end to end, small: 6 dev and 4 held hold-slayer
# sequences (mkseq.py) and as many answering-machine sequences (mkamd.py), seeded, built from the
# corpus; `callqa classify --timeline` on each; then score.py check: the talker sets disjoint,
# the labels consistent, Asterisk's AMD() rules (amd_ref.py) reproducing their hand-checked cases
# and deciding on every AMD sequence, and the hold and AMD scores computed from today's events.
#   usage: test_live.sh BUILD/callqa SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus; KEEP=DIR keeps the sequences and the event streams
set -u
CQ=$1
SRC=$2
C=$3
T0=$(date +%s)
if [ ! -f "$C/manifest.json" ]; then
    echo "SKIP: $C (the shared corpus) is missing"
    exit 77
fi
command -v sox >/dev/null || { echo "FAIL: sox is not installed (scripts/deps)"; exit 1; }
PY=""
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import numpy, scipy.signal' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "FAIL: no python3 with numpy and scipy (Debian python3-numpy python3-scipy; scripts/deps)"; exit 1; }
T=$(mktemp -d)
# shellcheck disable=SC2064 # T is fixed from here on
trap "rm -rf '$T'" EXIT
L=$SRC/tests/live
mkdir -p "$T/hold" "$T/amd" "$T/ev_hold" "$T/ev_amd"
if ! { "$PY" "$L/mkseq.py" --set dev --n 6 --seed 7 --out "$T/hold" --corpus "$C" &&
    "$PY" "$L/mkseq.py" --set held --n 4 --seed 7 --out "$T/hold" --corpus "$C" &&
    "$PY" "$L/mkamd.py" --set dev --n 6 --seed 7 --out "$T/amd" --corpus "$C" &&
    "$PY" "$L/mkamd.py" --set held --n 4 --seed 7 --out "$T/amd" --corpus "$C"; }; then
    echo "FAIL: building the sequences"
    exit 1
fi
echo "built in $(( $(date +%s) - T0 )) s; classifying"
for d in hold amd; do
    # shellcheck disable=SC2016 # expanded by the inner sh
    (cd "$T/$d" && ls ./*.wav) | xargs -P 2 -I{} sh -c \
        '"$1" classify --timeline "$2/{}" > "$3/$(basename {} .wav).jsonl" 2>/dev/null' \
        sh "$CQ" "$T/$d" "$T/ev_$d" || { echo "FAIL: callqa classify failed"; exit 1; }
done
"$PY" "$L/score.py" check --hold "$T/hold" --amd "$T/amd" --events-hold "$T/ev_hold" \
    --events-amd "$T/ev_amd"
st=$?
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp -r "$T/hold" "$T/amd" "$T/ev_hold" "$T/ev_amd" "$KEEP/"
echo "live sequences: $(( $(date +%s) - T0 )) s"
exit $st
