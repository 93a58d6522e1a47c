#!/bin/sh
# bench/diarize.sh - what diarization costs, apart from the VAD: CPU seconds (user + sys) of
# `callqa analyze --only vad` and of `--only diarize` (which runs the VAD too) on the same mono
# mixes, one process per file, RUNS runs alternating; the difference over the audio's length is
# diarization's cost in core-seconds per second of audio (issue goal: <= 0.002). There is no
# peer to run beside it here: pyannote needs PyTorch models that cannot be installed on these
# machines (docs/diarization.md).
#   usage: bench/diarize.sh [RUNS]   (default 3; needs sox and python3; the mixes are
#          tests/diarization/mkmix.py's dev set, 24 calls, plus a 10-minute call made of them)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SHARED=${CALLQA_SHARED_DIR:-../shared}
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}
CQ=${CALLQA:-build/callqa}
W=bench/out/diarize
mkdir -p "$W"
[ -f "$W/mixes/dev23.wav" ] ||
    python3 tests/diarization/mkmix.py --shared "$SHARED" --out "$W/mixes" --set dev --calls 24 2> /dev/null
[ -f "$W/long.wav" ] || sox $(ls "$W"/mixes/*.wav | head -12) -e signed -b 16 "$W/long.wav" 2> /dev/null
python3 - "$CQ" "$RUNS" "$W" <<'PY'
import glob, os, resource, subprocess, sys
cq, runs, w = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = sorted(glob.glob(w + "/mixes/*.wav")) + [w + "/long.wav"]
def cpu(args):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([cq, "analyze", "--json", "-q"] + args, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
def dur(f):
    return float(subprocess.run(["soxi", "-D", f], check=True, stdout=subprocess.PIPE,
                                text=True).stdout)
audio = {f: dur(f) for f in files}
tot = {"vad": 0.0, "diarize": 0.0}
long_ = {"vad": [], "diarize": []}
for _ in range(runs):
    for f in files:
        for an in ("vad", "diarize"):
            t = cpu(["--only", an, f])
            tot[an] += t
            if f.endswith("long.wav"):
                long_[an].append(t)
sec = sum(audio.values()) * runs
d = (tot["diarize"] - tot["vad"]) / sec
print("files: %d (%.0f s of audio, the longest %.0f s), %d runs" %
      (len(files), sum(audio.values()), max(audio.values()), runs))
print("vad alone:        %.5f core-s per s of audio" % (tot["vad"] / sec))
print("vad + diarize:    %.5f core-s per s of audio" % (tot["diarize"] / sec))
print("diarize, net:     %.5f core-s per s of audio (goal <= 0.002)" % d)
lv, ld = min(long_["vad"]), min(long_["diarize"])
print("the %.0f s call:   vad %.3f s, vad + diarize %.3f s: diarize %.5f core-s per s" %
      (audio[w + "/long.wav"], lv, ld, (ld - lv) / audio[w + "/long.wav"]))
PY
