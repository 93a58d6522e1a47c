#!/bin/sh
# test_ask.sh - POST /ask end to end, red-teamed (docs/ask.md). Real servers, each started here
# under a temporary directory on loopback: MariaDB (Debian's mariadb-server) loaded with
# ViciDial's schema (../shared/vicidial/schema.sql) and rows, read through an account with
# column-level grants on a replica (read_only on); PostgreSQL (tests/store/pg_lib.sh) for the
# store's second backend; Prometheus (Debian's prometheus) scraping callqa's /metrics; and the
# fake LLM (tests/clients/fake_llm.py) following the plans of tests/ask/askcase.py, the OpenAI
# protocol against the SQLite store and the Anthropic one against PostgreSQL.
#   - without an LLM: 503 no_llm, naming the /api/qa endpoints;
#   - the red-team corpus (tests/ask/corpus.py, 97 queries in 12 categories) through the /ask
#     loop, with the lexical pre-check on and then off: every query refused by a layer allowed
#     to refuse it, with its reason; counts per category printed. Each query the time limit may
#     refuse runs on a service whose ask_timeout_sec is short ($SHORT s), every other one (and
#     every ordinary question) on one whose limit is calm ($CALM s), so that a loaded machine's
#     slow refusal is never read as a timeout; a long function that runs away on a server is
#     answered while the server still runs it (its activity list), and the server is free of it
#     again before the next short pass; one that ran used at most 1 s past the limit of the
#     source's CPU;
#   - 0 writes: checksums of every table of the store (but the service's own records) and of
#     every ViciDial table, before and after; no new file in /tmp or in either data directory;
#     Prometheus's series still there;
#   - ten ordinary questions over every source: the rows handed to the model equal the test's
#     own query on each source, and queries[] counts them exactly; the caps on rounds and
#     queries;
#   - a conversation continued, a tampered one, malformed ones;
#   - each /ask recorded in the store (ask_log) with its queries; the LLM's calls under "ask";
#     the daily token cap answered 503 llm_cap;
#   - the service refuses to start on a ViciDial account that may write, and on a primary
#     without ask_vicidial_primary.
#   usage: test_ask.sh BUILD/callqa SHARED_DIR
set -u
CQ=$1
SHARED=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
if [ ! -f "$SHARED/vicidial/schema.sql" ]; then
    echo "SKIP: $SHARED/vicidial/schema.sql is missing"
    exit 77
fi
. "$HERE/../lib/my_lib.sh"
. "$HERE/../lib/prom_lib.sh"
my_require
for p in prometheus curl python3; do
    command -v "$p" > /dev/null 2>&1 || {
        echo "FAIL: $p is not installed (scripts/deps installs it)"
        exit 1
    }
