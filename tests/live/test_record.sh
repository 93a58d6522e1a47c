#!/bin/sh
# test_record.sh - `callqa live --record-dir`: each call's audio written as a recording, with its
# event lines beside it, and the folder queued for QA by `callqa ingest watch`. With as_send (an
# AudioSocket sender written from the wire format, tests/live/as_send.c) in place of Asterisk:
#   - an 8 kHz call and a slin16 call, sent faster than real time: each ID.wav is a 16-bit PCM
#     WAV at the call's rate holding exactly the samples sent (as_send --dump), ID.live.jsonl
#     holds exactly the call's lines of the event stream, call_end names the recording, and no
#     .part file is left;
#   - a call whose recording cannot be created (a file of its name is already there): the call
#     is still analysed, its call_end says why there is no recording, the file there is kept;
#   - a call named as a finished recording already there: written as ID-2.wav, the other kept;
#   - a record folder that does not exist: refused at start, exit 1, named;
#   - `callqa ingest watch --once` over the folder stores one call per recording, and `callqa
#     worker --once` analyses them: each report keeps the call's live events (`live`), and the
#     classifier's events decided live agree with the batch analysis's of the recording;
#   - --mask-digits, with the corpus call whose customer keys 8275# and a DTMF frame: every
#     digit in the event lines is *, the recording has no DTMF left for `callqa classify`
#     (the samples sent have it), and outside the muted spans it holds the samples sent.
#   usage: test_record.sh BUILD/callqa BUILD/tests/as_send SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus
set -u
CQ=$1
AS=$2
SRC=$3
C=$4/calls
[ -f "$C/call05_ringback_answer.wav" ] || {
    echo "SKIP: $4 (the shared corpus) is missing"
    exit 77
}
T=$(mktemp -d)
SPID=""
# shellcheck disable=SC2064 # T is fixed from here on
trap "[ -n \"\$SPID\" ] && kill \$SPID 2>/dev/null; rm -rf '$T'" EXIT
FAIL=0
R=$T/rec
mkdir -p "$R"

# a file already holding the third call's recording name: that recording cannot be created
UUID3=33333333-3333-4333-8333-333333333333
echo keep > "$R/$UUID3.wav.part"
# a finished recording of an earlier call of the fourth call's name
UUID5=55555555-5555-4555-8555-555555555555
echo first > "$R/$UUID5.wav"

. "$SRC/tests/live/live_lib.sh"
live_start "$T/srv.err" "$CQ" --audiosocket 127.0.0.1:0 --events "$T/ev.jsonl" --record-dir "$R" \
    --stats-sec 0 --threads 2 --queue-sec 60
SPID=$LIVE_PID PORT=$LIVE_PORT
[ -n "$PORT" ] || { echo "FAIL - the server did not start"; exit 1; }
"$AS" --port "$PORT" --uuid 11111111111141118111111111111111 --file "$C/call05_ringback_answer.wav" \
    --channel 1 --secs 6 --pace 0 --dtmf 1.0:7 --dump "$T/a.raw" > "$T/a.out" 2>&1 &
A=$!
"$AS" --port "$PORT" --uuid 22222222222242228222222222222222 --file "$C/call05_ringback_answer.wav" \
    --channel 2 --secs 4 --pace 0 --rate 16000 --dump "$T/b.raw" > "$T/b.out" 2>&1 &
B=$!
"$AS" --port "$PORT" --uuid 33333333333343338333333333333333 --file "$C/call05_ringback_answer.wav" \
    --channel 1 --secs 3 --pace 0 > "$T/c.out" 2>&1 &
CC=$!
"$AS" --port "$PORT" --uuid 55555555555545558555555555555555 --file "$C/call05_ringback_answer.wav" \
    --channel 1 --secs 2 --pace 0 > "$T/e.out" 2>&1 &
E=$!
wait $A $B $CC $E
# calls_ended FILE N: FILE has N call_end lines
calls_ended() { [ "$(grep -c '"call_end"' "$1" 2> /dev/null)" -ge "$2" ]; }
# the four calls ended by their hangups, before the stop
live_wait 120 "the four calls' call_end lines" calls_ended "$T/ev.jsonl" 4 || FAIL=1
live_stop "$SPID" server
rc=$LIVE_RC
SPID=""
[ $rc -eq 0 ] && echo "ok - the server exits 0" || { echo "FAIL - the server exited $rc"; FAIL=1; }

