#!/bin/sh
# test_fastagi.sh - `callqa live --audiosocket ... --fastagi ...` end to end over loopback: the
# AMD answer over FastAGI. Asterisk is not packaged in Debian 12, so its two sides are played by
# as_send (AudioSocket, tests/live/as_send.c) and agi_client.py (FastAGI, written from the AGI
# documentation; it checks every line the server sends and answers "200 result=1").
#   server A: six answering-machine sequences (mkamd.py, seeded, from the corpus), three with the
#     AGI connection made before the audio comes (as the dialplan runs it), three after the call
#     has ended; each answer (AMDSTATUS, AMDCAUSE) must equal the first human/machine decision of
#     `callqa classify --live amd` on the same samples, or HANGUP when it makes none. A call hung
#     up after 0.3 s, before any decision: HANGUP. A connection for another AGI script: refused
#     (closed, nothing sent). A channel that hangs up (HANGUP line) while waiting: closed. The
#     final stats line carries the FastAGI counts.
#   server B: --fastagi-timeout-ms 800 and a call in progress with 1 s of ringback (no greeting; the
#     classifier's first decision would come at 2 s), asked once it is a call: NOTSURE,
#     TOOLONG-<ms>.
#   server C: --live hold, the hold-slayer's answer: three hold-slayer sequences (mkseq.py), the
#     AGI (script hold) connected before the audio; each HOLDSTATUS and HOLDCAUSE must equal what
#     `callqa classify --live hold` decides on the same samples (the first human, else a
#     hold_ended of rule no_music, else HANGUP). The amd script is refused there.
#   usage: test_fastagi.sh BUILD/callqa BUILD/tests/as_send SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus
set -u
CQ=$1
AS=$2
SRC=$3
C=$4
[ -f "$C/manifest.json" ] && [ -f "$C/calls/call05_ringback_answer.wav" ] || {
    echo "SKIP: $C (the shared corpus) is missing"
    exit 77
}
PY=""
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import numpy, scipy.signal' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "FAIL: no python3 with numpy and scipy (Debian python3-numpy python3-scipy; scripts/deps)"; exit 1; }
command -v sox > /dev/null || { echo "FAIL: sox is not installed (scripts/deps)"; exit 1; }
AGI="$SRC/tests/live/agi_client.py"
# shellcheck source=tests/live/live_lib.sh
. "$SRC/tests/live/live_lib.sh"
T=$(mktemp -d)
PIDS=""
# shellcheck disable=SC2064 # T is fixed from here on
trap "for p in \$PIDS; do kill \$p 2>/dev/null; done; rm -rf '$T'" EXIT
FAIL=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; FAIL=1; }

{ "$PY" "$SRC/tests/live/mkamd.py" --set dev --n 6 --seed 11 --out "$T/amd" --corpus "$C" &&
    "$PY" "$SRC/tests/live/mkseq.py" --set dev --n 3 --seed 11 --out "$T/hold" --corpus "$C"; } ||
    { echo "FAIL: building the sequences"; exit 1; }

# start NAME OPTIONS...: a server on free ports; sets PORT, APORT and SPID. Its stats lines
# (every 0.2 s) say when the FastAGI requests are in and when a call is.
start() {
    name=$1
    shift
    "$CQ" live --audiosocket 127.0.0.1:0 --fastagi 127.0.0.1:0 --events "$T/$name.jsonl" \
        --stats-sec 0.2 --threads 2 --queue-sec 120 "$@" 2> "$T/$name.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    for what in 'AudioSocket on .* port [0-9]+,' 'FastAGI on .* port [0-9]+,'; do
        live_log "$SPID" "$T/$name.err" "$what" || { echo "FAIL - server $name did not start"; exit 1; }
    done
    PORT=$(sed -n 's/.*AudioSocket on .* port \([0-9]*\),.*/\1/p' "$T/$name.err")
    APORT=$(sed -n 's/.*FastAGI on .* port \([0-9]*\),.*/\1/p' "$T/$name.err")
}
# agi_in NAME N: server NAME's newest stats line says N FastAGI requests were accepted and none
# is still sending its environment (each is waiting for its call's answer, or was answered)
agi_in() {
    live_stat_ge "$T/$1.jsonl" 0 agi_accepted "$2" && live_stat_eq "$T/$1.jsonl" 0 agi_unidentified 0
}
uuid() { printf '%08x-0000-4000-8000-%012x' "$1" "$1"; }
hex() { uuid "$1" | tr -d -; }
# agi_first NAME OUT SCRIPT DIR/PREFIX N...: on server NAME (no FastAGI request before), the AGI
# requests of calls N... (script SCRIPT, answers into $T/agi_OUT.out) made first, then once the
# server has them all, each call's audio, DIR/PREFIX<k>.wav for the k-th (from 0), sent as fast
# as the socket takes it; returns when the AGI client is done
agi_first() {
    srv=$1 out=$2 script=$3 files=$4
    shift 4
    ids=""
    for i in "$@"; do ids="$ids $(uuid "$i")"; done
    # shellcheck disable=SC2086 # one argument per call
    "$PY" "$AGI" --port "$APORT" --script "$script" $ids > "$T/agi_$out.out" 2>&1 &
    AG=$!
    PIDS="$PIDS $AG"
    live_wait 120 "server $srv: the AGI requests in before the audio" agi_in "$srv" $# || FAIL=1
    k=0
    for i in "$@"; do
        "$AS" --port "$PORT" --uuid "$(hex "$i")" --file "${files}00$k.wav" --pace 0 \
            --dump "$T/seq$i.raw" > "$T/as$i.out" 2>&1 &
        PIDS="$PIDS $!"
        k=$((k + 1))
    done
    wait "$AG"
}

