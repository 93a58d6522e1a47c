#!/bin/sh
# music_set.sh - the music suite's set, made and analysed once a run for the two tests that read
# it (ctest fixture events_music_set): events_mkcalls music (every corpus hold track in 30 s
# slices at every 10 s offset; 40 pieces of sustained notes between two pieces of speech)
# through the five codecs (events_codecs), and `callqa analyze --only events` on it.
#   OUT/set/            the recordings
#   OUT/manifest        events_mkcalls's manifest
#   OUT/reports.jsonl   the batch's reports, one line per file
# test_music.sh and test_event_net.sh read OUT; `music_set.sh clean OUT` removes it (the
# fixture's cleanup).
#   usage: music_set.sh BUILD/callqa BUILD/events_mkcalls SOURCE_DIR CORPUS_DIR OUT
#   exit 77 without the corpus
set -u
if [ "$1" = clean ]; then
    rm -rf "$2"
    exit 0
fi
CQ=$1
MK=$2
SRC=$3
C=$4
OUT=$5
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" hold_music/moh_macroform_cold_day.wav
rm -rf "$OUT"
W=$OUT/set # made in place: the reports name the files where the tests find them
mkdir -p "$W"
"$MK" music "$C" "$W" > /dev/null || { echo "FAIL: events_mkcalls music"; exit 1; }
mv "$W/manifest" "$OUT/manifest"
events_codecs "$W"
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$W" > "$OUT/reports.jsonl" 2> "$T/err" ||
    { echo "FAIL: callqa analyze: $(tail -3 "$T/err")"; rm -rf "$OUT"; exit 1; }
echo "music set: $(ls "$W" | wc -l) files, $(wc -l < "$OUT/reports.jsonl") reports in $OUT"
