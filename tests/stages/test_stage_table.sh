#!/bin/sh
# test_stage_table.sh - an analyzer is one entry in the stage table. The test CLI is built from
# the same objects as callqa, with one more entry in the table (tests/stages/test_stage.c, zero
# crossings per leg); nothing else knows about it, yet it appears in --only, in the JSON, in the
# text report and in the documentation check, which flags it as undocumented.
#   test_stage_table.sh BUILD/callqa_teststage_cli BUILD/callqa SOURCE_DIR
set -u
TCQ=$1
CQ=$2
SRC=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib.sh"
S="$SRC/samples/sample-call.wav"

"$TCQ" analyze --help > "$T/help.txt"
check "--help lists the test stage" grep -q "speech_audio,zero_crossings" "$T/help.txt"
"$CQ" analyze --help > "$T/help0.txt"
check "callqa's own --help does not" sh -c "! grep -q zero_crossings '$T/help0.txt'"

"$TCQ" analyze --json -q --only zero_crossings "$S" > "$T/only.json"
check "--only zero_crossings runs" test $? -eq 0
check "the JSON holds its result" grep -Eq '"zero_crossings":\{"count":[1-9][0-9]*,"per_sec":' "$T/only.json"
check "engine.analyzers names it alone" grep -q '"analyzers":\["zero_crossings"\]' "$T/only.json"
"$CQ" analyze --json -q --only zero_crossings "$S" > /dev/null 2> "$T/u.txt"
check "callqa itself refuses it" grep -q "unknown analyzer 'zero_crossings'" "$T/u.txt"

"$TCQ" analyze --json -q "$S" > "$T/all.json"
check "selected by default with the others" grep -q '"conversation","zero_crossings"\]' "$T/all.json"
"$TCQ" analyze -q "$S" > "$T/all.txt"
check "a row in the text report" grep -q "zero crossings" "$T/all.txt"
"$TCQ" analyze --json -q --only levels "$S" > "$T/none.json"
check "null when not selected" grep -q '"zero_crossings":null' "$T/none.json"

python3 "$SRC/tests/engine/check_report_doc.py" "$SRC/docs/report.md" "$T/all.json" > "$T/doc.txt"
rc=$?
cat "$T/doc.txt"
check "the doc check fails" test $rc -eq 1
check "naming the new field" grep -q 'does not document `zero_crossings` in the table of `leg`' "$T/doc.txt"
check "and only its fields" test "$(grep -c 'does not document' "$T/doc.txt")" -eq 3
finish "stage table"
