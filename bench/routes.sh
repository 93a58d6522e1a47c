#!/bin/sh
# bench/routes.sh - the routes' change test on a generated fleet (docs/routes.md, "Measured on a
# generated fleet"): a year of calls over 20 carriers, three of them degrading at known times.
#   fleet [DIR]   bench/gen_store.py --routes ROUTES --degrade --truth: CALLS calls over DAYS
#            days ending END_DAY, ROUTES carriers (route-01..: unequal shares; route-01's NISQA
#            MOS -0.5, route-02's loss +2 points, route-03's one-way +5 points, each from a
#            weekday business hour at least 4 weeks in, each route carrying at least 50 calls in
#            every weekday business hour), in DIR/fleet.db with DIR/truth.json (DIR: a temporary
#            folder when not given). A store DIR already holds, made with the same parameters
#            (DIR/fleet.params: the settings below and the generator's hash), is used as it is.
#            Then: the routes' tables emptied, `callqa store routes --db S --rebuild` timed
#            (every day's roll-ups rebuilt from the calls, then the change test over every
#            route's figures); bench/routes_eval.py against the truth (delays, sizes, false
#            alarms per route-year; its table as it prints it); then `callqa serve --db S` and
#            GET /api/qa/routes?dim=carrier&days=7 and &days=30: the answers checked against the
#            calls table (each route's calls in the window), then p50 / p99 / max over REQS
#            sequential requests each (a new connection each, from Python's http.client) after
#            WARM not counted. Writes bench/out/routes.txt (and prints it); exits 1 when the
#            evaluation fails (after measuring the rest).
#   settings: CALLS=1000000 DAYS=365 ROUTES=20 AGENTS=300 END_DAY=today SEED (the generator's)
#            REQS=2000 WARM=50
#   usage: bench/routes.sh [fleet] [DIR]   (after scripts/build; python3, curl)
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_SECTIONS="fleet"
BENCH_DEFAULT="fleet"
PATH=$PATH:/usr/sbin

sq() { # sq STORE SQL: the rows, columns joined by '|'
    python3 - "$1" "$2" << 'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
db.commit()
EOF
}
serve_start() { # serve_start STORE: `callqa serve --db STORE` on a free port; $U, $SERVE set
    port=$(free_port)
    U="http://127.0.0.1:$port"
    "$CQ" serve --db "$1" --no-auth --listen "127.0.0.1:$port" > "$T/serve.log" 2>&1 &
    SERVE=$!
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$U/health" && return 0
        kill -0 "$SERVE" 2> /dev/null || break
        sleep 0.1
    done
    die "callqa serve did not start: $(cat "$T/serve.log")"
}
cleanup() {
    [ -n "${SERVE:-}" ] && kill "$SERVE" 2> /dev/null && wait "$SERVE" 2> /dev/null
    rm -rf "$T"
}

sec_fleet() {
    need python3 curl
    [ -x "$CQ" ] || die "$CQ is not built (scripts/build, or set CQ)"
    CALLS=${CALLS:-1000000}
    DAYS=${DAYS:-365}
    ROUTES=${ROUTES:-20}
    AGENTS=${AGENTS:-300}
    END_DAY=${END_DAY:-$(date +%F)}
    REQS=${REQS:-2000}
    WARM=${WARM:-50}
    T=$(mktemp -d "${TMPDIR:-/tmp}/cq-routes.XXXXXX")
    SERVE=""
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    D=${1:-$T/fleet}
    mkdir -p "$D"
    S=$D/fleet.db
    TRUTH=$D/truth.json
    seed=""
    [ -n "${SEED:-}" ] && seed=" --seed $SEED"
    params="calls=$CALLS days=$DAYS routes=$ROUTES agents=$AGENTS end=$END_DAY seed=${SEED:-default} generator=$(git hash-object bench/gen_store.py)"
    gen_cmd="python3 bench/gen_store.py --db S --calls $CALLS --days $DAYS --agents $AGENTS --routes $ROUTES --degrade --end-day $END_DAY$seed --truth TRUTH"
    if [ -f "$S" ] && [ -f "$TRUTH" ] && [ "$(cat "$D/fleet.params" 2> /dev/null)" = "$params" ]; then
        gen="(the store made before in $D, with the same parameters: not generated again)"
    else
        rm -f "$S" "$S-wal" "$S-shm" "$TRUTH" "$D/fleet.params" "$D/gen.txt"
        # the schema: callqa's own migrations, run by the store's first open
        "$CQ" store routes --db "$S" > /dev/null || die "callqa could not make the store $S"
        a=$(now)
        # shellcheck disable=SC2086 # the seed's option, when set
        python3 bench/gen_store.py --db "$S" --calls "$CALLS" --days "$DAYS" --agents "$AGENTS" \
            --routes "$ROUTES" --degrade --end-day "$END_DAY" $seed --truth "$TRUTH" \
            --store-c src/store/store_jobs_stats.c > "$D/gen.txt" || die "gen_store.py failed"
        b=$(now)
        echo "$params" > "$D/fleet.params"
        gen="generated in $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.0f", b - a}') s"
    fi
    # the routes' tables emptied: the rebuild below starts from none, as on a store made before
    # schema 21, and the changes are those this build finds
    sq "$S" "DELETE FROM route_changes" > /dev/null
    sq "$S" "DELETE FROM route_hourly" > /dev/null
    sq "$S" "DELETE FROM route_daily" > /dev/null
    load0=$(cat /proc/loadavg)
    /usr/bin/time -f "%e %U %S %M" -o "$T/rebuild.time" "$CQ" store routes --db "$S" --rebuild \
        > "$T/rebuild.json" 2> "$T/rebuild.err" || die "callqa store routes --rebuild failed: $(cat "$T/rebuild.err")"
    read -r r_wall r_user r_sys r_rss < "$T/rebuild.time"
    eval_rc=0
    python3 bench/routes_eval.py "$S" "$TRUTH" --json "$T/eval.json" > "$T/eval.txt" 2>&1 || eval_rc=$?
    [ -s "$T/eval.json" ] || die "routes_eval.py failed: $(tail -5 "$T/eval.txt")"

    serve_start "$S"
    python3 - "$U" "$REQS" "$S" "$WARM" > "$T/api.txt" << 'EOF' || die "the API client failed: $(tail -3 "$T/api.txt")"
