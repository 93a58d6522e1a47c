#!/bin/sh
# test_stream_corpus.sh - the stream and the batch agree on every audio file of the corpus:
# each leg's `callqa classify --channel N` against `callqa analyze` (suite_check.py stream; the
# differences allowed are the table in docs/events.md). The ViciDial leg files of call14 are
# copied under names that do not pair them, so that each is analysed as the file it is.
#   usage: test_stream_corpus.sh BUILD/callqa SOURCE_DIR CORPUS_DIR     exit 77 without the corpus
set -u
CQ=$1
SRC=$2
C=$3
# shellcheck source=tests/events/events_lib.sh
. "$SRC/tests/events/events_lib.sh"
events_need "$C" manifest.json
mkdir -p "$T/files" "$T/stream"
for f in "$C"/*/*.wav "$C"/*/*.mp3 "$C"/*/*.gsm; do
    [ -f "$f" ] || continue
    b=$(basename "$f" | sed 's/-\(all\|in\|out\)\./_\1./')
    cp "$f" "$T/files/$b"
done
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$T/files" > "$T/reports.jsonl" 2> "$T/err" ||
    { echo "callqa analyze failed"; cat "$T/err"; exit 1; }
for f in "$T"/files/*; do
    b=$(basename "$f")
    "$CQ" classify --channel 1 "$f" > "$T/stream/$b.ch1.jsonl" 2>/dev/null || { echo "FAIL: classify $b"; exit 1; }
    if python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; r=[x for x in r if x['file'].endswith('/'+sys.argv[2])][0]; sys.exit(0 if r.get('has_legs') and r.get('outbound') is not None else 1)" "$T/reports.jsonl" "$b"; then
        "$CQ" classify --channel 2 "$f" > "$T/stream/$b.ch2.jsonl" 2>/dev/null || { echo "FAIL: classify $b"; exit 1; }
    fi
done
python3 "$SRC/tests/events/suite_check.py" stream "$SRC/docs/events.md" "$T/reports.jsonl" "$T/stream"
