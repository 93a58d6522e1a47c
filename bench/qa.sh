#!/bin/sh
# bench/qa.sh - the QA system on this machine: the worker and its queue against the command line,
# the ViciDial ingest, the QA API and the dashboard on generated stores, SQLite and PostgreSQL.
# Each section writes bench/out/NAME.txt (and prints it).
#   worker   `callqa worker --once --jobs 2` on the corpus calls queued in a store, against
#            `callqa analyze --jobs 2 --json` on the same calls (the 14 corpus calls, call14 as
#            its -in/-out legs, COPIES times under distinct names); rounds alternate the two, so a
#            slow spell of the machine hits both; medians, the ratio and the overhead of the
#            queue and the store. The worker in the idle scheduling classes (its default) is
#            timed too. COPIES=4 ROUNDS=3; FILL=N: the same day already holds N calls
#            (bench/gen_store.py). Writes pipeline-worker.txt.
#   ingest   `callqa ingest vicidial` reading ROWS generated recording_log rows (with their
#            vicidial_log / vicidial_closer_log rows, users, campaigns, in-groups) from a MariaDB
#            started here under a temporary directory: rows per second into an empty store, and a
#            second scan that finds nothing new. ROWS=100000 PER_DAY=2700; needs mariadb-server.
#            Writes pipeline-ingest.txt.
#   api      /api/qa/daily-summary, /leaderboard and /flagged of `callqa serve` on a store made by
#            bench/gen_store.py (CALLS calls over 365 days ending today, 300 agents, 10 % flagged,
#            no report blobs): p50 / p99 / max over REQS sequential requests each, after WARM
#            requests not counted. CALLS=1000000 REQS=2000 WARM=50; API_STORE=PATH: the requests
#            on a store made before (a newer callqa migrates it when it opens it). Writes
#            pipeline-api.txt.
#   api-pg   the same requests on PostgreSQL: the same generated store (or API_STORE) copied by
#            `callqa store migrate` into a private PostgreSQL server started here
#            (tests/store/pg_lib.sh), served by `callqa serve --db postgresql://...`; the answers
#            are checked against the SQLite store they were copied from. API_PG_DIR=DIR: the
#            server's cluster kept in DIR (not a temporary one): the first run copies the store
#            into it, a later run finds the copy there and serves it as it is. Writes
#            pipeline-api-pg.txt.
#   scale    queue throughput with 1, 2 and 4 `callqa worker` processes on one store, SQLite
#            against PostgreSQL (a private server started here, tests/store/pg_lib.sh), same calls,
#            same counts, in one run. Two loads: store (SMALL copies of a 7-second corpus clip,
#            `--only levels`: almost no analysis, so the rate is what the queue and the store
#            allow: claim, results, events, roll-ups) and cpu (the corpus calls, call14 as its
#            legs, COPIES times, the whole analysis with the models: the rate the CPUs allow).
#            Each run: a fresh store, the calls enqueued by `callqa ingest watch --once` (not
#            timed), then P workers (`--once --jobs 1 --max-load 0 --no-idle`, scoring on)
#            started together and timed until the last exits; every job must end complete.
#            ROUNDS runs of each, the median. SMALL=400 COPIES=1 ROUNDS=3 CPU_ROUNDS=1
#            WORKERS="1 2 4" LOADS="store cpu". Writes scale.txt.
#   calls-list [pg]   the dashboard's calls list: the first page (limit 50) of GET /api/qa/calls
#            on a store of CALLS generated calls (bench/gen_store.py, as api makes it), in the
#            default order, every sort key in both orders, and a few filters; REQS sequential
#            requests each. The server time of each request is the "ms" the service logs for it
#            (one JSON line per request); curl's time_total on loopback is shown beside it. p50 /
#            p99 / max. pg: the same store copied into a private PostgreSQL server by `callqa
#            store migrate`. CALLS=100000 REQS=20. Writes calls-list[-pg].txt.
#   call-view   the dashboard's call view of the longest call the service allows (30 minutes,
#            max_duration_sec 1800) in headless Chromium, beside the same data fetched by curl.
#            The store is the browser test's (tests/ui/fixture.sh with CALLQA_UI_LONG=1: corpus
#            calls, and the 30-minute call made of them, uploaded to `callqa serve` and analysed
#            by `callqa worker`). browser: bench/call-view.mjs: cold (a new context opens the
#            call's URL, until the timeline is drawn), warm (back from the calls list), zoom (a
#            click to the frame painted), play (animation frames while the recording plays);
#            curl: the three answers the view reads, in its order, on one connection: the call,
#            its report, its envelope decimated to the points the view asks for (20,000).
#            RUNS=10; needs node, /usr/bin/chromium, sox. Writes call-view.txt.
# Measures for bench/before_after.sh (probe MEASURE BUILD DIR):
#   worker-queue   the 14 corpus calls queued in DIR/s0.db by BUILD's `callqa ingest watch`, once
#   worker   `callqa worker --once --jobs 2 --no-idle` draining DIR/s0.db's queue, on a fresh
#            copy of it: wall seconds
#   usage: bench/qa.sh [SECTION [ARGS...]]...   (default: worker ingest api; after
#          scripts/build; python3, curl, /usr/bin/time, mariadb-server: scripts/deps --bench)
#   settings (environment): as above, and CQ=build/callqa, CALLQA_SHARED_DIR=../shared
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_SECTIONS="worker ingest api api-pg scale calls-list call-view"
BENCH_DEFAULT="worker ingest api"
OUT=$W
PATH=$PATH:/usr/sbin

