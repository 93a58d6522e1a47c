#!/bin/sh
# test_watch.sh - `callqa ingest watch` over real files from the corpus, the watcher running
# while the test writes into its folder:
#   - a whole file (closed by its writer), a file written in chunks by a writer that keeps it
#     open (taken once, after it is complete, while still open: the size rule), a temporary
#     file renamed in, -in/-out legs arriving seconds apart (one call, two legs), a lone -in leg
#     (enqueued after the pair wait, the missing leg named in the log), a -all mix beside its
#     legs (one call), a subfolder made after the start, a file deleted before it settled,
#     files that are not audio or have temporary names (ignored), files there before the start;
#   - a second watcher on the same source is refused; SIGTERM ends the watcher with status 0;
#     restarted (--once), it stores nothing twice and takes what was written while it was down;
#   - `callqa worker --once` then analyses every call: each one's final state and legs, and
#     the chunked file analysed at its full length.
#   usage: test_watch.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2/calls" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
C=$2/calls
T=$(mktemp -d)
WATCH=""
cleanup() {
    [ -n "$WATCH" ] && kill "$WATCH" 2>/dev/null
    store_cleanup
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
export CALLQA_MODEL_DIR="$T/no-models" # levels, silences, conversation: enough to check lengths
W=$T/rec
DB=$(test_store "$T" watch) || exit 1
# settle: longer than any gap between the chunks of the file written while held open (0.3 s
# apart); pair wait: longer than the 2 s between a pair's legs
SETTLE=5
PAIR=20
mkdir -p "$W/ORIG"

calls() { store_sql "$DB" "SELECT COUNT(*) FROM calls" 2>/dev/null || echo 0; }
has_call() { [ -n "$(store_sql "$DB" "SELECT 1 FROM calls WHERE recording_id = ?" "$1" 2>/dev/null)" ]; }
watcher() { # watcher LOG [FLAGS...]: the watcher in the background; $WATCH
    log=$1
    shift
    "$CQ" ingest watch --dir "$W" --db "$DB" --settle-sec $SETTLE --pair-wait-sec $PAIR "$@" \
        > "$log" 2>&1 &
    WATCH=$!
}

# ---- there before the start ------------------------------------------------------------------
cp "$C/call14_vicidial-in.wav" "$W/PRE-in.wav"
cp "$C/call14_vicidial-out.wav" "$W/PRE-out.wav"
cp "$C/call01_normal.wav" "$W/ORIG/PRE1.wav"
echo "not audio" > "$W/notes.txt"

check "an unreadable folder is an error at start" \
    sh -c "'$CQ' ingest watch --dir '$T/none' --db '$DB' > '$T/bad.log' 2>&1; [ \$? = 2 ] && grep -q 'none' '$T/bad.log'"

t0=$(date +%s)
watcher "$T/w1.log"
check "the watcher starts and reads the tree" wait_until 120 grep -q 'start-up read' "$T/w1.log"
"$CQ" ingest watch --dir "$W" --db "$DB" --once > "$T/second.log" 2>&1
rc=$?
check "a second watcher on the same source is refused (status $rc)" \
    sh -c "[ $rc = 1 ] && grep -q 'watched by another process' '$T/second.log'"
pre_taken() { has_call PRE && has_call PRE1; }
check "the files there before the start are taken (a pair and a plain file)" wait_until 120 pre_taken

# ---- written while it runs -------------------------------------------------------------------
cp "$C/call01_normal.wav" "$W/20240105-093000_5551234_ann.wav" # whole, closed by cp
# a writer that keeps the file open: four chunks 0.3 s apart (well under the settle time), then
# it holds the file open; the watcher must take it by its size, after the last chunk, once. The
# store is read by a thread of its own while the chunks are written (a slow query never holds
# up the writes): a call stored before the last chunk is counted as early
python3 - "$C/call03_dead_air.wav" "$W/CHUNKED.wav" "$DB" "$T/chunk.out" <<'PY' &
import storedb, sys, threading, time
src, dst, db, out = sys.argv[1:5]
data = open(src, "rb").read()
q = len(data) // 4
def stored():
    try:
        return storedb.connect(db).execute("SELECT COUNT(*) FROM calls WHERE recording_id = 'CHUNKED'").fetchone()[0]
    except storedb.Error:
        return 0
written = threading.Event()
early = []
def watch():
    while not written.is_set():
        n = stored()
        if n and not written.is_set():
            early.append(n)
        time.sleep(0.1)
t = threading.Thread(target=watch)
t.start()
f = open(dst, "wb")
for i in range(4):
    f.write(data[i * q:] if i == 3 else data[i * q:(i + 1) * q])
    f.flush()
    if i < 3:
        time.sleep(0.3)
written.set()
t.join()
taken = None
end = time.monotonic() + 120
while time.monotonic() < end:  # held open meanwhile
    if stored():
        taken = True
        break
    time.sleep(0.1)
open(out, "w").write("early=%d taken_while_open=%s\n" % (len(early), taken))
f.close()
PY
CHUNKER=$!
cp "$C/call05_ringback_answer.wav" "$W/.RENAMED.wav.part"
sleep 0.5
mv "$W/.RENAMED.wav.part" "$W/RENAMED.wav"
echo "x" > "$W/readme.txt"
cp "$C/call09_noise.wav" "$W/NEVER.wav.part" # never renamed: never taken
cp "$C/call14_vicidial-in.wav" "$W/ORIG/LEGS-in.wav"
cp "$C/call14_vicidial-in.wav" "$W/LONE-in.wav" # a real leg: mono
sleep 2
cp "$C/call14_vicidial-out.wav" "$W/ORIG/LEGS-out.wav" # two seconds later
cp "$C/call14_vicidial-all.mp3" "$W/MIXED-all.mp3"
cp "$C/call14_vicidial-in.wav" "$W/MIXED-in.wav"
cp "$C/call14_vicidial-out.wav" "$W/MIXED-out.wav"
mkdir -p "$W/2024-01-05/deep"
cp "$C/call12_overtalk.wav" "$W/2024-01-05/deep/SUB.wav"
# deleted before it settled: a writer that keeps it open, then removes it (the watcher learns of
# both from inotify, in that order)
python3 -c 'import os,sys; f=open(sys.argv[1],"wb"); f.write(b"RIFF"+b"\0"*4000); f.flush(); os.unlink(sys.argv[1]); f.close()' "$W/GONE.wav"
wait "$CHUNKER"
check "the chunked file is taken after its last chunk, while its writer holds it open ($(cat "$T/chunk.out"))" \
    grep -q 'early=0 taken_while_open=True' "$T/chunk.out"

calls_at_least() { [ "$(calls)" -ge "$1" ]; }
check "the calls arrive: 9 (2 there before, whole, chunked, renamed, legs, lone, mix, subfolder)" \
    wait_until $((PAIR + SETTLE + 120)) calls_at_least 9
echo "# calls after the live writes: $(calls) in $(($(date +%s) - t0)) s"
check "the lone leg is enqueued after the pair wait, the missing leg named in the log" \
    grep -q '"missing":"[^"]*/LONE-out.wav"' "$T/w1.log"
check "the file deleted before it settled is forgotten with a log line" \
    grep -q 'vanished before it was complete.*GONE.wav' "$T/w1.log"
kill -TERM "$WATCH"
wait "$WATCH"
rc=$?
WATCH=""
check "SIGTERM ends the watcher with status 0 (status $rc)" [ "$rc" = 0 ]

python3 - "$DB" "$W" > "$T/calls.txt" <<'PY'
import storedb, sys
db, w = storedb.connect(sys.argv[1]), sys.argv[2]
rows = {r[0]: r[1:] for r in db.execute(
    "SELECT recording_id, audio, audio_in, audio_out, call_date, agent_user, tz FROM calls")}
want = {
    "PRE": (None, w + "/PRE-in.wav", w + "/PRE-out.wav"),
    "PRE1": (w + "/ORIG/PRE1.wav", None, None),
    "20240105-093000_5551234_ann": (w + "/20240105-093000_5551234_ann.wav", None, None),
    "CHUNKED": (w + "/CHUNKED.wav", None, None),
    "RENAMED": (w + "/RENAMED.wav", None, None),
    "LEGS": (None, w + "/ORIG/LEGS-in.wav", w + "/ORIG/LEGS-out.wav"),
    "LONE": (w + "/LONE-in.wav", None, None),
    "MIXED": (w + "/MIXED-all.mp3", w + "/MIXED-in.wav", w + "/MIXED-out.wav"),
    "SUB": (w + "/2024-01-05/deep/SUB.wav", None, None),
}
got = {k: v[:3] for k, v in rows.items()}
assert got == want, (got, want)
assert rows["20240105-093000_5551234_ann"][3:5] == ("2024-01-05 09:30:00", "ann"), rows
assert all(v[3] is None and v[4] is None for k, v in rows.items() if k[0] != "2"), rows
print("calls", len(rows))
PY
check "one call per recording, with its files ($(cat "$T/calls.txt"); no readme.txt, NEVER.wav.part, GONE)" \
    grep -q 'calls 9' "$T/calls.txt"

# ---- restarted: nothing twice, what came meanwhile taken --------------------------------------
cp "$C/call07_clipping.wav" "$W/DOWN.wav"
cp "$C/call14_vicidial-out.wav" "$W/LONE-out.wav" # the lone leg's pair, late
"$CQ" ingest watch --dir "$W" --db "$DB" --settle-sec $SETTLE --pair-wait-sec $PAIR --once \
    > "$T/w2.log" 2>&1
rc=$?
check "restarted with --once (status $rc): the file written while it was down is new, the late leg pairs the lone one, 8 known" \
    sh -c "[ $rc = 0 ] && grep -q '\"created\":1,\"updated\":1,\"known\":8' '$T/w2.log'"
check "the late leg's call has both legs now" \
    python3 -c 'import storedb,sys; r=storedb.connect(sys.argv[1]).execute("SELECT audio_in, audio_out FROM calls WHERE recording_id = ?", ("LONE",)).fetchone(); sys.exit(0 if r == (sys.argv[2] + "/LONE-in.wav", sys.argv[2] + "/LONE-out.wav") else 1)' "$DB" "$W"
check "the restart stored nothing twice: 10 calls, one job each" \
    python3 -c 'import storedb,sys; d=storedb.connect(sys.argv[1]); c=d.execute("SELECT COUNT(*), COUNT(DISTINCT recording_id) FROM calls").fetchone(); j=d.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]; sys.exit(0 if c == (10, 10) and j == 10 else 1)' "$DB"

# ---- the worker: every call analysed ------------------------------------------------------------
"$CQ" worker --db "$DB" --once --max-load 0 --no-idle > "$T/worker.log" 2>&1
rc=$?
python3 - "$DB" "$C/call03_dead_air.wav" > "$T/final.txt" <<'PY'
import storedb, struct, sys
db = storedb.connect(sys.argv[1])
raw = open(sys.argv[2], "rb").read()  # the source's length from its RIFF chunks (any codec)
pos, rate, full = 12, None, None
while pos + 8 <= len(raw):
    cid, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
    if cid == b"fmt ":
        rate = struct.unpack("<I", raw[pos + 16:pos + 20])[0]  # bytes per second
    elif cid == b"data":
        full = size / rate
    pos += 8 + size + (size & 1)
st = dict(db.execute("SELECT c.recording_id, j.state FROM calls c JOIN jobs j ON j.call_id = c.id"))
assert set(st.values()) == {"complete"}, st
legs = dict(db.execute("SELECT c.recording_id, a.legs FROM calls c JOIN analyses a ON a.call_id = c.id"))
assert legs["LEGS"] == 2 and legs["MIXED"] == 2 and legs["PRE"] == 2 and legs["LONE"] == 2, legs
dur = db.execute("SELECT a.duration_sec FROM calls c JOIN analyses a ON a.call_id = c.id "
                 "WHERE c.recording_id = 'CHUNKED'").fetchone()[0]
assert abs(dur - full) < 0.05, (dur, full)
print("complete %d, chunked %.2f s of %.2f s" % (len(st), dur, full))
PY
check "the worker (status $rc) completes every call, legs paired, the chunked file whole ($(cat "$T/final.txt"))" \
    sh -c "[ $rc = 0 ] && grep -q 'complete 10' '$T/final.txt'"
echo "# took $(($(date +%s) - t0)) s"
finish "folder watch"
