#!/bin/sh
# test_answer.sh - call_events.answer_sec: where the call starts for the people in it. Calls
# made with sox from the corpus's real ringback, busy tone, hold music and speech:
#   - queue music, then a person: the answer at the music's end (answer_after hold);
#   - a ringback, then a person: the answer at the ringback's end (answer_after ringback);
#   - a person, then hold music, then the person: the music is a hold inside the call, and the
#     recording starts at the answer (0, answer_after null);
#   - a busy tone alone: never answered (null, answer_after busy);
#   - queue music alone: nobody after it (null, answer_after hold);
#   - two legs, an IVR with no music: prompts on one leg, two keys pressed on the other (silent
#     but for them), then a person: the answer at the last key's end (answer_after dtmf);
#   - two legs, a person speaks first on the leg that later presses a key (a PIN asked for in
#     the call): the recording starts at the answer (0).
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
n8 "$C/tones/baresip_dtmf_1.wav" "$T/key1.wav"
n8 "$C/tones/baresip_dtmf_2.wav" "$T/key2.wav"
sil() { sox -n -r 8000 -c 1 -b 16 -e signed-integer "$2" trim 0 "$1"; } # sil SEC OUT
sil 3.2 "$T/s32.wav"
sil 5 "$T/s5.wav"
sil 3 "$T/s3.wav"
sil 2 "$T/s2.wav"
sil 0.5 "$T/s05.wav"
sil 25 "$T/s25.wav"
# the IVR: prompts (talk2) on the first leg, keys at 3.2 s and 8.6 s on the second, the agent
sox "$T/talk2.wav" "$T/s3.wav" "$T/talk2.wav" "$T/s2.wav" "$T/talk.wav" "$T/talk2.wav" "$T/ivr_a.wav"
sox "$T/s32.wav" "$T/key1.wav" "$T/s5.wav" "$T/key2.wav" "$T/s25.wav" "$T/ivr_b.wav"
sox -M "$T/ivr_a.wav" "$T/ivr_b.wav" "$T/ivr.wav" trim 0 20
# a PIN in the call: the second leg spoke before its key
sox "$T/s05.wav" "$T/talk2.wav" "$T/s2.wav" "$T/key1.wav" "$T/s25.wav" "$T/pin_b.wav"
sox -M "$T/ivr_a.wav" "$T/pin_b.wav" "$T/pin.wav" trim 0 20
sox "$T/music.wav" "$T/gap.wav" "$T/talk.wav" "$T/talk2.wav" "$T/queue.wav"
sox "$T/ring.wav" "$T/gap.wav" "$T/talk.wav" "$T/talk2.wav" "$T/ringing.wav"
sox "$T/talk.wav" "$T/gap.wav" "$T/music.wav" "$T/gap.wav" "$T/talk2.wav" "$T/held.wav"
cp "$T/busy.wav" "$T/busyonly.wav"
cp "$T/music.wav" "$T/musiconly.wav"
for f in queue ringing held busyonly musiconly ivr pin; do
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
check "an IVR's keys on one leg, prompts on the other: the answer at the last key's end" \
    answer ivr 8.5 9.3 dtmf
check "a key after that leg spoke: the recording starts at the answer" answer pin 0 0 null
finish "answer"