# ---- server A ---------------------------------------------------------------------------------
# the requests of A are answered by a decision or by the call's end: the timeout only bounds a hang
start A --fastagi-timeout-ms 120000
# the AGI first, then the audio (each call as fast as the socket takes it)
agi_first A before amd "$T/amd/amd_dev_" 1 2 3
# the audio first, the call ended, then the AGI
for i in 4 5 6; do
    "$AS" --port "$PORT" --uuid "$(hex $i)" --file "$T/amd/amd_dev_00$((i - 1)).wav" --pace 0 \
        --dump "$T/seq$i.raw" > "$T/as$i.out" 2>&1
done
# calls_ended NAME N: server NAME's event file has N call_end lines
calls_ended() { [ "$(grep -c '"type":"call_end"' "$T/$1.jsonl" 2> /dev/null)" -ge "$2" ]; }
live_wait 120 "server A: the six calls ended before the AGI requests after them" calls_ended A 6 ||
    FAIL=1
"$PY" "$AGI" --port "$APORT" --chunk 1000 "$(uuid 4)" "$(uuid 5)" "$(uuid 6)" > "$T/agi_after.out" 2>&1
# hung up before a decision: the request in, then 0.3 s of ringback and the hangup frame
"$PY" "$AGI" --port "$APORT" "$(uuid 7)" > "$T/agi_hangup.out" 2>&1 &
AG=$!
PIDS="$PIDS $AG"
live_wait 120 "server A: the AGI request in before the short call" agi_in A 7 || FAIL=1
"$AS" --port "$PORT" --uuid "$(hex 7)" --file "$C/calls/call05_ringback_answer.wav" --channel 1 \
    --secs 0.3 --pace 1 > "$T/as7.out" 2>&1
wait "$AG"
# another script: refused; a channel that hangs up while it waits
"$PY" "$AGI" --port "$APORT" --script other "$(uuid 8)" > "$T/agi_script.out" 2>&1
"$PY" "$AGI" --port "$APORT" --hangup-after 0.3 "$(uuid 9)" > "$T/agi_chan.out" 2>&1
live_stop "$SPID" "server A"
RC=$LIVE_RC
[ "$RC" -eq 0 ] && ok "server A: SIGTERM, exit 0" || bad "server A: exit $RC"
sed 's/^/  A: /' "$T/A.err"
for i in 1 2 3 4 5 6; do
    "$CQ" classify --live amd --rate 8000 - < "$T/seq$i.raw" > "$T/seq$i.ref" 2> /dev/null
done

# ---- server B: the timeout ---------------------------------------------------------------------
# the call sends 1 s of ringback and then nothing, its connection held open: no decision can
# come, and --stall-sec 120 keeps it a call, until the 800 ms wait of the request has ended
start B --fastagi-timeout-ms 800 --stall-sec 120
"$AS" --port "$PORT" --uuid "$(hex 10)" --file "$C/calls/call05_ringback_answer.wav" --channel 1 \
    --secs 1 --pace 1 --end none --hold-sec 300 > "$T/as10.out" 2>&1 &
PIDS="$PIDS $!"
live_wait 120 "server B: the call set up before its AGI request" live_stat_ge "$T/B.jsonl" 0 calls 1 ||
    FAIL=1
"$PY" "$AGI" --port "$APORT" "$(uuid 10)" > "$T/agi_timeout.out" 2>&1
live_stop "$SPID" "server B" || FAIL=1
sed 's/^/  B: /' "$T/B.err"

# ---- server C: the hold-slayer's answer ---------------------------------------------------------
start C --live hold --queue-sec 600
agi_first C hold hold "$T/hold/hold_dev_" 11 12 13
"$PY" "$AGI" --port "$APORT" "$(uuid 14)" > "$T/agi_holdamd.out" 2>&1
live_stop "$SPID" "server C"
RC=$LIVE_RC
[ "$RC" -eq 0 ] && ok "server C: SIGTERM, exit 0" || bad "server C: exit $RC"
sed 's/^/  C: /' "$T/C.err"
for i in 11 12 13; do
    "$CQ" classify --live hold --rate 8000 - < "$T/seq$i.raw" > "$T/seq$i.ref" 2> /dev/null
done

"$PY" - "$T" << 'PY' || FAIL=1
import json, sys
T = sys.argv[1]
fail = 0
def check(cond, what):
    global fail
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fail = 1
def uuid(i):
    return "%08x-0000-4000-8000-%012x" % (i, i)
