#!/bin/sh
# test_live_view.sh - the dashboard's Live view in Debian's Chromium (playwright-core) against
# `callqa serve --live-events FILE` on an empty store, the test writing the lines `callqa live`
# writes (test_live_view.mjs): the calls and events as they come, the per-call filter, a call's
# end, fields holding markup shown as text, and the view hidden from an agent.
#   usage: test_live_view.sh BUILD/callqa
set -u
CQ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
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
PORT=$(free_port)
CALLQA_EVENTS_HEARTBEAT_SEC=1 "$CQ" serve --db "$T/store.db" --token-file "$T/token" \
    --listen "127.0.0.1:$PORT" --live-events "$T/live.jsonl" > "$T/serve.log" 2>&1 &
echo $! > "$T/serve.pid"
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT" TOKEN=$(cat "$T/token") EVENTS="$T/live.jsonl" \
    node "$HERE/test_live_view.mjs"
rc=$?
if [ $rc -ne 0 ]; then
    echo "--- serve.log (last lines)"
    tail -20 "$T/serve.log"
fi
exit $rc
