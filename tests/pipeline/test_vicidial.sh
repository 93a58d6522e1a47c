#!/bin/sh
# test_vicidial.sh - `callqa ingest vicidial` against a real MariaDB (Debian's mariadb-server,
# started here under a temporary directory) holding ViciDial's schema
# (../shared/vicidial/schema.sql) and rows made here that point at corpus calls: inbound and
# outbound, ORIG/ legs with an MP3 mix (call14), a call under the minimum length, a missing
# file, NULL metadata, UTF-8 and HTML agent names, a duplicate and reordered rows, a recording
# on an unconfigured server, an open row that closes between two scans (and one that closes too
# short), the same recording_id on a second source (a latin1 database, another time zone, a
# campaign filter). The recordings sit on local disk and behind an HTTP recording server
# (python3 -m http.server). Ingest twice, `callqa worker --once` after each; every call's state
# and metadata are checked in the store. Then: a rewound mark (every row read again: nothing
# new), one scan per source at a time, MariaDB killed and restarted during a scan of 3000 rows
# in batches of 50 (retried, nothing lost or duplicated), wrong credentials.
#   usage: test_vicidial.sh BUILD/callqa SHARED_DIR
set -u
SHARED=$2
if [ ! -d "$SHARED/corpus/calls" ] || [ ! -f "$SHARED/vicidial/schema.sql" ]; then
    echo "SKIP: $SHARED (corpus, vicidial/schema.sql) is missing"
    exit 77
fi
for p in mariadbd mariadb-install-db mariadb; do
    command -v "$p" > /dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || {
        echo "FAIL: $p is not installed (scripts/deps installs mariadb-server)"
        exit 1
    }
