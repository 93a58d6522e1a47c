#!/bin/sh
# test_live_view.sh - the dashboard's Live view in Debian's Chromium (playwright-core) against
# `callqa serve --live-events FILE` on an empty store, the test writing the lines `callqa live`
# writes (test_live_view.mjs): the calls and events as they come, the per-call filter, a call's
# end, fields holding markup shown as text, and the view hidden from an agent. Then a call that
# `callqa live --live amd --record-dir` recorded (a corpus call sent by as_send), queued by
# `callqa ingest watch` and analysed by `callqa worker`: its page shows the live events kept
# with it, their agreement with the analysis, and a rule holding markup as text.
#   usage: test_live_view.sh BUILD/callqa BUILD/tests/as_send CORPUS_DIR
set -u
CQ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
AS=$2
CORPUS=$3
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$CORPUS/calls/call06_ivr_dtmf.wav" ] || { echo "SKIP: $CORPUS (the shared corpus) is missing"; exit 77; }
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
for need in node "${CALLQA_CHROMIUM:-/usr/bin/chromium}"; do
    command -v "$need" > /dev/null 2>&1 || { echo "SKIP: $need is missing (scripts/deps installs it)"; exit 77; }
done
[ -d "$HERE/../../ui/node_modules/playwright-core" ] ||
    { echo "FAIL: ui/node_modules is missing (the build runs npm ci)"; exit 1; }
T=$(mktemp -d)
cleanup() {
    [ -f "$T/serve.pid" ] && kill "$(cat "$T/serve.pid")" 2>/dev/null
    sleep 0.3
    rm -rf "$T"
}
trap cleanup EXIT
umask 077
echo "live-view-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" > "$T/token"
echo "a-long-password-1" > "$T/pw"
umask 022
"$CQ" user add ann --role agent --db "$T/store.db" --password-file "$T/pw" > /dev/null ||
    { echo "FAIL: callqa user add"; exit 1; }
# a call recorded live, queued and analysed
REC=$T/rec
UUID=66666666-6666-4666-8666-666666666666
mkdir -p "$REC"
. "$HERE/../live/live_lib.sh"
live_start "$T/rec.err" "$CQ" --audiosocket 127.0.0.1:0 --live amd --record-dir "$REC" \
    --events "$T/rec-events.jsonl" --stats-sec 0 --queue-sec 120
LPID=$LIVE_PID LPORT=$LIVE_PORT
[ -n "$LPORT" ] || { kill "$LPID"; echo "FAIL: callqa live did not start"; exit 1; }
"$AS" --port "$LPORT" --uuid "$(echo $UUID | tr -d -)" --file "$CORPUS/calls/call06_ivr_dtmf.wav" \
    --channel 1 --pace 0 > "$T/as.out" 2>&1 || { cat "$T/as.out"; echo "FAIL: as_send"; exit 1; }
wait_until 120 test -f "$REC/$UUID.live.jsonl"
kill -TERM "$LPID"
wait "$LPID"
# a line of the file holding markup (the file is the operator's: shown as text)
printf '%s\n' '{"call":"'"$UUID"'","input":"audiosocket","type":"human","id":99,"state":"closed","start":1.0,"end":1.5,"rule":"<img src=x onerror=\"window.__xss=4\">","at":2.0}' \
    >> "$REC/$UUID.live.jsonl"
"$CQ" ingest watch --dir "$REC" --db "$T/store.db" --once --settle-sec 0.2 > "$T/watch.log" 2>&1 ||
    { cat "$T/watch.log"; echo "FAIL: callqa ingest watch"; exit 1; }
CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$CORPUS/../models}" "$CQ" worker --db "$T/store.db" --once \
    --max-load 0 --no-idle > "$T/worker.log" 2>&1 || { cat "$T/worker.log"; echo "FAIL: callqa worker"; exit 1; }
PORT=$(free_port)
CALLQA_EVENTS_HEARTBEAT_SEC=1 "$CQ" serve --db "$T/store.db" --token-file "$T/token" \
    --listen "127.0.0.1:$PORT" --live-events "$T/live.jsonl" > "$T/serve.log" 2>&1 &
echo $! > "$T/serve.pid"
serving "$(cat "$T/serve.pid")" "http://127.0.0.1:$PORT/health" ||
    { echo "FAIL: the service did not start: $(tail -5 "$T/serve.log")"; exit 1; }
BASE="http://127.0.0.1:$PORT" TOKEN=$(cat "$T/token") EVENTS="$T/live.jsonl" RECORDED="$UUID" \
    node "$HERE/test_live_view.mjs"
rc=$?
if [ $rc -ne 0 ]; then
    echo "--- serve.log (last lines)"
    tail -20 "$T/serve.log"
fi
exit $rc
