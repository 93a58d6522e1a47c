#!/bin/sh
# test_cli.sh - the callqa command line end to end: one call, a batch with a bad file in it
# (the batch goes on, the exit status says a call failed), --json lines, ViciDial grouping,
# usage errors. Under the sanitizers (CQ_TEST_SAMPLE=1, their representative case) the call is
# the sample call's first 12 s: the same paths, two fifths of the audio.
#   usage: test_cli.sh BUILD/callqa SOURCE_DIR
set -u
CQ=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib.sh"

SAMPLE="$SRC/samples/sample-call.wav"
if [ "${CQ_TEST_SAMPLE:-}" = 1 ]; then
    sox "$SAMPLE" "$T/sample-call.wav" trim 0 12
    SAMPLE=$T/sample-call.wav
fi

# one call, text report
"$CQ" analyze "$SAMPLE" > "$T/out.txt" 2> "$T/err.txt"
check "single call exits 0" test $? -eq 0
check "text report names the legs" grep -q "inbound (caller)" "$T/out.txt"
check "closing summary on stderr" grep -q "1 call, 0 failed" "$T/err.txt"

# a batch: a directory with good calls, a text file named .wav, a 0-byte file, ViciDial legs
mkdir -p "$T/batch/ORIG"
cp "$SAMPLE" "$T/batch/a.wav"
cp "$SAMPLE" "$T/batch/b.wav"
printf "%s\n" "These are meeting notes, not audio. Someone saved them with a .wav name by mistake, and the batch must say so and go on." > "$T/batch/notes.wav"
: > "$T/batch/empty.wav"
cp "$SAMPLE" "$T/batch/20240101-x-all.wav"
sox "$SAMPLE" "$T/batch/ORIG/20240101-x-in.wav" remix 1 2> /dev/null
sox "$SAMPLE" "$T/batch/ORIG/20240101-x-out.wav" remix 2 2> /dev/null
"$CQ" analyze --json -j 2 "$T/batch" > "$T/batch.jsonl" 2> "$T/batch.err"
rc=$?
check "batch with failures exits 1" test $rc -eq 1
# 5 calls: -all with its ORIG legs is one, a, b, notes, empty
check "one JSON line per call" test "$(wc -l < "$T/batch.jsonl")" -eq 5
check "errors are JSON lines too" test "$(grep -c '"error"' "$T/batch.jsonl")" -eq 2
check "text file named .wav: clear error" grep -q "notes.wav: not a recognised audio file" "$T/batch.err"
check "0-byte file: clear error" grep -q "empty.wav: empty file (0 bytes)" "$T/batch.err"
check "summary counts failures" grep -q "5 calls, 2 failed" "$T/batch.err"
check "ViciDial -all uses the ORIG legs" grep -q '"layout":"leg_files"' "$T/batch.jsonl"
check "the leg choice is reported" grep -q 'instead of the mixed' "$T/batch.jsonl"

# the same batch on threads of one process (--no-isolate): the same reports
"$CQ" analyze --json -j 2 --no-isolate "$T/batch" > "$T/threads.jsonl" 2> /dev/null
check "--no-isolate -j 2: the same reports as isolated" python3 -c '
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
for d in a + b:
    d.pop("analysis_time_sec", None)
assert a == b and len(a) == 5
' "$T/batch.jsonl" "$T/threads.jsonl"

# a crash while analysing one call (injected) fails that call only: the batch goes on
CALLQA_TEST_CRASH_ON=b.wav "$CQ" analyze --json "$T/batch/a.wav" "$T/batch/b.wav" \
    "$SAMPLE" > "$T/crash.jsonl" 2> "$T/crash.err"
check "a crashing call exits 1" test $? -eq 1
check "the other calls are reported" test "$(grep -c '"has_legs"' "$T/crash.jsonl")" -eq 2
# (under AddressSanitizer the child reports the fault itself and exits with status 1)
check "the crash is named" grep -Eq "b.wav: the analysis process (died \(signal 11|failed \(exit status)" "$T/crash.err"

# --in/--out, --only, --channel-map
"$CQ" analyze --json -q --only levels --in "$T/batch/ORIG/20240101-x-in.wav" \
    --out "$T/batch/ORIG/20240101-x-out.wav" > "$T/pair.json"
check "--in/--out exits 0" test $? -eq 0
check "--only levels leaves silence null" grep -q '"silence":null' "$T/pair.json"
"$CQ" analyze --json -q --channel-map out,in "$SAMPLE" > "$T/map.json"
check "--channel-map out,in" grep -q '"channel_map":"out,in"' "$T/map.json"
# the DTMF receivers: libspandsp's alone by default, ours on request (and in the fingerprint)
"$CQ" analyze --json -q --only events "$SAMPLE" > "$T/ev0.json"
check "DTMF: our receivers are off by default" \
    grep -q '"events":{"dtmf_speech":false,"dtmf_voice_cancel":false}' "$T/ev0.json"
