#!/bin/sh
# test_store_migrate.sh - `callqa store migrate`: a SQLite store moved to PostgreSQL, killed
# twice on the way, and nothing lost or written twice.
#   - the SQLite store: a month of generated calls (bench/gen_store.py: calls, jobs, analyses,
#     scores, roll-ups, a few thousand rows each), corpus calls uploaded to `callqa serve` and
#     analysed and scored by `callqa worker --once`, transcripts imported (`callqa transcript
#     import`: a real call's and three long ones), supervisors' overrides (PATCH
#     /api/qa/call/{id}/scores), one call left pending, and generated rows of every other table
#     with awkward values (tests/pipeline/migrate_check.py fill);
#   - the copy killed (SIGKILL) after the 2nd batch of calls committed, then just before the 1st
#     batch of the search rows committed; run again, it goes on from there and verifies;
#   - every table's count equal on both sides (printed), `--verify-only` passes, a third run
#     copies nothing, the id sequences were moved (a new upload on PostgreSQL gets the next id);
#   - `callqa serve` on each store answers the same JSON to the QA API's routes (level
#     envelopes too);
#   - refused: a missing source, an unreachable target, a target holding other rows, a second
#     source into the same target; a value PostgreSQL cannot hold as it is (a fractional REAL
#     in an INTEGER column) fails the verification, naming its table.
#   usage: test_store_migrate.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2/calls" ] || [ ! -d "$2/../models" ]; then
    echo "SKIP: $2 or its models are missing"
    exit 77
fi
CQ=$1
C=$2/calls
HERE=$(dirname "$0")
if [ ! -f "$HERE/../store/pg_lib.sh" ]; then
    echo "SKIP: tests/store/pg_lib.sh (the tests' PostgreSQL) is missing"
    exit 77
fi
. "$HERE/../store/pg_lib.sh"
if ! pg_available; then
    echo "SKIP: PostgreSQL's server is not installed (scripts/deps installs it)"
    exit 77
fi
export CALLQA_MODEL_DIR="$2/../models"
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    pg_cleanup
    if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
. "$HERE/../lib.sh"
. "$HERE/pipeline_lib.sh"
pg_start "$T" || exit 1
PGU=$PG_URI
S=$T/qa.db
CHECK="python3 $HERE/migrate_check.py"
fatal() {
    echo "FAIL: $1"
    exit 1
}

# ---- the SQLite store ----------------------------------------------------------------------
"$CQ" requeue --db "$S" --since 2020-01-01 > /dev/null || fatal "cannot make the store"
python3 "$HERE/../../bench/gen_store.py" --db "$S" --calls 2500 --days 30 --agents 12 \
    > "$T/gen.txt" || fatal "gen_store.py: $(cat "$T/gen.txt")"
head -1 "$T/gen.txt"
serve_start "$S"
PIDS="$PIDS $SERVE"
upload R1 "audio=@$C/call01_normal.wav"
upload R2 "audio=@$C/call03_dead_air.wav"
upload R3 "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
upload R4 "audio=@$C/call12_overtalk.wav"
"$CQ" worker --db "$S" --once --max-load 0 --no-idle > "$T/worker.log" 2>&1 ||
    fatal "the worker: $(tail -5 "$T/worker.log")"
# left pending: a call with its job not yet claimed
upload R5 "audio=@$C/call09_noise.wav"
# transcripts: a real call's (checked against its speech), and three long ones for the search
# rows (generated calls have no report: stored unchecked)
$CHECK transcript 12 refund > "$T/short.json"
$CHECK transcript 450 refund > "$T/long.json"
for call in R1 5000001 5000002 5000003; do
    f=$T/long.json
    [ $call = R1 ] && f=$T/short.json
    "$CQ" transcript import --db "$S" --call $call "$f" > "$T/import.log" 2>&1 ||
        fatal "transcript import $call: $(cat "$T/import.log")"
