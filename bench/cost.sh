#!/bin/sh
# bench/cost.sh - what the analysis costs per leg-second of the corpus calls, with each speech-
# quality model: `bench/stages.sh cost` (CPU seconds of `callqa analyze --profile` over the
# calls, each stage's share, the median of RUNS runs) once with the defaults (NISQA gives the
# MOS, DNSMOS not run), once with `--mos-model dnsmos` (DNSMOS gives the MOS in its default,
# windowed mode, NISQA not run: a site without NISQA's non-commercial weights). The mode and the
# precision of the DNSMOS scores are the report's (`dnsmos.mode`; exact float32 evaluation).
#   usage: bench/cost.sh [RUNS]     (after scripts/build; CQ=PATH measures another build)
cd "$(dirname "$0")/.."
RUNS=${1:-3}
echo "== the analysis with NISQA (the defaults)"
sh bench/stages.sh cost "$RUNS" || exit 1
echo
echo "== the analysis with DNSMOS as the MOS (--mos-model dnsmos: NISQA not run), windowed mode"
COST_FLAGS="--mos-model dnsmos" sh bench/stages.sh cost "$RUNS"
