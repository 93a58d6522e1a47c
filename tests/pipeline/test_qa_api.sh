#!/bin/sh
# test_qa_api.sh - the QA pipeline through the upload route: corpus calls uploaded to
# `callqa serve --db` (POST /api/qa/calls, metadata with audio or with in and out legs) by agents
# with plain, UTF-8 and HTML names, over three days and two campaigns, with a corrupt file, an
# empty one (a header only), the same upload twice and the same recording_id from two sources;
# then `callqa worker --once`; then every /api/qa/* answer against figures qa_check.py computes
# from the stored reports itself, and the event stream against the store's job events.
#   usage: test_qa_api.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2/calls" ] || [ ! -d "$2/../models" ]; then
    echo "SKIP: $2 or its models are missing"
    exit 77
fi
CQ=$1
C=$2/calls
export CALLQA_MODEL_DIR="$2/../models"
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    store_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
DB=$(test_store "$T" qa) || exit 1

PORT=$(free_port)
U="http://127.0.0.1:$PORT"
CALLQA_EVENTS_HEARTBEAT_SEC=1 "$CQ" serve --db "$DB" --no-auth --listen "127.0.0.1:$PORT" \
    > "$T/serve.log" 2>&1 &
SERVE=$!
PIDS="$PIDS $SERVE"
serving "$SERVE" "$U/health" || { echo "the service did not start: $(cat "$T/serve.log")"; exit 1; }
# the event stream, from before the first call to after the last state change: its preamble
# comes once the stream has joined the service's hub, from where it misses no event
curl -sN "$U/api/qa/events" > "$T/events.txt" &
EVENTS=$!
PIDS="$PIDS $EVENTS"
wait_until 60 grep -q '^retry: 3000' "$T/events.txt" ||
    { echo "the event stream did not open: $(cat "$T/events.txt")"; exit 1; }

D0=$(date +%F)
D1=$(date -d yesterday +%F)
D2=$(date -d '2 days ago' +%F)
# upload FILE-PART... METADATA: the HTTP status; the answer in $T/up.json
upload() {
    meta=$1
    shift
    parts=""
    for p in "$@"; do parts="$parts -F $p"; done
    # shellcheck disable=SC2086 # the parts are words on purpose
    curl -s -o "$T/up.json" -w '%{http_code}' -F "metadata=$meta;type=application/json" $parts \
        "$U/api/qa/calls"
}
nup=0
put() { # put EXPECTED-STATUS METADATA PART...
    want=$1
    shift
    got=$(upload "$@")
    nup=$((nup + 1))
    if [ "$got" != "$want" ]; then
        echo "upload $nup: status $got, want $want: $(cat "$T/up.json")"
        exit 1
    fi
}
put 201 '{"recording_id":"R1","uniqueid":"1700000001.1","agent_user":"ann","agent_name":"Ann Smith","campaign_id":"BANK","direction":"inbound","call_date":"'"$D0"' 09:00:00","length_sec":60,"disposition":"SALE"}' "audio=@$C/call01_normal.wav"
put 201 '{"recording_id":"R2","agent_user":"ann","agent_name":"Ann Smith","campaign_id":"BANK","call_date":"'"$D0"' 10:00:00","length_sec":60}' "audio=@$C/call02_one_way_audio.wav"
put 201 '{"recording_id":"R3","agent_user":"bob","agent_name":"<b>Bob</b> & \"Co\"","campaign_id":"BANK","call_date":"'"$D1"' 11:00:00","disposition":"NI"}' "audio=@$C/call03_dead_air.wav"
put 201 '{"recording_id":"R4","agent_user":"bob","agent_name":"<b>Bob</b> & \"Co\"","campaign_id":"SALES","direction":"outbound","call_date":"'"$D1"' 12:00:00"}' "audio=@$C/call04_hold_music.wav"
put 201 '{"recording_id":"R5","agent_user":"zoe","agent_name":"Zoë Ålund 日本","campaign_id":"SALES","call_date":"'"$D2"' 08:00:00"}' "audio=@$C/call05_ringback_answer.wav"
put 201 '{"recording_id":"R6","agent_user":"zoe","campaign_id":"SALES","call_date":"'"$D2"' 09:00:00","disposition":null}' "audio=@$C/call06_ivr_dtmf.wav"
put 201 '{"recording_id":"R7","agent_user":"carl","campaign_id":"BANK","call_date":"'"$D0"' 11:00:00"}' "audio=@$C/call07_clipping.wav"
put 201 '{"recording_id":"R8","agent_user":"carl","campaign_id":"BANK","call_date":"'"$D0"' 12:00:00"}' "audio=@$C/call09_noise.wav"
put 201 '{"recording_id":"R9","agent_user":"ann","campaign_id":"SALES","call_date":"'"$D1"' 13:00:00"}' "audio=@$C/call12_overtalk.wav"
put 201 '{"recording_id":"R10","agent_user":"ann","agent_name":"Ann Smith","campaign_id":"BANK","call_date":"'"$D0"' 13:00:00"}' "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
put 201 '{}' "audio=@$C/call13_mono_diarization.wav"
# the same recording_id on another source: another call
put 201 '{"source":"uk2","recording_id":"R1","agent_user":"bob","campaign_id":"BANK","call_date":"'"$D0"' 14:00:00"}' "audio=@$C/call10_busy.wav"
# corrupt: error with the decoder's message; a header only: skipped, no audio
head -c 3000 /dev/urandom > "$T/corrupt.wav"
put 201 '{"recording_id":"R11","agent_user":"carl","campaign_id":"BANK","call_date":"'"$D0"' 15:00:00"}' "audio=@$T/corrupt.wav"
head -c 44 "$C/call01_normal.wav" > "$T/empty.wav"
put 201 '{"recording_id":"R12","agent_user":"carl","campaign_id":"BANK","call_date":"'"$D1"' 15:00:00"}' "audio=@$T/empty.wav"

