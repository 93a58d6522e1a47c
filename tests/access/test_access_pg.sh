#!/bin/sh
# test_access_pg.sh - tests/access/test_access.py on a PostgreSQL store (a private server,
# tests/store/pg_lib.sh), with POST /ask answered by the fake LLM (tests/clients/fake_llm.py): the same
# roles, scopes, logins and audit trail (its triggers PostgreSQL's), and /ask through the QA
# store's views under the caller's scope.
#   usage: test_access_pg.sh BUILD/callqa SOURCE_DIR      exit 77 without PostgreSQL's server
set -u
CQ=$1
SRC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/../store/pg_lib.sh"
if ! pg_available; then
    echo "SKIP: PostgreSQL's server is not installed (scripts/deps installs it)"
    exit 77
fi
T=$(mktemp -d)
LLM=""
cleanup() {
    [ -n "$LLM" ] && kill "$LLM" 2> /dev/null
    pg_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
pg_start "$T" || exit 1
# the model: for each question, one round asking the QA store and the dialer's database
cat > "$T/plans.json" << 'EOJ'
{"which calls? (cara)": {"mode": "text", "rounds": [[
   {"type": "callqa", "sql": "SELECT recording_id FROM calls ORDER BY recording_id"},
   {"type": "mysql", "server": "vicidial", "sql": "SELECT 1"}]], "answer": "Those."},
 "which calls? (ana)": {"mode": "text", "rounds": [[
   {"type": "callqa", "sql": "SELECT recording_id FROM calls ORDER BY recording_id"},
   {"type": "mysql", "server": "vicidial", "sql": "SELECT 1"}]], "answer": "Those."}}
EOJ
python3 "$SRC/tests/clients/fake_llm.py" --log "$T/llm" --port-file "$T/llm.port" --model fake-ask \
    --ask-plan "$T/plans.json" 2> "$T/llm.err" &
LLM=$!
wait_port "$T/llm.port" "$T/llm.err"
ACCESS_DB=$PG_URI ACCESS_LLM_URL="http://127.0.0.1:$(cat "$T/llm.port")/v1" ACCESS_LLM_LOG="$T/llm" \
    python3 "$HERE/test_access.py" "$CQ" "$SRC"
