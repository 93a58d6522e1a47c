#!/bin/sh
# test_worker_safety.sh - the worker on a dialer does not hurt live calls:
#   - it runs in the idle CPU class (SCHED_IDLE) and the idle I/O class, on the CPUs given; its
#     analysis processes inherit both; --no-idle keeps the normal classes;
#   - above the load ceiling it claims nothing and says so (paused, reason load: in the store,
#     in /api/qa/workers and in /metrics), and resumes when the load falls;
#   - outside its window it claims nothing: paused (reason window:), and a --once run there exits
#     at once;
#   - SIGTERM: it stops, holds no call (the one in flight finished or given back), and its row
#     says stopped.
# In the idle class the worker runs only when nothing else wants the CPU: on a busy machine it may
# hardly run at all. So the idle worker is asked only for its decisions (pause, resume, classes);
# the queue is analysed by a --no-idle worker, and the window's runs are --no-idle too.
#   usage: test_worker_safety.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2/calls" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
C=$2/calls
T=$(mktemp -d)
WORKER=""
cleanup() {
    for p in $WORKER ${SERVE:-}; do kill "$p" 2>/dev/null; done
    store_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
DB=$(test_store "$T" qa) || exit 1
export CALLQA_MODEL_DIR="$T/no-models"

serve_start "$DB"
# ten minutes: an analysis long enough to catch its process running
sox "$C/call01_normal.wav" "$C/call01_normal.wav" "$C/call01_normal.wav" "$C/call01_normal.wav" \
    "$C/call01_normal.wav" "$C/call01_normal.wav" "$C/call01_normal.wav" "$C/call01_normal.wav" \
    "$C/call01_normal.wav" "$C/call01_normal.wav" "$T/long.wav"
upload S1 "audio=@$T/long.wav"
upload S2 "audio=@$C/call03_dead_air.wav"
upload S3 "audio=@$C/call12_overtalk.wav"

jobs_in() { # jobs_in STATE: how many jobs are in STATE
    curl -s "$U/api/qa/queue-status" |
        python3 -c "import json,sys; print(json.load(sys.stdin)['status_counts']['$1'])"
}
worker_field() { # worker_field ID EXPRESSION-ON-w: from GET /api/qa/workers
    curl -s "$U/api/qa/workers" | python3 -c "
import json, sys
ws = [w for w in json.load(sys.stdin)['workers'] if w['id'] == '$1']
w = ws[0] if ws else None
print(*(($2,) if w else ('absent',)))"
}
field_is() { [ "$(worker_field "$1" "$2")" = "$3" ]; }
field_not() { [ "$(worker_field "$1" "$2")" != "$3" ]; }

# ---- the load ceiling, the idle classes, the CPU set -----------------------------------------
echo 50.0 > "$T/loadavg"
CALLQA_TEST_LOADAVG_FILE="$T/loadavg" "$CQ" worker --db "$DB" --max-load 4 --cpus 0 \
    --lease-sec 30 --id safe > "$T/worker.log" 2>&1 &
WORKER=$!
check "above the load ceiling the worker pauses and says why" \
    wait_until 600 field_is safe 'w["state"], w["pause_reason"][:5]' "paused load:"
check "the worker's log names the pause" grep -q '"msg":"paused"' "$T/worker.log"
# a later heartbeat (every 5 s): the worker has gone round its loop, paused, since
beat=$(worker_field safe 'w["heartbeat"]')
wait_until 600 field_not safe 'w["heartbeat"]' "$beat"
check "paused, it claims nothing" test "$(jobs_in pending)" = 3
check "the worker runs in the idle CPU class (SCHED_IDLE)" \
    sh -c "chrt -p $WORKER | grep -q 'policy: SCHED_IDLE'"
check "and in the idle I/O class" sh -c "ionice -p $WORKER | grep -q '^idle'"
check "on the CPUs given (--cpus 0)" \
    sh -c "grep -q '^Cpus_allowed_list:[[:space:]]*0$' /proc/$WORKER/status"
check "/metrics: one worker paused for load" sh -c \
    "curl -s '$U/metrics' | grep -q '^callqa_qa_workers_paused{reason=\"load\"} 1$'"
# the analysis processes inherit the classes: caught while they run (the first call is ten
# minutes long)
echo 0.1 > "$T/loadavg"
kids=""
end=$(($(date +%s) + 600))
while [ "$(date +%s)" -lt "$end" ]; do
    kids=$(pgrep -P "$WORKER")
    [ -n "$kids" ] && break
    sleep 0.02
done
check "the load fell: the worker resumes and an analysis process runs" test -n "$kids"
k=$(echo "$kids" | head -n 1)
policy=$(chrt -p "$k" 2>/dev/null | head -n 1)
check "the analysis process is in the idle CPU class too ($policy)" \
    sh -c "echo \"\$1\" | grep -q 'policy: SCHED_IDLE'" - "$policy"
complete_is() { [ "$(jobs_in complete)" = "$1" ]; }
check "running again, in the store" \
    wait_until 600 field_is safe 'w["state"]' running
check "/metrics: the pause is counted once, by reason" sh -c \
    "curl -s '$U/metrics' | grep -q '^callqa_qa_worker_pauses_total{reason=\"load\"} 1$'"
# SIGTERM with an analysis in hand: it has the worker's grace to finish, else its call is given
# back
kill -TERM "$WORKER"
wait "$WORKER"
rc=$?
WORKER=""
check "SIGTERM: the worker exits 0 (status $rc)" test "$rc" = 0
check "and its row says stopped" field_is safe 'w["state"]' stopped
check "and it holds no call (the one in flight finished or given back)" \
    test "$(store_sql "$DB" "SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL")" = 0

# ---- --no-idle ---------------------------------------------------------------------------------
"$CQ" worker --db "$DB" --no-idle --max-load 0 --id busy > "$T/busy.log" 2>&1 &
WORKER=$!
wait_until 120 field_is busy 'w["state"]' running
check "--no-idle keeps the normal CPU class" sh -c "chrt -p $WORKER | grep -q 'policy: SCHED_OTHER'"
check "--no-idle: it analyses the whole queue" wait_until 600 complete_is 3
kill "$WORKER"
wait "$WORKER"
WORKER=""

# ---- the window --------------------------------------------------------------------------------
upload S4 "audio=@$C/call09_noise.wav"
# a window that starts two hours from now and lasts one hour, in UTC
win=$(python3 -c '
import datetime as d
n = d.datetime.now(d.timezone.utc)
a, b = n + d.timedelta(hours=2), n + d.timedelta(hours=3)
print(f"{a:%H:%M}-{b:%H:%M}")')
"$CQ" worker --db "$DB" --once --max-load 0 --no-idle --window "$win" --tz UTC --id night \
    > "$T/night.log" 2>&1
check "a --once run outside its window ($win UTC) exits 0 at once, saying why" \
    sh -c "[ $? = 0 ] && grep -q 'outside the window' '$T/night.log'"
check "and claims nothing" test "$(jobs_in pending)" = 1
"$CQ" worker --db "$DB" --max-load 0 --no-idle --window "$win" --tz UTC --id night2 \
    > "$T/night2.log" 2>&1 &
WORKER=$!
check "a worker outside its window is paused with reason window:" \
    wait_until 120 field_is night2 'w["state"], w["pause_reason"][:7]' "paused window:"
beat=$(worker_field night2 'w["heartbeat"]')
wait_until 120 field_not night2 'w["heartbeat"]' "$beat"
check "and claims nothing" test "$(jobs_in pending)" = 1
kill "$WORKER"
wait "$WORKER"
WORKER=""
# a window from an hour ago to an hour from now (across midnight when it is near: 00:00-23:59
# would leave out the day's last minute)
day=$(python3 -c '
import datetime as d
n = d.datetime.now(d.timezone.utc)
a, b = n - d.timedelta(hours=1), n + d.timedelta(hours=1)
print(f"{a:%H:%M}-{b:%H:%M}")')
"$CQ" worker --db "$DB" --once --max-load 0 --no-idle --window "$day" --tz UTC --id day \
    > "$T/day.log" 2>&1
check "inside its window ($day UTC) it works" complete_is 4
check "a malformed window is refused" sh -c \
    "! '$CQ' worker --db '$DB' --once --window 25:00-26:00 2>/dev/null"
finish "worker safety"