done
# supervisors' overrides, on a real call and generated ones
patch() { # patch CALL BODY
    code=$(curl -s -o "$T/patch.json" -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
        -d "$2" "$U/api/qa/call/$1/scores")
    [ "$code" = 200 ] || fatal "PATCH $1: $code $(cat "$T/patch.json")"
}
patch R1 '{"supervisor": "Sue", "comment": "the greeting was fine", "scores": {"greeting": 4}}'
patch R1 '{"supervisor": "Zoë Ålund", "comment": "second look: \"closing\" ok", "scores": {"greeting": 5, "closing": 3}}'
for id in 5000010 5000011 5000012 5000013 5000014; do
    patch $id '{"supervisor": "Sue", "scores": {"needs": 3, "resolution": 2}}'
done
serve_stop
$CHECK fill "$S" || fatal "migrate_check.py fill"

# what the source holds, per table ("TABLE COUNT" lines, the PostgreSQL names)
lite_counts() {
    python3 - "$S" << 'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = [("calls", "calls"), ("jobs", "jobs"), ("analyses", "analyses"),
         ("call_envelopes", "call_envelopes"), ("transcripts", "transcripts"),
         ("transcript_fts", "transcript_segments"),
         ("scores", "scores"), ("score_overrides", "score_overrides"), ("llm_calls", "llm_calls"),
         ("workers", "workers"), ("ingest_sources", "ingest_sources"),
         ("job_events", "job_events"), ("daily_stats", "daily_stats"),
         ("day_summary", "day_summary"), ("counters", "counters"),
         ("users", "users"), ("user_tokens", "user_tokens"), ("audit_log", "audit_log"),
         ("call_attempts", "call_attempts"), ("route_hourly", "route_hourly"),
         ("route_daily", "route_daily"), ("route_causes", "route_causes"),
         ("route_changes", "route_changes")]
for lite, pg in names:
    print(pg, db.execute("SELECT COUNT(*) FROM %s" % lite).fetchone()[0])
EOF
}
pg_count() { # pg_count DB TABLE
    pg_psql -d "$1" -At -c "SELECT COUNT(*) FROM $2"
}
pg_counts() { # pg_counts DB
    lite_counts | while read -r tbl _; do echo "$tbl $(pg_count "$1" "$tbl")"; done
}
# users, a token's hash and audit entries (docs/privacy.md): copied as the rest, the audit trail
# by INSERTs only (PostgreSQL's trigger refuses the rest)
printf 'a-long-password-1\n' | "$CQ" user add sue --role supervisor --scope campaign:C1 \
    --password-stdin --db "$S" > /dev/null
"$CQ" user token sue --db "$S" > /dev/null 2>&1
python3 -c "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.executemany('INSERT INTO audit_log (ts, who, role, action, target, client, status) VALUES (?, ?, ?, ?, ?, ?, ?)', [(1e9 + i, 'sue', 'supervisor', 'listen', 'R%d' % i, '127.0.0.1', 200) for i in range(5)]); d.commit()" "$S"

lite_counts > "$T/lite_counts.txt"
echo "the SQLite store: $(tr '\n' ' ' < "$T/lite_counts.txt")"
lite_n() { awk -v t="$1" '$1 == t { print $2 }' "$T/lite_counts.txt"; }
check "the store holds several batches of calls, search rows, LLM calls and events" \
    test "$(lite_n calls)" -gt 2000 -a "$(lite_n transcript_segments)" -gt 1000 \
    -a "$(lite_n llm_calls)" -gt 1000 -a "$(lite_n job_events)" -gt 2000
check "real content: scores, overrides, transcripts, workers, level envelopes" \
    test "$(lite_n scores)" -gt 2000 -a "$(lite_n score_overrides)" -ge 8 \
    -a "$(lite_n transcripts)" = 4 -a "$(lite_n workers)" -ge 2 -a "$(lite_n call_envelopes)" -ge 4
check "the worker scored the uploaded calls" \
    test "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM scores s JOIN calls c ON c.id = s.call_id WHERE c.source = 'upload'\").fetchone()[0])" "$S")" = 4

