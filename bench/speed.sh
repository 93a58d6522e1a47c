#!/bin/sh
# bench/speed.sh - callqa against its strongest peer, side by side in one run: the tables of
# BENCHMARKS.md's "Against the strongest peer" (bench/peers.sh sets the peer up: Debian's
# PyTorch on OpenBLAS, the reference runner's code from the repository snapshots).
#   vad    Silero VAD on the 180 s leg, one thread: the official TorchScript model chunk by chunk
#          as get_speech_timestamps feeds it (bench/vad_torch.py) on OpenBLAS, and on Debian's
#          reference BLAS as a second, labelled column; callqa's bench_vad. CPU seconds, model
#          load and decoding excluded.
#   nisqa  NISQA's file mode on the 60 s and the 180 s leg at 1 and 2 threads: NISQA's own
#          PyTorch code with the reference runner's librosa stand-in (bench/nisqa_torch.py,
#          mel front end included, OPENBLAS_NUM_THREADS and torch threads = T) against
#          bench_nisqa. Wall seconds, model load excluded.
#   call   the whole 2-leg call (the 180 s stereo call as -in/-out leg files): the reference
#          pipeline (../shared/reference/tools/seed_pipeline.py: sox stat, ffmpeg
#          silencedetect, Silero VAD, NISQA, per leg) against `callqa analyze --in --out` with
#          every default analyzer. Process wall seconds, start-up and model loads included.
# One thread means both sides pinned to one core (taskset -c 0) with one thread each; two
# threads, both cores. Rounds alternate the two sides so a slow spell of the machine hits both;
# each figure is the median of RUNS.
#   usage: bench/speed.sh [vad] [nisqa] [call]   (default all; RUNS=5; after scripts/build and
#          bench/run.sh, which makes bench/out/mono3.wav and stereo3.wav). Writes
#          bench/out/speed-SECTION.txt.
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SECTIONS=${*:-vad nisqa call}
SHARED=${CALLQA_SHARED_DIR:-../shared}
export CALLQA_SHARED_DIR=$SHARED
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}
W=bench/out
[ -f "$W/mono3.wav" ] && [ -f "$W/stereo3.wav" ] || { echo "run bench/run.sh first (bench/out/mono3.wav)" >&2; exit 1; }
. bench/peers.sh
peers_setup
cmake --build build --target bench_vad bench_nisqa callqa_cli > /dev/null
ONE="taskset -c 0"
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f×", a / b}'; }
field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p"; } # field NAME: the number after NAME

for s in $SECTIONS; do
case $s in
vad)
    M=$SHARED/models/silero_vad/v6.2
    : > "$W/speed-vad.tmp"
    for _ in $(seq "$RUNS"); do
        p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $ONE "$PEER_PY" bench/vad_torch.py "$M/silero_vad.jit" "$W/mono3.wav" 1 | field median)
        q=$(env $PEER_WEAK OMP_NUM_THREADS=1 $ONE "$PEER_PY" bench/vad_torch.py "$M/silero_vad.jit" "$W/mono3.wav" 1 | field median)
        c=$($ONE build/bench/bench_vad "$M/silero_vad.onnx" "$W/mono3.wav" 1 | field median)
        echo "$p $q $c" >> "$W/speed-vad.tmp"
    done
    p=$(awk '{print $1}' "$W/speed-vad.tmp" | median)
    q=$(awk '{print $2}' "$W/speed-vad.tmp" | median)
    c=$(awk '{print $3}' "$W/speed-vad.tmp" | median)
    {
        echo "| Silero VAD v6.2, 180 s leg, 1 thread | PyTorch + OpenBLAS | callqa | ratio | PyTorch + reference BLAS (weaker) | ratio to it |"
        echo "|---|---|---|---|---|---|"
        echo "| CPU s (median of $RUNS) | $p | $c | $(ratio "$p" "$c") | $q | $(ratio "$q" "$c") |"
    } | tee "$W/speed-vad.txt"
    rm -f "$W/speed-vad.tmp"
    ;;
