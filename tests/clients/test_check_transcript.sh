#!/bin/sh
# test_check_transcript.sh - check_transcript.py passes right transcripts and fails wrong ones.
# sim_client.py (a minimal client, not callqa) transcribes corpus calls through fake_asr.py from
# their golden reports; each check must pass on its output, and each deliberate fault
# (sim_client.py --break) must fail the check that guards against it. Check 5's figure is
# printed, not asserted: the client sends the VAD's speech_segments as they are.
#     usage: test_check_transcript.sh     (needs ../shared, python3 and sox; exit 77 without)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
C="$SRC/../shared/corpus"
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
. "$HERE/asr_lib.sh"
[ -f "$C/calls/labels.json" ] || { echo "SKIP: $C not found"; exit 77; }
for tool in python3 sox; do
    command -v "$tool" > /dev/null || { echo "SKIP: $tool not found"; exit 77; }
done
T=$(mktemp -d)
FPID=""
trap '[ -n "$FPID" ] && kill "$FPID" 2> /dev/null; rm -rf "$T"' EXIT
LABELS="$C/calls/labels.json"
STM="$C/conversations/pyannote_sample.stm"

# run NAME PROTOCOL MODE CALL FILE BREAK [FAKE-ARGS...] -- [CHECK-ARGS...]: the fake, the client,
# then the checker; its output in $T/NAME.out, its exit status in $T/NAME.rc
run() {
    rn=$1 proto=$2 mode=$3 call=$4 file=$5 brk=$6
    shift 6
    fargs=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do fargs="$fargs $1"; shift; done
    [ $# -gt 0 ] && shift
    d="$T/$rn"
    mkdir -p "$d"
    # shellcheck disable=SC2086 # $fargs are words on purpose
    python3 "$HERE/fake_asr.py" --protocol "$proto" --mode "$mode" --log "$d/log" \
        --port-file "$d/port" $fargs 2> "$d/fake.err" &
    FPID=$!
    i=0
    while [ ! -s "$d/port" ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
    url="http://127.0.0.1:$(cat "$d/port")"
    [ "$proto" = openai ] && url="$url/v1"
    python3 "$HERE/sim_client.py" --golden "$SRC/tests/golden/report_golden.jsonl" --file "$file" \
        --root "$C" --labels "$LABELS" --call "$call" --url "$url" --protocol "$proto" \
        --out "$d/report.json" ${brk:+--break "$brk"} 2> "$d/sim.err"
    echo $? > "$d/sim.rc"
    kill "$FPID"
    wait "$FPID"
    FPID=""
    "$PYNP" "$HERE/check_transcript.py" --report "$d/report.json" --log "$d/log" --call "$call" \
        --root "$C" --labels "$LABELS" "$@" > "$T/$rn.out" 2>&1
    echo $? > "$T/$rn.rc"
    sed "s/^/    /" "$T/$rn.out" | cut -c1-220
}
line() { grep -q "^$2 $3 " "$T/$1.out"; }   # line NAME PASS|FAIL|SKIP N
passes() { # passes NAME N...: each check N passed
    n1=$1
    shift
    for k in "$@"; do check "$n1: check $k passes" line "$n1" PASS "$k"; done
}
rc_is() { [ "$(cat "$T/$1.rc")" = "$2" ]; }

echo "# right transcripts"
run openai_halluc openai words,halluc call04_hold_music ./calls/call04_hold_music.wav "" \
    -- --hallucinations
passes openai_halluc 0 1 2 3 4 6 7
run wc_mono_halluc whispercpp words,halluc call13_mono_diarization \
    ./calls/call13_mono_diarization.wav "" -- --hallucinations
passes wc_mono_halluc 0 1 2 3 4 6 7
run wc_times whispercpp words,token-times call06_ivr_dtmf ./calls/call06_ivr_dtmf.wav ""
passes wc_times 0 1 2 3 4 6
run groq_legs openai groq call14_vicidial ./calls/call14_vicidial-all.mp3 ""
passes groq_legs 0 1 2 3 4 6
run retries openai words call01_normal ./calls/call01_normal.wav "" --fail 429:2,500:1,badjson:1
passes retries 0 1 2 3 6
check "retries: the retried chunks were received more than once" \
    sh -c "grep '^PASS 0 ' '$T/retries.out' | grep -q '15 chunks, 15 received (19 requests)'"
run stm openai stm pyannote_sample ./conversations/pyannote_sample.wav "" --stm "$STM" \
    -- --stm "$STM"
passes stm 0 1 2 3 6 8
check "stm: no labels for a conversation: checks 4 and 5 skipped" line stm SKIP 4

echo "# wrong transcripts"
run shift openai words call04_hold_music ./calls/call04_hold_music.wav shift
check "shift: chunks 50 ms late on the clock fail check 2" line shift FAIL 2
check "shift: the lag is -50 ms" grep -q "worst lag -50.0 ms" "$T/shift.out"
run pauses openai words call04_hold_music ./calls/call04_hold_music.wav pauses
check "pauses: pauses sent as audio fail check 3" line pauses FAIL 3
run music openai words call04_hold_music ./calls/call04_hold_music.wav music
check "music: hold music sent fails check 4" line music FAIL 4
run words openai words call04_hold_music ./calls/call04_hold_music.wav words
check "words: words 50 ms late fail check 6" line words FAIL 6
run noguard whispercpp words,halluc,token-times call13_mono_diarization \
    ./calls/call13_mono_diarization.wav noguard -- --hallucinations
check "noguard: hallucinations kept fail check 7" line noguard FAIL 7
for c in shift pauses music words noguard; do
    check "$c: the checker exits 1" rc_is "$c" 1
done
for c in openai_halluc wc_mono_halluc wc_times groq_legs retries stm shift pauses music words \
    noguard; do
    check "$c: the client finished" rc_is "$c/sim" 0
done
finish "check_transcript"
