#!/bin/sh
# bench/live.sh - the live server's load: how many live calls one machine holds.
#   scale [N ...]   N concurrent AudioSocket calls at real-time pace (live_load: one sender
#          thread, 20 ms slin frames, each call from its own offset of a corpus call's first
#          leg, ringback then a conversation, wrapping round; starts spread over 2 s) against
#          `callqa live --audiosocket` with its defaults (the Silero VAD of CALLQA_MODEL_DIR,
#          the threads this machine has), as N grows; each N twice: with the VAD batched across
#          calls (the default: --vad-batch 32, --batch-wait-ms 10) and each call's VAD alone
#          (--vad-batch 1 --batch-wait-ms 0), alternating. From the server's final stats line:
#          each frame's wait for the analysis, from the moment the server read it to the moment
#          its samples were analysed (p50, p99, max; 1 ms buckets), the CPU seconds of the
#          server per second of call audio, and the audio dropped (a call's queue full). An
#          event's latency: the wall clock of its line minus the moment the audio it was decided
#          on was sent (the call's first frame's wall clock, from the sender, plus the line's
#          call_sec, less the 20 ms of the frame that carried it; the lines' clock has
#          milliseconds): the network, the queue, the batch's wait, the analysis and the
#          writer, with the classifier's own look-ahead inside its decision. The sender runs on
#          the same machine and says how late it ran itself. Goal of the live-calls issue: 500
#          calls with p99 under 50 ms per frame. Default N: 50 100 200 300 400 500 600 800;
#          SECS=30 of audio per call; LIVE=hold|amd runs the server with those live decisions
#          on; PROBE=1 (with LIVE=hold) asks the line too (--probe default, docs/live.md): the
#          calls are then cut from a hold-slayer sequence of the corpus (tests/live/mkseq.py
#          --probe, dev, seed 11: ringback, IVR, hold music with announcements, a person), so
#          that candidates come and probes go back into the calls (counted from call_end; the
#          sender reads nothing back: the probe's frames wait in its socket's buffer);
#          HOLDSEQ=1 streams the same sequence without the probe, for the comparison.
#          The whole machine's CPU over the run (/proc/stat: the server, the sender, the
#          kernel's loopback TCP and anything else) and the sender's own CPU are shown beside
#          the server's. MODES="batched alone" (the default: both); BUILDS="A/callqa B/callqa":
#          several builds side by side, each N and mode run with each build in turn (a build
#          column is added). Prints a table and writes bench/out/live-scale.txt.
#   soak [SECONDS [CALLS [RATE [CALL_SECONDS]]]]   CALLS live calls at a time with --live hold
#          --probe default for SECONDS, each lasting CALL_SECONDS then replaced by a new one
#          (default 1800 s, 1000 calls of 180 s) and `callqa serve` answering RATE cached GET
#          /analyze a second beside them (default 500): memory, CPU and the requests' latency per 5
#          minutes, and checks that nothing grew, no audio was dropped, no event was lost and
#          every request was answered (bench/live_soak.py). Writes bench/out/live-soak.txt.
#   usage: bench/live.sh [scale] [N ...] | soak [SECONDS [CALLS [RATE]]]   (after scripts/build)
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_SECTIONS="scale soak"
BENCH_DEFAULT="scale"
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}

