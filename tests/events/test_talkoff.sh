#!/bin/sh
# test_talkoff.sh - talk-off: hours of two-party conversation with no tone in it, built from the
# corpus by events_mkcalls (every pair of its talkers, one reading and the other saying a short
# phrase again and again, at 0 dB and 6 dB either way; the corpus's hold music and IVR prompts
# with speech over them), each call as 16-bit PCM and through A-law, u-law, GSM 06.10 and MP3
# 32 kbit/s (sox). `callqa analyze` must find no dtmf, ringback, busy, sit or fax event on any
# of it, and a hold only over hold music (suite_check.py talkoff); `callqa classify` on every
# file must agree with `callqa analyze` (suite_check.py stream).
# Prints the talkers, the hours and unique seconds of speech, the events per codec, every event
# that should not be there with its time, and the minutes it took.
#   usage: test_talkoff.sh BUILD/callqa BUILD/events_mkcalls SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus; KEEP=DIR keeps the set and the reports
set -u
CQ=$1
MK=$2
SRC=$3
C=$4
T0=$(date +%s)
if [ ! -f "$C/manifest.json" ] || [ ! -d "$C/../models" ]; then
    echo "SKIP: $C (the shared corpus) or $C/../models is missing"
    exit 77
fi
command -v sox >/dev/null || { echo "FAIL: sox is not installed (scripts/deps)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if ! sox -R -n -r 8000 -c 1 "$T/probe.mp3" synth 0.1 sine 400 2>/dev/null; then
    echo "FAIL: sox cannot write MP3 (Debian: libsox-fmt-mp3; scripts/deps installs it)"
    exit 1
fi
W=$T/set
mkdir -p "$W"
"$MK" talkoff "$C" "$W" || { echo "FAIL: events_mkcalls talkoff"; exit 1; }
mv "$W/manifest" "$T/manifest"
(cd "$W" && ls ./*.wav) | xargs -P 2 -I{} sh -c '
    b=$(basename "{}" .wav); cd "$1" &&
    sox -V1 -R "$b.wav" -e a-law "${b}_alaw.wav" && sox -V1 -R "$b.wav" -e u-law "${b}_ulaw.wav" &&
    sox -V1 -R "$b.wav" -e gsm-full-rate "${b}_gsm.wav" && sox -V1 -R "$b.wav" -C 32 "${b}_mp3.mp3"' sh "$W" ||
    { echo "FAIL: sox could not encode the set"; exit 1; }
echo "$(ls "$W" | wc -l) files; analysing ($(( ($(date +%s) - T0) )) s so far)"
"$CQ" analyze --json -q -j 2 --only events "$W" > "$T/reports.jsonl" 2> "$T/err"
st=$?
[ $st -ne 0 ] && { echo "callqa analyze exited $st"; cat "$T/err"; }
python3 "$SRC/tests/events/suite_check.py" talkoff "$T/manifest" "$T/reports.jsonl" || st=1
echo "batch done ($(( ($(date +%s) - T0) )) s); the stream"
mkdir -p "$T/stream"
(cd "$W" && ls) | xargs -P 2 -I{} sh -c '"$1" classify "$2/{}" > "$3/{}.ch1.jsonl" 2>/dev/null' sh "$CQ" "$W" "$T/stream" ||
    { echo "FAIL: callqa classify failed"; st=1; }
python3 "$SRC/tests/events/suite_check.py" stream "$SRC/docs/events.md" "$T/reports.jsonl" "$T/stream" || st=1
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$T/manifest" "$T/reports.jsonl" "$KEEP/" && cp -r "$T/stream" "$KEEP/"
echo "talk-off: $(( ($(date +%s) - T0) / 60 )) min $(( ($(date +%s) - T0) % 60 )) s"
exit $st