python3 - "$T" "$R" << 'PY' || FAIL=1
import json, os, struct, sys
T, R = sys.argv[1], sys.argv[2]
fail = 0
def check(cond, what):
    global fail
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fail = 1
lines = [l for l in open(T + "/ev.jsonl").read().splitlines() if l.strip()]
def wav(path):
    b = open(path, "rb").read()
    riff, size, wave, fmt, flen, tag, ch, rate, brate, align, bits, data, dlen = \
        struct.unpack("<4sI4s4sIHHIIHH4sI", b[:44])
    ok = (riff, wave, fmt, data, flen, tag, ch, bits, align) == (b"RIFF", b"WAVE", b"fmt ", b"data", 16, 1, 1, 16, 2)
    return ok and size == 36 + dlen and dlen == len(b) - 44 and brate == 2 * rate, rate, b[44:]
for uuid, raw, rate in (("11111111-1111-4111-8111-111111111111", "a.raw", 8000),
                        ("22222222-2222-4222-8222-222222222222", "b.raw", 16000)):
    path = "%s/%s.wav" % (R, uuid)
    check(os.path.isfile(path), "%s: the recording is there" % uuid[:8])
    if not os.path.isfile(path):
        continue
    good, r, pcm = wav(path)
    sent = open("%s/%s" % (T, raw), "rb").read()
    if rate == 16000:  # as_send sends each 8 kHz sample twice in slin16 frames
        sent = b"".join(sent[i:i + 2] * 2 for i in range(0, len(sent), 2))
    check(good and r == rate, "%s: a 16-bit PCM WAV at %d Hz, its sizes right" % (uuid[:8], rate))
    check(len(sent) > 8000 and pcm == sent,
          "%s: exactly the %d samples sent" % (uuid[:8], len(sent) // 2))
    mine = [l for l in lines if json.loads(l).get("call") == uuid]
    kept = open("%s/%s.live.jsonl" % (R, uuid)).read().splitlines()
    check(len(mine) >= 1 and kept == mine,
          "%s: %s.live.jsonl holds the call's %d event lines" % (uuid[:8], uuid[:8], len(mine)))
    end = json.loads(mine[-1])
    check(end["type"] == "call_end" and end.get("recording") == uuid + ".wav",
          "%s: call_end names the recording" % uuid[:8])
check(any(json.loads(l).get("type") == "dtmf" for l in
          open("%s/11111111-1111-4111-8111-111111111111.live.jsonl" % R)),
      "the DTMF frame's line is among the recorded events")
u3 = "33333333-3333-4333-8333-333333333333"
e3 = [json.loads(l) for l in lines if json.loads(l).get("call") == u3 and json.loads(l)["type"] == "call_end"]
check(len(e3) == 1 and "recording" not in e3[0] and "cannot create" in e3[0].get("recording_error", "")
      and e3[0]["analysed_sec"] > 2.9,
      "a recording that cannot be created: the call analysed all the same, call_end says why")
check(open("%s/%s.wav.part" % (R, u3)).read() == "keep\n", "the file already there is kept")
check(not os.path.exists("%s/%s.wav" % (R, u3)), "and no recording is made in its place")
u5 = "55555555-5555-4555-8555-555555555555"
e5 = [json.loads(l) for l in lines if json.loads(l).get("call") == u5 and json.loads(l)["type"] == "call_end"]
check(len(e5) == 1 and e5[0].get("recording") == u5 + "-2.wav" and
      os.path.getsize("%s/%s-2.wav" % (R, u5)) == 44 + 2 * 16000 and
      open("%s/%s.wav" % (R, u5)).read() == "first\n",
      "a call named as a recording already there: written as ID-2.wav, the other kept")
left = [f for f in os.listdir(R) if f.endswith(".part") and not f.startswith(u3)]
check(not left, "no partial file left (%s)" % left)
sys.exit(fail)
PY

# a folder that is not there: refused at start
"$CQ" live --audiosocket 127.0.0.1:0 --events /dev/null --record-dir "$T/none" 2> "$T/none.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "none: No such file" "$T/none.err"; then
    echo "ok - a record folder that is not there is refused (exit 1, named)"
else
    echo "FAIL - a missing record folder: exit $rc"; cat "$T/none.err"; FAIL=1
fi

# the folder queued for QA
rm -f "$R/$UUID3.wav.part" "$R/$UUID5.wav" "$R/$UUID5-2.wav" "$R/$UUID5.live.jsonl" "$R/$UUID5-2.live.jsonl"
"$CQ" ingest watch --dir "$R" --db "$T/qa.db" --once > "$T/watch.log" 2>&1
PYTHONPATH="$SRC/tests/pipeline" python3 - "$T/qa.db" << 'PY' || FAIL=1
import sqlite3, sys
ids = sorted(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT recording_id FROM calls"))
want = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"]
ok = ids == want
print(("ok - " if ok else "FAIL - ") + "callqa ingest watch queues the recordings for QA: %s" % ids)
sys.exit(0 if ok else 1)
PY
# the worker analyses them and keeps each call's live events, held against its analysis
CALLQA_MODEL_DIR="$4/../models" "$CQ" worker --db "$T/qa.db" --once --max-load 0 --no-idle \
    > "$T/worker.log" 2>&1 || { echo "FAIL - callqa worker --once"; cat "$T/worker.log"; FAIL=1; }
python3 - "$T/qa.db" << 'PY' || FAIL=1
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT c.recording_id, a.report FROM calls c JOIN analyses a ON a.call_id = c.id "
                  "ORDER BY c.recording_id").fetchall()
fail = total = 0
for rid, rep in rows:
    live = json.loads(rep).get("live") or {}
    ag = live.get("agreement") or {}
    good = (live.get("file") == rid + ".live.jsonl" and live.get("call") == rid and
            live.get("input") == "audiosocket" and (live.get("call_end") or {}).get("type") == "call_end" and
            ag.get("compared") is True and ag.get("agree") is True and ag.get("dtmf") == "compared")
    total += ag.get("live", 0)
    print(("ok - " if good else "FAIL - ") +
          "%s: the report keeps its live events (%d lines); the %d classifier events decided live "
          "agree with the batch analysis's %d (%s)" % (rid[:8], len(live.get("events") or []),
                                                      ag.get("live", 0), ag.get("batch", 0),
                                                      sorted(set(ag.get("types") or []))))
    if not good:
        print("  %s" % json.dumps({k: v for k, v in live.items() if k != "events"})[:1500])
        fail = 1
if len(rows) != 2 or total < 1:
    print("FAIL - the worker analysed %d of the 2 recordings, %d events compared" % (len(rows), total))
    fail = 1
sys.exit(fail)
PY
# --mask-digits
M=$T/masked
mkdir -p "$M"
live_start "$T/msrv.err" "$CQ" --audiosocket 127.0.0.1:0 --events "$T/mev.jsonl" --record-dir "$M" \
    --mask-digits --stats-sec 0 --queue-sec 60
SPID=$LIVE_PID PORT=$LIVE_PORT
[ -n "$PORT" ] || { echo "FAIL - the masking server did not start"; exit 1; }
"$AS" --port "$PORT" --uuid 44444444444444448444444444444444 --file "$C/call06_ivr_dtmf.wav" \
    --channel 1 --secs 32 --pace 0 --dtmf 30.0:9 --dump "$T/m.raw" > "$T/m.out" 2>&1
live_wait 120 "the masked call's call_end line" calls_ended "$T/mev.jsonl" 1 || FAIL=1
live_stop "$SPID" "masking server" || FAIL=1
SPID=""
"$CQ" classify --rate 8000 - < "$T/m.raw" > "$T/m.sent.ev" 2> /dev/null
python3 - "$M/44444444-4444-4444-8444-444444444444.wav" "$T/m.rec.raw" << 'PY'
import sys
open(sys.argv[2], "wb").write(open(sys.argv[1], "rb").read()[44:])
PY
"$CQ" classify --rate 8000 - < "$T/m.rec.raw" > "$T/m.rec.ev" 2> /dev/null
python3 - "$T" << 'PY' || FAIL=1
import json, sys
T = sys.argv[1]
fail = 0
def check(cond, what):
    global fail
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fail = 1
ev = [json.loads(l) for l in open(T + "/mev.jsonl") if l.strip()]
dt = [e for e in ev if e.get("type") == "dtmf"]
shown = [e.get("digits", e.get("digit")) for e in dt]
check(any(e.get("source") == "audiosocket" for e in dt) and any("digits" in e for e in dt)
      and all(d and set(d) == {"*"} for d in shown),
      "masked: the DTMF frame and the heard digits as * in the event lines (%s)" % sorted(set(shown)))
sent = [json.loads(l) for l in open(T + "/m.sent.ev") if l.strip()]
rec = [json.loads(l) for l in open(T + "/m.rec.ev") if l.strip()]
check(any(e["type"] == "dtmf" and e.get("digits") == "8275#" for e in sent),
      "the samples sent hold the keyed digits 8275# (callqa classify)")
check(not any(e["type"] == "dtmf" for e in rec), "the recording holds no DTMF (callqa classify)")
a, b = open(T + "/m.raw", "rb").read(), open(T + "/m.rec.raw", "rb").read()
same = sum(1 for i in range(0, min(len(a), len(b)), 2) if a[i:i + 2] == b[i:i + 2])
check(len(a) == len(b) and same >= len(a) // 2 - 8000 * 3,
      "the recording is the samples sent outside the muted spans (%d of %d samples)" % (same, len(a) // 2))
sys.exit(fail)
PY
[ $FAIL -eq 0 ] || { echo "--- server"; cat "$T/srv.err"; cat "$T/watch.log"; }
exit $FAIL