sec_scale() {
    SECS=${SECS:-30}
    LIVE=${LIVE:-}
    PROBE=${PROBE:-}
    case $LIVE in "" | hold | amd) ;; *) echo "LIVE: hold or amd" >&2; exit 2 ;; esac
    [ -z "$PROBE" ] || [ "$LIVE" = hold ] || { echo "PROBE=1 needs LIVE=hold" >&2; exit 2; }
    LIST=${*:-50 100 200 300 400 500 600 800}
    FILE=$SHARED/corpus/calls/call05_ringback_answer.wav
    bench_build callqa_cli live_load
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
    if [ -n "$PROBE" ] || [ -n "${HOLDSEQ:-}" ]; then
        /usr/bin/python3 tests/live/mkseq.py --set dev --n 1 --seed 11 --probe \
            --corpus "$SHARED/corpus" --out "$T/seq" > /dev/null || exit 1
        FILE=$T/seq/hold_dev_000.wav
    fi

    MODES=${MODES:-batched alone}
    BUILDS=${BUILDS:-$CQ}
    # the machine's busy and total CPU ticks so far (/proc/stat's first line)
    ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

    # one N, one mode, one build: prints the final stats line, the sender's line, the events'
    # latencies, the probes, then the machine's busy share and the sender's CPU seconds
    run() {
        n=$1
        bin=$2
        shift 2
        rm -f "$T/ev" "$T/err"
        # shellcheck disable=SC2086 # LIVE is one word or none
        "$bin" live --audiosocket 127.0.0.1:0 --max-calls $((n + 16)) --stats-sec 0 \
            --events "$T/ev" ${LIVE:+--live $LIVE} ${PROBE:+--probe default} "$@" 2> "$T/err" &
        pid=$!
        for _ in $(seq 1 100); do grep -q ' port ' "$T/err" 2> /dev/null && break; sleep 0.1; done
        port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/err" | head -1)
        m0=$(ticks)
        sender=$(/usr/bin/time -f '%U %S' -o "$T/stime" build/bench/live_load --port "$port" \
            --calls "$n" --secs "$SECS" --file "$FILE" --channel 1 --starts "$T/starts")
        m1=$(ticks)
        sleep 1
        kill -TERM "$pid"
        wait "$pid"
        grep '"final":true' "$T/ev"
        echo "$sender"
        python3 - "$T/ev" "$T/starts" << 'PY'
import datetime, json, sys
t0 = dict(l.split() for l in open(sys.argv[2]))
lat = []
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("call") in t0 and e.get("type") not in ("call_end", "dtmf") and "call_sec" in e:
        w = datetime.datetime.fromisoformat(e["wall"].replace("Z", "+00:00")).timestamp()
        # the frame holding the audio up to call_sec left the sender 20 ms before its end
        lat.append((w - float(t0[e["call"]]) - (e["call_sec"] - 0.020)) * 1000)
lat.sort()
q = lambda p: "%.0f" % lat[min(len(lat) - 1, int(p * len(lat)))] if lat else "-"
print(len(lat), q(0.5), q(0.99))
PY
        grep -c '"type":"probe"' "$T/ev" || true # the probes asked for
        echo "$m0 $m1" | awk '{ printf "%.4f ", ($3 - $1) / ($4 - $2) }'
        awk '{ print $1 + $2 }' "$T/stime"
    }

    {
        echo "N concurrent calls, $SECS s of audio each, $(nproc) CPUs; wait = a frame's wait for the analysis${LIVE:+; --live $LIVE}${PROBE:+ --probe default}"
        echo
        nb=$(echo "$BUILDS" | wc -w)
        echo "| $([ "$nb" -gt 1 ] && printf 'build | ')calls | VAD | frame wait p50 / p99 / max (ms) | events | event latency p50 / p99 (ms) | CPU s per call-second | server cores busy | sender cores busy | machine cores busy | VAD chunks per batch | audio dropped (s) | sender late p99 (ms) |${PROBE:+ probes |}"
        echo "|$([ "$nb" -gt 1 ] && printf -- '---|')---|---|---|---|---|---|---|---|---|---|---|---|${PROBE:+---|}"
    } > "$T/table"
    for n in $LIST; do
        for mode in $MODES; do
            for bin in $BUILDS; do
                if [ "$mode" = batched ]; then
                    out=$(run "$n" "$bin")
                else
                    out=$(run "$n" "$bin" --vad-batch 1 --batch-wait-ms 0)
                fi
                echo "$out" | python3 -c '
import json, os, sys
n, mode, secs, probe, build, nb = sys.argv[1:7]
secs = float(secs)
lines = sys.stdin.read().splitlines()
st, snd, ev = json.loads(lines[0]), lines[1].split(), lines[2].split()
busy, scpu = (float(x) for x in lines[-1].split())
wall = secs + 2.2  # the calls overlap for SECS s, their starts spread over 2 s
w = st["wait_ms"]
print("| %s%s | %s | %d / %d / %d | %s | %s / %s | %.5f | %.2f | %.2f | %.2f | %.1f | %.1f | %s |%s" % (
    build + " | " if int(nb) > 1 else "", n,
    "batched across calls" if mode == "batched" else "each call alone", w["p50"], w["p99"], w["max"],
    ev[0], ev[1], ev[2], st["cpu_sec"] / st["audio_analysed_sec"], st["cpu_sec"] / wall,
    scpu / wall, busy * os.cpu_count(), st["vad_chunks_per_run"],
    st["audio_dropped_samples"] / 8000.0, snd[snd.index("p99") + 1],
    " %s |" % lines[3] if probe else ""))
' "$n" "$mode" "$SECS" "$PROBE" "$bin" "$nb" >> "$T/table"
                tail -1 "$T/table"
            done
        done
    done
    cp "$T/table" bench/out/live-scale.txt
    cat bench/out/live-scale.txt
}

sec_soak() {
    bench_build callqa_cli live_load
    rc=0
    /usr/bin/python3 bench/live_soak.py build "$SHARED" "$@" > bench/out/live-soak.txt || rc=$?
    cat bench/out/live-soak.txt
    return $rc
}

bench_main "$@"
