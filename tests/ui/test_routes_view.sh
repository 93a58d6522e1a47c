#!/bin/sh
# test_routes_view.sh - the dashboard's Routes views in Debian's Chromium (playwright-core) against
# `callqa serve` on a store this script fills (test_routes_view.mjs): five weeks of calls, around
# the clock, on three carriers, two dialer servers and three campaigns, with their analyses,
# scores and the dialer's call attempts; carrier telco_b's NISQA MOS falls by 0.6 ten days before
# the end (at 14:00 UTC), telco_c has no capture (no network MOS, loss or jitter) and no attempts.
# `callqa store routes --rebuild` makes the roll-ups and runs the change test; then the browser
# checks the list, the route's chart and its change marker, the example calls, the figures not
# measured, the other dimensions, and the refusal an agent gets. Screenshots of both views, light
# and dark, into $CALLQA_SHOTS when set (docs/screenshots/ is refreshed that way).
#   usage: test_routes_view.sh BUILD/callqa
set -u
CQ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
for need in node python3 "${CALLQA_CHROMIUM:-/usr/bin/chromium}"; do
    command -v "$need" > /dev/null 2>&1 || { echo "SKIP: $need is missing (scripts/deps installs it)"; exit 77; }
done
[ -d "$HERE/../../ui/node_modules/playwright-core" ] ||
    { echo "FAIL: ui/node_modules is missing (the build runs npm ci)"; exit 1; }
# the dialer's clock, the store's hours and the service's days: one zone, UTC
export TZ=UTC
T=$(mktemp -d)
cleanup() {
    [ -f "$T/serve.pid" ] && kill "$(cat "$T/serve.pid")" 2>/dev/null
    sleep 0.3
    rm -rf "$T"
}
trap cleanup EXIT
umask 077
echo "routes-view-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" > "$T/token"
echo "a-long-password-1" > "$T/pw"
umask 022
# the store, made by callqa (its schema), with an agent to be refused
"$CQ" user add ann --role agent --db "$T/store.db" --password-file "$T/pw" > /dev/null ||
    { echo "FAIL: callqa user add"; exit 1; }
python3 - "$T/store.db" > "$T/gen.out" <<'EOF' || { cat "$T/gen.out"; echo "FAIL: filling the store"; exit 1; }
import datetime, random, sqlite3, sys, time

UTC = datetime.timezone.utc
rnd = random.Random(20261103)
now = time.time()
today = datetime.datetime.fromtimestamp(now, UTC).date()
DAYS = 35
first = today - datetime.timedelta(days=DAYS - 1)
deg_day = today - datetime.timedelta(days=10)
deg_t = datetime.datetime(deg_day.year, deg_day.month, deg_day.day, 14, tzinfo=UTC).timestamp()
# carrier: (the far end a capture names, a capture of each call, the dialer's attempts)
CARRIERS = {"telco_a": ("198.51.100.10", True, True), "telco_b": ("198.51.100.20", True, True),
            "telco_c": (None, False, False)}
SERVERS = ["10.0.0.1", "10.0.0.2"]
CAMPS = [("SALES", "Sales"), ("SUPPORT", "Support"), ("RENEW", "Renewals")]
AGENTS = [("1001", "Ann Smith"), ("1002", "Bob Okafor"), ("1003", "Carla Nowak"), ("1004", "Dmitri Rossi")]
HANGUPS = [("NOANSWER", 19, 480, "Temporarily Unavailable"), ("BUSY", 17, 486, "Busy Here"),
           ("CONGESTION", 34, 503, "Service Unavailable"), ("NOANSWER", 19, 480, "Temporarily Unavailable")]
ins_call = ("INSERT INTO calls (id, source, recording_id, vicidial_id, uniqueid, lead_id, agent_user, "
            "agent_name, campaign_id, campaign_name, direction, call_date, day, tz, call_epoch, length_sec, "
            "disposition, term_reason, audio, open, created, updated, carrier, server_ip, hour) VALUES (?, "
            "'dialer1', ?, ?, ?, ?, ?, ?, ?, ?, 'outbound', ?, ?, 'UTC', ?, ?, 'SALE', 'CALLER', ?, 0, ?, ?, ?, "
            "?, ?)")
ins_job = ("INSERT INTO jobs (id, call_id, state, priority, next_attempt, retry_count, lease_token, stages, "
           "queued, started, finished, updated) VALUES (?, ?, 'complete', ?, 0, 0, 1, "
           "'{\"transcribe\":\"done\",\"score\":\"done\"}', ?, ?, ?, ?)")
ins_an = ("INSERT INTO analyses (call_id, server, file, identity, engine, source, validators, created, "
          "checked, report, duration_sec, legs, speech_pct_in, speech_pct_out, mos_in, mos_out, one_way, "
          "talk_sec_in, talk_sec_out, dead_air_sec, overtalk_sec, hold_sec, hold_count, tone_count, "
          "dtmf_count, warning_codes, clipping_pct, mos_model, net_mos, net_mos_model, net_loss_pct, "
          "net_jitter_ms, dropouts_per_min, sip_trunk) VALUES (?, 'dialer1', ?, '', 'cq1-routes-test', "
          "'pipeline', '', ?, ?, '', ?, 2, 40, 40, ?, ?, ?, ?, ?, ?, 2, 0, 0, 0, 0, '', ?, 'NISQA v2', ?, ?, "
          "?, ?, ?, ?)")
ins_sc = ("INSERT INTO scores (call_id, day, scorecard, backend, total_score, coverage, flagged, summary, "
          "created) VALUES (?, ?, 'qa8', 'llm', ?, 1.0, ?, 'A generated call.', ?)")
