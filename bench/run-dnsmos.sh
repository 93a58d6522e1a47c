#!/bin/sh
# DNSMOS in C (build/bench/bench_dnsmos, reference mode) against the numpy reference scorer
# (../shared/reference/tools/dnsmos_ref.py, its "shared" mode: the same once-per-leg
# convolutions), alternating run by run on one 16 kHz file, with 1 and 2 threads
# (OPENBLAS_NUM_THREADS for numpy). Needs Debian's python3-numpy python3-onnx
# python3-soundfile python3-scipy and libopenblas0-pthread; run with Debian's /usr/bin/python3.
#   bench/run-dnsmos.sh [FILE.wav] [RUNS]     default: 60 s of the corpus' pyannote_sample
set -eu
cd "$(dirname "$0")/.."
SHARED=${CALLQA_SHARED_DIR:-../shared}
M=$SHARED/models/dnsmos
RUNS=${2:-3}
F=${1:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ -z "$F" ]; then
    F=$T/p60.wav
    S=$SHARED/corpus/conversations/pyannote_sample.wav
    sox "$S" "$S" "$F"
fi
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread
make -C build bench_dnsmos > /dev/null
for th in 1 2; do
    i=0
    while [ $i -lt "$RUNS" ]; do
        OPENBLAS_NUM_THREADS=$th /usr/bin/python3 "$SHARED/reference/tools/dnsmos_ref.py" "$F" \
            --models "$M" --no-windows 2> /dev/null |
            python3 -c "import json,sys; d=json.load(sys.stdin); print('numpy  threads $th: total %.3f s, ovrl %.4f p808 %.4f' % (d['timing_s']['total'], d['ovrl'], d['p808_mos']))"
        build/bench/bench_dnsmos "$M" "$th" 1 "$F" | grep reference
        i=$((i + 1))
    done
done
