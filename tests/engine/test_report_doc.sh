#!/bin/sh
# test_report_doc.sh - every field of the reports is documented in docs/report.md, in the table of
# the object it belongs to (check_report_doc.py): the report golden's reports (which the
# report_golden test keeps equal to what the engine prints) and reports made now from the sample
# call in the shapes the corpus lacks: a mono mix, two leg files, one leg bleeding into the other,
# a level envelope.
#   test_report_doc.sh BUILD/callqa SOURCE_DIR
set -u
CQ=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib.sh"

S="$SRC/samples/sample-call.wav"
sox "$S" -b 16 -e signed-integer "$T/in.wav" remix 1 2> /dev/null
sox "$S" -b 16 -e signed-integer "$T/out.wav" remix 2 2> /dev/null
sox "$S" -b 16 -e signed-integer "$T/mix.wav" remix 1,2 2> /dev/null
# the agent's audio 40 ms later at -20 dB in the customer's leg: echo
sox "$T/out.wav" "$T/late.wav" pad 0.04 vol 0.1 2> /dev/null
sox -m "$T/in.wav" "$T/late.wav" "$T/in_echo.wav" trim 0 28 2> /dev/null
sox -M "$T/in_echo.wav" "$T/out.wav" "$T/bleed.wav" 2> /dev/null
{
    "$CQ" analyze --json -q "$S" "$T/mix.wav" "$T/bleed.wav"
    "$CQ" analyze --json -q --in "$T/in.wav" --out "$T/out.wav"
    "$CQ" analyze --json -q --envelope 50 "$T/mix.wav"
} > "$T/now.jsonl"
check "five reports made" test "$(grep -c '"has_legs"' "$T/now.jsonl")" -eq 5
check "one with a level envelope" grep -q '"envelope":{"step_sec":0.05,"dbfs":\[' "$T/now.jsonl"
check "the echo call has a bleed object" grep -q '"bleed":{"from":"outbound"' "$T/now.jsonl"
python3 "$SRC/tests/engine/check_report_doc.py" "$SRC/docs/report.md" \
    "$SRC/tests/golden/report_golden.jsonl" "$T/now.jsonl" > "$T/doc.txt"
rc=$?
cat "$T/doc.txt"
check "every field documented in its object's table" test $rc -eq 0
finish "report documentation"
