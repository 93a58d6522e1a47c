#!/bin/sh
# test_report_golden.sh - every corpus file and call, and the sample call, analysed now and
# compared with tests/golden/report_golden.jsonl (timing fields aside; report_diff.py says how).
# A change of behaviour updates the golden in a commit of its own (scripts/make-report-golden).
#   test_report_golden.sh BUILD/callqa SOURCE_DIR SHARED_DIR      exit 77 (skip) without SHARED
set -u
CQ=$1
SRC=$2
SHARED=$3
if [ ! -d "$SHARED/corpus" ] || [ ! -d "$SHARED/models" ]; then
    echo "SKIP: $SHARED/corpus or $SHARED/models is missing"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sh "$SRC/tests/golden/run_reports.sh" "$CQ" "$SRC" "$SHARED" > "$T/now.jsonl" || exit 1
echo "$(wc -l < "$T/now.jsonl") reports"
python3 "$SRC/tests/golden/report_diff.py" "$SRC/tests/golden/report_golden.jsonl" "$T/now.jsonl"
