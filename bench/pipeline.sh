#!/bin/sh
# bench/pipeline.sh - the QA pipeline on this machine, in three sections (all by default):
#   worker  `callqa worker --once --jobs 2` on the corpus calls queued in a store, against
#           `callqa analyze --jobs 2 --json` on the same calls (the 14 corpus calls, call14 as
#           its -in/-out legs, COPIES times under distinct names); rounds alternate the two, so a
#           slow spell of the machine hits both; medians, the ratio and the overhead of the queue
#           and the store. The worker in the idle scheduling classes (its default) is timed too.
#   ingest  `callqa ingest vicidial` reading N generated recording_log rows (with their
#           vicidial_log / vicidial_closer_log rows, users, campaigns, in-groups) from a MariaDB
#           started here under a temporary directory: rows per second into an empty store, and a
#           second scan that finds nothing new.
#   api     /api/qa/daily-summary, /leaderboard and /flagged of `callqa serve` on a store made by
#           bench/gen_store.py (CALLS calls over 365 days ending today, 300 agents, 10 % flagged,
#           no report blobs): p50 / p99 / max over REQS sequential requests each.
#   api-pg  the same requests on PostgreSQL: the same generated store (or API_STORE) copied by
#           `callqa store migrate` into a private PostgreSQL server started here
#           (tests/pg/pg_lib.sh), served by `callqa serve --db postgresql://...`; the answers
#           are checked against the SQLite store they were copied from.
# Each section writes bench/out/pipeline-SECTION.txt (and prints it).
#   usage: bench/pipeline.sh [worker] [ingest] [api] [api-pg]   (after scripts/build; the
#          default: the first three)
#   settings (environment): COPIES=4 ROUNDS=3 FILL=0 (worker), ROWS=100000 PER_DAY=2700 (ingest),
#       CALLS=1000000 REQS=200 (api; API_STORE=PATH: the requests on a store made before),
#       CQ=build/callqa, CALLQA_SHARED_DIR=../shared
#   needs: python3, curl, /usr/bin/time (worker), mariadb-server (ingest): scripts/deps --bench
set -eu
cd "$(dirname "$0")/.."
SHARED=${CALLQA_SHARED_DIR:-../shared}
CQ=${CQ:-build/callqa}
OUT=bench/out
SECTIONS=${*:-worker ingest api}
SECTIONS=$(echo "$SECTIONS" | sed 's/api-pg/api_pg/g')
mkdir -p "$OUT"

die() {
    echo "bench/pipeline.sh: $*" >&2
    exit 1
}
need() { # need TOOL...: each on PATH or in /usr/sbin, or a clear error
    for t in "$@"; do
        command -v "$t" > /dev/null 2>&1 || [ -x "/usr/sbin/$t" ] ||
            die "$t is missing (scripts/deps --bench installs the benchmarks' tools)"
    done
}
for s in $SECTIONS; do
    case $s in worker | ingest | api | api_pg) ;; *) die "unknown section '$s' (worker, ingest, api, api-pg)" ;; esac
done
need python3 curl
[ -x "$CQ" ] || die "$CQ is not built (scripts/build, or set CQ)"
PATH=$PATH:/usr/sbin

