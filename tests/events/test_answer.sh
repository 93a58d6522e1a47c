#!/bin/sh
# test_answer.sh - call_events.answer_sec: where the call starts for the people in it. Calls
# made with sox from the corpus's real ringback, busy tone, hold music and speech:
#   - queue music, then a person: the answer at the music's end (answer_after hold);
#   - a ringback, then a person: the answer at the ringback's end (answer_after ringback);
#   - a person, then hold music, then the person: the music is a hold inside the call, and the
#     recording starts at the answer (0, answer_after null);
#   - a busy tone alone: never answered (null, answer_after busy);
#   - queue music alone: nobody after it (null, answer_after hold).
#   usage: test_answer.sh CALLQA CORPUS_DIR
set -u
CQ=$1
C=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
if [ ! -f "$C/hold_music/moh_manolo_camp_morning_coffee.wav" ]; then
    echo "SKIP: no corpus at $C"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$C/../models}"
n8() { # n8 IN OUT [EFFECT...]: 8 kHz mono 16-bit
    i=$1 o=$2
    shift 2
    sox "$i" -r 8000 -c 1 -b 16 -e signed-integer "$o" "$@"
}
n8 "$C/speech/ps_librivox_0870.wav" "$T/talk.wav"
n8 "$C/speech/ps_goforward.wav" "$T/talk2.wav"
n8 "$C/hold_music/moh_manolo_camp_morning_coffee.wav" "$T/music.wav" trim 2 20 gain -6
n8 "$C/tones/baresip_ringback_us.wav" "$T/ring.wav"
n8 "$C/tones/baresip_busy_us.wav" "$T/busy.wav"
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$T/gap.wav" trim 0 1
sox "$T/music.wav" "$T/gap.wav" "$T/talk.wav" "$T/talk2.wav" "$T/queue.wav"
sox "$T/ring.wav" "$T/gap.wav" "$T/talk.wav" "$T/talk2.wav" "$T/ringing.wav"
sox "$T/talk.wav" "$T/gap.wav" "$T/music.wav" "$T/gap.wav" "$T/talk2.wav" "$T/held.wav"
cp "$T/busy.wav" "$T/busyonly.wav"
cp "$T/music.wav" "$T/musiconly.wav"
for f in queue ringing held busyonly musiconly; do
    "$CQ" analyze --json "$T/$f.wav" > "$T/$f.json" 2> "$T/$f.err" || cat "$T/$f.err"
done
# answer NAME LOW HIGH AFTER: answer_sec in [LOW, HIGH] (or "null"), answer_after AFTER
answer() {
    python3 - "$T/$1.json" "$2" "$3" "$4" << 'EOF'
import json, sys
ce = json.load(open(sys.argv[1]))["call_events"]
lo, hi, after = sys.argv[2], sys.argv[3], sys.argv[4]
a = ce["answer_sec"]
ok = (a is None) if lo == "null" else (a is not None and float(lo) <= a <= float(hi))
ok = ok and ce["answer_after"] == (None if after == "null" else after)
print(f"# {sys.argv[1].split('/')[-1]}: answer_sec {a}, answer_after {ce['answer_after']}")
sys.exit(0 if ok else 1)
EOF
}
check "queue music then a person: the answer at the music's end" answer queue 19.0 21.0 hold
check "a ringback then a person: the answer at the ringback's end" answer ringing 7.5 8.6 ringback
check "a person, then hold music: the recording starts at the answer" answer held 0 0 null
check "a busy tone alone: never answered" answer busyonly null null busy
check "queue music alone: nobody after it, the answer not known" answer musiconly null null hold
finish "answer"
