#!/bin/sh
# test_quickstart.sh - the README's main command, as a new user runs it: `scripts/quickstart
# --no-serve` (set-up, build, the sample calls through the watched folder, the imported
# transcripts, the worker and the service), with the shared models but NISQA (so the MOS is
# DNSMOS's, as on a fresh machine); then each sample call shows
# what scripts/make-demo-calls built it to show, in the summary read from the API, and nothing
# else does. Then `scripts/quickstart --port P`: the dashboard is served, the login it prints
# opens a session, and SIGTERM stops it and the service (Ctrl-C's SIGINT takes the same trap; a
# background job of a script has SIGINT ignored, so the test sends SIGTERM).
#   usage: test_quickstart.sh SOURCE_DIR SHARED_DIR [BUILD_DIR]
set -u
ROOT=$(cd "$1" && pwd)
SH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
if [ ! -d "$SH/models/silero_vad" ]; then
    echo "SKIP: $SH/models is missing"
    exit 77
fi
T=$(mktemp -d)
QS=""
trap '[ -n "$QS" ] && kill $QS 2> /dev/null; rm -rf "$T"' EXIT
# the shared models but NISQA (a fresh machine has no NISQA: its weights are the user's to
# install, so the MOS comes from DNSMOS), and VADER's lexicon from the reference package the
# sentiment tests install
mkdir -p "$T/models/vader"
for m in "$SH"/models/*; do
    [ "$(basename "$m")" = nisqa ] || ln -s "$m" "$T/models/$(basename "$m")"
done
LEX="$ROOT/tests/scoring/vader/node_modules/vader-sentiment/vader_lexicon.txt"
[ -f "$LEX" ] || (cd "$ROOT/tests/scoring/vader" && npm ci --silent > /dev/null)
cp "$LEX" "$T/models/vader/vader_lexicon.txt"
export CALLQA_MODEL_DIR="$T/models"

# When the suite runs from build/ (scripts/test), quickstart's scripts/build finds it built and
# must change nothing there: other tests are running its programs meanwhile.
SAME_BUILD=0
if [ -n "${3:-}" ] && [ "$(cd "$3" && pwd -P)" = "$(cd "$ROOT" && pwd -P)/build" ]; then
    SAME_BUILD=1
    ls -l --time-style=+%s.%N "$3/callqa" "$3/callqa-service" > "$T/built.before"
fi
"$ROOT/scripts/quickstart" --no-serve > "$T/qs.out" 2>&1
rc=$?
if [ "$SAME_BUILD" = 1 ]; then
    ls -l --time-style=+%s.%N "$3/callqa" "$3/callqa-service" > "$T/built.after"
    check "quickstart in the suite's own build: the programs not rebuilt" \
        cmp -s "$T/built.before" "$T/built.after"
fi
check "quickstart --no-serve: exit 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -40 "$T/qs.out"
W=$ROOT/build/quickstart
check "quickstart: the summary printed" grep -q "calls through the watched folder" "$T/qs.out"
check "quickstart: the flagged call named, with why" grep -q "^flagged by the scorecard: 1" "$T/qs.out"
check "each sample call shows what it was built to show, and nothing else does" python3 - "$W/summary.json" "$W/demo/expected.json" << 'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))
calls = {c["recording_id"]: c for c in s["calls"]}
bad = []
def want(ok, what):
    if not ok:
        bad.append(what)
want(set(calls) == set(exp), "the calls are the sample calls: %s" % sorted(calls))
for rid, e in exp.items():
    c = calls.get(rid)
    if not c:
        continue
    badges = {f["code"] for f in c["found"]} - {"mos_low"}
    w = e["what"]
    want(c["state"] == "complete", "%s complete" % w)
    want((c["stages"] or {}).get("transcribe") == "done" and (c["transcript_words"] or 0) > 20,
         "%s: its imported transcript kept and checked" % w)
    want(("one_way" in badges) == bool(e.get("one_way")), "%s: one_way %s" % (w, badges))
    want(("clipping" in badges) == ("clipped_leg" in e), "%s: clipping %s" % (w, badges))
    want(("dead_air" in badges) == ("dead_air" in e), "%s: dead_air %s" % (w, badges))
    if "dead_air" in e:
        a, b = e["dead_air"]
        want(abs((c["dead_air_sec"] or 0) - (b - a)) < 2, "%s: %s s" % (w, c["dead_air_sec"]))
    want("swapped_legs" not in badges, "%s: no swapped legs" % w)
    if "hold" in e:
        a, b = e["hold"]
        want(abs((c["hold_sec"] or 0) - (b - a)) < 2, "%s: hold %s s" % (w, c["hold_sec"]))
    else:
        want(not c["hold_sec"], "%s: no hold (%s)" % (w, c["hold_sec"]))
    want((c["dtmf_count"] or 0) == len(e.get("dtmf", "")), "%s: dtmf %s" % (w, c["dtmf_count"]))
    want((c["legs"] == 1) == bool(e.get("mono")), "%s: legs %s" % (w, c["legs"]))
    want(bool(c["flagged"]) == bool(e.get("flagged")), "%s: flagged %s (%s)"
         % (w, c["flagged"], c["flag_reason"]))
    if e.get("flagged") is False:
        want(not badges and (c["partial_score"] or 0) >= 90, "%s: clean, %s" % (w, c["partial_score"]))
    want(c["mos_model"] == "DNSMOS P.835 OVRL", "%s: the MOS from DNSMOS (%s)" % (w, c["mos_model"]))
    want(c["mos_in"] is not None and (c["mos_out"] is not None or e.get("mono")),
         "%s: a MOS on every leg (%s, %s)" % (w, c["mos_in"], c["mos_out"]))
want(s["mos_models"] == ["DNSMOS P.835 OVRL"], "the MOS model named: %s" % s["mos_models"])
ag = {a["agent_user"]: a for a in s["agents"]}
want(sorted(ag) == ["dana", "lucy", "omar"], "the agents from the file names: %s" % sorted(ag))
want(sum(a["total_calls"] for a in ag.values()) == len(exp), "the roll-ups count every call")
want(ag.get("omar", {}).get("customer_drop_calls") == 1, "the upset customer's drop in omar's roll-up")
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
EOF

# serving: the login it prints opens a session; Ctrl-C ends it
PORT=$(free_port)
"$ROOT/scripts/quickstart" --port "$PORT" > "$T/serve.out" 2>&1 &
QS=$!
for _ in $(seq 1 600); do
    grep -q "log in as admin" "$T/serve.out" && break
    kill -0 $QS 2> /dev/null || break
    sleep 0.2
done
PW=$(sed -n 's/^ *log in as admin with the password \([^ ]*\)$/\1/p' "$T/serve.out")
check "quickstart: a login printed" [ -n "$PW" ]
code=$(curl -s -o "$T/session.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data "{\"username\": \"admin\", \"password\": \"$PW\"}" "http://127.0.0.1:$PORT/api/session")
check "the dashboard's login takes it (200)" [ "$code" = 200 ]
check "the dashboard is served" sh -c "curl -sf 'http://127.0.0.1:$PORT/' | grep -qi '<html'"
FLAGGED=$(python3 -c '
import json, sys
print(",".join(sorted(k for k, v in json.load(open(sys.argv[1])).items() if v.get("flagged"))))' \
    "$W/demo/expected.json")
check "in Chromium: the printed login signs in, the flagged queue lists the calls built to be flagged" \
    node "$ROOT/tests/ui/quickstart_flagged.mjs" "http://127.0.0.1:$PORT" admin "$PW" "$FLAGGED"
check "the password file is the owner's only" [ "$(stat -c %a "$W/admin.password")" = 600 ]
kill -TERM $QS
stopped() { ! kill -0 "$QS" 2> /dev/null && ! curl -s -o /dev/null "http://127.0.0.1:$PORT/health"; }
check "SIGTERM stops it, and the service with it" wait_until 60 stopped
QS=""
finish "quickstart"