qa_start() { # qa_start NAME: a section's temporary folder, and what its end stops
    need python3 curl
    [ -x "$CQ" ] || die "$CQ is not built (scripts/build, or set CQ)"
    T=$(mktemp -d "${TMPDIR:-/tmp}/cq-$1.XXXXXX")
    PIDS=""
    DBPID=""
    SERVE=""
    trap qa_cleanup EXIT
    trap 'exit 130' INT TERM
}
qa_cleanup() {
    for p in $PIDS $DBPID; do kill "$p" 2> /dev/null || true; done
    for p in $PIDS $DBPID; do wait "$p" 2> /dev/null || true; done
    if command -v pg_cleanup > /dev/null 2>&1; then pg_cleanup; fi
    rm -rf "$T"
}
sq() { # sq STORE SQL: the rows, columns joined by '|'
    python3 - "$1" "$2" << 'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
EOF
}
serve_start() { # serve_start STORE [LOG]: `callqa serve --db STORE` on a free port; $U, $SERVE set
    port=$(free_port)
    U="http://127.0.0.1:$port"
    slog=${2:-$T/serve-$port.log} # (a store may be a URI: no file to put it beside)
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
    SERVE=""
}
machine() {
    echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)"
    echo "callqa: $("$CQ" version 2>&1 | head -1), commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
}

