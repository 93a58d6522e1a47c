#!/bin/sh
# test_redteam.sh - the red-team suite (redteam.py): the service, the watcher and the uploads
# under hostile input, by category, each case also asking /health to answer within 1 s.
#   usage: test_redteam.sh BUILD/callqa SOURCE_DIR CORPUS_DIR     exit 77 without the corpus
set -u
t0=$(date +%s)
python3 "$2/tests/redteam/redteam.py" "$1" "$3"
rc=$?
echo "red team: $(( ($(date +%s) - t0) / 60 )) min $(( ($(date +%s) - t0) % 60 )) s"
exit $rc
