#!/bin/sh
# test_profile.sh - `callqa analyze --profile`: the report's engine.profile accounts for the
# analysis time (decoding, resampling, one entry per analyzer run and no other), and a report
# made without the flag has no profile.
#   usage: test_profile.sh BUILD/callqa SHARED_DIR
set -u
CQ=$1
S=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
[ -d "$S/corpus/calls" ] || { echo "SKIP: $S/corpus is missing"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
C8=$S/corpus/calls/call01_normal.wav    # 8 kHz stereo: no resampling for the 8 kHz stream
C16=$S/corpus/quality/pesq_speech_ref.wav # 16 kHz mono: the VAD's 8 kHz stream is resampled
"$CQ" analyze --json -q -j 1 "$C8" > "$T/plain.json"
cpu_of() { # cpu_of CALL REPORT CPU-FILE: the report, and the CPU seconds its process used
    python3 - "$CQ" "$1" "$2" "$3" << 'PY'
import resource, subprocess, sys
with open(sys.argv[3], "w") as out:
    subprocess.run([sys.argv[1], "analyze", "--json", "-q", "-j", "1", "--profile", sys.argv[2]],
                   stdout=out, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[4], "w").write(str(r.ru_utime + r.ru_stime))
PY
}
cpu_of "$C8" "$T/p8.json" "$T/p8.cpu"
# a call of under a second: the process's start (its models loaded), which no part counts
cpu_of "$S/corpus/calls/call10_busy.wav" "$T/short.json" "$T/short.cpu"
"$CQ" analyze --json -q -j 1 --profile --only levels,vad "$C16" > "$T/p16.json"
prof() { # prof FILE PYTHON-EXPR: the expression on the report d and its profile p is true
    python3 - "$1" "$2" << 'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["engine"].get("profile")
ok = eval(sys.argv[2])
if not ok:
    print("  profile:", json.dumps(p), "analysis_time_sec:", d["analysis_time_sec"])
sys.exit(0 if ok else 1)
PY
}
check "no profile without --profile" prof "$T/plain.json" 'p is None'
check "one entry per analyzer run, and no other" \
    prof "$T/p8.json" 'sorted(p["stages_sec"]) == sorted(d["engine"]["analyzers"])'
check "every time is a number of seconds, none negative" prof "$T/p8.json" \
    'all(isinstance(v, float) and v >= 0 for v in [p["decode_sec"], p["resample_sec"]] + list(p["stages_sec"].values()))'
check "decoding took time" prof "$T/p8.json" 'p["decode_sec"] > 0'
check "an 8 kHz call is not resampled for the 8 kHz stream" prof "$T/p8.json" 'p["resample_sec"] == 0'
# CPU seconds, with those of NISQA's threads: no more than the process used, and most of what it
# used beyond its start
check "the parts add up to no more than the process's CPU time" prof "$T/p8.json" \
    'p["decode_sec"] + p["resample_sec"] + sum(p["stages_sec"].values()) <= float(open("'"$T/p8.cpu"'").read()) + 1e-3'
check "the parts are most of the process's CPU time beyond its start" prof "$T/p8.json" \
    'p["decode_sec"] + p["resample_sec"] + sum(p["stages_sec"].values()) >= 0.7 * (float(open("'"$T/p8.cpu"'").read()) - float(open("'"$T/short.cpu"'").read()))'
check "the VAD took time" prof "$T/p8.json" 'p["stages_sec"]["vad"] > 0'
check "a 16 kHz leg is resampled for the VAD" prof "$T/p16.json" 'p["resample_sec"] > 0'
check "--only levels,vad: those two" prof "$T/p16.json" 'sorted(p["stages_sec"]) == ["levels", "vad"]'
check "the report without the profile is otherwise the same" python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
for d in (a, b):
    d.pop("analysis_time_sec"); d["engine"].pop("profile", None)
sys.exit(0 if a == b else 1)' "$T/plain.json" "$T/p8.json"
finish profile
