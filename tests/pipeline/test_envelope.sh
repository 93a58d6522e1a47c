#!/bin/sh
# test_envelope.sh - the level envelope through the QA pipeline: corpus calls uploaded to
# `callqa serve --db` (a stereo call with labelled dead air, leg files, a mono mix), a call
# asked for before it is analysed (404 no_envelope), `callqa worker --once`, then
# GET /api/qa/call/{id}/envelope: as many values as duration / 0.05 (within 1) when points is
# large, the same values `callqa analyze --envelope 50` prints, at most `points` values each the
# largest of its run when decimated, every value within [-100, 0] dBFS, the labelled dead air
# quieter than the speech; the stored reports without it; bad arguments, unknown calls and a
# call whose envelope is gone (analysed before envelopes were kept) answered as documented.
#   usage: test_envelope.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2/calls" ] || [ ! -d "$2/../models" ]; then
    echo "SKIP: $2 or its models are missing"
    exit 77
fi
CQ=$1
C=$2/calls
export CALLQA_MODEL_DIR="$2/../models"
T=$(mktemp -d)
SERVE=""
cleanup() {
    [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null
    store_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
. "$(dirname "$0")/pipeline_lib.sh"
store_setup "$T"
DB=$(test_store "$T" envelope) || exit 1
serve_start "$DB"

upload E1 "audio=@$C/call03_dead_air.wav"
upload E2 "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
upload E3 "audio=@$C/call13_mono_diarization.wav"
upload E4 "audio=@$C/call01_normal.wav"

get() { # get PATH: the status; the body in $T/body.json
    curl -s -o "$T/body.json" -w '%{http_code}' "$U$1"
}
check "before the worker: 404" test "$(get /api/qa/call/E1/envelope)" = 404
check "  code no_envelope, with a sentence" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b["code"] == "no_envelope" and "not analysed yet" in b["error"], b
' "$T/body.json"

CALLQA_SCORING=false "$CQ" worker --db "$DB" --once --jobs 2 --max-load 0 > "$T/worker.log" 2>&1
check "the worker drains the queue and exits 0" test $? = 0

for id in E1 E2 E3 E4; do
    get "/api/qa/call/$id/envelope?points=20000" > "$T/$id.status"
    cp "$T/body.json" "$T/$id.full.json"
    get "/api/qa/call/$id/envelope?points=100" > "$T/$id.status100"
    cp "$T/body.json" "$T/$id.100.json"
    get "/api/qa/call/$id/envelope" > /dev/null
    cp "$T/body.json" "$T/$id.default.json"
    check "$id: 200 at points=20000 and 100" test "$(cat "$T/$id.status")$(cat "$T/$id.status100")" = 200200
done
"$CQ" analyze --json -q --envelope 50 "$C/call03_dead_air.wav" > "$T/E1.cli.json"
"$CQ" analyze --json -q --envelope 50 --in "$C/call14_vicidial-in.wav" \
    --out "$C/call14_vicidial-out.wav" > "$T/E2.cli.json"

check "lengths, decimation, range, the CLI's values, the dead air quieter than speech" python3 -c '
import json, math, sys
T = sys.argv[1]
legs_of = {"E1": {"inbound", "outbound"}, "E2": {"inbound", "outbound"}, "E3": {"inbound"},
           "E4": {"inbound", "outbound"}}
n_values = 0
for cid, legs in legs_of.items():
    full = json.load(open("%s/%s.full.json" % (T, cid)))
    small = json.load(open("%s/%s.100.json" % (T, cid)))
    dflt = json.load(open("%s/%s.default.json" % (T, cid)))
    assert full["recording_id"] == cid and isinstance(full["call_id"], int), full.keys()
    assert full["source_step_sec"] == 0.05 and full["step_sec"] == 0.05, (cid, full["step_sec"])
    assert set(full["legs"]) == legs, (cid, set(full["legs"]))
    dur = full["duration_sec"]
    for leg, v in full["legs"].items():
        n_values += len(v)
        # the longest leg is the call: its length is ceil(duration / 0.05)
        assert len(v) <= math.ceil(dur / 0.05 - 1e-9) + 1, (cid, leg, len(v), dur)
        assert all(-100 <= x <= 0 for x in v), (cid, leg, min(v), max(v))
        assert all(abs(x * 10 - round(x * 10)) < 1e-9 for x in v), (cid, leg)
    longest = max(len(v) for v in full["legs"].values())
    assert abs(longest - dur / 0.05) <= 1, (cid, longest, dur)
    # decimated: equal runs of steps, each the largest of its run
    per = math.ceil(longest / 100)
    assert abs(small["step_sec"] - 0.05 * per) < 1e-9, (cid, small["step_sec"], per)
    for leg, v in full["legs"].items():
        d = small["legs"][leg]
        assert len(d) <= 100, (cid, leg, len(d))
        assert d == [max(v[i:i + per]) for i in range(0, len(v), per)], (cid, leg)
    # the default (2000 points) holds these calls whole
    assert dflt["legs"] == full["legs"] and dflt["step_sec"] == 0.05, cid
    print("%s: %.2f s, %s values per leg, %s at points=100 (step %.2f s)" % (
        cid, dur, {k: len(v) for k, v in full["legs"].items()},
        {k: len(v) for k, v in small["legs"].items()}, small["step_sec"]))
# the values the worker stored are the ones `callqa analyze --envelope 50` prints
for cid in ("E1", "E2"):
    full = json.load(open("%s/%s.full.json" % (T, cid)))
    rep = json.load(open("%s/%s.cli.json" % (T, cid)))
    for leg in ("inbound", "outbound"):
        assert rep[leg]["envelope"]["dbfs"] == full["legs"][leg], (cid, leg)
# call03: dead air from 31.9 s to 57.9 s on both legs (calls/labels.json); speech before it
e1 = json.load(open("%s/E1.full.json" % T))["legs"]
def mean(v, a, b):
    s = v[int(a / 0.05):int(b / 0.05)]
    return sum(s) / len(s)
for leg, speech in (("inbound", (13.9, 19.1)), ("outbound", (0.5, 5.3))):
    quiet, loud = mean(e1[leg], 32.5, 57.5), mean(e1[leg], *speech)
    print("call03 %s: dead air %.1f dBFS, speech %.1f dBFS" % (leg, quiet, loud))
    assert loud - quiet > 20, (leg, quiet, loud)
print("%d values checked" % n_values)
' "$T"

# the stored reports do not hold it; call_envelopes holds one row per analysed call
check "the stored reports hold no envelope" test \
    "$(store_sql "$DB" "SELECT COUNT(*) FROM analyses WHERE report LIKE '%\"envelope\":{%'")" = 0
check "call_envelopes: one row per call, at 0.05 s" test \
    "$(store_sql "$DB" "SELECT COUNT(*), MIN(step_sec), MAX(step_sec) FROM call_envelopes")" = "4|0.05|0.05"

check "points below 100: 400" test "$(get '/api/qa/call/E1/envelope?points=99')" = 400
check "  code bad_argument" grep -q '"code":"bad_argument"' "$T/body.json"
check "points above 20000: 400" test "$(get '/api/qa/call/E1/envelope?points=20001')" = 400
check "points not a number: 400" test "$(get '/api/qa/call/E1/envelope?points=2k')" = 400
check "an unknown call: 404 not_found" test "$(get /api/qa/call/NOPE/envelope)" = 404
check "  code not_found" grep -q '"code":"not_found"' "$T/body.json"
# a call analysed before envelopes were kept: its row is not there
store_sql "$DB" "DELETE FROM call_envelopes WHERE call_id = (SELECT id FROM calls WHERE recording_id = 'E4')" > /dev/null
check "a call without its envelope: 404 no_envelope" test "$(get /api/qa/call/E4/envelope)" = 404
check "  code no_envelope" grep -q '"code":"no_envelope"' "$T/body.json"
check "the call itself still answers" test "$(get /api/qa/call/E4)" = 200

serve_stop
SERVE=""
finish envelope