import http.client, json, sqlite3, sys, time, urllib.parse
base, reqs, store, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlsplit(base)
paths = ["/api/qa/routes?dim=carrier&days=7", "/api/qa/routes?dim=carrier&days=30"]

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

db = sqlite3.connect(store)
for p in paths:
    ans = json.loads(get(p)[1])
    want = dict(db.execute("SELECT carrier, COUNT(*) FROM calls WHERE day BETWEEN ? AND ? AND "
                           "carrier IS NOT NULL GROUP BY carrier", (ans["from"], ans["to"])))
    got = {r["name"]: r["figures"]["calls"] for r in ans["routes"]}
    assert got == want, (p, got, want)
    order = ["%s%s" % (r["name"], " (%s)" % ", ".join(w["figure"] for w in r["worse"])
                       if r["worse"] else "") for r in ans["routes"][:3]]
    print("%s: %d routes, %s..%s, each route's calls as the calls table's; ranked first: %s" %
          (p, len(ans["routes"]), ans["from"], ans["to"], "; ".join(order)))
for p in paths:
    for _ in range(warm):  # the warm-up: not counted
        get(p)
    t = sorted(get(p)[0] for _ in range(reqs))
    size = len(get(p)[1])
    q = lambda f: t[min(len(t) - 1, int(round(f * len(t) + 0.5)) - 1)] * 1e3
    print("%-40s %d requests  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  mean %7.2f ms  (%d bytes)" %
          (p, len(t), q(0.50), q(0.99), t[-1] * 1e3, sum(t) / len(t) * 1e3, size))
EOF
    kill "$SERVE"
    wait "$SERVE" 2> /dev/null || true
    SERVE=""
    load1=$(cat /proc/loadavg)
    out=$W/routes.txt
    {
        echo "== routes: a generated fleet, \`callqa store routes --rebuild\` and its changes against the truth, /api/qa/routes"
        echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
        echo "callqa: $("$CQ" version 2>&1 | head -1), commit $(git rev-parse --short HEAD 2> /dev/null || echo '?')$([ -z "$(git status --porcelain -- src CMakeLists.txt 2> /dev/null)" ] || echo ' (and the uncommitted changes in src/ and CMakeLists.txt of the checkout it was built from)')"
        echo "load average before: $load0; after: $load1"
        echo "fleet: $gen; $params"
        echo "  command: $gen_cmd   (after a \`callqa store routes --db S\` made the schema)"
        sed 's/^/  /' "$D/gen.txt" 2> /dev/null
        echo "store: $S, $(du -k "$S" | cut -f1) KiB"
        echo "rebuild: \`callqa store routes --db S --rebuild\` (the routes' tables emptied first): $r_wall s wall, $r_user s user, $r_sys s sys, max RSS $((r_rss / 1024)) MiB"
        echo "  $(cat "$T/rebuild.json")"
        echo "evaluation: python3 bench/routes_eval.py S TRUTH (exit $eval_rc)"
        sed 's/^/  /' "$T/eval.txt"
        echo "API: \`callqa serve --db S\`, $REQS sequential requests per route after $WARM not counted"
        sed 's/^/  /' "$T/api.txt"
    } > "$out"
    cat "$out"
    return "$eval_rc"
}

bench_main "$@"
