#!/bin/sh
# test_pg_lib.sh - the tests' PostgreSQL (tests/store/pg_lib.sh) and store helpers
# (tests/lib/store_lib.sh, tests/lib/storedb.py) against a real cluster started here:
#   - pg_start: up (initdb and the server) within seconds of CPU, on loopback only, its socket
#     inside the test's folder, run by an
#     unprivileged user when we are root; the database callqa, reached as PG_URI;
#   - storedb on it and on a SQLite file: the same rows and types back (tests/store/storedb_check.py);
#   - pg_restart: same port, same data, a new server; pg_kill: every server process gone, the
#     store unreachable, then started again with what was committed before the kill;
#   - pg_stop, pg_cleanup; a test killed (SIGKILL) leaves no server; store_lib's test_store and store_copy; a missing PostgreSQL is a
#     skip (77), not a failure.
#   usage: test_pg_lib.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_lib.sh"
if ! pg_available; then
    echo "SKIP: no PostgreSQL server installed (scripts/deps installs postgresql)"
    exit 77
fi
T=$(mktemp -d)
cleanup() {
    pg_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
SQ="python3 $HERE/../lib/storedb.py"

# the cost of pg_start: the CPU time of what it ran (initdb, pg_ctl, psql: the shell's children
# by `times`; the server's own start is pg_ctl's), bounded; its wall time only printed (a busy
# machine stretches it, fsync-free as the cluster is)
cpu_children() { # cpu_children FILE: the children's user + system seconds in FILE, from `times`
    awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }' "$1"
}
times > "$T/times0" # in this shell, not a subshell: its children's times
t0=$(date +%s.%N)
pg_start "$T"
rc=$?
times > "$T/times1"
c0=$(cpu_children "$T/times0")
c1=$(cpu_children "$T/times1")
secs=$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$(date +%s.%N)")
cpu=$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$c0" "$c1")
check "pg_start: initdb and a server (status $rc) with $cpu s of CPU (under 30), $secs s of wall time" \
    sh -c "[ $rc = 0 ] && python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 30 else 1)' $cpu"
[ $rc = 0 ] || finish "pg_lib"
check "PG_URI names callqa on the loopback port ($PG_URI)" \
    test "$PG_URI" = "postgresql://callqa@127.0.0.1:$PG_PORT/callqa"
PID=$(pg_pid)
check "the postmaster runs (pid $PID)" test -n "$PID"
owner=$(ps -o user= -p "$PID" | tr -d ' ')
if [ "$(id -u)" -eq 0 ]; then
    check "run as root: the server runs as ${CALLQA_PG_USER:-nobody}, not root ($owner)" \
        test "$owner" = "${CALLQA_PG_USER:-nobody}"
else
    check "the server runs as us ($owner)" test "$owner" = "$(id -un)"
fi
check "its socket is inside the test's folder" test -S "$PG_HOME/.s.PGSQL.$PG_PORT"
check "it listens on 127.0.0.1 only" python3 -c '
import sys
port = "%04X" % int(sys.argv[1])
ls = [l.split() for l in open("/proc/net/tcp").readlines()[1:] + open("/proc/net/tcp6").readlines()[1:]]
addrs = [l[1] for l in ls if l[1].endswith(":" + port) and l[3] == "0A"]
sys.exit(0 if addrs == ["0100007F:" + port] else 1)' "$PG_PORT"
check "fsync is off, trust on loopback" \
    test "$(pg_psql -At -c 'SHOW fsync')/$($SQ "$PG_URI" "SELECT current_user")" = "off/callqa"

check "storedb: the same rows and types on SQLite and PostgreSQL" \
    python3 "$HERE/storedb_check.py" "$T/check.db" "$PG_URI"

# restart: same port, same data, a new server
$SQ "$PG_URI" "CREATE TABLE marks (n integer, what text)"
$SQ "$PG_URI" "INSERT INTO marks VALUES (1, ?)" "before the restart"
pg_restart
check "pg_restart: started again (status $?), a new postmaster" test "$(pg_pid)" != "$PID" -a -n "$(pg_pid)"
check "pg_restart: the same port, the data kept" \
    test "$($SQ "$PG_URI" "SELECT string_agg(what, ',') FROM marks")" = "before the restart"

