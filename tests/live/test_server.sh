#!/bin/sh
# test_server.sh - `callqa live --audiosocket` end to end over loopback, with as_send (an
# AudioSocket sender written from the wire format, tests/live/as_send.c) in place of Asterisk,
# which Debian 12 does not package.
#   server A: one corpus call leg at real-time pace (8 s of call05, with DTMF frames) beside
#     calls sent 20 times faster than real time (call06 and call05 whole, call06 in slin16),
#     malformed frames (an unknown kind, a wrong length, a bad DTMF byte, a payload over the
#     maximum), a connection whose first frame is audio, a stalled peer, a peer that vanishes
#     mid-frame, 1,000 silent connections at once (never counted against --max-calls: the oldest
#     of the 128 one address may have waiting is closed with an error frame as the next comes),
#     then 1,000 connections at once that each send their UUID, against --max-calls 20; then
#     SIGTERM with a call in progress. Checked: each call's events equal `callqa classify` on the
#     same samples (types and states, starts within one 32 ms frame), the UUID on every line, the
#     DTMF frames, one call_end per call with the right reason, the refused and the closed
#     connections counted, exit 0.
#   server B: a call over --max-call-sec beside a short healthy one.
#   server C: a reader of the events that never reads: lines dropped and counted, the calls
#     still served, SIGTERM still ends it.
#   usage: test_server.sh BUILD/callqa BUILD/tests/as_send SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus
set -u
CQ=$1
AS=$2
C=$4/calls
# shellcheck source=tests/live/live_lib.sh
. "$3/tests/live/live_lib.sh"
[ -f "$C/call05_ringback_answer.wav" ] && [ -f "$C/call06_ivr_dtmf.wav" ] || {
    echo "SKIP: $4 (the shared corpus) is missing"
    exit 77
}
T=$(mktemp -d)
PIDS=""
# shellcheck disable=SC2064 # T is fixed from here on
trap "for p in \$PIDS; do kill \$p 2>/dev/null; done; rm -rf '$T'" EXIT
FAIL=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; FAIL=1; }

# start NAME OPTIONS...: a server on a free port; sets PORT and SPID
start() {
    name=$1
    shift
    live_start "$T/$name.err" "$CQ" --audiosocket 127.0.0.1:0 --events "$T/$name.jsonl" "$@"
    SPID=$LIVE_PID PORT=$LIVE_PORT
    PIDS="$PIDS $SPID"
    [ -n "$PORT" ] || { echo "FAIL - server $name did not start"; exit 1; }
}

# send NAME ARGS...: as_send in the background, its output in $T/NAME.out
send() {
    name=$1
    shift
    "$AS" --port "$PORT" --uuid "$(printf '%s' "$name" | od -An -tx1 | tr -d ' \n' | cut -c1-32 | sed 's/$/00000000000000000000000000000000/' | cut -c1-32)" "$@" > "$T/$name.out" 2>&1 &
    PIDS="$PIDS $!"
}

# ---- server A ---------------------------------------------------------------------------------
# --stall-sec 10: the stalled peer and the silent connections end by it, while no sender of the
# other calls, however slow the machine, leaves a gap that long; --ident-sec 60 keeps the
# silent ones to the stall rule
start A --max-calls 20 --stall-sec 10 --ident-sec 60 --queue-sec 60 --stats-sec 1 --threads 2
SENDERS=""
send rt --file "$C/call05_ringback_answer.wav" --channel 1 --secs 8 --pace 1 --dtmf 1.0:5,3.0:# --dump "$T/rt.raw"
RT=$!
send fast6 --file "$C/call06_ivr_dtmf.wav" --channel 1 --pace 20 --dtmf 2.0:1,4.0:2,6.0:3 --dump "$T/fast6.raw"
SENDERS="$SENDERS $!"
send fast5 --file "$C/call05_ringback_answer.wav" --channel 1 --pace 20 --end close --dump "$T/fast5.raw"
SENDERS="$SENDERS $!"
send wide16 --file "$C/call06_ivr_dtmf.wav" --channel 1 --pace 20 --rate 16000
SENDERS="$SENDERS $!"
for f in badkind badlen baddtmf toobig; do
    send "$f" --file "$C/call06_ivr_dtmf.wav" --channel 1 --secs 3 --pace 4 --fault "$f"
    SENDERS="$SENDERS $!"
