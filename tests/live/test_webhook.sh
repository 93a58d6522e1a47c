#!/bin/sh
# test_webhook.sh - `callqa live --webhook URL --webhook-secret-file FILE` end to end over
# loopback, with a real HTTP receiver (webhook_recv.py, python3 http.server) that checks every
# signature and timestamp.
#   refused: a secret file of mode 0644 (callqa exits with a clear error, serves nothing).
#   server A: the receiver answers 503 to the first two attempts of every event, then 204; with
#     --webhook-attempts 4 every event line of the call (dtmf, the classifier's events, call_end)
#     arrives once delivered, each signature valid, two retries an event, no dead letter.
#   server B: the receiver is down (nothing listens on its port) with --webhook-attempts 3 and
#     --webhook-events dtmf,call_end: every such event is a dead letter after 3 tries, counted on
#     the stats line and at exit; the call itself is served as ever.
#   usage: test_webhook.sh BUILD/callqa BUILD/tests/as_send SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus
set -u
CQ=$1
AS=$2
SRC=$3
C=$4/calls
# shellcheck source=tests/live/live_lib.sh
. "$SRC/tests/live/live_lib.sh"
[ -f "$C/call06_ivr_dtmf.wav" ] || {
    echo "SKIP: $4 (the shared corpus) is missing"
    exit 77
}
T=$(mktemp -d)
PIDS=""
# shellcheck disable=SC2064 # T is fixed from here on
trap "for p in \$PIDS; do kill \$p 2>/dev/null; done; rm -rf '$T'" EXIT
FAIL=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; FAIL=1; }

printf 'test-secret-%s\n' "$$" > "$T/secret"
chmod 0644 "$T/secret"
"$CQ" live --audiosocket 127.0.0.1:0 --webhook http://127.0.0.1:9/ --webhook-secret-file \
    "$T/secret" > /dev/null 2> "$T/mode.err"
RC=$?
if [ "$RC" -ne 0 ] && grep -q "mode 0600" "$T/mode.err"; then
    ok "a secret file of mode 0644 refused (exit $RC): $(cat "$T/mode.err")"
else
    bad "a secret file of mode 0644: exit $RC, $(cat "$T/mode.err")"
fi
chmod 0600 "$T/secret"

python3 "$SRC/tests/live/webhook_recv.py" --secret-file "$T/secret" --port-file "$T/recv.port" \
    --log "$T/recv.jsonl" --fail-first 2 &
PIDS="$PIDS $!"
live_wait 120 "the webhook receiver's port" test -s "$T/recv.port" || exit 1
RPORT=$(cat "$T/recv.port")
# a port nothing listens on: bound, then closed
DOWN=$(python3 "$SRC/tests/lib/cqport.py")

# start NAME OPTIONS...: a server on a free port; sets PORT and SPID
start() {
    name=$1
    shift
    # --webhook-timeout-sec 120: a slow receiver's answer is never taken for a failed try
    live_start "$T/$name.err" "$CQ" --audiosocket 127.0.0.1:0 --events "$T/$name.jsonl" --threads 2 \
        --queue-sec 60 --webhook-secret-file "$T/secret" --webhook-backoff-ms 50 \
        --webhook-timeout-sec 120 "$@"
    SPID=$LIVE_PID PORT=$LIVE_PORT
    PIDS="$PIDS $SPID"
    [ -n "$PORT" ] || { echo "FAIL - server $name did not start"; exit 1; }
}
# has_lines FILE N: FILE has N lines
has_lines() { [ "$(live_lines "$1")" -ge "$2" ]; }

# ---- server A: retried, delivered --------------------------------------------------------------
start A --webhook "http://127.0.0.1:$RPORT/hook" --webhook-attempts 4 --stats-sec 0
"$AS" --port "$PORT" --uuid 0123456789abcdef0123456789abcdef --file "$C/call06_ivr_dtmf.wav" \
    --channel 1 --secs 6 --pace 0 --dtmf 1.0:4,2.0:2 > "$T/asA.out" 2>&1
# the call's last line is its call_end: every event line of it is written by then
live_wait 120 "server A: the call's call_end line" grep -q '"type":"call_end"' "$T/A.jsonl" || FAIL=1
N=$(grep -vc '"type":"stats"' "$T/A.jsonl")
live_wait 120 "server A: every attempt reached the receiver" has_lines "$T/recv.jsonl" $((N * 3)) ||
    FAIL=1