# kill: a crash of every server process; started again, what was committed is there
$SQ "$PG_URI" "INSERT INTO marks VALUES (2, ?)" "just before the kill"
PID=$(pg_pid)
KIDS=$(pgrep -P "$PID" | tr '\n' ' ')
pg_kill
rc=$?
alive=""
for p in $PID $KIDS; do kill -0 "$p" 2> /dev/null && alive="$alive $p"; done
check "pg_kill (status $rc): the postmaster and its $(echo "$KIDS" | wc -w) processes are gone" \
    sh -c "[ $rc = 0 ] && [ -z '$alive' ] && [ -n '$KIDS' ]"
$SQ "$PG_URI" "SELECT 1" > "$T/down.out" 2> "$T/down.err"
rc=$?
check "killed: the store is unreachable, with psql's reason (status $rc)" \
    sh -c "[ $rc = 1 ] && grep -q 'connection\|connect' '$T/down.err'"
pg_start "$T"
check "started again after the kill (status $?), on the same port" \
    test "$PG_URI" = "postgresql://callqa@127.0.0.1:$(cat "$PG_HOME/port")/callqa"
check "after the crash, every committed row is there" \
    test "$($SQ "$PG_URI" "SELECT string_agg(what, ',' ORDER BY n) FROM marks")" = "before the restart,just before the kill"
check "the server log says it recovered" grep -q 'not properly shut down\|automatic recovery' "$PG_HOME/server.log"

# stop
pg_stop
check "pg_stop: no server left (status $?)" test -z "$(pg_pid)"
check "pg_stop: the port is closed" sh -c "! $SQ '$PG_URI' 'SELECT 1' 2> /dev/null"
pg_cleanup
check "pg_cleanup after pg_stop: nothing to do, status 0" test $? = 0

# the watchdog: a test shell killed (SIGKILL: no trap runs) leaves no server behind
mkdir -p "$T/wd"
sh -c '. "$1/pg_lib.sh"; pg_start "$2" > "$2/start.log" 2>&1 || exit 1; pg_pid > "$2/pid"; exec sleep 300' \
    _ "$HERE" "$T/wd" &
WD_SH=$!
wait_until 120 test -s "$T/wd/pid"
WD_PG=$(cat "$T/wd/pid" 2> /dev/null)
kill -KILL "$WD_SH"
wait "$WD_SH" 2> /dev/null
# the watchdog looks every 2 s
gone=""
[ -n "$WD_PG" ] && wait_until 60 ended "$WD_PG" && gone=1
check "a test killed with its server running: the watchdog stops the server (pid ${WD_PG:-none})" \
    test -n "$gone"

# store_lib.sh: the selector
out=$(
    CALLQA_TEST_STORE=postgresql
    . "$HERE/../lib/store_lib.sh"
    mkdir -p "$T/sel"
    store_setup "$T/sel" > /dev/null
    a=$(test_store "$T/sel" base-1)
    store_sql "$a" "CREATE TABLE x (v text)"
    store_sql "$a" "INSERT INTO x VALUES (?)" "copied"
    b=$(store_copy "$a" "$T/sel" copy)
    store_sql "$a" "INSERT INTO x VALUES (?)" "after the copy"
    echo "$a $b $(store_sql "$b" "SELECT string_agg(v, ',') FROM x") $CALLQA_UPLOAD_DIR"
    store_cleanup
)
check "test_store on PostgreSQL: a database per name, store_copy a copy ($out)" \
    test "$out" = "postgresql://callqa@127.0.0.1:$(cat "$T/sel/pg/port")/base_1 postgresql://callqa@127.0.0.1:$(cat "$T/sel/pg/port")/copy copied $T/sel/uploads"
check "store_cleanup stopped its cluster" test ! -e "$T/sel/pg/data/postmaster.pid"
out=$(
    CALLQA_TEST_STORE=sqlite
    . "$HERE/../lib/store_lib.sh"
    store_setup "$T"
    a=$(test_store "$T" one)
    store_sql "$a" "CREATE TABLE x (v text)"
    echo "$a $(test_store "$T") $(store_copy "$a" "$T" two)"
)
check "test_store on SQLite: files in DIR ($out)" test "$out" = "$T/one.db $T/store.db $T/two.db"
(
    # shellcheck disable=SC2034 # read by store_lib.sh and pg_lib.sh
    CALLQA_TEST_STORE=postgresql CALLQA_PG_BIN=/nonexistent
    . "$HERE/../lib/store_lib.sh"
    store_setup "$T/none"
) > "$T/skip.out" 2>&1
rc=$?
check "PostgreSQL asked for and not installed: a skip (77), saying why ($(cat "$T/skip.out"))" \
    sh -c "[ $rc = 77 ] && grep -q 'no PostgreSQL server' '$T/skip.out'"
finish "pg_lib"
