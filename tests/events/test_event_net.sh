#!/bin/sh
# test_event_net.sh - the regression net of the events (docs/events.md, "The regression net"):
# every recording of the shared corpus (115 files: calls, tones, hold music, prompts, formats,
# speech, conversations, quality and VAD sets) and the music suite's set (events_mkcalls music,
# through the five codecs), each event compared with tests/events/expected_events.txt: the same
# file, leg, type and signal, its start and end within 50 ms. An event lost, added or moved
# fails the test and is printed. An intended change rewrites the list (UPDATE=1) in a commit of
# its own that names each event that moved and why.
#   usage: test_event_net.sh BUILD/callqa BUILD/events_mkcalls SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus; UPDATE=1 writes the list instead of comparing
set -u
CQ=$1
MK=$2
SRC=$3
C=$4
# shellcheck source=tests/events/events_lib.sh
. "$SRC/tests/events/events_lib.sh"
events_need "$C" calls/call01_normal.wav
W=$T/music
mkdir -p "$W"
"$MK" music "$C" "$W" > /dev/null || { echo "FAIL: events_mkcalls music"; exit 1; }
rm -f "$W/manifest"
events_codecs "$W"
find "$C" -type f \( -name '*.wav' -o -name '*.mp3' -o -name '*.gsm' \) | sort > "$T/files"
"$CQ" analyze --json -q -j 2 --only events "$W" > "$T/reports.jsonl" 2> "$T/err" ||
    { echo "FAIL: callqa analyze (music set): $(tail -3 "$T/err")"; exit 1; }
# the corpus one file at a time: the ViciDial legs are read as the files they are
while read -r f; do
    "$CQ" analyze --json -q --only events "$f" >> "$T/reports.jsonl" 2>> "$T/err" ||
        echo "{\"file\": \"$f\", \"error\": \"$(tail -1 "$T/err" | tr -d '"\\')\"}" >> "$T/reports.jsonl"
done < "$T/files"
python3 "$SRC/tests/events/event_net.py" "$SRC/tests/events/expected_events.txt" "$T/reports.jsonl" "$C"
