#!/bin/sh
# test_qa_scores.sh - the QA API's score figures (tests/pipeline/qa_scores_check.py): a store
# filled through store_job_scored, `callqa serve` on it, every score figure against a hand
# computation, the overrides and the agreement figures.
#   usage: test_qa_scores.sh BUILD/qa_seed BUILD/callqa
set -u
T=$(mktemp -d)
trap 'store_cleanup; rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
DB=$(test_store "$T" qa) || exit 1
day=$(date +%F)
python3 "$(dirname "$0")/qa_scores_check.py" "$1" "$2" "$T" "$DB" > "$T/out.txt" 2>&1
rc=$?
cat "$T/out.txt"
# the spec's days are counted from the day the check started, the service's from each request's:
# when midnight passed during a failed check, it runs once more on a store of its own
if [ "$rc" != 0 ] && [ "$(date +%F)" != "$day" ]; then
    echo "# the day changed during the check: once more"
    DB=$(test_store "$T" qa2) || exit 1
    python3 "$(dirname "$0")/qa_scores_check.py" "$1" "$2" "$T" "$DB" > "$T/out.txt" 2>&1
    rc=$?
    cat "$T/out.txt"
fi
check "every score figure of the QA API equals the hand computation" test "$rc" = 0
finish "QA scores"
