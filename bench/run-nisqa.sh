#!/bin/sh
# bench/run-nisqa.sh - NISQA in C against NISQA's own PyTorch code (the reference pipeline's
# way: gabrielmittag/NISQA with the librosa stand-in of ../shared/reference/tools), on the same
# 60 s and 180 s legs, 1 and 2 threads (torch and OpenBLAS threads for PyTorch), mel front end
# included, median of several runs; rounds alternate the two sides.
#   usage: bench/run-nisqa.sh   (after bench/run.sh built bench/out/mono3.wav; bench/peers.sh
#          sets up PyTorch on OpenBLAS and NISQA's code from its repository snapshot)
set -eu
cd "$(dirname "$0")/.."
S=${CALLQA_SHARED_DIR:-../shared}
M=$S/models/nisqa/nisqa.tar
W=bench/out
. bench/peers.sh
peers_setup
cmake --build build --target bench_nisqa >/dev/null
sox "$W/mono3.wav" "$W/mono60.wav" trim 0 60
echo "| leg | threads | PyTorch (s) | callqa (s) | ratio | MOS PyTorch | MOS callqa |"
echo "|---|---|---|---|---|---|---|"
for f in mono60 mono3; do
    for t in 1 2; do
        c=$(build/bench/bench_nisqa "$M" "$W/$f.wav" $t 5)
        p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$PEER_PY" bench/nisqa_torch.py "$M" "$W/$f.wav" $t 3 2>/dev/null)
        cs=$(echo "$c" | sed 's/.*total \([0-9.]*\) s.*/\1/')
        ps=$(echo "$p" | sed 's/.*total \([0-9.]*\) s.*/\1/')
        cm=$(echo "$c" | sed 's/.*mos \([0-9.]*\).*/\1/')
        pm=$(echo "$p" | sed 's/.*mos \([0-9.]*\).*/\1/')
        len=60
        [ $f = mono3 ] && len=180
        echo "| ${len} s | $t | $ps | $cs | $(awk -v a="$ps" -v b="$cs" 'BEGIN {printf "%.1fx", a / b}') | $pm | $cm |"
    done
done
