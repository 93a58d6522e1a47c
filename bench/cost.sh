#!/bin/sh
# bench/cost.sh - what the engine costs: CPU seconds (user + sys) of `callqa analyze` with its
# defaults (every default analyzer, the models of CALLQA_MODEL_DIR) per second of each leg, over
# a set of calls, and where that time goes (the report's engine.profile: decoding, resampling,
# each analyzer, in CPU seconds). One process analyses all the calls, as many at once as there
# are cores, each in a thread of its own (`-j NCPU --no-isolate`: one model load for the whole
# set, as the worker loads once; NISQA then runs on one thread per call, the way that costs
# least), RUNS runs, the median. Issue goal: at most 0.004
# core-seconds per leg-second.
#   usage: bench/cost.sh [RUNS] [FILE|DIR ...]   (default 3 runs over the corpus calls:
#          ../shared/corpus/calls, each WAV a call, call14's -in/-out legs one call, its MP3 mix
#          left out as the same call again); prints a table and writes bench/out/cost.txt
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-3}
[ $# -gt 0 ] && shift
SHARED=${CALLQA_SHARED_DIR:-../shared}
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}
CQ=${CALLQA:-build/callqa}
[ -x "$CQ" ] || { echo "bench/cost.sh: $CQ is not built (scripts/build)" >&2; exit 1; }
mkdir -p bench/out
if [ $# -eq 0 ]; then
    set -- $(ls "$SHARED"/corpus/calls/*.wav | grep -v -e '-in\.wav$' -e '-out\.wav$')
    IN=$(ls "$SHARED"/corpus/calls/*-in.wav 2> /dev/null | head -1)
    [ -n "$IN" ] && set -- "$@" --in "$IN" --out "$(echo "$IN" | sed 's/-in\.wav$/-out.wav/')"
fi
python3 - "$CQ" "$RUNS" "$@" << 'PY' | tee bench/out/cost.txt
import json, os, resource, subprocess, sys
cq, runs, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
results = []
for _ in range(runs):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([cq, "analyze", "--json", "-q", "-j", str(os.cpu_count()), "--no-isolate", "--profile"]
                         + files, check=True, capture_output=True, text=True).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    reps = [json.loads(l) for l in out.splitlines() if l.strip()]
    legs = sum(r["duration"] * (2 if r["outbound"] else 1) for r in reps)
    acc = {"decode": 0.0, "resample": 0.0}
    for r in reps:
        p = r["engine"]["profile"]
        acc["decode"] += p["decode_sec"]
        acc["resample"] += p["resample_sec"]
        for k, v in p["stages_sec"].items():
            acc[k] = acc.get(k, 0.0) + v
    wall = sum(r["analysis_time_sec"] for r in reps)
    results.append((cpu, legs, wall, acc, len(reps)))
cpu, legs, wall, acc, n = sorted(results, key=lambda x: x[0])[len(results) // 2]
tot = sum(acc.values())
print(f"{n} calls, {legs:.1f} leg-seconds; median of {runs} runs")
print()
print("| part | core-seconds per leg-second | share of the analysis |")
print("|---|---|---|")
for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
    print(f"| {k} | {v / legs:.5f} | {100 * v / tot:.1f} % |")
print(f"| the analysis (engine, the parts above) | {tot / legs:.5f} | 100 % |")
print(f"| **the process (CPU, user + sys, model loading included)** | **{cpu / legs:.5f}** | |")
PY
