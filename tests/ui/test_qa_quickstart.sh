#!/bin/sh
# test_qa_quickstart.sh - the dashboard a newcomer meets after scripts/quickstart, in Debian's
# Chromium (playwright-core): the quickstart's steps with a built callqa (the sample calls of
# scripts/make-demo-calls through the watched folder, their transcripts imported, the worker with
# no LLM: every call partly scored, none with a total; an admin user), then qa_quickstart.mjs
# signs in and checks the QA summary's partly scored figures, the leaderboard's unranked agents,
# the problem badges' drawn icons, and that no request of a page load answers 404.
#   usage: test_qa_quickstart.sh BUILD/callqa SOURCE_DIR SHARED_DIR
set -u
CQ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$2" && pwd)
SH=$3
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
if [ ! -d "$SH/models/silero_vad" ]; then
    echo "SKIP: $SH/models is missing"
    exit 77
fi
for need in node espeak-ng sox "${CALLQA_CHROMIUM:-/usr/bin/chromium}"; do
    command -v "$need" > /dev/null 2>&1 || { echo "FAIL: $need is missing (scripts/deps installs it)"; exit 1; }
done
[ -d "$ROOT/ui/node_modules/playwright-core" ] ||
    { echo "FAIL: ui/node_modules is missing (the build runs npm ci)"; exit 1; }
T=$(mktemp -d)
SRV=""
trap '[ -n "$SRV" ] && kill $SRV 2> /dev/null; rm -rf "$T"' EXIT
# the shared models but NISQA, as the quickstart test has them (a fresh machine has no NISQA)
CALLQA_MODEL_DIR=$(models_without "$SH/models" "$T/models" nisqa)
export CALLQA_MODEL_DIR
DB=$T/callqa.db
mkdir -p "$T/watch"
"$ROOT/scripts/make-demo-calls" "$T/demo" > "$T/demo.log" 2>&1 ||
    { echo "FAIL: make-demo-calls: $(tail -5 "$T/demo.log")"; exit 1; }
cp "$T/demo/calls/"* "$T/watch/"
"$CQ" ingest watch --dir "$T/watch" --db "$DB" --source demo --tz UTC --once --settle-sec 1 \
    --pair-wait-sec 2 2> "$T/watch.log" || { echo "FAIL: ingest watch: $(tail -3 "$T/watch.log")"; exit 1; }
for t in "$T/demo/transcripts/"*.json; do
    "$CQ" transcript import --db "$DB" --call "$(basename "$t" .json)" "$t" > /dev/null ||
        { echo "FAIL: transcript import $t"; exit 1; }
done
"$CQ" worker --db "$DB" --once --jobs 2 --max-load 0 --no-idle 2> "$T/worker.log" ||
    { echo "FAIL: the worker: $(tail -3 "$T/worker.log")"; exit 1; }
umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/token"
head -c 12 /dev/urandom | base64 | tr -d '/+=\n' > "$T/admin.password"
umask 022
"$CQ" user add admin --role admin --password-file "$T/admin.password" --db "$DB" > /dev/null ||
    { echo "FAIL: user add"; exit 1; }
PORT=$(free_port)
"$CQ" serve --db "$DB" --listen "127.0.0.1:$PORT" --token-file "$T/token" > "$T/serve.log" 2>&1 &
SRV=$!
serving "$SRV" "http://127.0.0.1:$PORT/health" ||
    { echo "FAIL: the service did not start: $(tail -3 "$T/serve.log")"; exit 1; }
CLIPPED=$(python3 -c '
import json, sys
print(",".join(sorted(k for k, v in json.load(open(sys.argv[1])).items() if v.get("clipped_leg"))))' \
    "$T/demo/expected.json")
node "$HERE/qa_quickstart.mjs" "http://127.0.0.1:$PORT" admin "$(cat "$T/admin.password")" "$CLIPPED"
rc=$?
[ $rc -eq 0 ] || { echo "--- serve.log (last lines)"; tail -20 "$T/serve.log"; }
exit $rc