# the same upload again: known, nothing changed
put 200 '{"recording_id":"R1","agent_user":"someone-else","call_date":"2020-01-01 00:00:00"}' "audio=@$C/call01_normal.wav"
check "an upload of a known call answers created: false" python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); assert d["created"] is False and d["call_id"] == 1, d' "$T/up.json"
put 200 '{}' "audio=@$C/call13_mono_diarization.wav"
# bad uploads: nothing queued
put 400 '{"recording_id":"X1","call_date":"yesterday"}' "audio=@$C/call01_normal.wav"
put 400 '{"recording_id":"X2","no_such_key":1}' "audio=@$C/call01_normal.wav"
put 400 '[1,2]' "audio=@$C/call01_normal.wav"
put 400 '{"recording_id":"X3"}' "in=@$C/call14_vicidial-in.wav"
put 400 '{"recording_id":"X4"}' "audio=@$C/call01_normal.wav" "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
got=$(curl -s -o "$T/up.json" -w '%{http_code}' --data-binary "@$C/call01_normal.wav" "$U/api/qa/calls")
check "a body that is not multipart is refused" test "$got" = 400
check "14 calls queued, none of the bad uploads" test \
    "$(curl -s "$U/api/qa/queue-status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" = 14

# scoring off: qa_check.py checks the figures of a store without scores (the scores have their
# own test, tests/pipeline/test_qa_scores.sh)
CALLQA_SCORING=false "$CQ" worker --db "$DB" --once --jobs 2 --max-load 0 > "$T/worker.log" 2>&1
check "the worker drains the queue and exits 0" test $? = 0
field() { # field RECORDING_ID PYTHON-EXPRESSION-ON-d: from GET /api/qa/call/ID
    curl -s "$U/api/qa/call/$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}
s11=$(field R11 'd["processing_status"], d["error_stage"], d["error_message"]')
check "the corrupt file ends in error with the decoder's message ($s11)" \
    sh -c "echo '$s11' | grep -q '^error analyse .'"
s12=$(field R12 'd["processing_status"], d["skip_reason"] or d["error_message"]')
check "the header-only file is skipped as a stub ($s12)" sh -c "echo '$s12' | grep -q '^skipped stub: '"
check "the leg files were analysed as two legs" test "$(field R10 'd["analysis"]["legs"]')" = 2
check "an HTML agent name comes back as it was given, as JSON text" \
    test "$(field R3 'd["agent_name"]')" = '<b>Bob</b> & "Co"'
check "a UTF-8 agent name too" test "$(field R5 'd["agent_name"]')" = 'Zoë Ålund 日本'
# the stream has carried the store's last event, and a heartbeat after it (the hub reads the
# store every second)
python3 - "$T/events.txt" "$DB" <<'PY' || echo "# the stream did not carry the last event and a heartbeat within 120 s"
import storedb, sys, time
last = storedb.connect(sys.argv[2]).execute("SELECT MAX(id) FROM job_events").fetchone()[0]
end = time.monotonic() + 120
while time.monotonic() < end:
    text = open(sys.argv[1]).read()
    at = text.find("\nid: %d\n" % last)
    if at >= 0 and ": heartbeat" in text[at:]:
        sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY
kill "$EVENTS"
check "the event stream carried every job state change, in order, each call's states as its job took them" \
    python3 - "$T/events.txt" "$DB" <<'PY'
import json, storedb, sys
text = open(sys.argv[1]).read()
assert text.startswith("retry: 3000\n\n"), text[:40]
events, beats = [], 0
for block in text.split("\n\n"):
    lines = [l for l in block.split("\n") if l]
    if lines and all(l.startswith(": heartbeat") for l in lines):
        beats += 1
        continue
    if not lines or lines[0].startswith("retry:"):
        continue
    f = dict(l.split(": ", 1) for l in lines)
    assert f["event"] == "job", f
    d = json.loads(f["data"])
    assert int(f["id"]) == d["id"], f
    events.append(d)
db = storedb.connect(sys.argv[2])
want = db.execute("SELECT e.id, e.call_id, e.state, c.recording_id FROM job_events e JOIN calls c "
                  "ON c.id = e.call_id ORDER BY e.id").fetchall()
got = [(e["id"], e["call_id"], e["state"], e["recording_id"]) for e in events]
assert got == want, (len(got), len(want), got[:3], want[:3])
by_call = {}
for e in events:
    by_call.setdefault(e["call_id"], []).append(e["state"])
final = dict(db.execute("SELECT call_id, state FROM jobs"))
for cid, states in by_call.items():
    done = ["pending", "analysing", "transcribing", "transcribed", "scoring", "complete"]
    if final[cid] == "complete":
        assert states == done, (cid, states)
    else:
        assert states == ["pending", "analysing", final[cid]], (cid, states)
assert len(by_call) == 14, by_call
assert beats >= 1, "no heartbeat"
print(f"{len(events)} events of {len(by_call)} calls, {beats} heartbeats")
PY
# a client back with Last-Event-ID: read until the store's last event (60 s at most)
LAST=$(store_sql "$DB" "SELECT MAX(id) FROM job_events")
curl -sN -m 60 -H "Last-Event-ID: 5" "$U/api/qa/events" | awk -v last="id: $LAST" '{ print } $0 == last { exit }' > "$T/replay.txt"
check "a client back with Last-Event-ID gets every event after it" python3 -c '
import re, storedb, sys
ids = [int(x) for x in re.findall(r"^id: (\d+)$", open(sys.argv[1]).read(), re.M)]
n = storedb.connect(sys.argv[2]).execute("SELECT COUNT(*) FROM job_events WHERE id > 5").fetchone()[0]
assert ids == sorted(ids) and ids[0] == 6 and len(ids) == n, (ids[:3], len(ids), n)
' "$T/replay.txt" "$DB"
check "a malformed Last-Event-ID is refused" test \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Last-Event-ID: x' "$U/api/qa/events")" = 400
curl -s "$U/metrics" > "$T/metrics.txt"
check "/metrics: the queue by state, jobs finished, errors and skips by reason, time to complete" \
    python3 - "$T/metrics.txt" "$DB" <<'PY'
import re, storedb, sys
m = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
db = storedb.connect(sys.argv[2])
states = dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"))
for st in ("pending", "analysing", "complete", "skipped", "error"):
    assert m[f'callqa_qa_jobs{{state="{st}"}}'] == states.get(st, 0), st
for st in ("complete", "skipped", "error"):
    assert m[f'callqa_qa_jobs_finished_total{{state="{st}"}}'] == states.get(st, 0), st
assert m['callqa_qa_errors_total{stage="analyse",reason="unreadable"}'] == 1, m
assert m['callqa_qa_skipped_total{reason="stub"}'] == 1, m
n = states["complete"]
assert m["callqa_qa_queue_to_complete_seconds_count"] == n
assert m['callqa_qa_queue_to_complete_seconds_bucket{le="+Inf"}'] == n
q = db.execute("SELECT SUM(finished - queued) FROM jobs WHERE state = 'complete'").fetchone()[0]
assert abs(m["callqa_qa_queue_to_complete_seconds_sum"] - q) < 0.01, (m["callqa_qa_queue_to_complete_seconds_sum"], q)
assert m['callqa_qa_workers{state="stopped"}'] == 1 and m["callqa_store_up"] == 1
print(f"{len(m)} series; {n} complete")
PY
check "every pipeline metric the Grafana dashboard plots is exported" python3 -c '
import json, re, sys
dash = json.load(open(sys.argv[1]))
names = {n for n in re.findall(r"callqa_[a-z_]+", json.dumps(dash)) if n.startswith("callqa_qa_")}
body = open(sys.argv[2]).read()
# retries and pauses too, though none happen here: every family is there from the start
missing = [n for n in names if
           not re.search(r"^" + re.sub(r"_(bucket|count|sum)$", "", n) + r"(_bucket|_count|_sum)?[{ ]", body, re.M)]
assert len(names) >= 8 and not missing, (names, missing)
' "$(dirname "$0")/../../deploy/grafana-callqa.json" "$T/metrics.txt"
check "every /api/qa answer equals the figures computed from the stored reports" \
    python3 "$(dirname "$0")/qa_check.py" "$DB" "$U"
check "the calls list's orders, filters and badges, the errors and the throughput, against the store" \
    python3 "$(dirname "$0")/qa_calls_check.py" "$DB" "$U"
check "the service logged no error" sh -c "! grep -q '\"level\":\"error\"' '$T/serve.log'"
# SIGTERM with an event stream open: the service ends the stream and exits 0. The stream's
# heartbeats every second would keep a service that waited for its client from ever exiting: any
# hang guard tells the two apart.
curl -sN "$U/api/qa/events" > "$T/open.txt" &
OPEN=$!
wait_until 60 grep -q '^retry: 3000' "$T/open.txt"
kill -TERM "$SERVE"
wait_until 120 ended "$SERVE"
stopped=$?
kill -KILL "$SERVE" 2>/dev/null
wait "$SERVE"
rc=$?
wait_until 60 ended "$OPEN"
ended_stream=$?
kill "$OPEN" 2>/dev/null
check "SIGTERM with an event stream open: the service ends the stream and exits 0 ($rc)" \
    test "$stopped" = 0 -a "$rc" = 0 -a "$ended_stream" = 0
finish "QA API"
