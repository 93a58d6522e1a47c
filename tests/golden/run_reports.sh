#!/bin/sh
# run_reports.sh - `callqa analyze --json` over every file and call of the shared corpus, then
# the sample call, as one JSON line per call (the report golden's input and its test's).
#   run_reports.sh BUILD/callqa SOURCE_DIR SHARED_DIR > reports.jsonl
# Paths in the reports are relative: ./calls/... from the corpus, samples/... from the source.
set -eu
CQ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$2
SHARED=$(cd "$3" && pwd)
export CALLQA_MODEL_DIR="$SHARED/models"
(cd "$SHARED/corpus" && "$CQ" analyze --json -q -j 2 .)
(cd "$SRC" && "$CQ" analyze --json -q samples/sample-call.wav)
