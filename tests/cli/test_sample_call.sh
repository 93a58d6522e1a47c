#!/bin/sh
# test_sample_call.sh - the bundled sample call (the README's main command) shows what
# scripts/make-sample-call put in it (samples/sample-call.json beside the .wav):
#   - dead air: at least one span, one of them within 0.5 s of where the script put it at each
#     end, and at least 1 s over the dead-air rule as the VAD measures it (not only as built);
#   - each leg's longest monologue is one utterance of that leg (within 0.5 s), not a stretch
#     across the dead air;
#   - the readable report prints the dead air.
# Run twice: with the models of $CALLQA_MODEL_DIR (Silero VAD when present: what the golden
# and a networked quickstart use) and with no models (the DSP fallback of an offline
# quickstart). Needs nothing from ../shared.
#   usage: test_sample_call.sh BUILD/callqa SOURCE_DIR [SAMPLE.wav]
set -u
CQ=$1
SRC=$2
WAV=${3:-$SRC/samples/sample-call.wav}
LABELS=${WAV%.wav}.json
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib.sh"

check "labels beside the sample ($LABELS)" test -f "$LABELS"
mkdir "$T/no-models"
for mode in models none; do
    if [ $mode = none ]; then
        md=$T/no-models
    else
        md=${CALLQA_MODEL_DIR:-}
    fi
    CALLQA_MODEL_DIR=$md "$CQ" analyze --json -q "$WAV" > "$T/$mode.json" 2> "$T/$mode.err"
    check "$mode: analyze --json exits 0" test $? -eq 0
    python3 - "$T/$mode.json" "$LABELS" > "$T/$mode.checks" << 'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
lab = json.load(open(sys.argv[2]))
c = r["conversation"]
vad = r["inbound"]["vad"]["engine"] if r["inbound"].get("vad") else "none"
da = c["dead_air"]
want = [e for e in lab["events"] if e["type"] == "dead_air"][0]
print("# VAD %s: dead air %d spans %s (rule %.1f s); put at %.2f-%.2f" % (
    vad, da["count"], ["%.2f-%.2f" % (s["start"], s["end"]) for s in da["spans"]],
    da["min_sec"], want["start"], want["end"]))
def ok(cond, name):
    print(("PASS " if cond else "FAIL ") + name)
ok(da["count"] >= 1, "dead air found")
near = [s for s in da["spans"]
        if abs(s["start"] - want["start"]) <= 0.5 and abs(s["end"] - want["end"]) <= 0.5]
ok(len(near) == 1, "a dead-air span within 0.5 s of where the script put it")
ok(bool(near) and near[0]["end"] - near[0]["start"] >= da["min_sec"] + 1.0,
   "the dead air is at least 1 s over the %.0f s rule as measured" % da["min_sec"])
for leg, side in (("inbound", "caller"), ("outbound", "agent")):
    longest = max(u["end"] - u["start"] for u in lab["legs"][side])
    got = c[leg]["longest_monologue_sec"]
    print("# %s longest monologue %.2f s, longest utterance %.2f s" % (leg, got, longest))
    ok(abs(got - longest) <= 0.5, "%s: longest monologue is its longest utterance" % leg)
EOF
    check "$mode: report checked against the labels" test $? -eq 0
    grep '^#' "$T/$mode.checks"
    while read -r res name; do
        check "$mode: $name" test "$res" = PASS
    done << EOF
$(grep -v '^#' "$T/$mode.checks")
EOF
    CALLQA_MODEL_DIR=$md "$CQ" analyze "$WAV" > "$T/$mode.txt" 2> /dev/null
    check "$mode: the readable report prints the dead air" \
        grep -Eq 'dead air +[0-9.]+ s in [1-9][0-9]* spans: [0-9]' "$T/$mode.txt"
done
finish "sample call"