live_stop "$SPID" "server A"
RC=$LIVE_RC
[ "$RC" -eq 0 ] && ok "server A: SIGTERM, exit 0" || bad "server A: exit $RC"
sed 's/^/  A: /' "$T/A.err"

# ---- server B: the receiver stays down ---------------------------------------------------------
start B --webhook "http://127.0.0.1:$DOWN/hook" --webhook-attempts 3 \
    --webhook-events dtmf,call_end --stats-sec 0.5
"$AS" --port "$PORT" --uuid fedcba9876543210fedcba9876543210 --file "$C/call06_ivr_dtmf.wav" \
    --channel 1 --secs 3 --pace 0 --dtmf 0.5:7 > "$T/asB.out" 2>&1
# two events, three tries each, 50 + 100 ms apart: both dead letters on a stats line
live_wait 120 "server B: the dead letters on a stats line" live_stat_ge "$T/B.jsonl" 0 webhook_dead 2 ||
    FAIL=1
live_stop "$SPID" "server B"
RC=$LIVE_RC
[ "$RC" -eq 0 ] && ok "server B: SIGTERM, exit 0" || bad "server B: exit $RC"
sed 's/^/  B: /' "$T/B.err"

python3 - "$T" << 'PY' || FAIL=1
import json, re, sys
T = sys.argv[1]
fail = 0
def check(cond, what):
    global fail
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fail = 1
ev = [l.rstrip("\n") for l in open(T + "/A.jsonl") if '"type":"stats"' not in l]
rec = [json.loads(l) for l in open(T + "/recv.jsonl")]
check(all(r["sig_ok"] and r["ts_ok"] and r["json_ok"] for r in rec),
      "every one of %d requests signed, timestamped and JSON" % len(rec))
by = {}
for r in rec:
    by.setdefault(r["delivery"], []).append(r)
delivered = [rs[-1]["body"] for d, rs in sorted(by.items(), key=lambda kv: int(kv[0]))
             if rs[-1]["answered"] == 204]
check(delivered == ev, "server A: the %d event lines delivered once each, in order (%d)" %
      (len(ev), len(delivered)))
check(all([r["attempt"] for r in rs] == ["1", "2", "3"] and
          [r["answered"] for r in rs] == [503, 503, 204] for rs in by.values()),
      "server A: each event tried 3 times (503, 503, 204), X-Callqa-Attempt 1-3")
check(any('"type":"dtmf"' in e for e in ev) and any('"type":"call_end"' in e for e in ev),
      "server A: dtmf and call_end among the events")
def counts(name):
    for l in open("%s/%s.err" % (T, name)):
        m = re.search(r"webhook: (\d+) events queued, (\d+) sent, (\d+) retries, (\d+) dead "
                      r"letters, (\d+) dropped", l)
        if m:
            return [int(x) for x in m.groups()]
    return None
n = len(ev)
check(counts("A") == [n, n, 2 * n, 0, 0], "server A at exit: %s" % counts("A"))
evb = [json.loads(l) for l in open(T + "/B.jsonl")]
nb = len([e for e in evb if e["type"] in ("dtmf", "call_end")])
check(nb == 2 and counts("B") == [nb, 0, 2 * nb, nb, 0],
      "server B, receiver down: %d events, each a dead letter after 3 tries: %s" %
      (nb, counts("B")))
st = [e for e in evb if e["type"] == "stats"]
check(any(s.get("webhook_dead") == nb for s in st) and all("webhook_sent" in s for s in st),
      "server B: the dead letters on the stats line (%s)" %
      [s.get("webhook_dead") for s in st])
ends = [e for e in evb if e["type"] == "call_end"]
check(len(ends) == 1 and ends[0]["reason"] == "hangup", "server B: the call served as ever")
sys.exit(fail)
PY
# under a sanitizer build: nothing it reported
if grep -l "Sanitizer" "$T"/*.err > /dev/null 2>&1; then
    grep -h -A5 "Sanitizer" "$T"/*.err | head -40
    bad "a sanitizer reported"
fi
exit $FAIL