done
PATH=$PATH:/usr/sbin
CQ=$1
C=$SHARED/corpus/calls
T=$(mktemp -d)
PIDS=""
DBPID=""
cleanup() {
    for p in $PIDS $DBPID; do kill "$p" 2> /dev/null; done
    [ -n "$DBPID" ] && wait "$DBPID" 2> /dev/null
    store_cleanup
    if [ -n "${CALLQA_TEST_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
q() { # q STORE SQL: the rows, columns joined by '|', one row a line
    store_sql "$1" "$2"
}

# ---- MariaDB, under $T ----
ROOTUSER=""
[ "$(id -u)" -eq 0 ] && ROOTUSER=--user=root
DBP=$(free_port)
SOCK=$T/my.sock
mariadb-install-db --no-defaults --datadir="$T/mysql" $ROOTUSER --auth-root-authentication-method=socket \
    --skip-test-db > "$T/install.log" 2>&1 || {
    cat "$T/install.log"
    echo "FAIL: mariadb-install-db"
    exit 1
}
start_db() {
    mariadbd --no-defaults --datadir="$T/mysql" --socket="$SOCK" --port="$DBP" --bind-address=127.0.0.1 \
        --pid-file="$T/my.pid" --log-error="$T/my.err" --skip-name-resolve --skip-log-bin \
        --innodb-buffer-pool-size=16M $ROOTUSER &
    DBPID=$!
    wait_until 120 db_up && ! ended "$DBPID" && return 0
    cat "$T/my.err"
    return 1
}
db_up() { mariadb --no-defaults -S "$SOCK" -uroot -e 'SELECT 1' > /dev/null 2>&1 || ended "$DBPID"; }
start_db || { echo "FAIL: mariadbd did not start"; exit 1; }
SQL="mariadb --no-defaults --default-character-set=utf8mb4 -S $SOCK -uroot"
for d in "asterisk utf8mb4" "asterisk2 latin1" "asterisk3 utf8mb4"; do
    set -- $d
    $SQL -e "CREATE DATABASE $1 CHARACTER SET $2" && $SQL "$1" < "$SHARED/vicidial/schema.sql" ||
        { echo "FAIL: loading the schema into $1"; exit 1; }
done
# the account callqa reads with: SELECT only
$SQL -e "CREATE USER 'callqa'@'127.0.0.1' IDENTIFIED BY 'pw-5ecret-ro';
         GRANT SELECT ON asterisk.* TO 'callqa'@'127.0.0.1';
         GRANT SELECT ON asterisk2.* TO 'callqa'@'127.0.0.1';
         GRANT SELECT ON asterisk3.* TO 'callqa'@'127.0.0.1';"
printf 'pw-5ecret-ro\n' > "$T/pw"
chmod 600 "$T/pw"
URI="mysql://callqa@127.0.0.1:$DBP"

# ---- the recordings: local disk and an HTTP recording server ----
R=$T/rec
W=$T/www/RECORDINGS
mkdir -p "$R/ORIG" "$R/MP3" "$W/ORIG" "$W/MP3"
cp "$C/call01_normal.wav" "$R/out01-all.wav"
cp "$C/call14_vicidial-in.wav" "$R/ORIG/v14-in.wav"
cp "$C/call14_vicidial-out.wav" "$R/ORIG/v14-out.wav"
cp "$C/call14_vicidial-all.mp3" "$R/MP3/v14-all.mp3"
cp "$C/call11_sit_intercept.wav" "$R/s11-all.wav"
cp "$C/call09_noise.wav" "$R/r09-all.wav"
cp "$C/call07_clipping.wav" "$R/r07-all.wav"
cp "$C/call13_mono_diarization.wav" "$R/r13-all.wav"
cp "$C/call03_dead_air.wav" "$R/d2c03-all.wav"
sox "$C/call04_hold_music.wav" -b 16 -e signed "$W/ORIG/h04-in.wav" remix 1
sox "$C/call04_hold_music.wav" -b 16 -e signed "$W/ORIG/h04-out.wav" remix 2
cp "$C/call04_hold_music.wav" "$W/h04-all.wav"
cp "$C/call14_vicidial-all.mp3" "$W/MP3/h14-all.mp3"
HP=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$HP" --bind 127.0.0.1 > "$T/httpd.log" 2>&1) &
PIDS="$PIDS $!"
wait_http "$HP" || { echo "FAIL: the recording server did not start: $(cat "$T/httpd.log")"; exit 1; }
RS="r1=http://127.0.0.1:$HP/RECORDINGS"
L="http://127.0.0.1:$HP/RECORDINGS"

# ---- dialer 1 (utf8mb4, America/New_York) ----
# NOTE recording 9 and 13 are open (length_in_sec NULL); 8 is a second row for recording 1's
# file; 5's file is nowhere; 7 is on a server that is not configured.
$SQL asterisk << EOF || { echo "FAIL: dialer 1's rows"; exit 1; }
INSERT INTO vicidial_users (user, pass, full_name) VALUES
 ('1001', 'x', 'Zoë Łukasz 李小龍 🎧'), ('1002', 'x', 'Plain Agent'),
 ('1003', 'x', '<script>alert("x")</script> & <b>Bob</b>');
INSERT INTO vicidial_campaigns (campaign_id, campaign_name) VALUES ('SALES', 'Sales Outbound');
INSERT INTO vicidial_inbound_groups (group_id, group_name) VALUES ('SUPPORT', 'Support Line');
INSERT INTO vicidial_log (uniqueid, lead_id, campaign_id, call_date, status, user, term_reason) VALUES
 ('1709305200.101', 55, 'SALES', '2024-03-01 10:00:00', 'SALE', '1001', 'AGENT'),
 ('1709305300.102', 56, 'SALES', '2024-03-01 10:01:40', 'NI', '1003', 'CALLER'),
 ('1709388000.103', 57, 'SALES', '2024-03-02 09:00:00', 'SALE', '1001', 'AGENT'),
 ('1709388100.104', 58, 'SALES', '2024-03-02 09:01:40', 'DNC', '1002', 'CALLER');
INSERT INTO vicidial_closer_log (closecallid, lead_id, campaign_id, call_date, status, user, term_reason, uniqueid) VALUES
 (7, 60, 'SUPPORT', '2024-07-01 10:00:00', 'RESOLV', '1002', 'CALLER', '1719842400.7'),
 (8, 61, 'SUPPORT', '2024-03-01 12:00:00', 'CALLBK', '1003', 'AGENT', '1709312400.8');
INSERT INTO recording_log (recording_id, start_time, start_epoch, length_in_sec, filename, location, lead_id, user, vicidial_id) VALUES
 (1, '2024-03-01 10:00:05', NULL, 63, 'out01', '$L/out01-all.wav', 55, '1001', '1709305200.101'),
 (2, '2024-07-01 10:00:00', 1719842400, 78, 'v14', '$L/MP3/v14-all.mp3', 60, '1002', '7'),
 (3, '2024-03-01 10:01:45', NULL, 7, 's11', '$L/s11-all.wav', 56, '1003', '1709305300.102'),
 (4, '2024-03-01 12:00:05', NULL, 87, 'h04', '$L/h04-all.wav', 61, '1003', '8'),
 (5, '2024-03-01 13:00:00', NULL, 45, 'gone', '$L/gone-all.wav', 62, '1002', NULL),
 (6, NULL, NULL, 78, 'h14', '$L/MP3/h14-all.mp3', NULL, NULL, NULL),
 (7, '2024-03-01 14:00:00', NULL, 50, 'far', 'http://10.255.255.1/RECORDINGS/far-all.wav', 63, '1002', NULL),
 (8, '2024-03-01 10:00:05', NULL, 63, 'out01', '$L/out01-all.wav', 55, '1001', '1709305200.101'),
 (9, '2024-03-02 09:00:05', NULL, NULL, 'op12', NULL, 57, '1001', '1709388000.103'),
 (13, '2024-03-02 09:01:45', NULL, NULL, 'op05', NULL, 58, '1002', '1709388100.104');
EOF
# ---- dialer 2 (latin1, the system's zone: TZ, a campaign filter); its recording 1 is not dialer 1's ----
$SQL asterisk2 << EOF || { echo "FAIL: dialer 2's rows"; exit 1; }
INSERT INTO vicidial_users (user, pass, full_name) VALUES ('2001', 'x', 'Renée Müller');
INSERT INTO vicidial_campaigns (campaign_id, campaign_name) VALUES ('SALES2', 'Verkauf'), ('OTHER', 'Other');
INSERT INTO vicidial_log (uniqueid, lead_id, campaign_id, call_date, status, user) VALUES
 ('1709900000.1', 9, 'SALES2', '2024-03-08 12:13:20', 'SALE', '2001'),
 ('1709900100.2', 10, 'OTHER', '2024-03-08 12:15:00', 'SALE', '2001');
INSERT INTO recording_log (recording_id, start_time, start_epoch, length_in_sec, filename, location, lead_id, user, vicidial_id) VALUES
 (1, '2024-03-08 06:13:25', NULL, 88, 'd2c03', NULL, 9, '2001', '1709900000.1'),
 (2, '2024-03-08 06:15:05', NULL, 60, 'd2oth', NULL, 10, '2001', '1709900100.2');
EOF

S=$(test_store "$T" store) || exit 1
ingest1() { # ingest1 LOG [args]: one scan of dialer 1
    log=$1
    shift
    "$CQ" ingest vicidial --vicidial "$URI/asterisk" --vicidial-password-file "$T/pw" --source dialer1 \
        --db "$S" --recordings-dir "$R" --recording-server "$RS" --tz America/New_York --once "$@" \
        > "$T/$log" 2>&1
}
# scoring off: qa_check.py checks the figures of a store without scores (the scores have their
# own test, tests/pipeline/test_qa_scores.sh)
worker() {
    CALLQA_SCORING=false "$CQ" worker --once --db "$S" --recordings-dir "$R" --recording-server "$RS" --jobs 2 --max-load 0 \
        --no-idle --max-retries 0 > "$T/$1" 2>&1
}
st() { # st SOURCE RECORDING_ID: the job's state
    q "$S" "SELECT j.state FROM jobs j JOIN calls c ON c.id = j.call_id WHERE c.source = '$1' AND c.recording_id = '$2'"
}
col() { # col SOURCE RECORDING_ID COLUMN
    q "$S" "SELECT $3 FROM calls WHERE source = '$1' AND recording_id = '$2'"
}

# ---- scan 1, the worker ----
ingest1 ingest1.log
check "scan 1 of dialer 1 exits 0" test $? -eq 0
check "scan 1 read 10 rows: 10 calls created, 2 open" \
    grep -q '"rows":10,"created":10,"updated":0,"skipped":2,"filtered":0,"open":2' "$T/ingest1.log"
TZ=America/Chicago "$CQ" ingest vicidial --vicidial "$URI/asterisk2" --vicidial-password-file "$T/pw" \
    --source dialer2 --db "$S" --recordings-dir "$R" --campaign SALES2 --once > "$T/ingest2.log" 2>&1
check "dialer 2 exits 0, one row left out by the campaign filter" \
    grep -q '"rows":2,"created":1,"updated":0,"skipped":0,"filtered":1' "$T/ingest2.log"
check "open rows are stored open, their jobs held" \
    test "$(q "$S" "SELECT c.recording_id, c.open, j.state, j.next_attempt > 1e12 FROM calls c JOIN jobs j ON j.call_id = c.id WHERE c.open = 1 ORDER BY c.id" | tr '\n' ' ')" = "9|1|pending|1 13|1|pending|1 "
worker worker1.log
check "worker 1 exits 0" test $? -eq 0
check "the open calls are not claimed by the worker" test "$(st dialer1 9)/$(st dialer1 13)" = "pending/pending"

# ---- between the scans: the open rows close; rows arrive out of order, two of them below the
# mark (13): visible only after higher ids (as InnoDB's concurrent inserts can make them) ----
cp "$C/call12_overtalk.wav" "$R/op12-all.wav"
$SQL asterisk << EOF
UPDATE recording_log SET length_in_sec = 58, location = '$L/op12-all.wav' WHERE recording_id = 9;
UPDATE recording_log SET length_in_sec = 5, location = '$L/op05-all.wav' WHERE recording_id = 13;
INSERT INTO recording_log (recording_id, start_time, length_in_sec, filename, location, user) VALUES
 (16, '2024-03-05 09:00:00', 51, 'r07', '$L/r07-all.wav', '1002');
INSERT INTO recording_log (recording_id, start_time, length_in_sec, filename, location, user) VALUES
 (14, '2024-03-06 09:00:00', 53, 'r09', '$L/r09-all.wav', '1002');
INSERT INTO recording_log (recording_id, start_time, length_in_sec, filename, location, user) VALUES
 (11, '2024-03-04 09:00:00', 49, 'r13', '$L/r13-all.wav', '1002');
INSERT INTO recording_log (recording_id, start_time, length_in_sec, filename, location, user) VALUES
 (10, '2024-03-03 09:00:00', 63, 'out01', '$L/out01-all.wav', '1001');
EOF
ingest1 ingest3.log
check "scan 2: 2 open rows revisited (both closed), 2 late rows below the mark, 2 new rows" \
    grep -q '"rows":6,"created":4,"updated":2,"skipped":1,"filtered":0,"open":0,"closed":2,"late":2' "$T/ingest3.log"
worker worker2.log
check "worker 2 exits 0" test $? -eq 0

# ---- every call in the right state ----
expect() { # expect SOURCE RID STATE
    check "$1 recording $2: $3" test "$(st "$1" "$2")" = "$3"
}
for r in 1 2 4 6 8 9 10 11 14 16; do expect dialer1 $r complete; done
for r in 3 7 13; do expect dialer1 $r skipped; done
expect dialer1 5 error
expect dialer2 1 complete
reason() {
    q "$S" "SELECT j.skip_reason FROM jobs j JOIN calls c ON c.id = j.call_id WHERE c.source = '$1' AND c.recording_id = '$2'"
}
check "too short: the reason" test "$(reason dialer1 3)" = "too short: 7 s, under 30 s"
check "closed too short: the reason" test "$(reason dialer1 13)" = "too short: 5 s, under 30 s"
check "unconfigured server: the reason, never fetched" \
    test "$(reason dialer1 7)" = "location: recording on an unconfigured server 10.255.255.1"
check "missing file: error 'missing'" \
    sh -c "test \"\$1\" != \"\${1#missing}\"" _ "$(q "$S" "SELECT j.error_message FROM jobs j JOIN calls c ON c.id = j.call_id WHERE c.recording_id = '5'")"
check "15 calls in all (14 + 1), no (source, recording_id) twice, one job each" \
    test "$(q "$S" "SELECT COUNT(*), COUNT(DISTINCT source || '/' || recording_id), (SELECT COUNT(*) FROM jobs) FROM calls")" = "15|15|15"
check "one analysis per completed call (11)" \
    test "$(q "$S" "SELECT COUNT(*), COUNT(DISTINCT call_id) FROM analyses WHERE call_id IS NOT NULL")" = "11|11"

# ---- the metadata ----
check "outbound: direction, campaign, disposition, term_reason, uniqueid, lead" \
    test "$(col dialer1 1 "direction, campaign_id, campaign_name, disposition, term_reason, uniqueid, lead_id")" = "outbound|SALES|Sales Outbound|SALE|AGENT|1709305200.101|55"
check "inbound: direction, in-group, disposition, term_reason, uniqueid" \
    test "$(col dialer1 2 "direction, campaign_id, campaign_name, disposition, term_reason, uniqueid")" = "inbound|SUPPORT|Support Line|RESOLV|CALLER|1719842400.7"
check "the UTF-8 agent name verbatim" test "$(col dialer1 1 agent_name)" = "Zoë Łukasz 李小龍 🎧"
check "the HTML agent name verbatim" \
    test "$(col dialer1 4 agent_name)" = '<script>alert("x")</script> & <b>Bob</b>'
check "a latin1 dialer's name arrives as UTF-8" test "$(col dialer2 1 agent_name)" = "Renée Müller"
# the UTC epochs, computed here with Python's zoneinfo
utc() { python3 -c 'import sys, datetime, zoneinfo; print("%.1f" % datetime.datetime.strptime(sys.argv[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zoneinfo.ZoneInfo(sys.argv[2])).timestamp())' "$1" "$2"; }
check "call date in the dialer's zone, UTC from it (EST)" \
    test "$(col dialer1 1 "call_date, tz, call_epoch")" = "2024-03-01 10:00:05|America/New_York|$(utc '2024-03-01 10:00:05' America/New_York)"
check "the dialer's start_epoch when given (EDT)" \
    test "$(col dialer1 2 "call_date, call_epoch")" = "2024-07-01 10:00:00|1719842400.0"
check "the system's zone by default (TZ)" \
    test "$(col dialer2 1 "tz, call_epoch")" = "America/Chicago|$(utc '2024-03-08 06:13:25' America/Chicago)"
check "NULL metadata stays unknown" \
    test "$(col dialer1 6 "direction, agent_user, agent_name, campaign_id, call_date, call_epoch, lead_id, vicidial_id, uniqueid")" = "||||||||"
check "local ORIG legs with the MP3 mix, deleted by the dialer a day after the start" \
    test "$(col dialer1 2 "audio, audio_in, audio_out, orig_deadline")" = "MP3/v14-all.mp3|ORIG/v14-in.wav|ORIG/v14-out.wav|$((1719842400 + 86400)).0"
check "ORIG legs analysed as two legs (local and from the recording server)" \
    test "$(q "$S" "SELECT c.recording_id, a.legs FROM analyses a JOIN calls c ON c.id = a.call_id WHERE c.recording_id IN ('2', '4') AND c.source = 'dialer1' ORDER BY c.id" | tr '\n' ' ')" = "2|2 4|2 "
check "the recording server's files as NAME:RELPATH" \
    test "$(col dialer1 4 audio)/$(col dialer1 6 audio)" = "r1:h04-all.wav/r1:MP3/h14-all.mp3"
check "the same recording id on two sources: two calls" \
    test "$(q "$S" "SELECT source, agent_user FROM calls WHERE recording_id = '1' ORDER BY source" | tr '\n' ' ')" = "dialer1|1001 dialer2|2001 "
check "the mark is past the last row" test "$(q "$S" "SELECT mark FROM ingest_sources WHERE source = 'dialer1'")" = 16

# ---- the QA API over what the dialer gave ----
PORT=$(free_port)
"$CQ" serve --db "$S" --no-auth --listen "127.0.0.1:$PORT" > "$T/serve.log" 2>&1 &
SERVE=$!
PIDS="$PIDS $SERVE"
serving "$SERVE" "http://127.0.0.1:$PORT/health" || { echo "FAIL: serve did not start: $(cat "$T/serve.log")"; exit 1; }
check "every /api/qa answer over the ingested calls equals the figures of the stored reports" \
    python3 "$(dirname "$0")/qa_check.py" "$S" "http://127.0.0.1:$PORT"
kill "$SERVE"
wait "$SERVE" 2>/dev/null

# ---- the scan on a schedule: inside `callqa worker` and `callqa serve`, from the settings ----
cat > "$T/site.conf" <<EOF
vicidial = $URI/asterisk
vicidial_password_file = $T/pw
vicidial_source = dialer1
vicidial_tz = America/New_York
recordings_dir = $R
recording_server = $RS
ingest_interval_sec = 5
EOF
states() { # states STORE: dialer 1's calls and their states
    q "$1" "SELECT c.recording_id || '=' || j.state FROM calls c JOIN jobs j ON j.call_id = c.id WHERE c.source = 'dialer1' ORDER BY CAST(c.recording_id AS INTEGER)" | tr '\n' ' '
}
SCHED=$(test_store "$T" sched) || exit 1
SERVED=$(test_store "$T" served) || exit 1
"$CQ" worker --once --config "$T/site.conf" --db "$SCHED" --jobs 2 --max-load 0 --no-idle \
    --max-retries 0 > "$T/sched.log" 2>&1
check "worker --once with a dialer in its settings: the scan, then the queue drained (exit 0)" \
    test $? -eq 0
check "every dialer-1 call in the state the separate ingest and worker gave it" \
    test "$(states "$SCHED")" = "$(states "$S")"
PORT=$(free_port)
CALLQA_WORKER_JOBS=1 "$CQ" serve --config "$T/site.conf" --db "$SERVED" --no-auth \
    --listen "127.0.0.1:$PORT" > "$T/served.log" 2>&1 &
SERVE=$!
PIDS="$PIDS $SERVE"
drained() {
    [ "$(states "$SERVED" 2>/dev/null)" = "$(states "$S")" ]
}
# every 2 s: the embedded worker pauses while the load average is above 4 (2 x CPUs), and a
# store read (python, and psql on PostgreSQL) twice a second adds to it on a 2-CPU machine;
# 10 minutes at most (a loaded machine holds the worker paused for a while)
end=$(($(date +%s) + 600))
until drained || [ "$(date +%s)" -ge "$end" ]; do
    sleep 2
done
check "callqa serve with worker_jobs and a dialer: its sidecars scan and analyse every call" drained
check "both sidecars were started, and logged" sh -c \
    "grep -q '\"sidecar\":\"worker\"' '$T/served.log' && grep -q '\"sidecar\":\"ingest\"' '$T/served.log'"
check "the embedded worker is in /api/qa/workers" sh -c \
    "curl -s http://127.0.0.1:$PORT/api/qa/workers | grep -q '\"state\":\"running\"'"
kids=$(pgrep -P "$SERVE" | tr '\n' ' ')
kill "$SERVE"
wait "$SERVE"
rc=$?
alive=""
for k in $kids; do kill -0 "$k" 2>/dev/null && alive="$alive $k"; done
check "SIGTERM: the service ends (exit $rc), and its children ($kids) with it" \
    sh -c "[ $rc = 0 ] && [ $(echo "$kids" | wc -w) -ge 3 ] && [ -z '$alive' ]"
check "the sidecars were asked to stop and did" test "$(grep -c '"msg":"stopped","sidecar"' "$T/served.log")" = 2

# ---- every row again (the mark rewound): nothing new, nothing changed ----
q "$S" "SELECT c.id, j.state FROM calls c JOIN jobs j ON j.call_id = c.id ORDER BY c.id" > "$T/before"
q "$S" "UPDATE ingest_sources SET mark = 0"
ingest1 ingest4.log
check "every row read again: nothing created" grep -q '"rows":14,"created":0,"updated":14' "$T/ingest4.log"
q "$S" "SELECT c.id, j.state FROM calls c JOIN jobs j ON j.call_id = c.id ORDER BY c.id" > "$T/after"
check "the same calls, the same states" cmp -s "$T/before" "$T/after"
echo "# dialer 1: $(wc -l < "$T/after") calls in the store: $(q "$S" "SELECT state || '=' || COUNT(*) FROM jobs GROUP BY state ORDER BY state" | tr '\n' ' ')"

# ---- MariaDB killed and restarted during a scan; one scan per source ----
$SQL asterisk3 << 'EOF'
INSERT INTO vicidial_users (user, pass, full_name) SELECT CONCAT('u', seq), 'x', CONCAT('Agent ', seq) FROM seq_1_to_50;
INSERT INTO vicidial_campaigns (campaign_id, campaign_name) VALUES ('BULK', 'Bulk');
INSERT INTO vicidial_inbound_groups (group_id, group_name) VALUES ('INB', 'Inbound');
INSERT INTO vicidial_log (uniqueid, lead_id, campaign_id, call_date, status, user)
 SELECT CONCAT('1710000000.', seq), seq, 'BULK', '2024-03-10 09:00:00', 'SALE', CONCAT('u', seq % 50 + 1) FROM seq_1_to_3000 WHERE seq % 2 = 0;
INSERT INTO vicidial_closer_log (closecallid, lead_id, campaign_id, call_date, status, user, uniqueid)
 SELECT seq, seq, 'INB', '2024-03-10 09:00:00', 'DONE', CONCAT('u', seq % 50 + 1), CONCAT('1710000000.', seq) FROM seq_1_to_3000 WHERE seq % 2 = 1;
INSERT INTO recording_log (recording_id, start_time, length_in_sec, filename, location, lead_id, user, vicidial_id)
 SELECT seq, '2024-03-10 09:00:00' + INTERVAL seq SECOND, 60, CONCAT('bulk', seq), CONCAT('http://127.0.0.1/RECORDINGS/bulk', seq, '-all.wav'),
        seq, CONCAT('u', seq % 50 + 1), IF(seq % 2 = 0, CONCAT('1710000000.', seq), seq) FROM seq_1_to_3000;
EOF
check "3000 generated rows" test "$($SQL -N asterisk3 -e 'SELECT COUNT(*) FROM recording_log')" = 3000
B=$(test_store "$T" bulk) || exit 1
# a pause of 0.5 s after each of the 60 batches: the second scan and the kill below come well
# within the scan's 30 s
CALLQA_TEST_INGEST_PAUSE_MS=500 "$CQ" ingest vicidial --vicidial "$URI/asterisk3" --vicidial-password-file "$T/pw" \
    --source bulk --db "$B" --recording-server "r1=http://127.0.0.1/RECORDINGS" --batch 50 --once \
    > "$T/bulk.log" 2>&1 &
BULK=$!
PIDS="$PIDS $BULK"
mark() { q "$B" "SELECT mark FROM ingest_sources WHERE source = 'bulk'" 2> /dev/null; }
marked() { m=$(mark); [ -n "$m" ] && [ "$m" -gt 0 ]; }
wait_until 120 marked
"$CQ" ingest vicidial --vicidial "$URI/asterisk3" --vicidial-password-file "$T/pw" --source bulk --db "$B" \
    --once > "$T/bulk2.log" 2>&1
check "a second scan of the same source meanwhile does nothing" \
    grep -q 'another process is scanning this source' "$T/bulk2.log"
killed_at=$(mark)
kill -9 "$DBPID"
wait "$DBPID" 2> /dev/null
sleep 2
check "MariaDB killed mid-scan (mark $killed_at of 3000)" test "${killed_at:-0}" -gt 0 -a "${killed_at:-0}" -lt 3000
start_db
check "MariaDB restarted" test $? -eq 0
# the dialer's admin repairs what the crash left marked as crashed (tables written and not
# flushed: those of the rows generated above); the scan waits for it
sleep 1
mariadb-check --no-defaults -S "$SOCK" -uroot --auto-repair asterisk3 > "$T/repair.log" 2>&1
wait "$BULK"
check "the scan retried and finished (exit 0)" test $? -eq 0
check "the lost connection was logged and retried" grep -q 'reconnected to the ViciDial database' "$T/bulk.log"
check "nothing lost, nothing twice: 3000 calls, 3000 ids, mark 3000" \
    test "$(q "$B" "SELECT COUNT(*), COUNT(DISTINCT recording_id), MAX(CAST(recording_id AS INTEGER)), (SELECT mark FROM ingest_sources WHERE source = 'bulk') FROM calls")" = "3000|3000|3000|3000"
check "1500 inbound and 1500 outbound, every agent named" \
    test "$(q "$B" "SELECT direction || '=' || COUNT(*) || '/' || COUNT(agent_name) FROM calls GROUP BY direction ORDER BY direction" | tr '\n' ' ')" = "inbound=1500/1500 outbound=1500/1500 "
echo "# bulk: $(grep -c 'connection is lost' "$T/bulk.log") reconnection attempts, $(grep -c 'marked as crashed' "$T/bulk.log") waits for a repair; $(grep '"msg":"scan"' "$T/bulk.log")"

# ---- wrong credentials ----
printf 'not-the-password\n' > "$T/badpw"
chmod 600 "$T/badpw"
X=$(test_store "$T" x) || exit 1
"$CQ" ingest vicidial --vicidial "$URI/asterisk" --vicidial-password-file "$T/badpw" --db "$X" --once \
    > "$T/bad.log" 2>&1
check "wrong credentials: exit 1" test $? -eq 1
check "wrong credentials: the error names the server" grep -q "callqa@127.0.0.1:$DBP/asterisk: Access denied" "$T/bad.log"
check "wrong credentials: never the password" sh -c "! grep -q not-the-password '$T/bad.log'"
chmod 644 "$T/badpw"
"$CQ" ingest vicidial --vicidial "$URI/asterisk" --vicidial-password-file "$T/badpw" --db "$X" --once \
    > "$T/mode.log" 2>&1
check "a password file others may read is refused" grep -q 'mode 0600 or stricter' "$T/mode.log"

finish "ViciDial ingest"
