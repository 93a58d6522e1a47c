#!/bin/sh
# test_asr_diarized.sh - a mono mix of two talkers transcribed one speaker per request: mixes
# with their truth made by tests/dsp/mkmix.py (dev set, seed 38, two calls), each sent
# by `callqa analyze --transcribe` (with --only levels,vad: the diarization runs anyway) to the
# fake server of each protocol, which logs every request's audio and the reference speakers in
# it (fake_asr.py --rttm); tests/clients/check_diarized.py then checks, when the diarization found
# two speakers, that
#   - the transcript's legs are S1 and S2, speakers_from "diarization" with its confidence;
#   - every request is one chunk of one speaker (S1_/S2_START_END.wav), its audio inside that
#     speaker's diarized segments widened by pad_sec and not in the other's;
#   - no request holds more than 0.5 s of a second reference speaker's speech (where that
#     speaker alone speaks, 0.25 s collar), and the requests carry 90 % of the reference speech;
#   - segments and turns carry S1/S2 and lie in their speaker's chunks;
# and, when it found one speaker (dev00 today), that the mix is one `mixed` speaker as before and
# the fake saw two reference speakers in its requests (the check tells them apart). dev01 must
# be two speakers, and no request of it may hold a second reference speaker; on dev00 a second
# speaker that the diarization itself gave to the request's speaker is listed, not failed.
#   usage: test_asr_diarized.sh BUILD/callqa SHARED_DIR
set -u
if [ ! -d "$2/corpus/speech" ] || [ ! -d "$2/corpus/quality" ] || [ ! -d "$2/models" ] ||
    ! command -v sox > /dev/null; then
    echo "SKIP: $2 or sox is missing"
    exit 77
fi
CQ=$1
SH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
FAKE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
. "$HERE/asr_lib.sh"
export CALLQA_MODEL_DIR="$SH/models"

check "two mixes made with their truth" \
    python3 "$HERE/../dsp/mkmix.py" --shared "$SH" --out "$T/mix" --set dev --calls 2
for proto in openai whispercpp; do
    case $proto in openai) mode=openai,words ;; *) mode=token-times,words ;; esac
    for id in dev00 dev01; do
        d=$T/$proto-$id
        fake_start "$d" --protocol "$proto" --mode "$mode" --rttm "$T/mix/$id.rttm"
        if [ "$proto" = openai ]; then u="$URL/v1"; else u="$URL"; fi
        "$CQ" analyze --transcribe --json -q --only levels,vad --asr-url "$u" \
            --asr-protocol "$proto" --asr-model whisper-large-v3 "$T/mix/$id.wav" \
            > "$d/report.json" 2> "$d/callqa.err"
        echo $? > "$d/rc"
        fake_stop
        check "$proto: $id transcribed" [ "$(cat "$d/rc")" = 0 ]
        # dev01: two speakers, and its diarization right where it is scored, so any second
        # reference speaker in a request fails; dev00: either way (one speaker today)
        strict=""
        [ "$id" = dev01 ] && strict=--strict-truth
        check "$proto: $id: the speakers of each request and of the transcript" \
            python3 "$HERE/check_diarized.py" --report "$d/report.json" --log "$d" \
            --rttm "$T/mix/$id.rttm" $strict
    done
    check "$proto: dev01 diarized into two speakers (what the test is about)" python3 -c '
import json, sys
n = json.load(open(sys.argv[1]))["diarization"]["n_speakers"]
assert n == 2, n' "$T/$proto-dev01/report.json"
done
finish "transcription of a diarized mix"
