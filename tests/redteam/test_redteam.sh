#!/bin/sh
# test_redteam.sh - the red-team suite (redteam.py): the service, the watcher, the uploads, the
# live listeners and the command line under hostile input, by category, each case also asking
# /health to answer afterwards. ctest runs one entry per module (redteam: redteam.py's own
# categories; redteam_cat_NAME: cat_NAME.py's), so that they can run side by side.
#   usage: test_redteam.sh BUILD/callqa SOURCE_DIR CORPUS_DIR [--module=M] [CATEGORY...]
#   exit 77 without the corpus
set -u
cq=$1 src=$2 corpus=$3
shift 3
t0=$(date +%s)
python3 "$src/tests/redteam/redteam.py" "$cq" "$corpus" "$@"
rc=$?
echo "red team: $(( ($(date +%s) - t0) / 60 )) min $(( ($(date +%s) - t0) % 60 )) s"
exit $rc