done
send nouuid --file "$C/call06_ivr_dtmf.wav" --channel 1 --secs 1 --pace 4 --fault nouuid
SENDERS="$SENDERS $!"
send stall --file "$C/call06_ivr_dtmf.wav" --channel 1 --secs 1 --pace 4 --end stall --hold-sec 120
SENDERS="$SENDERS $!"
send vanish --file "$C/call06_ivr_dtmf.wav" --channel 1 --secs 2 --pace 4 --end vanish
SENDERS="$SENDERS $!"
# the floods come from the calls' own address: each of the 10 calls has its UUID in first (a
# connection still waiting for its UUID would share the address's pool with them)
live_wait 120 "server A: the 10 calls set up before the floods" live_stat_ge "$T/A.jsonl" 0 calls 10 ||
    FAIL=1
# each flood returns once the server has closed every connection (the hold only bounds a hang)
"$AS" --port "$PORT" --flood 1000 --hold-sec 120 > "$T/silent.out" 2>&1
"$AS" --port "$PORT" --flood 1000 --flood-uuid 1 --hold-sec 120 > "$T/flood.out" 2>&1
wait "$RT"
# shellcheck disable=SC2086 # one PID a word
wait $SENDERS
# every call so far ended and analysed (a stats line with none active), then the call the
# SIGTERM finds in progress: its stats line after that one says it is active
L0=$(live_lines "$T/A.jsonl")
live_wait 120 "server A: every call ended before the last one" live_stat_eq "$T/A.jsonl" "$L0" active 0 ||
    FAIL=1
