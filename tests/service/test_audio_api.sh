#!/bin/sh
# test_audio_api.sh - GET /api/qa/call/{id}/audio over real HTTP against `callqa serve`, on a
# store filled through the upload route with corpus calls: a u-law WAV and an MP3 served byte
# for byte, the legs of a ViciDial pair, GSM 06.10 in WAV (WAV49) and raw GSM transcoded to
# PCM16 WAV of the decoder's duration (and cached), Range (206 against dd of the file, suffix,
# open-ended, 416, multi-range and malformed ignored), HEAD, ETag and If-None-Match (304),
# concurrent first requests of one transcode, unknown calls and legs, a file gone, a stub, a
# file that is no audio; and the call's "audio" block.
#   usage: test_audio_api.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2/calls" ] || [ ! -f "$2/hold_music/moh_macroform_robot_dity.gsm" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
# shellcheck disable=SC2034 # pipeline_lib.sh runs $CQ
CQ=$1
C=$2/calls
T=$(mktemp -d)
SERVE=""
cleanup() {
    [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pipeline/pipeline_lib.sh"
mkdir "$T/tmp"
TMPDIR="$T/tmp" serve_start "$T/audio.db"

upload R1 "audio=@$C/call01_normal.wav"                                   # u-law stereo
upload R2 "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav" # ViciDial legs
upload R3 "audio=@$C/call10_busy.wav"                                     # WAV49 GSM
upload R4 "audio=@$2/hold_music/moh_macroform_robot_dity.gsm"             # raw GSM, kept as .rec
upload R5 "audio=@$C/call14_vicidial-all.mp3"
cp "$C/call02_one_way_audio.wav" "$T/gone.wav"
upload R6 "audio=@$T/gone.wav"
head -c 44 "$C/call01_normal.wav" > "$T/stub.wav"
upload R7 "audio=@$T/stub.wav"
head -c 3000 /dev/urandom > "$T/noise.bin"
upload R8 "audio=@$T/noise.bin"
rm "$T/uploads/upload/R6.rec" || exit 1

A="$U/api/qa/call"
get() { # get URL [CURL-ARGS...]: the status; the body in $T/b, the headers in $T/h
    u=$1
    shift
    rm -f "$T/b" # curl makes no file for an empty body
    : > "$T/b"
    curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' "$@" "$u"
}
hdr() { # hdr NAME: that header of the last answer
    grep -i "^$1:" "$T/h" | head -1 | cut -d' ' -f2- | tr -d '\r'
}
code() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$T/b"; }
is_error() { # is_error STATUS CODE [TEXT]: the last answer was that error (and holds TEXT)
    [ "$s" = "$1" ] && [ "$(code)" = "$2" ] && { [ -z "${3:-}" ] || grep -q "$3" "$T/b"; }
}
no_path() { ! grep -q "$T" "$T/b" && ! grep -q '/' "$T/b"; }

# as they are
s=$(get "$A/R1/audio")
check "u-law WAV: 200, audio/wav, Accept-Ranges ($s $(hdr Content-Type))" \
    test "$s" = 200 -a "$(hdr Content-Type)" = audio/wav -a "$(hdr Accept-Ranges)" = bytes
check "u-law WAV: byte-identical to the corpus file" cmp -s "$T/b" "$C/call01_normal.wav"
ETAG=$(hdr ETag)
s=$(get "$A/R1/audio?leg=mix")
check "leg=mix is the same file" cmp -s "$T/b" "$C/call01_normal.wav"
s=$(get "$A/R5/audio")
check "MP3: audio/mpeg, byte-identical" \
    sh -c "test '$s' = 200 -a '$(hdr Content-Type)' = audio/mpeg && cmp -s '$T/b' '$C/call14_vicidial-all.mp3'"

# ranges
size=$(stat -c %s "$C/call01_normal.wav")
s=$(get "$A/R1/audio" -H 'Range: bytes=1000-1999')
dd if="$C/call01_normal.wav" of="$T/dd" bs=1 skip=1000 count=1000 2>/dev/null
check "Range a-b: 206, Content-Range, the bytes of dd ($s $(hdr Content-Range))" \
    sh -c "test '$s' = 206 -a '$(hdr Content-Range)' = 'bytes 1000-1999/$size' -a '$(hdr Content-Length)' = 1000 && cmp -s '$T/b' '$T/dd'"
s=$(get "$A/R1/audio" -H 'Range: bytes=-500')
tail -c 500 "$C/call01_normal.wav" > "$T/dd"
check "suffix range: the last 500 bytes ($s $(hdr Content-Range))" \
    sh -c "test '$s' = 206 -a '$(hdr Content-Range)' = 'bytes $((size - 500))-$((size - 1))/$size' && cmp -s '$T/b' '$T/dd'"
s=$(get "$A/R1/audio" -H "Range: bytes=$((size - 10))-")
check "open-ended range: to the end ($s $(hdr Content-Range))" \
    sh -c "test '$s' = 206 -a '$(hdr Content-Range)' = 'bytes $((size - 10))-$((size - 1))/$size' -a \$(stat -c %s '$T/b') = 10"
s=$(get "$A/R1/audio" -H "Range: bytes=$size-")
check "a range past the end: 416, Content-Range bytes */size ($s $(hdr Content-Range))" \
    test "$s" = 416 -a "$(hdr Content-Range)" = "bytes */$size"
s=$(get "$A/R1/audio" -H 'Range: bytes=0-9,20-29')
check "several ranges: the whole file, 200 ($s)" \
    sh -c "test '$s' = 200 && cmp -s '$T/b' '$C/call01_normal.wav'"
s=$(get "$A/R1/audio" -H 'Range: bytes=9-0')
check "a malformed range: the whole file, 200 ($s)" \
    sh -c "test '$s' = 200 && cmp -s '$T/b' '$C/call01_normal.wav'"
s=$(get "$A/R1/audio" -H 'Range: bytes=0-9' -H 'If-Range: "another"')
check "If-Range of another version: the whole file ($s)" test "$s" = 200
s=$(get "$A/R1/audio" -H 'Range: bytes=0-9' -H "If-Range: $ETAG")
check "If-Range of this version: the range ($s)" test "$s" = 206

# HEAD, ETag
s=$(get "$A/R1/audio" -I)
check "HEAD: 200, the length of the file, no body (only the headers) ($s $(hdr Content-Length))" \
    sh -c "test '$s' = 200 -a '$(hdr Content-Length)' = '$size' && cmp -s '$T/b' '$T/h'"
s=$(get "$A/R1/audio" -H "If-None-Match: $ETAG")
check "If-None-Match of its ETag: 304, no body ($s $ETAG)" test "$s" = 304 -a ! -s "$T/b"
s=$(get "$A/R1/audio" -H 'If-None-Match: W/"x", '"$ETAG")
check "If-None-Match listing it (weak comparison): 304 ($s)" test "$s" = 304
s=$(get "$A/R1/audio" -H 'If-None-Match: "x"')
check "If-None-Match of another: 200 ($s)" test "$s" = 200

# the legs of a ViciDial pair
s=$(get "$A/R2/audio?leg=in")
check "leg=in: the in leg file ($s)" sh -c "test '$s' = 200 && cmp -s '$T/b' '$C/call14_vicidial-in.wav'"
s=$(get "$A/R2/audio?leg=out")
check "leg=out: the out leg file ($s)" sh -c "test '$s' = 200 && cmp -s '$T/b' '$C/call14_vicidial-out.wav'"
s=$(get "$A/R2/audio")
check "no leg on a call of legs: in ($s)" sh -c "test '$s' = 200 && cmp -s '$T/b' '$C/call14_vicidial-in.wav'"
s=$(get "$A/R2/audio?leg=mix")
check "leg=mix of a call of legs: 404 no_such_leg with a sentence ($s $(cat "$T/b"))" \
    is_error 404 no_such_leg 'has the legs in and out'
s=$(get "$A/R1/audio?leg=in")
check "leg=in of a mixed call: 404 no_such_leg ($s $(cat "$T/b"))" is_error 404 no_such_leg 'mixed or stereo'
s=$(get "$A/R1/audio?leg=both")
check "leg=both: 400 bad_leg ($s)" is_error 400 bad_leg
s=$(get "$A/NOSUCH/audio")
check "an unknown call: 404 not_found ($s)" is_error 404 not_found

# transcoded: WAV49 and raw GSM (the raw one named .rec: known by its frames)
pcm16_of() { # pcm16_of FILE SECONDS: a PCM16 WAV of that duration (within 1 ms), mono 8 kHz
    python3 - "$1" "$2" <<'PY'
import sys, wave
w = wave.open(sys.argv[1])
d = w.getnframes() / w.getframerate()
print("  %s: %d ch, %d Hz, %d-bit, %.3f s (want %s)" % (sys.argv[1].split("/")[-1], w.getnchannels(),
      w.getframerate(), 8 * w.getsampwidth(), d, sys.argv[2]))
assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == 8000
assert abs(d - float(sys.argv[2])) < 0.001, d
PY
}
# the decoder's own duration of the sources (sox reads GSM too)
d3=$(soxi -D "$C/call10_busy.wav")
# raw GSM has no header: its 33-byte frames of 160 samples (sox's decode adds a frame)
d4=$(python3 -c 'import os,sys; print(os.path.getsize(sys.argv[1]) // 33 * 160 / 8000)' \
    "$2/hold_music/moh_macroform_robot_dity.gsm")
s=$(get "$A/R3/audio")
cp "$T/b" "$T/r3.wav"
check "WAV49 GSM: 200 audio/wav ($s $(hdr Content-Type))" test "$s" = 200 -a "$(hdr Content-Type)" = audio/wav
check "WAV49 GSM: a PCM16 WAV of the source's duration" pcm16_of "$T/r3.wav" "$d3"
ET3=$(hdr ETag)
s=$(get "$A/R3/audio" -H 'Range: bytes=44-1043')
dd if="$T/r3.wav" of="$T/dd" bs=1 skip=44 count=1000 2>/dev/null
check "Range on the transcode: 206, the bytes of dd ($s $(hdr Content-Range))" \
    sh -c "test '$s' = 206 -a '$(hdr Content-Range)' = 'bytes 44-1043/$(stat -c %s "$T/r3.wav")' && cmp -s '$T/b' '$T/dd'"
check "the transcode's ETag stays ($ET3)" test "$(hdr ETag)" = "$ET3"
s=$(get "$A/R3/audio" -H "If-None-Match: $ET3")
check "If-None-Match of the transcode: 304 ($s)" test "$s" = 304
# raw GSM: four first requests at once, one transcode, the same answer
P=""
for i in 1 2 3 4; do
    curl -s -o "$T/r4.$i" -w '%{http_code}\n' "$A/R4/audio" > "$T/r4.$i.code" &
    P="$P $!"
done
# shellcheck disable=SC2086 # the pids are words
wait $P
check "raw GSM, 4 requests at once: each 200 with the same body" \
    sh -c "cat '$T'/r4.*.code | sort -u | grep -qx 200 && test \$(cat '$T'/r4.*.code | sort -u | wc -l) = 1 && test \$(md5sum '$T'/r4.? | cut -d' ' -f1 | sort -u | wc -l) = 1"
check "raw GSM: a PCM16 WAV of the source's duration" pcm16_of "$T/r4.1" "$d4"
ncache=$(find "$T/tmp/callqa-audio" -name '*.wav' | wc -l)
check "the cache holds the two transcodes and no temp file ($ncache: $(ls "$T/tmp/callqa-audio" | tr '\n' ' '))" \
    sh -c "test $ncache = 2 && ! ls '$T/tmp/callqa-audio' | grep -q part"
s=$(get "$A/R4/audio")
check "served again from the cache: the same body ($s)" cmp -s "$T/b" "$T/r4.1"

# faults
s=$(get "$A/R6/audio")
check "a file gone: 404 audio_missing, no path in the answer ($s $(cat "$T/b"))" \
    eval 'is_error 404 audio_missing "no longer on disk" && no_path'
s=$(get "$A/R7/audio")
check "a stub: 404 audio_missing, says so ($s $(cat "$T/b"))" is_error 404 audio_missing stub
s=$(get "$A/R8/audio")
check "a file that is no audio: 415 audio_unsupported, no path ($s $(cat "$T/b"))" \
    eval 'is_error 415 audio_unsupported && no_path'

# the call's audio block
legs() { curl -s "$A/$1" | python3 -c 'import json,sys; a=json.load(sys.stdin)["audio"]; print(",".join(a["legs"]), a["default"])'; }
check "R1 (a stereo file): legs mix, default mix ($(legs R1))" test "$(legs R1)" = "mix mix"
check "R2 (ViciDial legs): legs in,out, default in ($(legs R2))" test "$(legs R2)" = "in,out in"
check "R6 (its file gone): no legs, default null ($(legs R6))" test "$(legs R6)" = " None"
check "every route answer was logged, none aborted" sh -c "! grep -q aborted '$T/audio.db.serve.log'"
serve_stop
SERVE=""
finish "audio route"