# ---- worker ------------------------------------------------------------------------------------
sec_worker() {
    qa_start pbench
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
            --store-c src/store/store_jobs_stats.c > "$W/gen.txt" || die "gen_store.py failed"
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
            w=$(awk -v k="$k" '$1 == k {print $2}' "$R" | median_low)
            cpu=$(awk -v k="$k" '$1 == k {print $3 + $4}' "$R" | median_low)
            printf '%-7s median wall %7.2f s  %6.2f calls/s  median CPU (user+sys) %7.2f s\n' \
                "$k" "$w" "$(awk -v n="$N" -v w="$w" 'BEGIN {print n / w}')" "$cpu"
        done
        awk -v c="$(awk '$1 == "cli" {print $2}' "$R" | median_low)" \
            -v w="$(awk '$1 == "worker" {print $2}' "$R" | median_low)" \
            -v i="$(awk '$1 == "idle" {print $2}' "$R" | median_low)" 'BEGIN {
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
sec_ingest() {
    qa_start pbench
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
api_run() { # api_run [pg]: on the SQLite store, or on its copy in PostgreSQL
    CALLS=${CALLS:-1000000}
    REQS=${REQS:-2000}
    WARM=${WARM:-50}
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
        python3 bench/gen_store.py --db "$S" --calls "$CALLS" --store-c src/store/store_jobs_stats.c \
            > "$A/gen.txt" || die "gen_store.py failed"
        b=$(date +%s.%N)
    fi
    SERVED=$S
    if [ "${1:-}" = pg ]; then # the same store copied into PostgreSQL, served from there
        . tests/store/pg_lib.sh
        pg_available || die "PostgreSQL's server is not installed (scripts/deps)"
        PGD=$A
        [ -n "${API_PG_DIR:-}" ] && PGD=$API_PG_DIR && mkdir -p "$PGD"
        pg_start "$PGD" > /dev/null || die "PostgreSQL did not start"
        m0=$(date +%s.%N)
        if [ -n "${API_PG_DIR:-}" ] && [ -n "$(pg_psql -At -c "SELECT 1 FROM pg_tables WHERE tablename = 'callqa_copy'")" ] &&
            [ "$(pg_psql -At -c "SELECT COUNT(*) FROM calls")" = "$CALLS" ]; then
            echo "(API_PG_DIR: the copy made before, not copied again)" > "$A/migrate.txt"
        else
            "$CQ" store migrate --from "$S" --to "$PG_URI" > "$A/migrate.txt" 2>&1 ||
                die "callqa store migrate failed: $(tail -3 "$A/migrate.txt")"
        fi
        m1=$(date +%s.%N)
        COPIED="in $(awk -v a="$m0" -v b="$m1" 'BEGIN {printf "%.0f", b - a}') s"
        grep -q '^(API_PG_DIR' "$A/migrate.txt" && COPIED="before, kept in API_PG_DIR"
        pg_psql -c "VACUUM ANALYZE" > /dev/null
        SERVED=$PG_URI
        mkdir -p "$A/uploads"
        export CALLQA_UPLOAD_DIR="$A/uploads"
    fi
    serve_start "$SERVED"
    load0=$(cat /proc/loadavg)
    python3 - "$U" "$REQS" "$S" "$WARM" > "$A/api.txt" << 'EOF' || die "the API client failed: $(tail -3 "$A/api.txt")"
import datetime, http.client, json, sqlite3, sys, time, urllib.parse
base, reqs, store, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
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
    for _ in range(warm):  # the warm-up: not counted
        get(p)
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
            echo "== api-pg: the store below copied into PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') (a private server on loopback, fsync off, shared_buffers 32 MB) by \`callqa store migrate\` $COPIED, then VACUUM ANALYZE; served by \`callqa serve --db postgresql://...\`; $REQS sequential requests per route after $WARM not counted (a new connection each), in Python (http.client)"
            echo "PostgreSQL database size: $(pg_psql -At -c "SELECT pg_size_pretty(pg_database_size('callqa'))")"
        else
            echo "== api: a store of $CALLS calls made by bench/gen_store.py, $REQS sequential requests per route after $WARM not counted (a new connection each), in Python (http.client)"
        fi
        machine
        echo "load average before: $load0"
        echo "load average after:  $load1"
        echo "command: python3 bench/gen_store.py --db S --calls $CALLS --store-c src/store/store_jobs_stats.c   (after a \`callqa serve --db S\` made the schema)"
        echo "generation: $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", b - a}') s in all"
        sed 's/^/  /' "$A/gen.txt"
        echo "store size: $(du -k "$S" | cut -f1) KiB (WAL: $(if [ -f "$S-wal" ]; then du -k "$S-wal" | cut -f1; else echo 0; fi) KiB)"
        cat "$A/api.txt"
    } > "$out"
    cat "$out"
    if [ "${1:-}" = pg ] && [ -n "${API_PG_DIR:-}" ]; then
        pg_stop || die "the kept PostgreSQL server did not stop"
    fi
}
sec_api() {
    qa_start pbench
    api_run
}
sec_api_pg() {
    qa_start pbench
    api_run pg
}