done
T=$(mktemp -d)
export ASK_OUT=$T
PIDS=""
SVC=""
cleanup() {
    [ -n "$SVC" ] && kill "$SVC" 2> /dev/null
    for p in $PIDS; do kill "$p" 2> /dev/null; done
    my_stop
    prom_stop
    pg_cleanup
    if [ -n "${CALLQA_TEST_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
. "$HERE/../lib.sh"
. "$HERE/../store/pg_lib.sh"
export PYTHONPATH="$SRC/tests/lib${PYTHONPATH:+:$PYTHONPATH}"
T0=$(date +%s)
SHORT=1 # ask_timeout_sec of the services that run the queries the limit may refuse
CALM=60 # ask_timeout_sec of the others: no refusal by another layer or honest answer reaches it
export ASK_TIMEOUT_SEC=$SHORT
py() { # py COMMAND ARGS...: askcase.py's checks, numbered on from ours
    out=$(ASK_CHECK_BASE=$n ASK_SVC_PID=$SVC python3 "$HERE/askcase.py" "$@")
    rc=$?
    echo "$out" | grep -v '^# checks '
    last=$(echo "$out" | sed -n 's/^# checks //p' | tail -1)
    [ -n "$last" ] && n=$last
    bad=$(echo "$out" | grep -c '^not ok')
    fails=$((fails + bad))
    [ $rc -eq 0 ] || [ "$bad" -gt 0 ] || { echo "not ok - askcase.py $1 failed ($rc)"; fails=$((fails + 1)); }
}
stamp() { echo "# $(($(date +%s) - T0)) s: $1"; }

# ---- MariaDB: ViciDial's schema and rows; the account /ask reads with ----
my_start "$T" || { echo "FAIL: mariadbd did not start"; exit 1; }
DBP=$MY_PORT
SQL=$MY_SQL
$SQL -e "CREATE DATABASE asterisk CHARACTER SET utf8mb4" && $SQL asterisk < "$SHARED/vicidial/schema.sql" &&
    python3 "$HERE/askcase.py" vicidial-sql | $SQL asterisk || { echo "FAIL: ViciDial's schema and rows"; exit 1; }
"$CQ" ask grants --user callqa_ask --host 127.0.0.1 > "$T/grants.sql"
check "callqa ask grants: column-level SELECT only, no credential column" sh -c \
    "grep -q 'GRANT SELECT (' $T/grants.sql && ! grep -Eiq '\`(pass|pass_hash|phone_pass|ASTmgrSECRET|conf_secret|phone_number|lead_id)\`|INSERT|UPDATE|ALL PRIVILEGES' $T/grants.sql"
$SQL -e "CREATE USER 'callqa_ask'@'127.0.0.1' IDENTIFIED BY 'ask-pw-1'; CREATE USER 'callqa_rw'@'127.0.0.1' IDENTIFIED BY 'ask-pw-2';
         GRANT SELECT, INSERT ON asterisk.* TO 'callqa_rw'@'127.0.0.1';" &&
    $SQL asterisk < "$T/grants.sql" || { echo "FAIL: the accounts"; exit 1; }
$SQL -e "SET GLOBAL read_only = ON"
printf 'ask-pw-1\n' > "$T/my.pw"
printf 'ask-pw-2\n' > "$T/rw.pw"
chmod 600 "$T/my.pw" "$T/rw.pw"
MYSQL_ROOT="mariadb --no-defaults -S $MY_SOCK -uroot asterisk"
export ASK_MYSQL="$MYSQL_ROOT" ASK_MY_PID="$MY_PID"
my_sums() { # every ViciDial table's checksum, as root
    tables=$($SQL -N asterisk -e "SHOW TABLES" | tr '\n' ',' | sed 's/,$//')
    $SQL -N asterisk -e "CHECKSUM TABLE $tables EXTENDED"
}
listing() { # listing DIR...: every file name under them (no sizes: logs and caches grow)
    find "$@" -mindepth 1 2> /dev/null | sort
}
stamp "MariaDB up"

# ---- PostgreSQL, Prometheus, the fake LLM ----
pg_start "$T" || { echo "FAIL: PostgreSQL did not start"; exit 1; }
pg_createdb store_pg || { echo "FAIL: createdb"; exit 1; }
PG_STORE="postgresql://callqa@127.0.0.1:$PG_PORT/store_pg"
ASK_PG_PID=$(pg_pid)
export ASK_PG_STORE="$PG_STORE" ASK_PG_PID
AP=$(free_port)
U="http://127.0.0.1:$AP"
prom_start "$T" callqa="127.0.0.1:$AP" prometheus=self || { echo "FAIL: Prometheus did not start"; exit 1; }
PROMU=$PROM_URL
python3 "$HERE/askcase.py" plans "$T/plans.json" "$(date +%s)"
python3 "$SRC/tests/clients/fake_llm.py" --log "$T/llm" --port-file "$T/llm.port" --model fake-ask \
    --ask-plan "$T/plans.json" 2> "$T/llm.err" &
PIDS="$PIDS $!"
wait_port "$T/llm.port" "$T/llm.err"
LP=$(cat "$T/llm.port")
for _ in $(seq 1 300); do
    curl -s "$PROMU/api/v1/query?query=up" | grep -q '"job":"prometheus"' && break
    sleep 0.1
done
stamp "PostgreSQL, Prometheus, the fake LLM up"

start_service() { # start_service STORE LOG [VAR=VALUE...]: 0 when /health answers (the
    # calm ask_timeout_sec unless a VAR sets it)
    store=$1
    log=$2
    shift 2
    env CALLQA_TMP_DIR="$T" CALLQA_ASK_TIMEOUT_SEC=$CALM CALLQA_ASK_ALLOW=transcripts.text \
        CALLQA_ASK_VICIDIAL="mysql://callqa_ask@127.0.0.1:$DBP/asterisk" \
        CALLQA_ASK_VICIDIAL_PASSWORD_FILE="$T/my.pw" CALLQA_ASK_PROMETHEUS="$PROMU" \
        CALLQA_MAX_CONCURRENT=2 "$@" "$CQ" serve --listen "127.0.0.1:$AP" --db "$store" --no-auth \
        > /dev/null 2> "$log" &
    SVC=$!
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$U/health" && return 0
        kill -0 "$SVC" 2> /dev/null || { SVC=""; return 1; }
        sleep 0.1
    done
    return 1
}
pin_time() { # pin_time SINCE: a whole second after SINCE that every job's latest sample has
    # passed, once the service's latest scrape is good: a job's scrapes come in order, so no
    # sample at or before it can come later, and the ordinary questions' Prometheus queries
    # pinned to it read the same samples for the model as for the test's own query. timestamp()
    # of the selector itself is the sample's time (of an expression such as up == 1 it is the
    # evaluation's, which a sample still to come may precede)
    for _ in $(seq 1 600); do
        t=$(curl -s "$PROMU/api/v1/query" --data-urlencode 'query=min(timestamp(up) * (up == bool 1))' |
            python3 -c 'import json, math, sys; r = json.load(sys.stdin)["data"]["result"]; print(math.floor(float(r[0]["value"][1])) if r else 0)')
        [ "${t:-0}" -gt "$1" ] && { echo "$t"; return 0; }
        sleep 0.2
    done
    return 1
}
pin() { # pin: pin_time after now, or the test stops (the honest answers need it)
    PIN=$(pin_time "$(date +%s)") || { echo "FAIL: no good scrape of the service by Prometheus within 120 s"; exit 1; }
}
stop_service() {
    [ -n "$SVC" ] && stop_wait "$SVC" "callqa serve"
    SVC=""
}
OPENAI="CALLQA_LLM_PROVIDER=openai CALLQA_LLM_URL=http://127.0.0.1:$LP/v1 CALLQA_LLM_MODEL=fake-ask"
ANTHROPIC_KEY=$T/anthropic.key
printf 'sk-ant-test\n' > "$ANTHROPIC_KEY"
chmod 600 "$ANTHROPIC_KEY"
ANTHROPIC="CALLQA_LLM_PROVIDER=anthropic CALLQA_LLM_URL=http://127.0.0.1:$LP CALLQA_LLM_MODEL=fake-ask CALLQA_LLM_KEY_FILE=$ANTHROPIC_KEY"

# ---- no LLM: 503 (the store is made here) ----
DB=$T/store.db
start_service "$DB" "$T/serve0.log" || { cat "$T/serve0.log"; echo "FAIL: the service did not start"; exit 1; }
s=$(curl -s -o "$T/nollm.json" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"question":"calls today?"}' "$U/ask")
check "no LLM: 503 no_llm, naming the /api/qa endpoints" sh -c \
    "[ $s = 503 ] && grep -q no_llm $T/nollm.json && grep -q /api/qa/daily-summary $T/nollm.json"
s=$(curl -s -o "$T/nollm2.json" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"question":5}' "$U/ask")
check "no LLM, a bad request: 400 first" sh -c "[ $s = 400 ]"
stop_service
python3 "$HERE/askcase.py" store-rows "$DB" || { echo "FAIL: the store's rows"; exit 1; }

# ---- the service refuses a ViciDial account that may write, and a primary ----
start_service "$DB" "$T/serve_rw.log" $OPENAI CALLQA_ASK_VICIDIAL="mysql://callqa_rw@127.0.0.1:$DBP/asterisk" \
    CALLQA_ASK_VICIDIAL_PASSWORD_FILE="$T/rw.pw"
rc=$?
stop_service
check "an account with INSERT: the service does not start, and says why" sh -c \
    "[ $rc -ne 0 ] && grep -qi 'INSERT' $T/serve_rw.log"
$SQL -e "SET GLOBAL read_only = OFF"
start_service "$DB" "$T/serve_primary.log" $OPENAI
rc=$?
stop_service
check "a primary (read_only off) without ask_vicidial_primary: refused at start" sh -c \
    "[ $rc -ne 0 ] && grep -qi 'ask_vicidial_primary' $T/serve_primary.log"
start_service "$DB" "$T/serve_primary2.log" $OPENAI CALLQA_ASK_VICIDIAL_PRIMARY=true
rc=$?
stop_service
check "a primary with ask_vicidial_primary = true: starts" sh -c "[ $rc -eq 0 ]"
$SQL -e "SET GLOBAL read_only = ON"
stamp "start checks"

# ---- what must not change ----
before_store=$(python3 "$HERE/askcase.py" checksum-store "$DB")
before_my=$(my_sums)
before_files=$(listing "$MY_DATADIR/asterisk" "$MY_FILES" /tmp/cq_ask_*)
asks=0

# ---- the SQLite store: red team with the lexical pre-check on, then off ----
# (each short pass first: the server's time on the long function it gave up on last goes by
# beside the calm pass)
start_service "$DB" "$T/serve1s.log" $OPENAI CALLQA_ASK_TIMEOUT_SEC=$SHORT ||
    { cat "$T/serve1s.log"; echo "FAIL: the service did not start"; exit 1; }
py redteam "$U" "$T/llm" sqlite on callqa,mysql,prometheus short
stop_service
start_service "$DB" "$T/serve1.log" $OPENAI || { cat "$T/serve1.log"; exit 1; }
py redteam "$U" "$T/llm" sqlite on callqa,mysql,prometheus calm
py turns "$U" "$T/llm"
pin
python3 "$HERE/askcase.py" plans "$T/plans.json" "$PIN"
py honest "$U" "$T/llm" "$DB" "$MYSQL_ROOT" "$PROMU" "$PIN"
stop_service
stamp "SQLite, lexical on"
start_service "$DB" "$T/serve2s.log" $OPENAI CALLQA_ASK_LEXICAL=false CALLQA_ASK_TIMEOUT_SEC=$SHORT ||
    { cat "$T/serve2s.log"; exit 1; }
py redteam "$U" "$T/llm" sqlite off callqa,mysql,prometheus short
stop_service
start_service "$DB" "$T/serve2.log" $OPENAI CALLQA_ASK_LEXICAL=false || { cat "$T/serve2.log"; exit 1; }
py redteam "$U" "$T/llm" sqlite off callqa,mysql,prometheus calm
stop_service
stamp "SQLite, lexical off"
after_store=$(python3 "$HERE/askcase.py" checksum-store "$DB")
check "SQLite store: every table but the service's own records unchanged ($before_store)" \
    [ "$before_store" = "$after_store" ]
n_ask=$(python3 "$SRC/tests/lib/storedb.py" "$DB" "SELECT COUNT(*) FROM ask_log")
n_sent=$(grep -c . "$T/llm/requests.jsonl")
check "every /ask recorded in ask_log ($n_ask), with who asked and its queries" sh -c \
    "[ $n_ask -gt 150 ] && [ \$(python3 $SRC/tests/lib/storedb.py $DB \"SELECT COUNT(*) FROM ask_log WHERE who LIKE 'open 127.0.0.1' AND detail LIKE '[%'\") = $n_ask ]"
n_llm=$(python3 "$SRC/tests/lib/storedb.py" "$DB" "SELECT COUNT(*) FROM llm_calls WHERE purpose = 'ask'")
check "every LLM request of /ask in llm_calls ($n_llm of $n_sent sent)" [ "$n_llm" = "$n_sent" ]
# the LLM's daily cap: today's requests above already hold more than 1000 tokens
start_service "$DB" "$T/serve_cap.log" $OPENAI CALLQA_LLM_DAILY_TOKEN_CAP=1000 || { cat "$T/serve_cap.log"; exit 1; }
s=$(curl -s -o "$T/cap.json" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"question":"honest:calls per agent"}' "$U/ask")
stop_service
check "the LLM's daily token cap reached: 503 llm_cap, nothing sent" sh -c \
    "[ $s = 503 ] && grep -q llm_cap $T/cap.json && [ \$(grep -c . $T/llm/requests.jsonl) = $n_sent ]"

# ---- the PostgreSQL store ----
start_service "$PG_STORE" "$T/serve3.log" || { cat "$T/serve3.log"; echo "FAIL: the service on PostgreSQL"; exit 1; }
stop_service
python3 "$HERE/askcase.py" store-rows "$PG_STORE" || { echo "FAIL: the PostgreSQL store's rows"; exit 1; }
# the views and the role are made at the first start with an LLM: the files are listed after it
start_service "$PG_STORE" "$T/serve3b.log" $ANTHROPIC || { cat "$T/serve3b.log"; echo "FAIL: /ask's views on PostgreSQL"; exit 1; }
stop_service
before_pg=$(python3 "$HERE/askcase.py" checksum-store "$PG_STORE")
pg_files() { # the cluster's file names, but what the server writes on its own (WAL, commit logs,
    # statistics, free-space and visibility maps, the sorts' and hashes' temporary files, its
    # pid and logs)
    listing "$PG_HOME" | grep -v -E '/(pg_wal|pg_xact|pg_subtrans|pg_multixact|pg_stat[a-z_]*|pg_logical|log)/|/pgsql_tmp|postmaster\.|pg_internal\.init|_(fsm|vm)$'
}
before_pg_files=$(pg_files)
start_service "$PG_STORE" "$T/serve4s.log" $ANTHROPIC CALLQA_ASK_TIMEOUT_SEC=$SHORT ||
    { cat "$T/serve4s.log"; echo "FAIL: the service on PostgreSQL"; exit 1; }
py redteam "$U" "$T/llm" postgresql on callqa short
stop_service
start_service "$PG_STORE" "$T/serve4.log" $ANTHROPIC || { cat "$T/serve4.log"; exit 1; }
py redteam "$U" "$T/llm" postgresql on callqa calm
py turns "$U" "$T/llm"
pin
python3 "$HERE/askcase.py" plans "$T/plans.json" "$PIN"
py honest "$U" "$T/llm" "$PG_STORE" "$MYSQL_ROOT" "$PROMU" "$PIN"
stop_service
stamp "PostgreSQL, lexical on"
start_service "$PG_STORE" "$T/serve5s.log" $ANTHROPIC CALLQA_ASK_LEXICAL=false CALLQA_ASK_TIMEOUT_SEC=$SHORT ||
    { cat "$T/serve5s.log"; exit 1; }
py redteam "$U" "$T/llm" postgresql off callqa short
stop_service
start_service "$PG_STORE" "$T/serve5.log" $ANTHROPIC CALLQA_ASK_LEXICAL=false || { cat "$T/serve5.log"; exit 1; }
py redteam "$U" "$T/llm" postgresql off callqa calm
stop_service
stamp "PostgreSQL, lexical off"
after_pg=$(python3 "$HERE/askcase.py" checksum-store "$PG_STORE")
check "PostgreSQL store: every table but the service's own records unchanged ($before_pg)" \
    [ "$before_pg" = "$after_pg" ]

py free
# ---- ViciDial, files, Prometheus ----
after_my=$(my_sums)
check "ViciDial: every table's checksum unchanged" [ "$before_my" = "$after_my" ]
after_files=$(listing "$MY_DATADIR/asterisk" "$MY_FILES" /tmp/cq_ask_*)
echo "$before_files" > "$T/files.before"
echo "$after_files" > "$T/files.after"
check "no new file: MariaDB's database folder, its secure_file_priv folder, /tmp/cq_ask_*" \
    sh -c "diff $T/files.before $T/files.after > $T/files.new || { cat $T/files.new; false; }"
echo "$before_pg_files" > "$T/pg.before"
pg_files > "$T/pg.after"
check "no new file in PostgreSQL's data folder (names; the server's own logs and maps aside)" \
    sh -c "diff $T/pg.before $T/pg.after > $T/pg.new || { cat $T/pg.new; false; }"
check "Prometheus: the series are all still there (no admin call got through)" sh -c \
    "curl -s '$PROMU/api/v1/query?query=count(up)' | grep -q '\"value\":\[[0-9.]*,\"2\"\]'"
violations=$(python3 -c "
import json
v = [r for r in map(json.loads, open('$T/llm/requests.jsonl')) if r.get('violations')]
print(len(v)); [print('#', r['n'], r['violations']) for r in v[:5]]")
check "the fake LLM saw no protocol violation: $(echo "$violations" | head -1)" [ "$(echo "$violations" | head -1)" = 0 ]
echo "$violations" | tail -n +2
check "no sanitizer report in any service's log (an ASan build of callqa)" sh -c \
    "! grep -l 'Sanitizer' $T/serve*.log"
stamp "done"
finish "POST /ask"
