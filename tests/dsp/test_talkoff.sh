#!/bin/sh
# test_talkoff.sh - talk-off: hours of two-party conversation with no tone in it, built from the
# corpus by events_mkcalls (every pair of its talkers, one reading and the other saying a short
# phrase again and again, at 0 dB and 6 dB either way; the corpus's hold music and IVR prompts
# with speech over them), each call as 16-bit PCM and through A-law, u-law, GSM 06.10 and MP3
# 32 kbit/s (events_codecs: libsndfile). `callqa analyze` must find no dtmf, ringback, busy, sit or fax event on any
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
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" manifest.json
W=$T/set
mkdir -p "$W"
"$MK" talkoff "$C" "$W" || { echo "FAIL: events_mkcalls talkoff"; exit 1; }
mv "$W/manifest" "$T/manifest"
events_codecs "$W"
echo "$(ls "$W" | wc -l) files; analysing ($(( ($(date +%s) - T0) )) s so far)"
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$W" > "$T/reports.jsonl" 2> "$T/err"
st=$?
[ $st -ne 0 ] && { echo "callqa analyze exited $st"; cat "$T/err"; }
python3 "$SRC/tests/dsp/suite_check.py" talkoff "$T/manifest" "$T/reports.jsonl" || st=1
echo "batch done ($(( ($(date +%s) - T0) )) s); the stream"
events_stream "$CQ" "$W" "$T/reports.jsonl" "$SRC" || st=1
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$T/manifest" "$T/reports.jsonl" "$KEEP/" && cp -r "$T/stream" "$KEEP/"
echo "talk-off: $(( ($(date +%s) - T0) / 60 )) min $(( ($(date +%s) - T0) % 60 )) s"
exit $st