T=$(mktemp -d "${TMPDIR:-/tmp}/cq-pbench.XXXXXX")
PIDS=""
DBPID=""
cleanup() {
    for p in $PIDS $DBPID; do kill "$p" 2> /dev/null || true; done
    for p in $PIDS $DBPID; do wait "$p" 2> /dev/null || true; done
    if command -v pg_cleanup > /dev/null 2>&1; then pg_cleanup; fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
sq() { # sq STORE SQL: the rows, columns joined by '|'
    python3 - "$1" "$2" << 'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
EOF
}
serve_start() { # serve_start STORE: `callqa serve --db STORE` on a free port; $U and $SERVE set
    port=$(free_port)
    U="http://127.0.0.1:$port"
    slog=$T/serve-$port.log # (a store may be a URI: no file to put it beside)
    "$CQ" serve --db "$1" --no-auth --listen "127.0.0.1:$port" > "$slog" 2>&1 &
    SERVE=$!
    PIDS="$PIDS $SERVE"
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$U/health" && return 0
        kill -0 "$SERVE" 2> /dev/null || break
        sleep 0.1
    done
    die "callqa serve did not start: $(cat "$slog")"
}
serve_stop() {
    kill "$SERVE"
    wait "$SERVE" 2> /dev/null || true
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
machine() {
    echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)"
    echo "callqa: $("$CQ" version 2>&1 | head -1), commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
}

# ---- worker ------------------------------------------------------------------------------------
bench_worker() {
    need /usr/bin/time
    C=$SHARED/corpus/calls
    if [ ! -d "$C" ] || [ ! -d "$SHARED/models" ]; then die "$C or $SHARED/models is missing"; fi
    export CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$SHARED/models}"
    COPIES=${COPIES:-4}
    ROUNDS=${ROUNDS:-3}
    W=$T/worker
    mkdir -p "$W/files"
    # the calls: every corpus WAV (call14 as its -in/-out legs, its MP3 mix left out), COPIES times
    for k in $(seq "$COPIES"); do
        for f in "$C"/*.wav; do
            ln -s "$(cd "$C" && pwd)/$(basename "$f")" "$W/files/k${k}_$(basename "$f")"
        done
    done
    N=0 # the calls: an -out leg is its -in leg's call
    for f in "$C"/*.wav; do case $f in *-out.wav) ;; *) N=$((N + COPIES)) ;; esac; done
    # the store, filled through the upload route (not timed): one pending job per call; with
    # FILL=N, after N calls of today already analysed and scored (bench/gen_store.py), so that
    # each roll-up of the day the worker's commits make covers N calls as in a busy call center
    FILL=${FILL:-0}
    if [ "$FILL" -gt 0 ]; then
        serve_start "$W/s0.db"
        serve_stop
        python3 bench/gen_store.py --db "$W/s0.db" --calls "$FILL" --days 1 \
            --store-c src/store/store.c > "$W/gen.txt" || die "gen_store.py failed"
    fi
    serve_start "$W/s0.db"
    i=0
    for k in $(seq "$COPIES"); do
        for f in "$C"/*.wav; do
            b=$(basename "$f" .wav)
            case $b in *-out) continue ;; esac
            i=$((i + 1))
            rid=k${k}_${b%-in}
            case $b in
            *-in) parts="-F in=@$f -F out=@${f%-in.wav}-out.wav" ;;
            *) parts="-F audio=@$f" ;;
            esac
            meta="{\"recording_id\":\"$rid\",\"agent_user\":\"a$((i % 7))\",\"campaign_id\":\"BENCH\",\"call_date\":\"$(date +%F) 09:$(printf %02d $((i % 60))):00\"}"
            # shellcheck disable=SC2086 # the parts are words on purpose
            code=$(curl -s -o "$W/up.json" -w '%{http_code}' -F "metadata=$meta;type=application/json" \
                $parts "$U/api/qa/calls")
            [ "$code" = 201 ] || die "upload $rid: $code $(cat "$W/up.json")"
        done
    done
    serve_stop
    sq "$W/s0.db" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
    [ "$(sq "$W/s0.db" "SELECT COUNT(*) FROM jobs WHERE state = 'pending'")" = "$N" ] ||
        die "the store does not hold $N pending calls"

    R=$W/rounds.txt
    : > "$R"
    timed() { # timed KEY CMD...: one run; "KEY wall user sys" appended to $R
        key=$1
        shift
        /usr/bin/time -f "$key %e %U %S" -o "$W/time" "$@" > "$W/$key.out" 2> "$W/$key.err" ||
            die "$key: $* failed: $(tail -3 "$W/$key.err")"
        cat "$W/time" >> "$R"
    }
    run_analyze() {
        timed cli "$CQ" analyze --jobs 2 --json -q "$W/files"
        [ "$(wc -l < "$W/cli.out")" = "$N" ] || die "analyze: $(wc -l < "$W/cli.out") reports, not $N"
    }
    run_worker() { # run_worker KEY [--no-idle]: on a fresh copy of the filled store
        key=$1
        shift
        rm -f "$W/s.db" "$W/s.db-wal" "$W/s.db-shm"
        cp "$W/s0.db" "$W/s.db"
        timed "$key" "$CQ" worker --db "$W/s.db" --once --jobs 2 --max-load 0 "$@"
        done_=$(sq "$W/s.db" "SELECT COUNT(*) FROM jobs j JOIN calls c ON c.id = j.call_id WHERE j.state = 'complete' AND c.source = 'upload'")
        [ "$done_" = "$N" ] || die "$key: $done_ calls complete, not $N: $(sq "$W/s.db" "SELECT state, COUNT(*) FROM jobs GROUP BY state")"
    }
    load0=$(cat /proc/loadavg)
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            run_analyze
            run_worker worker --no-idle
        else
            run_worker worker --no-idle
            run_analyze
        fi
        run_worker idle
    done
    load1=$(cat /proc/loadavg)
    reports=$(sq "$W/s.db" "SELECT COUNT(*), SUM(legs = 2), ROUND(SUM(duration_sec), 1) FROM analyses WHERE engine != 'cq1-bench-generated'")
    {
        echo "== worker: $N calls (the 14 corpus calls x $COPIES), $ROUNDS rounds, CALLQA_MODEL_DIR=$CALLQA_MODEL_DIR"
        if [ "$FILL" -gt 0 ]; then echo "the store held $FILL calls of the same day before (FILL): $(head -1 "$W/gen.txt")"; fi
        machine
        echo "load average before: $load0"
        echo "load average after:  $load1"
        echo "commands (each timed with /usr/bin/time; the store copied afresh before each worker run):"
        echo "  cli:    $CQ analyze --jobs 2 --json -q DIR    (DIR: the $N calls as symbolic links)"
        echo "  worker: $CQ worker --db S --once --jobs 2 --max-load 0 --no-idle"
        echo "  idle:   $CQ worker --db S --once --jobs 2 --max-load 0    (SCHED_IDLE, ionice idle)"
        echo "last worker store: analyses (count, two-leg, audio seconds): $reports"
        echo "rounds (key wall user sys, seconds):"
        sed 's/^/  /' "$R"
        for k in cli worker idle; do
            w=$(awk -v k="$k" '$1 == k {print $2}' "$R" | median)
            cpu=$(awk -v k="$k" '$1 == k {print $3 + $4}' "$R" | median)
            printf '%-7s median wall %7.2f s  %6.2f calls/s  median CPU (user+sys) %7.2f s\n' \
                "$k" "$w" "$(awk -v n="$N" -v w="$w" 'BEGIN {print n / w}')" "$cpu"
        done
        awk -v c="$(awk '$1 == "cli" {print $2}' "$R" | median)" \
            -v w="$(awk '$1 == "worker" {print $2}' "$R" | median)" \
            -v i="$(awk '$1 == "idle" {print $2}' "$R" | median)" 'BEGIN {
            printf "worker / cli wall: %.3f (overhead %+.1f %%); idle worker / cli: %.3f\n",
                w / c, (w / c - 1) * 100, i / c }'
        awk '{cpu[$1] += $3 + $4} END {printf "worker / cli CPU (user+sys, all rounds): %.3f; idle worker / cli: %.3f\n",
                cpu["worker"] / cpu["cli"], cpu["idle"] / cpu["cli"]}' "$R"
        echo "per round, worker / cli:"
        awk '$1 == "cli" {c[++nc] = $2} $1 == "worker" {w[++nw] = $2}
             END {for (i = 1; i <= nc; i++) printf "  round %d: %.3f\n", i, w[i] / c[i]}' "$R"
    } > "$OUT/pipeline-worker.txt"
    cat "$OUT/pipeline-worker.txt"
}

# ---- ingest ------------------------------------------------------------------------------------
bench_ingest() {
    need mariadbd mariadb-install-db mariadb
    [ -f "$SHARED/vicidial/schema.sql" ] || die "$SHARED/vicidial/schema.sql is missing"
    ROWS=${ROWS:-100000}
    PER_DAY=${PER_DAY:-2700}
    I=$T/ingest
    mkdir -p "$I"
    rootuser=""
    [ "$(id -u)" -eq 0 ] && rootuser=--user=root
    dbp=$(free_port)
    sock=$I/my.sock
    mariadb-install-db --no-defaults --datadir="$I/mysql" $rootuser \
        --auth-root-authentication-method=socket --skip-test-db > "$I/install.log" 2>&1 ||
        die "mariadb-install-db: $(tail -5 "$I/install.log")"
    mariadbd --no-defaults --datadir="$I/mysql" --socket="$sock" --port="$dbp" \
        --bind-address=127.0.0.1 --pid-file="$I/my.pid" --log-error="$I/my.err" \
        --skip-name-resolve --skip-log-bin --innodb-buffer-pool-size=64M $rootuser &
    DBPID=$!
    sql="mariadb --no-defaults --default-character-set=utf8mb4 -S $sock -uroot"
    for _ in $(seq 1 300); do
        $sql -e 'SELECT 1' > /dev/null 2>&1 && break
        kill -0 "$DBPID" 2> /dev/null || die "mariadbd did not start: $(tail -5 "$I/my.err")"
        sleep 0.1
    done
    $sql -e 'SELECT 1' > /dev/null 2>&1 || die "mariadbd did not answer: $(tail -5 "$I/my.err")"
    $sql -e "CREATE DATABASE asterisk CHARACTER SET utf8mb4" || die "creating the database"
    $sql asterisk < "$SHARED/vicidial/schema.sql" || die "loading the ViciDial schema"
    $sql -e "CREATE USER 'callqa'@'127.0.0.1' IDENTIFIED BY 'bench-ro';
             GRANT SELECT ON asterisk.* TO 'callqa'@'127.0.0.1';"
    printf 'bench-ro\n' > "$I/pw"
    chmod 600 "$I/pw"
    # ROWS recordings over the last days, PER_DAY a day (8:00-20:00), 300 agents; two thirds
    # outbound (vicidial_log, 8 campaigns), one third inbound (vicidial_closer_log, 4 in-groups);
    # lengths 5 s to about 15 min, skewed short; locations on the recording server. Pseudo-random
    # by CRC32 of the row number, so every run makes the same rows.
    t0=$(date +%s.%N)
    $sql asterisk << EOF || die "generating the dialer's rows"
SET @t0 = UNIX_TIMESTAMP(CURDATE()) - CEIL($ROWS / $PER_DAY) * 86400;
INSERT INTO vicidial_users (user, pass, full_name, user_level, user_group)
 SELECT CONCAT('u', 1000 + seq), 'x', CONCAT('Agent ', seq), 1, 'AGENTS' FROM seq_1_to_300;
INSERT INTO vicidial_campaigns (campaign_id, campaign_name)
 SELECT CONCAT('OUT', seq), CONCAT('Outbound ', seq) FROM seq_1_to_8;
INSERT INTO vicidial_inbound_groups (group_id, group_name)
 SELECT CONCAT('IN', seq), CONCAT('In-group ', seq) FROM seq_1_to_4;
CREATE TEMPORARY TABLE g AS SELECT seq,
 @t0 + FLOOR((seq - 1) / $PER_DAY) * 86400 + 28800 + FLOOR(CRC32(CONCAT('t', seq)) % 43200) AS ep,
 CONCAT('u', 1000 + 1 + CRC32(CONCAT('a', seq)) % 300) AS agent,
 CRC32(CONCAT('d', seq)) % 3 = 0 AS inbound,
 5 + FLOOR(POW((CRC32(CONCAT('l', seq)) % 1000) / 1000, 2) * 900) AS len
 FROM seq_1_to_$ROWS;
INSERT INTO vicidial_log (uniqueid, lead_id, list_id, campaign_id, call_date, start_epoch, end_epoch,
 length_in_sec, status, phone_number, user, term_reason)
 SELECT CONCAT(ep, '.', seq), 100000 + seq, 1000, CONCAT('OUT', 1 + seq % 8), FROM_UNIXTIME(ep), ep,
 ep + len, len, ELT(1 + seq % 5, 'SALE', 'NI', 'CALLBK', 'DNC', 'A'), CONCAT('555', LPAD(seq, 7, '0')),
 agent, ELT(1 + seq % 2, 'CALLER', 'AGENT') FROM g WHERE NOT inbound;
INSERT INTO vicidial_closer_log (closecallid, lead_id, list_id, campaign_id, call_date, start_epoch,
 end_epoch, length_in_sec, status, phone_number, user, term_reason, uniqueid)
 SELECT seq, 100000 + seq, 1000, CONCAT('IN', 1 + seq % 4), FROM_UNIXTIME(ep), ep, ep + len, len,
 ELT(1 + seq % 3, 'RESOLV', 'CALLBK', 'XFER'), CONCAT('555', LPAD(seq, 7, '0')), agent,
 ELT(1 + seq % 2, 'CALLER', 'AGENT'), CONCAT(ep, '.', seq) FROM g WHERE inbound;
INSERT INTO recording_log (recording_id, channel, server_ip, extension, start_time, start_epoch,
 end_time, end_epoch, length_in_sec, length_in_min, filename, location, lead_id, user, vicidial_id)
 SELECT seq, CONCAT('SIP/', agent), '10.0.0.2', '8309', FROM_UNIXTIME(ep + 1), ep + 1,
 FROM_UNIXTIME(ep + 1 + len), ep + 1 + len, len, ROUND(len / 60, 2),
 CONCAT(DATE_FORMAT(FROM_UNIXTIME(ep), '%Y%m%d-%H%i%s'), '_', seq),
 CONCAT('http://10.0.0.2/RECORDINGS/MP3/', DATE_FORMAT(FROM_UNIXTIME(ep), '%Y%m%d-%H%i%s'), '_', seq, '-all.mp3'),
 100000 + seq, agent, IF(inbound, seq, CONCAT(ep, '.', seq)) FROM g;
EOF
    t1=$(date +%s.%N)
    got=$($sql -N asterisk -e 'SELECT COUNT(*), SUM(vicidial_id NOT LIKE "%.%") FROM recording_log')
    S=$I/store.db
    load0=$(cat /proc/loadavg)
    ing() { # ing LOG: one timed scan; its wall seconds on stdout
        a=$(date +%s.%N)
        "$CQ" ingest vicidial --vicidial "mysql://callqa@127.0.0.1:$dbp/asterisk" \
            --vicidial-password-file "$I/pw" --source dialer1 --db "$S" \
            --recording-server "r1=http://10.0.0.2/RECORDINGS" --once --batch 1000 --min-length 0 \
            > "$I/$1" 2>&1 || die "ingest: $(tail -3 "$I/$1")"
        b=$(date +%s.%N)
        awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b - a}'
    }
    w1=$(ing scan1.log)
    w2=$(ing scan2.log)
    load1=$(cat /proc/loadavg)
    stored=$(sq "$S" "SELECT COUNT(*), SUM(direction = 'inbound'), COUNT(agent_name), COUNT(campaign_name), (SELECT COUNT(*) FROM jobs WHERE state = 'pending') FROM calls")
    [ "${stored%%|*}" = "$ROWS" ] || die "the store holds ${stored%%|*} calls, not $ROWS"
    {
        echo "== ingest: $ROWS recording_log rows, $PER_DAY a day (with vicidial_log / vicidial_closer_log rows), MariaDB $(mariadbd --version | awk '{print $3}') under a temporary directory"
        machine
        echo "load average before: $load0"
        echo "load average after:  $load1"
        echo "rows generated in MariaDB in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s: recording_log rows, inbound: $got"
        echo "command: $CQ ingest vicidial --vicidial mysql://callqa@127.0.0.1:PORT/asterisk --vicidial-password-file F --source dialer1 --db S --recording-server r1=http://10.0.0.2/RECORDINGS --once --batch 1000 --min-length 0"
        echo "store after scan 1 (calls, inbound, named agents, named campaigns, pending jobs): $stored"
        echo "scan 1 (empty store): $w1 s, $(awk -v n="$ROWS" -v w="$w1" 'BEGIN {printf "%.0f", n / w}') rows/s; $(grep '"msg":"scan"' "$I/scan1.log" | tail -1)"
        echo "scan 2 (nothing new): $w2 s; $(grep '"msg":"scan"' "$I/scan2.log" | tail -1)"
        echo "store size: $(du -k "$S" | cut -f1) KiB"
    } > "$OUT/pipeline-ingest.txt"
    cat "$OUT/pipeline-ingest.txt"
    kill "$DBPID"
    wait "$DBPID" 2> /dev/null || true
    DBPID=""
}

# ---- api ---------------------------------------------------------------------------------------
bench_api() { # bench_api [pg]: on the SQLite store, or on its copy in PostgreSQL
    CALLS=${CALLS:-1000000}
    REQS=${REQS:-200}
    A=$T/api${1:-}
    mkdir -p "$A"
    S=$A/store.db
    if [ -n "${API_STORE:-}" ]; then # a store made before: the requests only
        [ -f "$API_STORE" ] || die "API_STORE=$API_STORE: no such store"
        S=$API_STORE
        CALLS=$(sq "$S" "SELECT COUNT(*) FROM calls")
        echo "(API_STORE: not generated here)" > "$A/gen.txt"
        a=0 b=0
    else
        # the schema: callqa's own migrations, run by a store open (a short `callqa serve`)
        serve_start "$S"
        serve_stop
        [ "$(sq "$S" "SELECT COUNT(*) FROM calls")" = 0 ] || die "the new store is not empty"
        a=$(date +%s.%N)
        python3 bench/gen_store.py --db "$S" --calls "$CALLS" --store-c src/store/store.c \
            > "$A/gen.txt" || die "gen_store.py failed"
        b=$(date +%s.%N)
    fi
    SERVED=$S
    if [ "${1:-}" = pg ]; then # the same store copied into PostgreSQL, served from there
        . tests/pg/pg_lib.sh
        pg_available || die "PostgreSQL's server is not installed (scripts/deps)"
        pg_start "$A" > /dev/null || die "PostgreSQL did not start"
        m0=$(date +%s.%N)
        "$CQ" store migrate --from "$S" --to "$PG_URI" > "$A/migrate.txt" 2>&1 ||
            die "callqa store migrate failed: $(tail -3 "$A/migrate.txt")"
        m1=$(date +%s.%N)
        pg_psql -c "VACUUM ANALYZE" > /dev/null
        SERVED=$PG_URI
        mkdir -p "$A/uploads"
        export CALLQA_UPLOAD_DIR="$A/uploads"
    fi
    serve_start "$SERVED"
    load0=$(cat /proc/loadavg)
    python3 - "$U" "$REQS" "$S" > "$A/api.txt" << 'EOF' || die "the API client failed: $(tail -3 "$A/api.txt")"
import datetime, http.client, json, sqlite3, sys, time, urllib.parse
base, reqs, store = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = urllib.parse.urlsplit(base)
routes = ["/api/qa/daily-summary?days=90", "/api/qa/leaderboard?days=90",
          "/api/qa/flagged?days=90&limit=500"]

def get(path):
    c = http.client.HTTPConnection(u.hostname, u.port)  # a new connection each time
    t = time.perf_counter()
    c.request("GET", path, headers={"Connection": "close"})
    r = c.getresponse()
    body = r.read()
    dt = time.perf_counter() - t
    c.close()
    if r.status != 200:
        raise SystemExit("%s: HTTP %d %s" % (path, r.status, body[:200]))
    return dt, body

# the answers first, checked against the store's own tables
db = sqlite3.connect(store)
day0 = (datetime.date.today() - datetime.timedelta(days=89)).isoformat()
daily = json.loads(get(routes[0])[1])
want = dict(db.execute("SELECT day, COUNT(*) FROM calls WHERE day >= ? GROUP BY day", (day0,)))
wantf = dict(db.execute("SELECT day, COUNT(*) FROM scores WHERE flagged = 1 AND day >= ? GROUP BY day", (day0,)))
assert len(daily) == 90, len(daily)
for d in daily:
    assert d["total_calls"] == want.get(d["date"], 0), (d["date"], d["total_calls"], want.get(d["date"]))
    assert d["flagged_calls"] == wantf.get(d["date"], 0), d["date"]
# the best and worst agent of each day (>= 3 scored calls), from the scores themselves
best = {}
for day, agent, avg in db.execute(
        "SELECT c.day, c.agent_user, AVG(s.total_score) FROM scores s JOIN calls c ON c.id = s.call_id "
        "WHERE c.day >= ? AND s.total_score IS NOT NULL GROUP BY c.day, c.agent_user "
        "HAVING COUNT(*) >= 3 ORDER BY c.day, c.agent_user", (day0,)):
    b = best.setdefault(day, [agent, avg, agent, avg])
    if avg > b[1] + 1e-9:
        b[0:2] = agent, avg
    if avg < b[3] - 1e-9:
        b[2:4] = agent, avg
for d in daily:
    b = best.get(d["date"])
    assert (d["top_agent"], d["bottom_agent"]) == ((b[0], b[2]) if b else (None, None)), (d, b)
lead = json.loads(get(routes[1])[1])
assert len(lead) == db.execute("SELECT COUNT(*) FROM (SELECT c.agent_user FROM scores s JOIN calls c ON "
                               "c.id = s.call_id WHERE c.day >= ? GROUP BY c.agent_user HAVING "
                               "COUNT(s.total_score) >= 5)", (day0,)).fetchone()[0]
flag = json.loads(get(routes[2])[1])
nflag = sum(wantf.values())
want_ids = [r[0] for r in db.execute(
    "SELECT c.recording_id FROM scores s JOIN calls c ON c.id = s.call_id WHERE s.flagged = 1 AND "
    "s.day >= ? ORDER BY s.total_score, c.id LIMIT 500", (day0,))]
assert [f["recording_id"] for f in flag] == want_ids, "flagged: not the lowest 500 in order"
print("answers (checked against the store's tables): daily-summary %d days, %d calls, %d flagged; "
      "leaderboard %d agents; flagged %d rows (of %d), lowest %s" %
      (len(daily), sum(want.values()), nflag, len(lead), len(flag), nflag,
       flag[0]["total_score"] if flag else None))
for p in routes:
    t = sorted(get(p)[0] for _ in range(reqs))
    size = len(get(p)[1])
    q = lambda f: t[min(len(t) - 1, int(round(f * len(t) + 0.5)) - 1)] * 1e3
    print("%-36s %d requests  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  mean %7.2f ms  (%d bytes)" %
          (p, len(t), q(0.50), q(0.99), t[-1] * 1e3, sum(t) / len(t) * 1e3, size))
EOF
    load1=$(cat /proc/loadavg)
    serve_stop
    out=$OUT/pipeline-api.txt
    [ "${1:-}" = pg ] && out=$OUT/pipeline-api-pg.txt
    {
        if [ "${1:-}" = pg ]; then
            echo "== api-pg: the store below copied into PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') (a private server on loopback, fsync off, shared_buffers 32 MB) by \`callqa store migrate\` in $(awk -v a="$m0" -v b="$m1" 'BEGIN {printf "%.0f", b - a}') s, then VACUUM ANALYZE; served by \`callqa serve --db postgresql://...\`; $REQS sequential requests per route (a new connection each), in Python (http.client)"
            echo "PostgreSQL database size: $(pg_psql -At -c "SELECT pg_size_pretty(pg_database_size('callqa'))")"
        else
            echo "== api: a store of $CALLS calls made by bench/gen_store.py, $REQS sequential requests per route (a new connection each), in Python (http.client)"
        fi
        machine
        echo "load average before: $load0"
        echo "load average after:  $load1"
        echo "command: python3 bench/gen_store.py --db S --calls $CALLS --store-c src/store/store.c   (after a \`callqa serve --db S\` made the schema)"
        echo "generation: $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", b - a}') s in all"
        sed 's/^/  /' "$A/gen.txt"
        echo "store size: $(du -k "$S" | cut -f1) KiB (WAL: $(if [ -f "$S-wal" ]; then du -k "$S-wal" | cut -f1; else echo 0; fi) KiB)"
        cat "$A/api.txt"
    } > "$out"
    cat "$out"
}

bench_api_pg() {
    bench_api pg
}

for s in $SECTIONS; do
    "bench_$s"
    echo
done
