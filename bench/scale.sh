#!/bin/sh
# bench/scale.sh - queue throughput with 1, 2 and 4 `callqa worker` processes on one store,
# SQLite against PostgreSQL (a private server started here, tests/pg/pg_lib.sh), same calls,
# same counts, in one run. Two loads:
#   store   SMALL copies of a 7-second corpus clip, `--only levels`: almost no analysis, so the
#           rate is what the queue and the store allow (claim, results, events, roll-ups);
#   cpu     the corpus calls (call14 as its legs) COPIES times, the whole analysis with the
#           models: the rate the CPUs allow.
# Each run: a fresh store, the calls enqueued by `callqa ingest watch --once` (not timed), then
# P workers (`--once --jobs 1 --max-load 0 --no-idle`, scoring on) started together and timed
# until the last exits; every job must end complete. ROUNDS runs of each, the median.
# Writes bench/out/scale.txt (and prints it).
#   usage: bench/scale.sh                (after scripts/build; scripts/deps --bench)
#   settings: SMALL=400 COPIES=1 ROUNDS=3 CPU_ROUNDS=1 WORKERS="1 2 4" LOADS="store cpu"
#       CQ=build/callqa
#       CALLQA_SHARED_DIR=../shared
set -eu
cd "$(dirname "$0")/.."
SHARED=${CALLQA_SHARED_DIR:-../shared}
CQ=${CQ:-build/callqa}
SMALL=${SMALL:-400}
COPIES=${COPIES:-1}
ROUNDS=${ROUNDS:-3}
CPU_ROUNDS=${CPU_ROUNDS:-1}
WORKERS=${WORKERS:-1 2 4}
LOADS=${LOADS:-store cpu}
OUT=bench/out
mkdir -p "$OUT"
die() {
    echo "bench/scale.sh: $*" >&2
    exit 1
}
[ -x "$CQ" ] || die "$CQ is not built (scripts/build, or set CQ)"
C=$SHARED/corpus/calls
[ -d "$C" ] && [ -d "$SHARED/models" ] || die "$C or $SHARED/models is missing"
. tests/pg/pg_lib.sh
pg_available || die "PostgreSQL's server is not installed (scripts/deps)"
T=$(mktemp -d "${TMPDIR:-/tmp}/cq-scale.XXXXXX")
cleanup() {
    pg_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
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
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

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
            m=$(echo "$ts" | tr ' ' '\n' | grep . | median)
            line=$(printf "%-6s %-10s %3s %10s %12s   (runs:%s)" "$load" "$be" "$p" "$m" \
                "$(awk -v n="$n" -v m="$m" 'BEGIN {printf "%.1f", n / m}')" "$ts")
            echo "$line" | tee -a "$T/out.txt"
        done
    done
done
echo "load average after: $(cat /proc/loadavg)" | tee -a "$T/out.txt"
echo "command: bench/scale.sh   (SMALL=$SMALL COPIES=$COPIES ROUNDS=$ROUNDS CPU_ROUNDS=$CPU_ROUNDS)" | tee -a "$T/out.txt"
cp "$T/out.txt" "$OUT/scale.txt"