nisqa)
    sox "$W/mono3.wav" "$W/mono60.wav" trim 0 60
    N=$SHARED/models/nisqa/nisqa.tar
    {
        echo "| NISQA file mode | threads | PyTorch + OpenBLAS (s) | callqa (s) | ratio | MOS PyTorch | MOS callqa |"
        echo "|---|---|---|---|---|---|---|"
    } > "$W/speed-nisqa.txt"
    for f in mono60 mono3; do
        for t in 1 2; do
            pin=""
            [ "$t" -eq 1 ] && pin=$ONE
            : > "$W/speed-nisqa.tmp"
            for _ in $(seq "$RUNS"); do
                p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t $pin "$PEER_PY" bench/nisqa_torch.py "$N" "$W/$f.wav" "$t" 1 2> /dev/null)
                c=$($pin build/bench/bench_nisqa "$N" "$W/$f.wav" "$t" 1)
                echo "$(echo "$p" | field total) $(echo "$c" | field total) $(echo "$p" | field mos) $(echo "$c" | field mos)" >> "$W/speed-nisqa.tmp"
            done
            p=$(awk '{print $1}' "$W/speed-nisqa.tmp" | median)
            c=$(awk '{print $2}' "$W/speed-nisqa.tmp" | median)
            pm=$(awk 'END {print $3}' "$W/speed-nisqa.tmp")
            cm=$(awk 'END {print $4}' "$W/speed-nisqa.tmp")
            len=60
            [ "$f" = mono3 ] && len=180
            echo "| ${len} s leg | $t | $p | $c | $(ratio "$p" "$c") | $pm | $cm |" >> "$W/speed-nisqa.txt"
        done
    done
    rm -f "$W/speed-nisqa.tmp"
    cat "$W/speed-nisqa.txt"
    ;;
call)
    sox "$W/stereo3.wav" -e u-law "$W/call3-in.wav" remix 1
    sox "$W/stereo3.wav" -e u-law "$W/call3-out.wav" remix 2
    {
        echo "| whole 2-leg call, 2 × 180 s (process wall) | threads | reference pipeline, PyTorch + OpenBLAS (s) | callqa (s) | ratio |"
        echo "|---|---|---|---|---|"
    } > "$W/speed-call.txt"
    for t in 1 2; do
        pin=""
        [ "$t" -eq 1 ] && pin=$ONE
        : > "$W/speed-call.tmp"
        for _ in $(seq "$RUNS"); do
            "$PEER_PY" - "$t" "$pin" "$PEER_STRONG" "$PEER_PY" "$SHARED" "$PEER_CODE" "$W" >> "$W/speed-call.tmp" << 'PY'
import os, subprocess, sys, time
t, pin, strong, py, shared, code, w = sys.argv[1:8]
env = dict(os.environ, OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t)
k, v = strong.split("=", 1)
env[k] = v
legs = [w + "/call3-in.wav", w + "/call3-out.wav"]
pin = pin.split()
t0 = time.perf_counter()
subprocess.run(pin + [py, shared + "/reference/tools/seed_pipeline.py", "--threads", t,
                      "--work", code, "--out", os.devnull] + legs,
               env=env, check=True, stderr=subprocess.DEVNULL)
t1 = time.perf_counter()
subprocess.run(pin + ["build/callqa", "analyze", "--json", "-q", "--in", legs[0], "--out", legs[1]],
               check=True, stdout=subprocess.DEVNULL)
t2 = time.perf_counter()
print("%.3f %.3f" % (t1 - t0, t2 - t1))
PY
        done
        p=$(awk '{print $1}' "$W/speed-call.tmp" | median)
        c=$(awk '{print $2}' "$W/speed-call.tmp" | median)
        echo "| every default analyzer | $t | $p | $c | $(ratio "$p" "$c") |" >> "$W/speed-call.txt"
    done
    rm -f "$W/speed-call.tmp"
    cat "$W/speed-call.txt"
    ;;
*) echo "bench/speed.sh: unknown section '$s' (vad, nisqa, call)" >&2; exit 2 ;;
esac
done
