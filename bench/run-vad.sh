#!/bin/sh
# bench/run-vad.sh - Silero VAD: callqa's C implementation (from silero_vad.onnx) against the
# official TorchScript model in Debian's PyTorch on OpenBLAS (bench/peers.sh sets it up), same
# leg, one thread each,
# CPU seconds per audio second, model load and decoding excluded. Also prints the largest
# difference between the two sets of probabilities.
#   usage: bench/run-vad.sh   (after bench/run.sh has built bench/out/mono3.wav)
set -eu
cd "$(dirname "$0")/.."
M=${CALLQA_SHARED_DIR:-../shared}/models/silero_vad
W=bench/out
. bench/peers.sh
peers_setup
cmake --build build --target bench_vad >/dev/null
[ -f "$W/mono3.wav" ] || { echo "run bench/run.sh first (it builds $W/mono3.wav)"; exit 1; }
sox "$W/mono3.wav" -r 16000 "$W/mono3_16k.wav"
echo "| model | rate | PyTorch CPU s / audio s | callqa CPU s / audio s | ratio | max prob diff |"
echo "|---|---|---|---|---|---|"
for rate in 8k 16k; do
    f=$W/mono3.wav
    [ $rate = 16k ] && f=$W/mono3_16k.wav
    for v in v6.2 v5.1.2; do
        c=$(OMP_NUM_THREADS=1 build/bench/bench_vad "$M/$v/silero_vad.onnx" "$f" 7 "$W/c_${v}_$rate.txt")
        p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$PEER_PY" bench/vad_torch.py "$M/$v/silero_vad.jit" "$f" 3 "$W/t_${v}_$rate.txt")
        cs=$(echo "$c" | sed 's/.*median \([0-9.]*\) s CPU.*/\1/')
        ps=$(echo "$p" | sed 's/.*median \([0-9.]*\) s CPU.*/\1/')
        d=$(paste "$W/c_${v}_$rate.txt" "$W/t_${v}_$rate.txt" |
            awk '{d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d} END {printf "%.2g", m}')
        echo "| $v | $rate | $(awk -v t="$ps" 'BEGIN {printf "%.4f", t / 180}') | $(awk -v t="$cs" 'BEGIN {printf "%.5f", t / 180}') | $(awk -v a="$ps" -v b="$cs" 'BEGIN {printf "%.1fx", a / b}') | $d |"
    done
done
