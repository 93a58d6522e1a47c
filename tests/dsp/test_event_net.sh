#!/bin/sh
# test_event_net.sh - the regression net of the events (docs/events/measured.md, "The regression net"):
# every recording of the shared corpus (115 files: calls, tones, hold music, prompts, formats,
# speech, conversations, quality and VAD sets) and the music suite's set (events_mkcalls music,
# through the five codecs), each event compared with tests/dsp/expected_events.txt: the same
# file, leg, type and signal, its start and end within 50 ms. An event lost, added or moved
# fails the test and is printed. An intended change rewrites the list (UPDATE=1) in a commit of
# its own that names each event that moved and why. Then the net must fail, naming the event, on
# the same reports with an event planted lost, moved and added. The music set and its reports
# are made once a run by music_set.sh (the fixture events_music_set), which test_music.sh reads
# too.
#   usage: test_event_net.sh BUILD/callqa SOURCE_DIR CORPUS_DIR SET_DIR
#   exit 77 without the corpus; UPDATE=1 writes the list instead of comparing
set -u
CQ=$1
SRC=$2
C=$3
S=$4
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" calls/call01_normal.wav
events_music_set "$S"
find "$C" -type f \( -name '*.wav' -o -name '*.mp3' -o -name '*.gsm' \) | sort > "$T/files"
# the corpus, each file as the call it is alone: a ViciDial file (NAME-all, -in, -out) one at a
# time, as a batch would pair NAME-in with NAME-out and leave out the legs of NAME-all; the
# rest in one batch (the same reports), put in the list's order; when the batch fails, every
# file one at a time
one() {
    "$CQ" analyze --json -q --only events "$1" >> "$2" 2>> "$T/err" ||
        echo "{\"file\": \"$1\", \"error\": \"$(tail -1 "$T/err" | tr -d '"\\')\"}" >> "$2"
}
grep -v -e '[-_]\(all\|in\|out\)\.[^/]*$' "$T/files" > "$T/batch"
: > "$T/corpus.jsonl"
# shellcheck disable=SC2046 # the corpus's paths have no blank
if "$CQ" analyze --json -q -j 2 --no-isolate --only events $(cat "$T/batch") > "$T/corpus.jsonl" 2>> "$T/err" &&
    [ "$(wc -l < "$T/corpus.jsonl")" -eq "$(wc -l < "$T/batch")" ]; then
    grep -e '[-_]\(all\|in\|out\)\.[^/]*$' "$T/files" | while read -r f; do one "$f" "$T/corpus.jsonl"; done
else
    : > "$T/corpus.jsonl"
    while read -r f; do one "$f" "$T/corpus.jsonl"; done < "$T/files"
fi
python3 - "$T/files" "$T/corpus.jsonl" >> "$T/reports.jsonl" << 'EOF_ORDER'
import json, sys
by = {}
for line in open(sys.argv[2], encoding="utf-8"):
    by.setdefault(json.loads(line).get("file"), line)
for f in open(sys.argv[1], encoding="utf-8"):
    sys.stdout.write(by[f.rstrip("\n")])
EOF_ORDER
if [ "${UPDATE:-}" = 1 ]; then
    python3 "$SRC/tests/dsp/event_net.py" "$SRC/tests/dsp/expected_events.txt" "$T/reports.jsonl" "$C"
    exit $?
fi
st=0
python3 "$SRC/tests/dsp/event_net.py" "$SRC/tests/dsp/expected_events.txt" "$T/reports.jsonl" "$C" || st=1
# planted: the same reports with call04's hold lost, the first hold of the music set 0.2 s
# later, and a digit added to call01; the net must fail on each and name it
# (the three sets of planted reports written by one python, T/planted.KIND.jsonl)
python3 - "$T/reports.jsonl" "$C" "$T/planted" << 'EOF_PLANT'
import json, sys
rep, corpus, out = sys.argv[1:]
for plant in ("lost", "moved", "added"):
    done = False
    with open("%s.%s.jsonl" % (out, plant), "w", encoding="utf-8") as o:
        for line in open(rep, encoding="utf-8"):
            r = json.loads(line)
            f = r.get("file") or ""
            if not done and "events" in r:
                if plant == "lost" and f.endswith("calls/call04_hold_music.wav"):
                    r["events"] = [e for e in r["events"] if e["type"] != "hold"]
                    done = True
                elif plant == "moved" and not f.startswith(corpus) and r["events"]:
                    e = r["events"][0]
                    e["start"] += 0.2
                    e["end"] += 0.2
                    done = True
                elif plant == "added" and f.endswith("calls/call01_normal.wav"):
                    r["events"].append({"type": "dtmf", "leg": "inbound", "start": 1.0, "end": 1.05,
                                        "digits": "5"})
                    done = True
            o.write(json.dumps(r) + "\n")
EOF_PLANT
for plant in lost:LOST moved:MOVED added:ADDED; do
    word=${plant#*:}
    plant=${plant%:*}
    if python3 "$SRC/tests/dsp/event_net.py" "$SRC/tests/dsp/expected_events.txt" \
        "$T/planted.$plant.jsonl" "$C" > "$T/planted.out" 2>&1; then
        echo "FAIL: the net passed a planted $plant event"
        st=1
    elif ! grep -q "^$word " "$T/planted.out"; then
        echo "FAIL: the net failed on a planted $plant event without naming it: $(tail -2 "$T/planted.out")"
        st=1
    else
        echo "planted $plant event caught: $(grep "^$word " "$T/planted.out" | head -1)"
    fi
done
exit $st