"$CQ" analyze --json -q --only events --dtmf-voice-cancel "$SAMPLE" > "$T/ev1.json"
check "--dtmf-voice-cancel brings both of ours" \
    grep -q '"events":{"dtmf_speech":true,"dtmf_voice_cancel":true}' "$T/ev1.json"
"$CQ" classify --dtmf-speech "$SAMPLE" > /dev/null 2>&1
check "classify takes --dtmf-speech" test $? -eq 0
"$CQ" classify --live amd "$SAMPLE" > /dev/null 2>&1
check "classify takes --live amd" test $? -eq 0
"$CQ" classify --live hold "$SAMPLE" > /dev/null 2>&1
check "classify takes --live hold" test $? -eq 0
"$CQ" classify --live maybe "$SAMPLE" > /dev/null 2>&1
check "classify refuses --live maybe (2)" test $? -eq 2
"$CQ" classify --live hold --silence-sec -1 "$SAMPLE" > /dev/null 2>&1
check "classify refuses --silence-sec -1 (2)" test $? -eq 2
"$CQ" classify --live hold --silence-sec 0 "$SAMPLE" 2>/dev/null | grep -q '"type":"silence"'
check "classify --silence-sec 0: no silence events" test $? -ne 0
"$CQ" live --help > /dev/null 2>&1
check "live --help" test $? -eq 0
"$CQ" live > /dev/null 2>&1
check "live refuses no input (2)" test $? -eq 2
"$CQ" live --audiosocket 127.0.0.1 > /dev/null 2>&1
check "live refuses an address without a port (2)" test $? -eq 2
"$CQ" live --audiosocket '127.0.0.1:9x' > /dev/null 2>&1
check "live refuses a port that is not a number (2)" test $? -eq 2
"$CQ" live --audiosocket 127.0.0.1:0 --max-calls 0 > /dev/null 2>&1
check "live refuses --max-calls 0 (2)" test $? -eq 2
"$CQ" live --audiosocket 127.0.0.1:0 --live maybe > /dev/null 2>&1
check "live refuses --live maybe (2)" test $? -eq 2
"$CQ" live --audiosocket 127.0.0.1:0 --live hold --silence-sec 4000 > /dev/null 2>&1
check "live refuses --silence-sec 4000 (2)" test $? -eq 2
"$CQ" live --rtp 127.0.0.1 > /dev/null 2>&1
check "live refuses an RTP address without a port (2)" test $? -eq 2
"$CQ" live --rtp 127.0.0.1:0 --rtp-pt 200=PCMU/8000 > /dev/null 2>&1
check "live refuses --rtp-pt 200 (2)" test $? -eq 2
"$CQ" live --rtp 127.0.0.1:0 --rtp-pt 96=G729/8000 > /dev/null 2>&1
check "live refuses --rtp-pt with a codec it does not decode (2)" test $? -eq 2
"$CQ" live --rtp 127.0.0.1:0 --rtp-max-pending 0 > /dev/null 2>&1
check "live refuses --rtp-max-pending 0 (2)" test $? -eq 2
"$CQ" live --websocket 127.0.0.1:0 --ws-rate 11025 > /dev/null 2>&1
check "live refuses --ws-rate 11025 (2)" test $? -eq 2
"$CQ" live --websocket 127.0.0.1:0 --ws-mix quad > /dev/null 2>&1
check "live refuses --ws-mix quad (2)" test $? -eq 2

# a WAV analysis does not load libsndfile and its codecs; a GSM file loads it when it needs it
check "callqa is not linked with libsndfile" sh -c "! ldd '$CQ' | grep -q sndfile"
LD_DEBUG=files "$CQ" analyze --only levels,silence "$SAMPLE" > /dev/null 2> "$T/ld_wav.txt"
check "WAV analysis exits 0 under LD_DEBUG" test $? -eq 0
check "WAV analysis: libsndfile not loaded" sh -c "! grep -q 'file=libsndfile' '$T/ld_wav.txt'"
sox "$SAMPLE" -r 8000 -c 1 -t gsm "$T/call.gsm" 2> /dev/null
LD_DEBUG=files "$CQ" analyze --only levels,silence "$T/call.gsm" > /dev/null 2> "$T/ld_gsm.txt"
check "GSM analysis exits 0" test $? -eq 0
check "GSM analysis: libsndfile loaded on demand" grep -q "file=libsndfile.so.1 .*dynamically loaded" "$T/ld_gsm.txt"

# usage errors exit 2
"$CQ" analyze --only mos "$SAMPLE" > /dev/null 2> "$T/u1"
check "unknown analyzer is a usage error" test $? -eq 2
check "unknown analyzer named" grep -q "unknown analyzer 'mos'" "$T/u1"
"$CQ" analyze --in "$SAMPLE" > /dev/null 2>&1
check "--in without --out is a usage error" test $? -eq 2
"$CQ" analyze "$T/missing.wav" > /dev/null 2> "$T/u2"
check "missing file exits 1" test $? -eq 1
check "missing file named" grep -q "missing.wav" "$T/u2"
"$CQ" frobnicate > /dev/null 2>&1
check "unknown command exits 2" test $? -eq 2

finish CLI