# ---- refused ------------------------------------------------------------------------------
refused() { # refused NAME WORDS ARGS...: exit 1 with WORDS in the message
    name=$1
    words=$2
    shift 2
    "$CQ" store migrate "$@" > "$T/ref.out" 2> "$T/ref.err"
    rc=$?
    check "refused: $name" sh -c "[ $rc = 1 ] && grep -q \"$words\" \"$T/ref.err\""
    [ $rc = 1 ] || cat "$T/ref.err"
}
refused "a missing source" "No such file" --from "$T/none.db" --to "$PGU"
refused "an unreachable target" "cannot connect" --from "$S" --to "postgresql://callqa@127.0.0.1:1/callqa"
refused "a SQLite target" "must be a PostgreSQL store" --from "$S" --to "$T/other.db"
pg_createdb used
"$CQ" requeue --db "${PGU%/callqa}/used" --since 2020-01-01 > /dev/null
pg_psql -d used -c "INSERT INTO calls (source, recording_id, created, updated) VALUES ('x', 'y', 1, 1)"
refused "a target holding rows of its own" "already holds 1 row that this copy did not write" \
    --from "$S" --to "${PGU%/callqa}/used"
check "the source was not changed by the refusals" sh -c "[ \"\$(python3 -c \"import sqlite3; print(sqlite3.connect('$S').execute('SELECT COUNT(*) FROM calls').fetchone()[0])\")\" = $(lite_n calls) ]"

# ---- the copy, killed twice, then run again ------------------------------------------------
CALLQA_TEST_KILL_AT=copy:calls:2 "$CQ" store migrate --from "$S" --to "$PGU" > "$T/run1.out" 2> "$T/run1.err"
rc=$?
check "run 1 is killed after the 2nd batch of calls (status 137)" test $rc = 137
check "  the target then holds exactly those 2000 calls and nothing of later tables" \
    test "$(pg_count callqa calls)/$(pg_count callqa jobs)" = "2000/0"
CALLQA_TEST_KILL_AT=commit:copy:transcript_fts:1 "$CQ" store migrate --from "$S" --to "$PGU" \
    > "$T/run2.out" 2> "$T/run2.err"
rc=$?
check "run 2 is killed before the 1st batch of search rows commits (status 137)" test $rc = 137
check "  it went on after the 2000 calls (copied $(lite_n calls) - 2000 of them)" \
    grep -q "\"msg\":\"copied\",\"table\":\"calls\",\"rows\":$(lite_n calls),\"of\":$(lite_n calls),\"copied\":$(($(lite_n calls) - 2000))," "$T/run2.err"
check "  the target then holds every transcript and no search row" \
    test "$(pg_count callqa transcripts)/$(pg_count callqa transcript_segments)" = "$(lite_n transcripts)/0"
"$CQ" store migrate --from "$S" --to "$PGU" > "$T/run3.out" 2> "$T/run3.err"
rc=$?
cat "$T/run3.out"
check "run 3 completes, every table verified (status 0)" test $rc = 0
check "  29 tables verified (the routes' the last five)" test "$(grep -c ' verified$' "$T/run3.out")" = 29
check "  it copied no call or transcript again" \
    sh -c "grep -q '^calls .* 0 copied now' '$T/run3.out' && grep -q '^transcripts .* 0 copied now' '$T/run3.out'"
grep '"msg":"store migrated"' "$T/run3.err"
pg_counts callqa > "$T/pg_counts.txt"
echo "PostgreSQL:       $(tr '\n' ' ' < "$T/pg_counts.txt")"
check "every table's count equal on both sides" cmp -s "$T/lite_counts.txt" "$T/pg_counts.txt"
copied=$(pg_psql -At -c "SELECT (SELECT COUNT(*) FROM users) || '/' || (SELECT COUNT(*) FROM user_tokens) || '/' || (SELECT COUNT(*) FROM audit_log WHERE who = 'sue')")
pg_psql -c "DELETE FROM audit_log" > "$T/audit_del.out" 2>&1
del_rc=$?
check "the user, their token's hash and the audit trail copied ($copied); PostgreSQL refuses to delete it" \
    sh -c "[ '$copied' = 1/1/5 ] && [ $del_rc != 0 ] && grep -q append-only '$T/audit_del.out'"
"$CQ" store migrate --from "$S" --to "$PGU" --verify-only > "$T/verify.out" 2> "$T/verify.err"
check "--verify-only passes" test $? = 0
"$CQ" store migrate --from "$S" --to "$PGU" > "$T/run4.out" 2> "$T/run4.err"
rc=$?
check "a fourth run verifies and copies nothing" \
    sh -c "[ $rc = 0 ] && [ \$(grep -c ' 0 copied now  verified' '$T/run4.out') = 29 ] && grep -q '\"copied\":0,' '$T/run4.err'"