# ---- scale -------------------------------------------------------------------------------------
sec_scale() {
    qa_start scale
    SMALL=${SMALL:-400}
    COPIES=${COPIES:-1}
    ROUNDS=${ROUNDS:-3}
    CPU_ROUNDS=${CPU_ROUNDS:-1}
    WORKERS=${WORKERS:-1 2 4}
    LOADS=${LOADS:-store cpu}
    C=$SHARED/corpus/calls
    [ -d "$C" ] && [ -d "$SHARED/models" ] || die "$C or $SHARED/models is missing"
    . tests/store/pg_lib.sh
    pg_available || die "PostgreSQL's server is not installed (scripts/deps)"
    pg_start "$T" > /dev/null || die "PostgreSQL did not start"
    export CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$SHARED/models}"

    # the calls of each load, as files in a folder (ViciDial names: one day, 3 agents)
    mkdir -p "$T/store" "$T/cpu"
    i=0
    while [ $i -lt "$SMALL" ]; do
        i=$((i + 1))
        cp "$C/call11_sit_intercept.wav" \
            "$T/store/20261120-$(printf %02d%02d%02d $((9 + i / 3600)) $((i / 60 % 60)) $((i % 60)))_55500$(printf %05d $i)_a$((i % 3)).wav"
    done
    i=0
    for k in $(seq "$COPIES"); do
        for f in "$C"/*.wav; do
            i=$((i + 1))
            case $f in
            *-in.wav) leg=-in ;;
            *-out.wav) i=$((i - 1)) leg=-out ;; # the -in leg's call
            *) leg="" ;;
            esac
            cp "$f" \
                "$T/cpu/20261120-$(printf %02d%02d%02d 10 $((i / 60 % 60)) $((i % 60)))_55510$(printf %05d $i)_a$((i % 3))$leg.wav"
        done
    done
    NCPU_CALLS=$(ls "$T/cpu" | grep -vc -- '-out\.wav$' || true)

    fresh_store() { # fresh_store BACKEND NAME: an empty store; its URI printed
        if [ "$1" = sqlite ]; then
            echo "$T/$2.db"
        else
            pg_createdb "$2" || die "createdb $2"
            echo "postgresql://callqa@127.0.0.1:$PG_PORT/$2"
        fi
    }
    count() { # count STORE SQL
        case $1 in
        postgresql://*) "$PG_BIN/psql" -X -At "$1" -c "$2" ;;
        *) python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2" ;;
        esac
    }
    run() { # run LOAD BACKEND P ROUND: seconds for P workers to drain the load's queue
        s=$(fresh_store "$2" "$1_$3_$4")
        "$CQ" ingest watch --dir "$T/$1" --db "$s" --settle-sec 0.2 --once > "$T/ingest.log" 2>&1 ||
            die "ingest: $(tail -3 "$T/ingest.log")"
        only=""
        [ "$1" = store ] && only="--only levels"
        a=$(date +%s.%N)
        pids=""
        for k in $(seq "$3"); do
            # shellcheck disable=SC2086 # $only is one flag and its value, or nothing
            "$CQ" worker --db "$s" --id "w$k" --once --jobs 1 --max-load 0 --no-idle --no-ingest \
                $only >> "$T/w.log" 2>&1 &
            pids="$pids $!"
        done
        for p in $pids; do wait "$p" || die "a worker failed: $(tail -3 "$T/w.log")"; done
        b=$(date +%s.%N)
        want=$SMALL
        [ "$1" = cpu ] && want=$NCPU_CALLS
        ok=$(count "$s" "SELECT COUNT(*) FROM jobs WHERE state = 'complete'")
        [ "$ok" = "$want" ] || die "$1 $2 P=$3: $ok of $want jobs complete"
        awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f\n", b - a}'
    }

    {
        echo "== scale: jobs drained by P worker processes (each --jobs 1), SQLite against PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on loopback; median of $ROUNDS runs (store), $CPU_ROUNDS (cpu)"
        echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)"
        echo "callqa: $("$CQ" version 2>&1 | head -1), commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
        echo "loads: store = $SMALL x 7.1 s clip, --only levels; cpu = $NCPU_CALLS corpus calls, whole analysis with models"
        echo "load average before: $(cat /proc/loadavg)"
        printf "%-6s %-10s %3s %10s %12s\n" load backend P seconds calls/s
    } > "$T/out.txt"
    cat "$T/out.txt"
    for load in $LOADS; do
        n=$SMALL rounds=$ROUNDS
        [ "$load" = cpu ] && n=$NCPU_CALLS rounds=$CPU_ROUNDS
        for p in $WORKERS; do
            for be in sqlite postgresql; do
                ts=""
                for r in $(seq "$rounds"); do ts="$ts $(run "$load" "$be" "$p" "$r")"; done
                m=$(echo "$ts" | tr ' ' '\n' | grep . | median_low)
                line=$(printf "%-6s %-10s %3s %10s %12s   (runs:%s)" "$load" "$be" "$p" "$m" \
                    "$(awk -v n="$n" -v m="$m" 'BEGIN {printf "%.1f", n / m}')" "$ts")
                echo "$line" | tee -a "$T/out.txt"
            done
        done
    done
    echo "load average after: $(cat /proc/loadavg)" | tee -a "$T/out.txt"
    echo "command: bench/qa.sh scale   (SMALL=$SMALL COPIES=$COPIES ROUNDS=$ROUNDS CPU_ROUNDS=$CPU_ROUNDS)" | tee -a "$T/out.txt"
    cp "$T/out.txt" "$OUT/scale.txt"

}

# ---- the dashboard's calls list ----------------------------------------------------------------
sec_calls_list() {
    qa_start calls
    CALLS=${CALLS:-100000}
    REQS=${REQS:-20}
    S=$T/store.db
    serve_start "$S" "$T/schema.log" # the schema: callqa's own migrations
    serve_stop
    g0=$(date +%s.%N)
    python3 bench/gen_store.py --db "$S" --calls "$CALLS" --store-c src/store/store_jobs_stats.c > "$T/gen.txt" ||
        die "gen_store.py failed"
    g1=$(date +%s.%N)
    SERVED=$S
    suffix=""
    if [ "${1:-}" = pg ]; then
        . tests/store/pg_lib.sh
        pg_available || die "PostgreSQL's server is not installed (scripts/deps)"
        pg_start "$T" > /dev/null || die "PostgreSQL did not start"
        "$CQ" store migrate --from "$S" --to "$PG_URI" > "$T/migrate.txt" 2>&1 ||
            die "callqa store migrate failed: $(tail -3 "$T/migrate.txt")"
        pg_psql -c "VACUUM ANALYZE" > /dev/null
        SERVED=$PG_URI
        export CALLQA_UPLOAD_DIR="$T/uploads"
        suffix=-pg
    fi
    LOG=$T/serve.log
    serve_start "$SERVED" "$LOG"
    AGENT=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT agent_user FROM calls GROUP BY agent_user ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0])' "$S")
    CASES="default"
    for k in call_date agent_user campaign_id total_score mos duration dead_air call_length; do
        CASES="$CASES sort=$k&order=asc sort=$k&order=desc"
    done
    CASES="$CASES one_way=1 flagged=1&sort=total_score&order=asc mos_below=2.5&sort=mos dtmf=1&sort=duration agent=$AGENT from=$(date -d '30 days ago' +%F)&sort=dead_air"
    load0=$(cat /proc/loadavg)
    : > "$T/results.txt"
    for c in $CASES; do
        qs="limit=50"
        [ "$c" = default ] || qs="$qs&$c"
        curl -s -o "$T/body.json" "$U/api/qa/calls?$qs" # the first, not timed: the answer checked
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert "calls" in d, d; print(d["total"], len(d["calls"]))' "$T/body.json" > "$T/first.txt" ||
            die "$qs: $(head -c 300 "$T/body.json")"
        n0=$(wc -l < "$LOG")
        i=0
        : > "$T/curl.txt"
        while [ $i -lt "$REQS" ]; do
            curl -s -o /dev/null -w '%{time_total}\n' "$U/api/qa/calls?$qs" >> "$T/curl.txt"
            i=$((i + 1))
        done
        sleep 0.2
        tail -n +$((n0 + 1)) "$LOG" | python3 -c '
import json, sys
qs, first, curl = sys.argv[1], open(sys.argv[2]).read().split(), [float(x) * 1e3 for x in open(sys.argv[3])]
ms = sorted(json.loads(l)["ms"] for l in sys.stdin if "\"route\":\"qa_calls\"" in l)
assert len(ms) == len(curl), (len(ms), len(curl))
curl.sort()
q = lambda t, f: t[min(len(t) - 1, int(round(f * len(t) + 0.5)) - 1)]
print("%-46s total %6s  server p50 %6.1f  p99 %6.1f  max %6.1f ms   curl p50 %6.1f  p99 %6.1f ms" %
      (qs, first[0], q(ms, .5), q(ms, .99), ms[-1], q(curl, .5), q(curl, .99)))
' "$qs" "$T/first.txt" "$T/curl.txt" >> "$T/results.txt"
    done
    load1=$(cat /proc/loadavg)
    serve_stop
    out=$OUT/calls-list$suffix.txt
    {
        echo "== the calls list's first page: $CALLS calls made by bench/gen_store.py, served by callqa serve --db $([ -n "$suffix" ] && echo "postgresql://... (the store copied by callqa store migrate, VACUUM ANALYZE)" || echo "S (SQLite)"); $REQS sequential requests per case (a new connection each, curl)"
        echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)"
        echo "callqa: commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
        echo "load average before: $load0"
        echo "load average after:  $load1"
        echo "generation: $(awk -v a="$g0" -v b="$g1" 'BEGIN {printf "%.1f", b - a}') s"
        sed 's/^/  /' "$T/gen.txt"
        echo "server: the service's logged ms per request; curl: time_total on loopback"
        cat "$T/results.txt"
    } > "$out"
    cat "$out"

}

# ---- the dashboard's call view -----------------------------------------------------------------
sec_call_view() {
    case $CQ in /*) ;; *) CQ=$(pwd)/$CQ ;; esac
    RUNS=${RUNS:-10}
    qa_start callview
    [ -d "$SHARED/corpus/calls" ] || die "$SHARED/corpus is missing (set CALLQA_SHARED_DIR)"
    [ -d ui/node_modules/playwright-core ] || die "ui/node_modules is missing (the build runs npm ci)"
    for need in node curl sox "${CALLQA_CHROMIUM:-/usr/bin/chromium}"; do
        command -v "$need" > /dev/null 2>&1 || die "$need is missing (scripts/deps)"
    done
    f0=$(date +%s.%N)
    CALLQA_UI_LONG=1 sh tests/ui/fixture.sh "$CQ" "$SHARED/corpus" "$T" > "$T/fixture.txt" 2>&1 ||
        die "the store could not be made: $(tail -3 "$T/fixture.txt")"
    f1=$(date +%s.%N)
    serve_start "$T/store.db" "$T/serve.log"
    curl -sf -o /dev/null "$U/api/qa/call/RLONG/envelope?points=20000" || die "the 30-minute call has no envelope"
    load0=$(cat /proc/loadavg)

    # curl: the view's three answers, RUNS times (one connection per run)
    : > "$T/curl.txt"
    i=0
    while [ $i -lt "$RUNS" ]; do
        curl -s -w '%{time_total} %{size_download}\n' -o /dev/null "$U/api/qa/call/RLONG" \
            -o /dev/null "$U/api/qa/call/RLONG/report" -o /dev/null "$U/api/qa/call/RLONG/envelope?points=20000" |
            awk '{ t += $1; b += $2 } END { printf "%.1f %d\n", t * 1000, b }' >> "$T/curl.txt"
        i=$((i + 1))
    done
    # the browser
    node bench/call-view.mjs "$U" RLONG "$RUNS" > "$T/browser.jsonl" || die "the browser run failed"
    load1=$(cat /proc/loadavg)

    out=$OUT/call-view.txt
    {
        echo "== the call view of a 30-minute call (RLONG: two legs, max_duration_sec 1800) in headless Chromium, beside curl; $RUNS runs each"
        echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)"
        echo "callqa: commit $(git rev-parse --short HEAD 2> /dev/null || echo '?'); $(${CALLQA_CHROMIUM:-/usr/bin/chromium} --version 2> /dev/null | head -1); node $(node --version)"
        echo "load average before: $load0"
        echo "load average after:  $load1"
        echo "store made (15 calls analysed by the worker): $(awk -v a="$f0" -v b="$f1" 'BEGIN {printf "%.0f", b - a}') s"
        python3 - "$T/curl.txt" "$T/browser.jsonl" << 'EOF'
import json, sys
curl = [l.split() for l in open(sys.argv[1])]
runs = [json.loads(l) for l in open(sys.argv[2])]
def q(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(f * len(v) + 0.5)) - 1))]
def row(name, v, unit="ms"):
    print("  %-52s p50 %7.1f  max %7.1f %s" % (name, q(v, .5), max(v), unit))
c = [float(x[0]) for x in curl]
row("curl: the call, its report, its envelope (%.0f KiB)" % (int(curl[0][1]) / 1024), c)
cold = [r["cold_ms"] for r in runs]
warm = [r["warm_ms"] for r in runs]
row("browser cold: a new context to the timeline drawn", cold)
row("browser warm: from the calls list to the timeline drawn", warm)
row("browser zoom: click to the frame painted", [r["zoom_ms"] for r in runs])
print("  spans drawn: %d; long tasks (> 50 ms) while opening: p50 %d, longest %.0f ms" %
      (runs[0]["spans"], q([r["cold_long"] for r in runs], .5), max(r["cold_long_max"] for r in runs)))
p = [r["play"] for r in runs]
print("  playing (%.1f s of audio a run): frame interval p50 %.1f ms, p99 %.1f ms, max %.1f ms; long tasks %d in all (longest %.0f ms)" %
      (q([x["audio_sec"] for x in p], .5), q([x["p50"] for x in p], .5), q([x["p99"] for x in p], .5),
       max(x["max"] for x in p), sum(x["long"] for x in p), max(x["longMax"] for x in p)))
print("  ratio cold / curl (p50): %.1f; warm / curl: %.1f" % (q(cold, .5) / q(c, .5), q(warm, .5) / q(c, .5)))
EOF
    } > "$out"
    cat "$out"

}

# ---- measures for bench/before_after.sh --------------------------------------------------------
probe_worker_queue() { # BUILD DIR: the 14 corpus calls queued in DIR/s0.db, once
    mkdir -p "$2/in"
    for f in "$SHARED"/corpus/calls/*.wav; do cp "$f" "$2/in/"; done
    sleep 1 # older than the watch's settle time
    "$1/callqa" ingest watch --dir "$2/in" --db "$2/s0.db" --source bench --settle-sec 0.2 \
        --once > "$2/ingest.log" 2>&1
}
probe_worker() { # BUILD DIR: the queued calls drained by the worker, on a fresh copy of the store
    rm -f "$2/s.db" "$2/s.db-wal" "$2/s.db-shm"
    cp "$2/s0.db" "$2/s.db"
    t0=$(now)
    "$1/callqa" worker --db "$2/s.db" --once --jobs 2 --max-load 0 --no-idle > /dev/null 2>&1
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

bench_main "$@"
