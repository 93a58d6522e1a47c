#!/bin/sh
# test_asr_corpus.sh - `callqa analyze --transcribe` on every corpus call against the fake
# servers of both protocols (tests/clients/fake_asr.py, started here), checked by
# tests/clients/check_transcript.py against the audio, the labels and what the fakes received:
#   - openai (words) and whispercpp (token times) on every call: the audio sent is 16 kHz mono
#     PCM16, lies inside padded speech, overlaps labelled hold music, ringback, busy, SIT and
#     DTMF by at most 50 ms, covers at least 95 % of the remaining labelled speech, and sits on
#     the call's clock within 20 ms; the words land on the clock within 20 ms;
#   - hallucinations (both protocols; whisper.cpp without token times, checked per segment):
#     every one the fake injects is flagged or dropped;
#   - the real words of a reference conversation (conversations/pyannote_sample.stm): at most
#     2 % flagged or dropped.
#   usage: test_asr_corpus.sh BUILD/callqa SHARED_DIR
set -u
if [ ! -d "$2/corpus/calls" ] || [ ! -d "$2/models" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
SH=$2
C=$SH/corpus/calls
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
ONLY=levels,vad,events,conversation


# one call through one fake: its report into $d/report.json; 0 when callqa succeeded
transcribe() { # transcribe DIR PROTOCOL MODE FILE [callqa flags...]
    d=$1 proto=$2 mode=$3 f=$4
    shift 4
    fake_start "$d" --protocol "$proto" --mode "$mode"
    if [ "$proto" = openai ]; then u="$URL/v1"; else u="$URL"; fi
    # shellcheck disable=SC2086 # $f: a file, or --in and --out with theirs
    "$CQ" analyze --transcribe --json -q --only "$ONLY" --asr-url "$u" --asr-protocol "$proto" \
        --asr-model whisper-large-v3 "$@" $f > "$d/report.json" 2> "$d/callqa.err"
    rc=$?
    fake_stop
    return $rc
}

CALLS="call01_normal call02_one_way_audio call03_dead_air call04_hold_music call05_ringback_answer
call06_ivr_dtmf call07_clipping call08_low_level call09_noise call10_busy call11_sit_intercept
call12_overtalk call13_mono_diarization call14_vicidial"
for proto in openai whispercpp; do
    case $proto in openai) mode=openai,words ;; *) mode=token-times,words ;; esac
    for call in $CALLS; do
        f=$C/$call.wav
        [ "$call" = call14_vicidial ] && f="--in $C/call14_vicidial-in.wav --out $C/call14_vicidial-out.wav"
        d=$T/$proto-$call
        check "$proto: $call transcribed" transcribe "$d" "$proto" "$mode" "$f"
        check "$proto: $call: audio, clock, speech, labels, coverage, words" \
            "$PYNP" "$HERE/check_transcript.py" --report "$d/report.json" --log "$d" \
            --call "$call" --labels "$C/labels.json"
    done
done

# hallucinations: OpenAI with words; whisper.cpp without token times (per segment)
for proto in openai whispercpp; do
    case $proto in openai) mode=openai,halluc ;; *) mode=halluc ;; esac
    for call in $CALLS; do
        f=$C/$call.wav
        [ "$call" = call14_vicidial ] && f="--in $C/call14_vicidial-in.wav --out $C/call14_vicidial-out.wav"
        d=$T/halluc-$proto-$call
        check "$proto hallucinations: $call transcribed" transcribe "$d" "$proto" "$mode" "$f"
        check "$proto hallucinations: $call: every one flagged or dropped" \
            "$PYNP" "$HERE/check_transcript.py" --report "$d/report.json" --log "$d" \
            --call "$call" --hallucinations
    done
done

# the real words of a reference conversation
STM=$SH/corpus/conversations/pyannote_sample.stm
for proto in openai whispercpp; do
    case $proto in openai) mode=openai,stm ;; *) mode=token-times,stm ;; esac
    d=$T/stm-$proto
    mkdir -p "$d"
    fake_start "$d" --protocol "$proto" --mode "$mode" --stm "$STM"
    if [ "$proto" = openai ]; then u="$URL/v1"; else u="$URL"; fi
    "$CQ" analyze --transcribe --json -q --only "$ONLY" --asr-url "$u" --asr-protocol "$proto" \
        --asr-model whisper-large-v3 "$SH/corpus/conversations/pyannote_sample.wav" \
        > "$d/report.json" 2> "$d/callqa.err"
    echo $? > "$d/rc"
    fake_stop
    check "$proto: the reference conversation transcribed" [ "$(cat "$d/rc")" = 0 ]
    check "$proto: at most 2 % of the real words flagged or dropped" \
        "$PYNP" "$HERE/check_transcript.py" --report "$d/report.json" --log "$d" \
        --call pyannote_sample --stm "$STM"
done
finish "transcription (corpus)"