got = {}
for name in ("before", "after", "hangup", "script", "chan", "timeout", "hold", "holdamd"):
    for l in open("%s/agi_%s.out" % (T, name)):
        try:
            r = json.loads(l)
        except ValueError:
            print("  agi_%s: %s" % (name, l.rstrip()))
            continue
        got[r["uuid"]] = r
def expected(i):
    for l in open("%s/seq%d.ref" % (T, i)):
        e = json.loads(l)
        if e["type"] == "human":
            return "HUMAN", "HUMAN-%d-1600" % round(e["quiet_sec"] * 1000)
        if e["type"] == "machine":
            return "MACHINE", "LONGGREETING-%d-3520" % round((e["end"] - e["start"]) * 1000)
    return "HANGUP", ""
def close_cause(a, b):
    """Causes equal, their numbers within 1 ms (the reference is printed to 1 ms)."""
    pa, pb = a.split("-"), b.split("-")
    return len(pa) == len(pb) and pa[0] == pb[0] and all(
        abs(int(x) - int(y)) <= 1 for x, y in zip(pa[1:], pb[1:]))
kinds = set()
for i in range(1, 7):
    r = got.get(uuid(i), {})
    st, cause = expected(i)
    kinds.add(st)
    good = r.get("ok") and r.get("status") == st and close_cause(r.get("cause") or "", cause)
    check(good, "sequence %d (AGI %s the audio): %s %s, callqa classify --live amd: %s %s %s" %
          (i, "before" if i <= 3 else "after", r.get("status"), r.get("cause"), st, cause,
           r.get("error", "")))
check(kinds >= {"HUMAN", "MACHINE"}, "both answers among the sequences: %s" % sorted(kinds))
r = got.get(uuid(7), {})
check(r.get("ok") and r.get("status") == "HANGUP" and r.get("cause") == "",
      "hung up before a decision: %s %r %s" % (r.get("status"), r.get("cause"), r.get("error")))
r = got.get(uuid(8), {})
check(not r.get("ok") and r.get("status") is None and "got ''" in r.get("error", ""),
      "another script: closed with nothing sent (%s)" % r.get("error"))
r = got.get(uuid(9), {})
check(r.get("ok") and r.get("closed"), "the channel hung up while waiting: closed")
r = got.get(uuid(10), {})
ms = int(r.get("cause", "TOOLONG-0").split("-")[1]) if r.get("cause", "").startswith("TOOLONG-") else 0
# at least the 800 ms wait; the upper bound only tells a hang
check(r.get("ok") and r.get("status") == "NOTSURE" and 800 <= ms < 60000,
      "timeout: %s %s" % (r.get("status"), r.get("cause")))
def expected_hold(i):
    for l in open("%s/seq%d.ref" % (T, i)):
        e = json.loads(l)
        if e["type"] == "human" and e["rule"] == "quiet_handover":
            return "HUMAN", "QUIETHANDOVER-%d-1280" % round(e["quiet_sec"] * 1000)
        if e["type"] == "human":
            return "HUMAN", "NOMUSICAFTER-%d-10500" % round((e["end"] - e["start"]) * 1000)
        if e["type"] == "hold_ended" and e["rule"] == "no_music":
            return "ENDED", "NOMUSIC-%d-30000" % round((e["end"] - e["start"]) * 1000)
    return "HANGUP", ""
kinds = set()
for i in (11, 12, 13):
    r = got.get(uuid(i), {})
    st, cause = expected_hold(i)
    kinds.add(st)
    good = r.get("ok") and r.get("status") == st and close_cause(r.get("cause") or "", cause)
    check(good, "hold sequence %d (AGI script hold): %s %s, callqa classify --live hold: %s %s %s" %
          (i - 11, r.get("status"), r.get("cause"), st, cause, r.get("error", "")))
check("HUMAN" in kinds, "a person found among the hold sequences: %s" % sorted(kinds))
r = got.get(uuid(14), {})
check(not r.get("ok") and r.get("status") is None and "got ''" in r.get("error", ""),
      "the amd script on a hold server: closed with nothing sent (%s)" % r.get("error"))
st = [json.loads(l) for l in open(T + "/A.jsonl") if '"type":"stats"' in l]
fin = st[-1] if st else {}
n_hangup = 1 + sum(expected(i)[0] == "HANGUP" for i in range(1, 7))
want = {"agi_accepted": 9, "agi_refused": 1, "agi_hangup": n_hangup, "agi_channel_hangup": 1}
check(all(fin.get(k) == v for k, v in want.items()) and
      fin.get("agi_human", 0) + fin.get("agi_machine", 0) + fin.get("agi_hangup", 0) == 7,
      "server A's final stats: %s" % {k: v for k, v in fin.items() if k.startswith("agi_")})
sys.exit(fail)
PY
if grep -l "Sanitizer" "$T"/*.err > /dev/null 2>&1; then
    grep -h -A5 "Sanitizer" "$T"/*.err | head -40
    bad "a sanitizer reported"
fi
exit $FAIL
