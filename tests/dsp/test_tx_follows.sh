#!/bin/sh
# test_tx_follows.sh - what transcription sends follows the events: a call to a queue built from
# corpus material (events_mkcalls queue: a greeting, the queue's prompt, 44 s of hold music of
# held notes with vibrato, the agent) through `callqa analyze --transcribe` against the fake ASR
# server (tests/clients/fake_asr.py, OpenAI protocol). The prompt must be an IVR event and the music
# a hold covering 80 % of it, and the audio sent must leave out both (at most 50 ms of either;
# docs/transcription.md): with the hold lost, the prompt was sent as the agent's words.
#   usage: test_tx_follows.sh BUILD/callqa BUILD/events_mkcalls SOURCE_DIR SHARED_DIR
#   exit 77 without the shared corpus and models
set -u
CQ=$1
MK=$2
SRC=$3
SH=$4
if [ ! -d "$SH/corpus/ivr_prompts" ] || [ ! -d "$SH/models" ]; then
    echo "SKIP: $SH is missing"
    exit 77
fi
HERE=$SRC/tests/clients
T=$(mktemp -d)
FAKE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2> /dev/null
    rm -rf "$T"
}
trap cleanup EXIT
. "$SRC/tests/lib.sh"
. "$HERE/asr_lib.sh"
export CALLQA_MODEL_DIR="$SH/models"
spans=$("$MK" queue "$SH/corpus" "$T/queue.wav") || { echo "FAIL: events_mkcalls queue"; exit 1; }
echo "prompt and music: $spans"
fake_start "$T/fake" --protocol openai --mode openai,words
"$CQ" analyze --transcribe --json -q --only levels,vad,events,conversation --asr-url "$URL/v1" \
    --asr-protocol openai --asr-model whisper-large-v3 "$T/queue.wav" > "$T/report.json" 2> "$T/err"
rc=$?
fake_stop
check "callqa analyze --transcribe succeeded" [ "$rc" = 0 ]
# shellcheck disable=SC2086
set -- $spans
check "the prompt is an IVR event, the music a hold over 80 % of it; the audio sent leaves both out" \
    python3 - "$T/report.json" "$1" "$2" "$3" "$4" << 'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
p0, p1, m0, m1 = map(float, sys.argv[2:6])
ev = r.get("events") or []
print("events: " + "; ".join("%s %.2f-%.2f" % (e["type"], e["start"], e["end"]) for e in ev))
ivr = max([min(e["end"], p1) - max(e["start"], p0) for e in ev if e["type"] == "ivr"] or [0])
hold = max([min(e["end"], m1) - max(e["start"], m0) for e in ev if e["type"] == "hold"] or [0])
sent = [s for leg in (r.get("transcript") or {}).get("legs", []) for c in leg.get("chunks", [])
        for s in c.get("sent", [])]
if not sent:
    sent = [s for c in (r.get("transcript") or {}).get("chunks", []) for s in c.get("sent", [])]
over_p = sum(max(0.0, min(b, p1) - max(a, p0)) for a, b in sent)
over_m = sum(max(0.0, min(b, m1) - max(a, m0)) for a, b in sent)
print("sent: %s; over the prompt %.3f s, over the music %.3f s" % (sent, over_p, over_m))
ok = sent and ivr >= 0.5 * (p1 - p0) and hold >= 0.8 * (m1 - m0) and over_p <= 0.05 and over_m <= 0.05
sys.exit(0 if ok else 1)
EOF
finish "transcription follows the events"