pg_counts callqa > "$T/pg_counts2.txt"
check "  the counts unchanged by it" cmp -s "$T/lite_counts.txt" "$T/pg_counts2.txt"
cp "$S" "$T/copy-of-source.db"
refused "a second source into the same target" "holds a copy from" --from "$T/copy-of-source.db" --to "$PGU"

# ---- the same answers from both stores -----------------------------------------------------
serve_start "$S"
PIDS="$PIDS $SERVE"
A=$U
SERVE_A=$SERVE
PORT=$(free_port)
B="http://127.0.0.1:$PORT"
CALLQA_UPLOAD_DIR=$T/pg-uploads "$CQ" serve --db "$PGU" --no-auth --listen "127.0.0.1:$PORT" \
    > "$T/serve-pg.log" 2>&1 &
SERVE_B=$!
PIDS="$PIDS $SERVE_B"
serving "$SERVE_B" "$B/health" || { echo "serve on PostgreSQL did not start: $(cat "$T/serve-pg.log")"; exit 1; }
D0=$(date +%F)
D7=$(date -d '7 days ago' +%F)
$CHECK compare "$A" "$B" \
    "/api/qa/calls" "/api/qa/calls?limit=200&offset=100" "/api/qa/calls?agent=ann" \
    "/api/qa/calls?flagged=1&limit=500" "/api/qa/calls?from=$D7&to=$D0&state=complete&limit=500" \
    "/api/qa/calls?one_way=1" "/api/qa/calls?mos_below=2.5&dead_air=10" \
    "/api/qa/call/R1" "/api/qa/call/R3" "/api/qa/call/R5" "/api/qa/call/5000001" \
    "/api/qa/call/5000010" "/api/qa/call/5000100" \
    "/api/qa/call/R1/envelope" "/api/qa/call/R3/envelope?points=100" \
    "/api/qa/daily-summary" "/api/qa/daily-summary?date=$D7&days=7" \
    "/api/qa/agent/ann" "/api/qa/agent/1001?days=30" "/api/qa/flagged?days=30&limit=100" \
    "/api/qa/search?q=refund" "/api/qa/search?q=account%20balance&limit=200" \
    "/api/qa/agreement?days=30" "/api/qa/trends?days=30" "/api/qa/leaderboard?days=30" \
    "/api/qa/queue-status" "/api/qa/workers" "/api/qa/health#-db_size_mb" > "$T/compare.txt" 2>&1
rc=$?
cat "$T/compare.txt"
check "serve on each store answers the same JSON ($(grep -c '^same' "$T/compare.txt") routes)" test $rc = 0
# a new call on PostgreSQL takes the id after the largest copied one
max_id=$(pg_psql -At -c "SELECT MAX(id) FROM calls")
code=$(curl -s -o "$T/up-pg.json" -w '%{http_code}' \
    -F 'metadata={"recording_id":"NEW1","agent_user":"ann"};type=application/json' \
    -F "audio=@$C/call01_normal.wav" "$B/api/qa/calls")
check "a new upload on PostgreSQL is accepted ($code) and gets id $((max_id + 1))" \
    test "$code/$(pg_psql -At -c "SELECT id FROM calls WHERE recording_id = 'NEW1'")" = "201/$((max_id + 1))"
kill "$SERVE_A" "$SERVE_B"
wait "$SERVE_A" "$SERVE_B" 2>/dev/null
refused "a target written to since (a verify afterwards)" "rows in the source" \
    --from "$S" --to "$PGU" --verify-only

# ---- a value that PostgreSQL cannot keep as it is ------------------------------------------
cp "$S" "$T/frac.db"
python3 -c "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute('UPDATE calls SET length_sec = 61.5 WHERE id = 7'); d.commit()" "$T/frac.db"
pg_createdb frac
"$CQ" store migrate --from "$T/frac.db" --to "${PGU%/callqa}/frac" > "$T/frac.out" 2> "$T/frac.err"
rc=$?
grep 'not verified' "$T/frac.err"
check "a fractional REAL in an INTEGER column fails the verification, naming calls (status 1)" \
    sh -c "[ $rc = 1 ] && grep -q 'not verified: calls: .* checksums differ' '$T/frac.err'"
finish "store migrate"
