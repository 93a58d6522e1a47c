#!/bin/sh
# test_probe.sh - hold mode's probe (docs/live/hold-slayer.md, "Asking the line") end to end: 6 dev
# sequences built with `mkseq.py --probe` (a person who greets, then waits), streamed at 4 times
# real time into `callqa live --live hold --probe default`, two each over AudioSocket (as_send),
# mod_audio_fork's WebSocket and externalMedia's RTP (live_send), by a sender that plays the
# line: the recordings never answer, the person answers the probe (probe_run.py). The probe must
# come as each PBX takes it: a playAudio frame of raw 8 kHz audio in base64, RTP packets of a
# stream of their own in the call's payload type, in sequence. No
# `human` may come before the person; the probe must go out and find people by their reply;
# each call_end must count its probes; each call's FastAGI request (AGI(agi://.../hold,UUID))
# must be answered with the event line's decision (HOLDCAUSE PROBEREPLY-<ms>-1280). The calls are
# to two companies whose announcements repeat (mkseq.py --companies): each call that names its
# company must say so, the announcements file must be private and read back by the next server,
# and a malformed one refused with a clear error. The figures on the full dev set are in
# tests/live/RESULTS.md.
#   usage: test_probe.sh BUILD/callqa SOURCE_DIR CORPUS_DIR BUILD/as_send BUILD/live_send
#   exit 77 without the corpus or numpy
set -u
CQ=$1
SRC=$2
C=$3
AS=$4
LS=$5
[ -d "$C/ivr_prompts" ] || { echo "no corpus at $C: skipped"; exit 77; }
PY=/usr/bin/python3
$PY -c 'import numpy, scipy' 2> /dev/null || { echo "numpy/scipy missing: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
st=0
$PY "$SRC/tests/live/mkseq.py" --set dev --n 6 --seed 11 --probe --companies 2 --corpus "$C" --out "$T/seq" > /dev/null ||
    { echo "FAIL: mkseq.py --probe"; exit 1; }
$PY "$SRC/tests/live/probe_run.py" --seqs "$T/seq" --callqa "$CQ" --as-send "$AS" \
    --live-send "$LS" --input mixed --announce-file "$T/ann.fps" --models "$C/../models" --pace 4 --jobs 6 --out "$T/out" --fastagi > "$T/score.txt" 2>&1 ||
    { echo "FAIL: probe_run.py: $(tail -3 "$T/score.txt")"; exit 1; }
cat "$T/score.txt"
grep -q "FALSE human" "$T/score.txt" && { echo "FAIL: a human before the person"; st=1; }
n=$(grep -c "human probe_reply" "$T/score.txt")
[ "$n" -ge 3 ] || { echo "FAIL: $n of 6 people found by their reply to the probe (3 at least)"; st=1; }
grep -q '"type":"probe"' "$T/out/events.jsonl" || { echo "FAIL: no probe event line"; st=1; }
grep -q "agi mismatches 0" "$T/score.txt" ||
    { echo "FAIL: a FastAGI HOLDSTATUS / HOLDCAUSE is not the event line's decision"; st=1; }
ends=$(grep -c '"type":"call_end"' "$T/out/events.jsonl")
withp=$(grep '"type":"call_end"' "$T/out/events.jsonl" | grep -c '"probes":[1-9]')
[ "$ends" = 6 ] && [ "$withp" = 6 ] ||
    { echo "FAIL: $ends call_end lines, $withp with their probes counted (6 each)"; st=1; }
# the probe as the PBX takes it, on the calls that were probed
pa=$(cat "$T"/out/*.send.txt | grep -c "^playaudio 8000 [1-9]")
[ "$pa" -ge 1 ] || { echo "FAIL: no playAudio frame reached the WebSocket peers"; st=1; }
grep -h "^bad-" "$T"/out/*.send.txt && { echo "FAIL: a frame the WebSocket peer would refuse"; st=1; }
rb=$(cat "$T"/out/*.send.txt | grep -c "^rtp-back packets [1-9][0-9]* ssrc [0-9a-f]* in-order 1")
[ "$rb" = 2 ] || {
    echo "FAIL: $rb of 2 RTP peers got the probe as a stream of its own, in order"
    grep -h "^rtp-back out of order" "$T"/out/*.send.txt
    st=1
}
# remembered announcements: the calls that named their company (WebSocket metadata, FastAGI's
# hold,UUID,DEST) say so on call_end; the file is private and read back by the next server
named=$(grep '"type":"call_end"' "$T/out/events.jsonl" | grep -c '"destination":"co-dev-[01]"')
[ "$named" -ge 4 ] || { echo "FAIL: $named call_end lines name their destination (4 at least)"; st=1; }
[ "$(stat -c %a "$T/ann.fps" 2> /dev/null)" = 600 ] || { echo "FAIL: no announce file of mode 0600"; st=1; }
"$CQ" live --audiosocket 127.0.0.1:0 --live hold --announce-file "$T/ann.fps" --events "$T/e2.jsonl" \
    --model-dir "$C/../models" 2> "$T/again.err" &
pid=$!
# its models loaded and the file read (slow under a sanitizer): up to 120 s, a hang guard
deadline=$(($(date +%s) + 120))
while [ "$(date +%s)" -le "$deadline" ]; do
    grep -q "announcements remembered for" "$T/again.err" 2> /dev/null && break
    kill -0 $pid 2> /dev/null || break
    sleep 0.1
done
kill -TERM $pid
wait $pid
grep -Eq "^callqa live: [1-9][0-9]* announcements remembered for [12] destinations" "$T/again.err" ||
    { echo "FAIL: the next server did not read the announcements back: $(cat "$T/again.err")"; st=1; }
printf 'CQFP1\n\001\000\000\000\003co' > "$T/bad.fps"
"$CQ" live --audiosocket 127.0.0.1:0 --live hold --announce-file "$T/bad.fps" --events "$T/e3.jsonl" \
    --model-dir "$C/../models" 2> "$T/bad.err" && { echo "FAIL: a malformed announce file was taken"; st=1; }
grep -q "move it aside" "$T/bad.err" || { echo "FAIL: no clear error for a malformed announce file"; st=1; }
# announcements heard for the first time that a reply window is fooled by (single words 0.6-1.5 s
# apart, prompts that pause mid-sentence; mkseq.py --hard): the first seven of the dev calls of
# docs/live-decisions.md, two of which a single reply called people (hold_dev_004, _006). Two
# replies must confirm: no person before the person.
$PY "$SRC/tests/live/mkseq.py" --set dev --n 7 --seed 65 --probe --hard --corpus "$C" --out "$T/hard" > /dev/null ||
    { echo "FAIL: mkseq.py --probe --hard"; exit 1; }
grep -q '"announce_kind": "words"' "$T"/hard/*.json || { echo "FAIL: no words announcement in the set"; st=1; }
$PY "$SRC/tests/live/probe_run.py" --seqs "$T/hard" --callqa "$CQ" --as-send "$AS" \
    --models "$C/../models" --pace 4 --jobs 7 --out "$T/hout" > "$T/hard.txt" 2>&1 ||
    { echo "FAIL: probe_run.py --hard: $(tail -3 "$T/hard.txt")"; st=1; }
tail -1 "$T/hard.txt"
grep -q "FALSE human" "$T/hard.txt" && { echo "FAIL: a human before the person (announcements heard first)"; st=1; }
grep -q "false human 0" "$T/hard.txt" || { echo "FAIL: no score for the hard set"; st=1; }
[ $st = 0 ] && echo "live probe: all checks passed"
exit $st
