#!/bin/sh
# test_scale_pg.sh - several workers share one queue on a PostgreSQL store, with faults:
#   - 300 calls (a 7-second clip, under names of their own) enqueued by a watched folder;
#   - 3 `callqa worker` processes (levels, silence, vad) take them together;
#   - meanwhile a worker is killed (SIGKILL) and started again each time N/30 more jobs have
#     finished (its lease expired in the store, as time would), PostgreSQL is restarted (a fast
#     shutdown) at a quarter and at half of the jobs and crashed (SIGKILL to the server) at three
#     quarters: faults by progress, so that a slow machine gets as many as a fast one;
#   - at the end: 300 calls, 300 jobs complete, one analysis each, each call's `complete` event
#     once, the finished counter at 300, the day's roll-up counting 300 analysed: nothing lost,
#     nothing done twice. It prints what the faults cost (retries, reconnections).
#   - two ingest watchers of one source at once: the second is refused (the source's lease);
#   - a password file others may read is refused (PGPASSFILE, or passfile= in the URI); the
#     URI's TLS settings reach libpq.
#   usage: test_scale_pg.sh BUILD/callqa CORPUS_DIR
set -u
CLIP=$2/calls/call11_sit_intercept.wav
if [ ! -f "$CLIP" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
HERE=$(dirname "$0")
. "$HERE/../store/pg_lib.sh"
. "$HERE/../lib.sh" # wait_until (its check is replaced below)
if ! pg_available; then
    echo "SKIP: PostgreSQL's server is not installed (scripts/deps installs it)"
    exit 77
fi
T=$(mktemp -d)
W1="" W2="" W3=""
cleanup() {
    for p in $W1 $W2 $W3; do kill -9 "$p" 2>/dev/null; done
    pg_cleanup
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
N=${SCALE_CALLS:-300}
pg_start "$T" || exit 1
U=$PG_URI
export CALLQA_MODEL_DIR="$T/no-models" CALLQA_SCORING=false

# ---- credentials: a password file others may read is refused, with the reason -----------------
printf '127.0.0.1:%s:*:callqa:not-used-with-trust\n' "$PG_PORT" > "$T/pgpass"
chmod 0644 "$T/pgpass"
if PGPASSFILE=$T/pgpass "$CQ" worker --db "$U" --once --max-load 0 --no-ingest > "$T/pass.log" 2>&1 ||
    ! grep -q "may be read by others (mode 644): make it 0600" "$T/pass.log"; then
    echo "FAIL: a password file of mode 0644 (PGPASSFILE): $(cat "$T/pass.log")"
    exit 1
fi
if "$CQ" worker --db "$U?passfile=$T/pgpass" --once --max-load 0 --no-ingest > "$T/pass.log" 2>&1 ||
    ! grep -q "may be read by others" "$T/pass.log"; then
    echo "FAIL: a password file of mode 0644 (passfile=): $(cat "$T/pass.log")"
    exit 1
fi
chmod 0600 "$T/pgpass"
PGPASSFILE=$T/pgpass "$CQ" worker --db "$U" --once --max-load 0 --no-ingest > "$T/pass.log" 2>&1 ||
    { echo "FAIL: a password file of mode 0600: $(cat "$T/pass.log")"; exit 1; }
echo "ok: a password file others may read is refused (PGPASSFILE and passfile=); mode 0600 is taken"
# TLS settings reach libpq: this test server has no TLS, so sslmode=require is refused by it
if "$CQ" worker --db "$U?sslmode=require" --once --max-load 0 --no-ingest > "$T/tls.log" 2>&1 ||
    ! grep -q "SSL" "$T/tls.log"; then
    echo "FAIL: sslmode=require against a server without TLS: $(cat "$T/tls.log")"
    exit 1
fi
echo "ok: the URI's TLS settings are libpq's (sslmode=require: $(grep -o 'server does not support SSL[^"]*' "$T/tls.log" | head -1))"

# ---- the calls: N copies of one clip in a watched folder, enqueued by one scan ---------------
mkdir -p "$T/in"
i=0
while [ $i -lt "$N" ]; do
    i=$((i + 1))
    # ViciDial's name (FULLDATE_PHONE_AGENT): one day, three agents, whose roll-up rows the
    # workers recompute concurrently
    cp "$CLIP" "$T/in/20261120-$(printf %02d%02d%02d $((9 + i / 3600)) $((i / 60 % 60)) $((i % 60)))_55500$(printf %05d $i)_agent$((i % 3)).wav"
done
"$CQ" ingest watch --dir "$T/in" --db "$U" --settle-sec 0.2 --once > "$T/ingest.log" 2>&1 ||
    { echo "FAIL: ingest: $(cat "$T/ingest.log")"; exit 1; }
q() { pg_psql -At -c "$1"; }
[ "$(q 'SELECT COUNT(*) FROM jobs')" = "$N" ] || { echo "FAIL: $(q 'SELECT COUNT(*) FROM jobs') jobs queued, not $N"; exit 1; }
echo "ok: $N calls queued by the watched folder"

# a second watcher of the same source while one holds the lease is refused
"$CQ" ingest watch --dir "$T/in" --db "$U" --settle-sec 0.2 --rescan-sec 1 > "$T/watch1.log" 2>&1 &
WA=$!
# the source's lease is taken before the start-up read is logged
if ! wait_until 120 grep -q 'start-up read' "$T/watch1.log"; then
    echo "FAIL: the first watcher did not start: $(cat "$T/watch1.log")"
    kill "$WA"
    exit 1
fi
if "$CQ" ingest watch --dir "$T/in" --db "$U" --settle-sec 0.2 --once > "$T/watch2.log" 2>&1; then
    echo "FAIL: a second watcher of one source ran beside the first: $(cat "$T/watch2.log")"
    kill "$WA"
    exit 1
fi
grep -q "one watcher per source" "$T/watch2.log" ||
    { echo "FAIL: the second watcher's refusal: $(cat "$T/watch2.log")"; kill "$WA"; exit 1; }
kill "$WA"
wait "$WA" 2>/dev/null
echo "ok: a second watcher of the source is refused while the first holds its lease"

# ---- three workers, with faults ----------------------------------------------------------------
start_worker() { # start_worker K: worker K in the background; its pid printed
    "$CQ" worker --db "$U" --id "w$1" --jobs 1 --only levels,silence,vad --lease-sec 30 \
        --max-load 0 --no-idle --backoff-sec 0.2 --max-retries 20 --no-ingest \
        >> "$T/w$1.log" 2>&1 &
    echo $!
}
W1=$(start_worker 1)
W2=$(start_worker 2)
W3=$(start_worker 3)
done_n() { q "SELECT COUNT(*) FROM jobs WHERE state IN ('complete', 'skipped', 'error')" 2>/dev/null || echo -1; }
t0=$(date +%s)
STEP=$(((N + 29) / 30))
next_kill=$STEP kills=0 restarts=0 crashes=0 k=0
last=-1 moved=$(date +%s)
while :; do
    d=$(done_n)
    [ "$d" = "$N" ] && break
    # a hang guard: no job finished for two minutes (a slow machine still finishes some)
    if [ "$d" != "$last" ]; then
        last=$d moved=$(date +%s)
    elif [ $(($(date +%s) - moved)) -gt 120 ]; then
        echo "FAIL: no job finished for 120 s ($d of $N after $(($(date +%s) - t0)) s)"
        q "SELECT state, COUNT(*) FROM jobs GROUP BY state"
        tail -5 "$T/w1.log" "$T/w2.log" "$T/w3.log"
        exit 1
    fi
    sleep 0.5
    [ "$d" -ge 0 ] || continue
    # one fault at a time, by progress: each STEP jobs a worker is killed mid-job and started
    # again (the call it held taken over at once); at a quarter and at half of the jobs the
    # database is restarted, at three quarters crashed
    if [ "$restarts" -lt 2 ] && [ "$d" -ge $((N * (restarts + 1) / 4)) ]; then
        pg_restart > /dev/null || { echo "FAIL: PostgreSQL did not restart"; exit 1; }
        restarts=$((restarts + 1))
    elif [ "$crashes" -lt 1 ] && [ "$d" -ge $((N * 3 / 4)) ]; then
        pg_kill
        sleep 1
        pg_start "$T" || { echo "FAIL: PostgreSQL did not come back after its crash"; exit 1; }
        crashes=$((crashes + 1))
    elif [ "$d" -ge "$next_kill" ]; then
        k=$((k % 3 + 1))
        eval "p=\$W$k"
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        q "UPDATE jobs SET lease_expires = 0 WHERE lease_owner = 'w$k'" > /dev/null 2>&1
        eval "W$k=\$(start_worker $k)"
        kills=$((kills + 1))
        next_kill=$((d + STEP))
    fi
done
secs=$(($(date +%s) - t0))
for p in $W1 $W2 $W3; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
W1="" W2="" W3=""
echo "ok: $N jobs finished in ${secs} s by 3 workers through $kills worker kills, $restarts PostgreSQL restarts and $crashes crash"

# ---- nothing lost, nothing twice ---------------------------------------------------------------
check() { # check WHAT SQL EXPECTED
    got=$(q "$2")
    if [ "$got" != "$3" ]; then
        echo "FAIL: $1: $got, expected $3"
        exit 1
    fi
    echo "ok: $1 ($3)"
}
check "calls" "SELECT COUNT(*) FROM calls" "$N"
check "jobs complete" "SELECT COUNT(*) FROM jobs WHERE state = 'complete'" "$N"
check "one analysis per call" "SELECT COUNT(*), COUNT(DISTINCT call_id) FROM analyses" "$N|$N"
check "each call's complete event once" \
    "SELECT COUNT(*) FROM (SELECT call_id FROM job_events WHERE state = 'complete' GROUP BY call_id HAVING COUNT(*) = 1) x" "$N"
check "the finished counter" \
    "SELECT value::bigint FROM counters WHERE name = 'qa_jobs_finished_total' AND labels = 'state=\"complete\"'" "$N"
check "the histogram's count" \
    "SELECT value::bigint FROM counters WHERE name = 'qa_queue_to_complete_seconds_count'" "$N"
check "the roll-up" "SELECT SUM(queued), SUM(analysed) FROM daily_stats" "$N|$N"
check "the roll-up per agent, as the calls say" \
    "SELECT string_agg(agent_user || ':' || analysed, ',' ORDER BY agent_user) FROM daily_stats" \
    "$(q "SELECT string_agg(a || ':' || n, ',' ORDER BY a) FROM (SELECT c.agent_user a, COUNT(*) n FROM calls c JOIN analyses x ON x.call_id = c.id GROUP BY c.agent_user) y")"
check "each call's last event is its completion" \
    "SELECT COUNT(*) FROM job_events e WHERE state = 'complete' AND id = (SELECT MAX(id) FROM job_events WHERE call_id = e.call_id)" "$N"
retries=$(q "SELECT COALESCE(SUM(retry_count), 0) FROM jobs")
reconn=$(cat "$T"/w*.log | grep -c "reconnected to the PostgreSQL store")
refused=$(cat "$T"/w*.log | grep -c "lease lost")
echo "ok: the faults cost $retries retries; $reconn reconnections; $refused late results refused"
echo "PASS"
