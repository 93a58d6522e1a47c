#!/bin/sh
# test_worker_faults.sh - every job ends exactly once, whatever happens to the worker:
#   - the worker is killed (SIGKILL) at each point of a job's life: after a claim, after the
#     analysis came back, in each later stage, and just before each of the store's commits; a
#     second worker, once the lease has expired, finishes the queue: every call ends in the same
#     final state as without the kill, with one analysis, one final event and the finished
#     counters counted once;
#   - fencing: a worker stopped (SIGSTOP) with an analysis in hand loses its lease to another
#     worker, which finishes the call; continued, the first one's result is refused ("lease
#     lost") and nothing is stored twice;
#   - the analysis process crashes: the call is retried, then ends in error, not stuck;
#   - audio gone: leg files deleted with the mix still there (the mix is analysed, and the report
#     says why), or every file gone (error "missing: ..."), or the leg files gone with no mix.
#   usage: test_worker_faults.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2/calls" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
C=$2/calls
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS ${SERVE:-}; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    store_cleanup
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
# analysis without models (levels, silences, events, conversation): the faults are the subject
export CALLQA_MODEL_DIR="$T/no-models"
# a lease no run loses by being slow; where a worker was killed or stopped, the test expires its
# lease in the store (what time would do), so that the next worker may take the call over
LEASE=60

. "$(dirname "$0")/pipeline_lib.sh"

# ---- the base store: five calls uploaded through the service ---------------------------------
BASE=$(test_store "$T" base) || exit 1
serve_start "$BASE"
head -c 3000 /dev/urandom > "$T/corrupt.wav"
head -c 44 "$C/call01_normal.wav" > "$T/stub.wav"
upload G1 "audio=@$C/call01_normal.wav"
upload G2 "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
upload G3 "audio=@$C/call03_dead_air.wav"
upload BAD "audio=@$T/corrupt.wav"
upload STUB "audio=@$T/stub.wav"
serve_stop

worker() { # worker DB [ENV=VALUE...]: one --once run (its log: $T/NAME.log); its exit status
    db=$1
    shift
    env "$@" "$CQ" worker --db "$db" --once --jobs 1 --max-load 0 --no-idle --lease-sec "$LEASE" \
        --backoff-sec 0.2 --max-retries 1 >> "$T/$(store_name "$db").log" 2>&1
}

# The end every run must reach, however it was interrupted: G1-G3 complete, BAD error, STUB
# skipped; one analysis per analysed call; each call's events end with its final state, once;
# the finished counters count each call once.
ends_once() { # ends_once DB
    python3 - "$1" <<'PY'
import storedb, sys
db = storedb.connect(sys.argv[1])
final = dict(db.execute("SELECT c.recording_id, j.state FROM jobs j JOIN calls c ON c.id = j.call_id"))
want = {"G1": "complete", "G2": "complete", "G3": "complete", "BAD": "error", "STUB": "skipped"}
assert final == want, final
n = dict(db.execute("SELECT c.recording_id, COUNT(a.id) FROM calls c LEFT JOIN analyses a "
                    "ON a.call_id = c.id GROUP BY c.id"))
assert n == {"G1": 1, "G2": 1, "G3": 1, "BAD": 0, "STUB": 0}, n
for rid, state in want.items():
    ev = [s for (s,) in db.execute("SELECT e.state FROM job_events e JOIN calls c ON c.id = e.call_id "
                                   "WHERE c.recording_id = ? ORDER BY e.id", (rid,))]
    assert ev[-1] == state and ev.count(state) == 1, (rid, ev)
    assert ev[0] == "pending" and ev.count("pending") == 1, (rid, ev)
fin = {lab: v for (lab, v) in db.execute(
    "SELECT labels, value FROM counters WHERE name = 'qa_jobs_finished_total'")}
assert fin == {'state="complete"': 3, 'state="error"': 1, 'state="skipped"': 1}, fin
lat = dict(db.execute("SELECT labels, value FROM counters WHERE name = "
                      "'qa_queue_to_complete_seconds_count'"))
assert list(lat.values()) == [3], lat
assert db.execute("SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL").fetchone()[0] == 0
PY
}

ends_ok() { [ "$1" = 0 ] && ends_once "$2"; }

expire_leases() { # expire_leases DB: every lease held in DB expired, as after its time
    python3 - "$1" <<'PY'
import storedb, sys
db = storedb.connect(sys.argv[1])
db.execute("UPDATE jobs SET lease_expires = 0 WHERE lease_owner IS NOT NULL")
db.commit()
PY
}

# Without a fault: the reference end.
db=$(store_copy "$BASE" "$T" clean) || exit 1
worker "$db"
check "without a fault the queue drains to 3 complete, 1 error, 1 skipped" ends_once "$db"

# Killed at each point, then a second worker once the lease has expired.
for at in claimed analysed transcribing scoring commit:claim commit:analysis commit:transcribed \
    commit:scoring commit:complete commit:fail commit:skip; do
    db=$(store_copy "$BASE" "$T" "kill-$(echo "$at" | tr : -)") || exit 1
    worker "$db" CALLQA_TEST_KILL_AT="$at"
    rc=$?
    check "killed at $at: the worker died there (status $rc)" \
        sh -c "[ $rc = 137 ] && grep -q 'kill point' '$T/$(store_name "$db").log'"
    expire_leases "$db"
    worker "$db"
    rc=$?
    check "killed at $at: a second worker finishes the queue (status $rc), every call ended once" \
        ends_ok "$rc" "$db"
done