ins_att = ("INSERT INTO call_attempts (source, uniqueid, call_date, day, hour, epoch, server_ip, lead_id, "
           "channel, carrier, dialstatus, hangup_cause, sip_hangup_cause, sip_hangup_reason, dial_time, "
           "answered_time, call_id, created) VALUES ('dialer1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
           "?, ?)")
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN")
cid = 0
for d in range(DAYS):
    day = first + datetime.timedelta(days=d)
    ds = day.isoformat()
    mid = datetime.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    for h in range(24):
        for name, (trunk, captured, attempts) in CARRIERS.items():
            for k in range(4):
                # four calls an hour a carrier, up to now (today's first at midnight: the last
                # day has calls whenever the test runs)
                epoch = mid + h * 3600 + (0 if (d == DAYS - 1 and h == 0 and k == 0) else rnd.randrange(3600))
                if epoch > now:
                    continue
                cid += 1
                level = 3.4 if name == "telco_b" and epoch >= deg_t else 4.0
                camp, ag, srv = rnd.choice(CAMPS), rnd.choice(AGENTS), rnd.choice(SERVERS)
                call_date = datetime.datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
                rid = "R%s%05d" % (name[-1].upper(), cid)
                uid = "%d.%d" % (epoch, cid)
                length = rnd.randrange(60, 400)
                fin = epoch + length + 120
                db.execute(ins_call, (cid, rid, uid, uid, str(300000 + cid), ag[0], ag[1], camp[0], camp[1],
                                      call_date, ds, epoch, length, "r1:MP3/%s-all.mp3" % rid, epoch + length + 60,
                                      fin, name, srv, call_date[:13]))
                db.execute(ins_job, (cid, cid, 4e9 + epoch, epoch + length + 60, fin - 30, fin, fin))
                mos_in = min(4.8, max(1.2, rnd.gauss(level, 0.3)))
                mos_out = min(4.8, max(1.2, rnd.gauss(level + 0.1, 0.3)))
                net = (round(min(4.5, rnd.gauss(4.3, 0.1)), 3), round(max(0, rnd.gauss(0.4, 0.2)), 3),
                       round(max(0, rnd.gauss(8, 2)), 2)) if captured else (None, None, None)
                db.execute(ins_an, (cid, "r1:MP3/%s-all.mp3" % rid, fin, fin, length, round(mos_in, 3),
                                    round(mos_out, 3), 1 if rnd.random() < 0.01 else 0, length * 0.4,
                                    length * 0.4, round(max(0.0, rnd.gauss(4, 3)), 2),
                                    round(max(0, rnd.gauss(0.02, 0.03)), 3), net[0],
                                    "ITU-T G.107 E-model" if captured else None, net[1], net[2],
                                    round(max(0, rnd.gauss(0.5, 0.3)), 2), trunk))
                total = min(100, max(20, rnd.gauss(76, 9)))
                db.execute(ins_sc, (cid, ds, round(total, 1), 1 if total < 60 else 0, fin))
                if not attempts:
                    continue
                # the call's own attempt, and an unanswered one beside it six times in ten
                db.execute(ins_att, (uid, call_date, ds, call_date[:13], epoch, srv, str(300000 + cid),
                                     "SIP/%s-%08x" % (name, cid), name, "ANSWER", 16, 200, "OK",
                                     round(rnd.uniform(2, 9), 1), length, cid, epoch + length))
                if rnd.random() < 0.6:
                    st = rnd.choice(HANGUPS)
                    e2 = max(mid, epoch - rnd.randrange(1, 600))
                    t2 = datetime.datetime.fromtimestamp(e2, UTC).strftime("%Y-%m-%d %H:%M:%S")
                    db.execute(ins_att, ("%d.%dx" % (e2, cid), t2, ds, t2[:13], e2, srv, str(900000 + cid),
                                         "SIP/%s-%08x" % (name, cid + 1), name, st[0], st[1], st[2], st[3],
                                         round(rnd.uniform(15, 40), 1), 0, None, e2 + 40))
db.execute("COMMIT")
print(datetime.datetime.fromtimestamp(deg_t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), cid)
EOF
read -r DEGRADED CALLS < "$T/gen.out"
echo "# $CALLS calls over 35 days; telco_b's MOS 4.0 -> 3.4 from $DEGRADED"
"$CQ" store routes --db "$T/store.db" --rebuild > "$T/routes.out" 2>&1 ||
    { cat "$T/routes.out"; echo "FAIL: callqa store routes --rebuild"; exit 1; }
echo "# callqa store routes: $(cat "$T/routes.out")"
PORT=$(free_port)
"$CQ" serve --db "$T/store.db" --token-file "$T/token" --listen "127.0.0.1:$PORT" > "$T/serve.log" 2>&1 &
echo $! > "$T/serve.pid"
serving "$(cat "$T/serve.pid")" "http://127.0.0.1:$PORT/health" ||
    { echo "FAIL: the service did not start: $(tail -5 "$T/serve.log")"; exit 1; }
BASE="http://127.0.0.1:$PORT" TOKEN=$(cat "$T/token") AGENT_USER=ann AGENT_PASSWORD=$(cat "$T/pw") \
    DEGRADED="$DEGRADED" SHOTS="${CALLQA_SHOTS:-}" node "$HERE/test_routes_view.mjs"
rc=$?
if [ $rc -ne 0 ]; then
    echo "--- serve.log (last lines)"
    tail -20 "$T/serve.log"
    kill -0 "$(cat "$T/serve.pid")" 2>/dev/null || echo "--- the service is no longer running"
fi
exit $rc
