#!/bin/sh
# test_ui.sh - the dashboard in Debian's Chromium (playwright-core) against `callqa serve` with
# a token, on a store the worker filled from the corpus (fixture.sh); then the longest call the
# service allows (max_duration) on the timeline. Screenshots of each view into $CALLQA_SHOTS
# when set (docs/screenshots/ is refreshed that way).
#   usage: test_ui.sh BUILD/callqa CORPUS_DIR
set -u
CQ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CORPUS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
if [ ! -d "$CORPUS/calls" ] || [ ! -d "$CORPUS/../models" ]; then
    echo "SKIP: $CORPUS or its models are missing"
    exit 77
fi
for need in node "${CALLQA_CHROMIUM:-/usr/bin/chromium}"; do
    command -v "$need" > /dev/null 2>&1 || { echo "FAIL: $need is missing (scripts/deps installs it)"; exit 1; }
done
[ -d "$HERE/../../ui/node_modules/playwright-core" ] ||
    { echo "FAIL: ui/node_modules is missing (the build runs npm ci)"; exit 1; }
T=$(mktemp -d)
# the shared models without VADER's lexicon (the shared folder may hold it): the dashboard shows
# why a call has no sentiment trend
export CALLQA_MODEL_DIR="$(models_without "$CORPUS/../models" "$T/novader" vader)"
cleanup() {
    [ -f "$T/serve.pid" ] && kill "$(cat "$T/serve.pid")" 2>/dev/null
    [ -f "$T/ttl.pid" ] && kill "$(cat "$T/ttl.pid")" 2>/dev/null
    sleep 0.3
    rm -rf "$T"
}
trap cleanup EXIT
CALLQA_UI_LONG=1 sh "$HERE/fixture.sh" "$CQ" "$CORPUS" "$T" || exit 1
umask 077
echo "ui-test-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" > "$T/token"
umask 022
PORT=$(free_port)
# the service, started (and restarted by the test) with the same settings
cat > "$T/start.sh" <<EOS
#!/bin/sh
CALLQA_EVENTS_HEARTBEAT_SEC=1 "$CQ" serve --db "$T/store.db" --token-file "$T/token" \
    --listen "127.0.0.1:$PORT" >> "$T/serve.log" 2>&1 &
echo \$! > "$T/serve.pid"
end=\$((\$(date +%s) + 120))
while [ "\$(date +%s)" -lt "\$end" ]; do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && exit 0
    kill -0 "\$(cat "$T/serve.pid")" 2>/dev/null || break
    sleep 0.1
done
echo "the service did not start: \$(tail -3 "$T/serve.log")" >&2
exit 1
EOS
cat > "$T/restart.sh" <<EOS
#!/bin/sh
pid=\$(cat "$T/serve.pid")
kill \$pid
while kill -0 \$pid 2>/dev/null; do sleep 0.1; done
sleep 1
sh "$T/start.sh"
EOS
sh "$T/start.sh" || exit 1
# a second service whose sessions last 20 s (the sign-in and the first page well inside them),
# for the expired-session check
TPORT=$(free_port)
CALLQA_SESSION_TTL_SEC=20 "$CQ" serve --db "$T/store.db" --token-file "$T/token" \
    --listen "127.0.0.1:$TPORT" > "$T/ttl.log" 2>&1 &
echo $! > "$T/ttl.pid"
serving "$(cat "$T/ttl.pid")" "http://127.0.0.1:$TPORT/health" ||
    { echo "the second service did not start: $(tail -3 "$T/ttl.log")"; exit 1; }

BASE="http://127.0.0.1:$PORT" TOKEN=$(cat "$T/token") CQ="$CQ" DB="$T/store.db" DIR="$T" \
    CORPUS="$CORPUS" CONFIG="$T/worker.conf" RESTART="sh $T/restart.sh" \
    TTL_BASE="http://127.0.0.1:$TPORT" TTL_SEC=20 node "$HERE/test_ui.mjs"
rc=$?
if [ $rc -ne 0 ]; then
    echo "--- serve.log (last lines)"
    tail -20 "$T/serve.log"
    exit $rc
fi
if [ -n "${CALLQA_SHOTS:-}" ]; then
    BASE="http://127.0.0.1:$PORT" TOKEN=$(cat "$T/token") node "$HERE/shoot.mjs" "http://127.0.0.1:$PORT" "$CALLQA_SHOTS" || exit 1
fi
exit 0
