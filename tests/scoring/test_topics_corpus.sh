#!/bin/sh
# test_topics_corpus.sh TOPICS_EVAL SOURCE_DIR SHARED_DIR - the shipped topics file
# (config/topics/bank.json) on the 30 Harper Valley bank calls: each call's ASR transcript in
# callqa's format (hv_to_callqa.py), classified by rules, against the caller's task; the
# held-out accuracy must stay at or above the figure docs/topics.md reports. 77 without
# ../shared/transcripts.
set -eu
eval_bin=$1 src=$2 shared=$3
[ -d "$shared/transcripts/metadata" ] || { echo "SKIP: no $shared/transcripts"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$src/tests/scoring/hv_to_callqa.py" --all "$tmp" "$shared/transcripts" >/dev/null
# the documented held-out figure, from its line in docs/topics.md: "held-out: N of 15"
min=$(sed -n 's/^.*held-out accuracy: \([0-9]*\) of \([0-9]*\) .*$/\1 \2/p' "$src/docs/topics.md" | head -n 1)
[ -n "$min" ] || { echo "no held-out figure in docs/topics.md"; exit 1; }
set -- $min
frac=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a / b }')
exec "$eval_bin" "$src/config/topics/bank.json" "$tmp" "$shared/transcripts" \
    "$src/tests/scoring/labels/harper_valley.json" "$frac"