L0=$(live_lines "$T/A.jsonl")
send term --file "$C/call06_ivr_dtmf.wav" --channel 1 --pace 1 --end none --hold-sec 120
live_wait 120 "server A: the last call in progress" live_stat_ge "$T/A.jsonl" "$L0" active 1 || FAIL=1
live_stop "$SPID" "server A"
RC=$LIVE_RC
[ "$RC" -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $RC"
sleep 0.3
for n in rt fast6 fast5 wide16 badkind badlen baddtmf toobig nouuid stall vanish term silent flood; do
    sed "s/^/  $n: /" "$T/$n.out"
done
sed 's/^/  A: /' "$T/A.err"
for n in rt fast6 fast5; do
    "$CQ" classify --rate 8000 - < "$T/$n.raw" > "$T/$n.ref" 2> /dev/null
done

python3 - "$T" << 'PY' || FAIL=1
import json, sys
T = sys.argv[1]
fail = 0
def check(cond, what):
    global fail
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fail = 1
lines = [json.loads(l) for l in open(T + "/A.jsonl")]
def uuid_of(name):
    for l in open("%s/%s.out" % (T, name)):
        if l.startswith("uuid "):
            return l.split()[1]
def out_of(name):
    return open("%s/%s.out" % (T, name)).read()
calls = {}
for l in lines:
    if l.get("type") == "stats":
        continue
    check("call" in l and "wall" in l and "call_sec" in l, "fields on every line") if "call" not in l else None
    calls.setdefault(l["call"], []).append(l)
ends = {}
for u, ls in calls.items():
    e = [l for l in ls if l["type"] == "call_end"]
    if len(e) != 1 or ls[-1]["type"] != "call_end":
        check(False, "call %s: call_end once and last (%d)" % (u, len(e)))
    ends[u] = e[0] if e else None
check(all(len([l for l in ls if l["type"] == "call_end"]) == 1 for ls in calls.values()),
      "call_end exactly once for each of %d calls" % len(calls))
def same(name):
    u = uuid_of(name)
    live = [(l["type"], l["state"], l["start"], l.get("digits")) for l in calls.get(u, [])
            if "state" in l]
    ref = [json.loads(l) for l in open("%s/%s.ref" % (T, name))]
    ref = [(l["type"], l["state"], l["start"], l.get("digits")) for l in ref]
    okk = len(live) == len(ref) and all(a[0] == b[0] and a[1] == b[1] and a[3] == b[3] and
                                        abs(a[2] - b[2]) <= 0.032 for a, b in zip(live, ref))
    check(okk and len(ref) > 0, "%s: %d events equal callqa classify's on the same samples %s" %
          (name, len(ref), "" if okk else "\n  live %s\n  ref  %s" % (live, ref)))
for n in ("rt", "fast6", "fast5"):
    same(n)
def end(name):
    return ends.get(uuid_of(name)) or {}
check(end("rt").get("reason") == "hangup" and abs(end("rt")["audio_sec"] - 8) < 0.05 and
      end("rt")["audio_dropped_sec"] == 0, "rt: hangup after 8 s, nothing dropped")
dt = [(l["digit"], l["start"]) for l in calls.get(uuid_of("rt"), []) if l.get("source") == "audiosocket"]
check(dt == [("5", 1.0), ("#", 3.0)], "rt: DTMF frames reported %s" % dt)
dt = [l["digit"] for l in calls.get(uuid_of("fast6"), []) if l.get("source") == "audiosocket"]
check(dt == ["1", "2", "3"], "fast6: DTMF frames reported %s" % dt)
check(end("fast6").get("reason") == "hangup", "fast6: hangup")
check(end("fast5").get("reason") == "peer_closed" and "error" not in end("fast5"),
      "fast5: peer closed between frames")
w = end("wide16")
check(w.get("reason") == "hangup" and w.get("rate_hz") == 16000 and w.get("analysed_sec", 0) > 71,
      "wide16: slin16 resampled and analysed (%s s)" % w.get("analysed_sec"))
ev16 = sorted({l["type"] for l in calls.get(uuid_of("wide16"), []) if "state" in l})
check("dtmf" in ev16, "wide16: its events %s" % ev16)
for n, txt in (("badkind", "kind"), ("badlen", "bytes"), ("baddtmf", "DTMF"), ("toobig", "")):
    e = end(n)
    check(e.get("reason") == "error" and txt.lower() in e.get("error", "").lower() and
          "got error" in out_of(n), "%s: ended with an error frame: %s" % (n, e.get("error")))
check(uuid_of("nouuid") not in calls and "got error" in out_of("nouuid"),
      "nouuid: refused with an error frame, no call")
check(end("stall").get("reason") == "stalled", "stall: stalled (%s)" % end("stall").get("error"))
e = end("vanish")
check(e.get("reason") == "peer_closed" and "inside a frame" in e.get("error", ""),
      "vanish: peer closed inside a frame")
check(end("term").get("reason") == "shutdown", "term: shutdown")
fl = out_of("flood").split()
sl = out_of("silent").split()
st = [l for l in lines if l.get("type") == "stats"]
fin = st[-1] if st else {}
check(fin.get("final") is True and len(st) >= 3, "periodic and final stats lines (%d)" % len(st))
# the silent flood: 872 closed as the oldest of their address's 128 (error frames), the last
# 128 ended by --stall-sec (10 s here, before --ident-sec's 60 s: counted as no UUID)
check(fin.get("unidentified_evicted", 0) >= 800 and "error 872" in out_of("silent") and
      fin.get("unidentified_evicted", 0) + fin.get("refused_uuid", 0) >= 1000,
      "silent flood: %s closed as the oldest waiting, %s refused (no UUID); flood %s" %
      (fin.get("unidentified_evicted"), fin.get("refused_uuid"), " ".join(sl)))
check(fin.get("refused_full", 0) >= 900 and fin["refused_full"] + fin["calls"] >= 1000,
      "UUID flood: %s refused (full), %s calls in all; flood %s" %
      (fin.get("refused_full"), fin.get("calls"), " ".join(fl)))
check(fin.get("active") == 0 and fin.get("events_dropped") == 0, "final: no call left, no line dropped")
sys.exit(fail)
PY

# ---- server B: --max-call-sec ---------------------------------------------------------------------
# the long call sends 20 s at real-time pace, so it cannot end before the 5 s limit; the short
# one is sent at once and has ended long before it however slow the machine
start B --max-call-sec 5 --stats-sec 0
send long --file "$C/call06_ivr_dtmf.wav" --channel 1 --secs 20 --pace 1
LONG=$!
send short --file "$C/call05_ringback_answer.wav" --channel 1 --secs 1 --pace 0
wait "$LONG" "$!" # each returns when the server has closed its connection
live_stop "$SPID" "server B"
python3 - "$T" << 'PY' || FAIL=1
import json, sys
T = sys.argv[1]
ls = [json.loads(l) for l in open(T + "/B.jsonl")]
u = {n: [l.split()[1] for l in open("%s/%s.out" % (T, n)) if l.startswith("uuid")][0] for n in ("long", "short")}
e = {n: [l for l in ls if l.get("call") == u[n] and l["type"] == "call_end"] for n in u}
good = len(e["long"]) == 1 and e["long"][0]["reason"] == "max_duration" and len(e["short"]) == 1 and e["short"][0]["reason"] == "hangup"
print(("ok" if good else "FAIL") + " - max-call-sec: long %s, short %s" % ([x["reason"] for x in e["long"]], [x["reason"] for x in e["short"]]))
sys.exit(0 if good else 1)
PY

# ---- server C: a reader that never reads ---------------------------------------------------------
mkfifo "$T/fifo"
sleep 600 < "$T/fifo" & # holds the read end, never reads
READER=$!
PIDS="$PIDS $READER"
"$CQ" live --audiosocket 127.0.0.1:0 --stats-sec 0.2 --event-queue 64 > "$T/fifo" 2> "$T/C.err" &
SPID=$!
PIDS="$PIDS $SPID"
live_log "$SPID" "$T/C.err" 'port [0-9]+,' || { echo "FAIL - server C did not start"; exit 1; }
PORT=$(sed -n 's/.*port \([0-9]*\),.*/\1/p' "$T/C.err" | head -1)
send flood1 --dtmf-flood 3000 --file "$C/call05_ringback_answer.wav" --channel 1 --secs 2 --pace 4
F1=$!
send calm --file "$C/call05_ringback_answer.wav" --channel 1 --secs 2 --pace 1
F2=$!
wait "$F1" "$F2"
live_stop "$SPID" "server C"
RC=$LIVE_RC
# the server ended while the reader still held the pipe unread: it did not wait for it
kill -0 "$READER" 2> /dev/null && HELD=1 || HELD=0
kill "$READER" 2> /dev/null
sed 's/^/  C: /' "$T/C.err"
DROP=$(sed -n 's/.*lines, \([0-9]*\) dropped.*/\1/p' "$T/C.err")
CALLS=$(sed -n 's/.*connections, \([0-9]*\) calls.*/\1/p' "$T/C.err")
if [ "$RC" -eq 0 ] && [ "${DROP:-0}" -gt 0 ] && [ "${CALLS:-0}" -eq 2 ] && [ "$HELD" -eq 1 ]; then
    ok "stalled reader: $DROP lines dropped, 2 calls served, exit 0 on SIGTERM with the pipe still unread"
else
    bad "stalled reader: rc $RC, dropped ${DROP:-?}, calls ${CALLS:-?}, reader still there at the exit: $HELD"
fi
# under a sanitizer build: nothing it reported, in any server
if grep -l "Sanitizer" "$T"/*.err "$T"/*.out > /dev/null 2>&1; then
    grep -h -A5 "Sanitizer" "$T"/*.err "$T"/*.out | head -40
    bad "a sanitizer reported"
else
    ok "no sanitizer report"
fi
exit $FAIL
