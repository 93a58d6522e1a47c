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
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" manifest.json
mkdir -p "$T/files" "$T/stream"
set --
for f in "$C"/*/*.wav "$C"/*/*.mp3 "$C"/*/*.gsm; do
    [ -f "$f" ] || continue
    b=${f##*/}
    case $b in
    *-all.* | *-in.* | *-out.*) cp "$f" "$T/files/$(echo "$b" | sed 's/-\(all\|in\|out\)\./_\1./')" ;;
    *) set -- "$@" "$f" ;;
    esac
done
cp "$@" "$T/files/"
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$T/files" > "$T/reports.jsonl" 2> "$T/err" ||
    { echo "callqa analyze failed"; cat "$T/err"; exit 1; }
# channel 1 of every file, channel 2 of each with two legs (events_classify: many files a
# process), their lines split into a file per recording and channel
python3 - "$T/reports.jsonl" > "$T/stereo" << 'EOF'
import json, os, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r.get("has_legs") and r.get("outbound") is not None:
        print(os.path.basename(r.get("file") or ""))
EOF
(cd "$T/files" && ls) | events_classify "$CQ" "$T/files" 1 "$T/raw1" || exit 1
events_classify "$CQ" "$T/files" 2 "$T/raw2" < "$T/stereo" || exit 1
python3 "$SRC/tests/dsp/suite_check.py" split "$T/files" "$T/raw1" "$T/stream" 1 &&
    python3 "$SRC/tests/dsp/suite_check.py" split "$T/files" "$T/raw2" "$T/stream" 2 "$T/stereo" || exit 1
python3 "$SRC/tests/dsp/suite_check.py" stream "$SRC/docs/events.md" "$T/reports.jsonl" "$T/stream"