# Fencing: stopped with an analysis in hand; another worker takes the call over.
db=$(store_copy "$BASE" "$T" fence) || exit 1
CALLQA_TEST_STOP_AT=analysed "$CQ" worker --db "$db" --once --jobs 1 --max-load 0 --no-idle \
    --lease-sec "$LEASE" --id first > "$T/first.log" 2>&1 &
FIRST=$!
PIDS="$PIDS $FIRST"
stopped() { grep -q 'stop point' "$T/first.log" && awk '{exit $3 != "T"}' "/proc/$FIRST/stat"; }
check "the first worker stopped with an analysis in hand" wait_until 120 stopped
expire_leases "$db"
"$CQ" worker --db "$db" --once --jobs 1 --max-load 0 --no-idle --lease-sec 30 --id second \
    > "$T/second.log" 2>&1
check "a second worker takes the call over once the lease has expired and drains the queue" \
    test $? = 0
kill -CONT "$FIRST"
wait "$FIRST"
rc=$?
check "continued, the first worker's result is refused: lease lost (status $rc)" \
    sh -c "[ $rc = 0 ] && grep -q 'lease lost' '$T/first.log'"
check "after the takeover every call ended once, with one analysis" ends_once "$db"
check "the taken-over call shows the second worker's claim in its events" python3 - "$db" <<'PY'
import storedb, sys
db = storedb.connect(sys.argv[1])
ev = [s for (s,) in db.execute("SELECT e.state FROM job_events e JOIN calls c ON c.id = e.call_id "
                               "WHERE c.recording_id = 'G1' ORDER BY e.id")]
assert ev[:3] == ["pending", "analysing", "analysing"], ev
r = db.execute("SELECT retry_count, lease_token FROM jobs j JOIN calls c ON c.id = j.call_id "
               "WHERE c.recording_id = 'G1'").fetchone()
assert r[0] == 1 and r[1] >= 2, r
PY

# The analysis process crashes on G3: retried once (--max-retries 1), then error "crashed".
db=$(store_copy "$BASE" "$T" crash) || exit 1
worker "$db" CALLQA_TEST_CRASH_ON=/G3.rec
sleep 0.5
worker "$db" CALLQA_TEST_CRASH_ON=/G3.rec
check "a crashing analysis is retried, then ends in error, not stuck" python3 - "$db" <<'PY'
import storedb, sys
db = storedb.connect(sys.argv[1])
final = dict(db.execute("SELECT c.recording_id, j.state || ' ' || COALESCE(j.error_message, '') "
                        "FROM jobs j JOIN calls c ON c.id = j.call_id"))
assert final["G3"].startswith("error crashed: "), final
assert final["G1"] == "complete " and final["STUB"].startswith("skipped"), final
retries = dict(db.execute("SELECT labels, value FROM counters WHERE name = 'qa_retries_total'"))
assert retries == {'stage="analyse",reason="crashed"': 1}, retries
errors = dict(db.execute("SELECT labels, value FROM counters WHERE name = 'qa_errors_total'"))
assert errors == {'stage="analyse",reason="crashed"': 1, 'stage="analyse",reason="unreadable"': 1}, errors
PY

# Audio gone.
db=$(store_copy "$BASE" "$T" gone) || exit 1
mkdir "$T/mix"
cp "$C/call14_vicidial-all.mp3" "$T/mix/" # alone: no leg files beside it
python3 - "$db" "$T/mix" <<'PY'
import storedb, sys
db = storedb.connect(sys.argv[1])
c = sys.argv[2]
# G2's leg files are gone, but the mix is there (ViciDial deletes the legs after mixing)
db.execute("UPDATE calls SET audio = ?, audio_in = ?, audio_out = ? WHERE recording_id = 'G2'",
           (c + "/call14_vicidial-all.mp3", "/nonexistent/g2-in.wav", "/nonexistent/g2-out.wav"))
# G3: every file gone
db.execute("UPDATE calls SET audio = '/nonexistent/g3.wav' WHERE recording_id = 'G3'")
# G1: legs gone and no mix
db.execute("UPDATE calls SET audio = '', audio_in = '/nonexistent/g1-in.wav', "
           "audio_out = '/nonexistent/g1-out.wav' WHERE recording_id = 'G1'")
db.commit()
PY
# the folder the dialer's mix is in is one recordings are read from (audio_dirs)
CALLQA_AUDIO_DIRS="$T/mix" worker "$db"
check "leg files gone: the mix is analysed and the report says why; a call with no file left ends in error 'missing'" \
    python3 - "$db" <<'PY'
import json, storedb, sys
db = storedb.connect(sys.argv[1])
final = dict(db.execute("SELECT c.recording_id, j.state || ' ' || COALESCE(j.error_message, '') "
                        "FROM jobs j JOIN calls c ON c.id = j.call_id"))
assert final["G2"] == "complete ", final
assert final["G3"].startswith("error missing: no recording at /nonexistent/g3.wav"), final
assert final["G1"].startswith("error missing: no recording at (no location) nor /nonexistent/g1-in.wav"), final
rep = json.loads(db.execute("SELECT a.report FROM analyses a JOIN calls c ON c.id = a.call_id "
                            "WHERE c.recording_id = 'G2'").fetchone()[0])
codes = {w["code"]: w["message"] for w in rep["warning_details"]}
assert "sources_chosen" in codes and "are gone" in codes["sources_chosen"], codes
errors = dict(db.execute("SELECT labels, value FROM counters WHERE name = 'qa_errors_total'"))
assert errors.get('stage="analyse",reason="missing"') == 2, errors
PY
finish "worker fault"
