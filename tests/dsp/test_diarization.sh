#!/bin/sh
# test_diarization.sh - two-speaker diarization of mono recordings measured against the truth
# (docs/diarization.md):
#   - der.py's self-test (the md-eval scorer on hand-built cases);
#   - the mixes of tests/dsp/mkmix.py: `dev` (the talkers the method was developed on)
#     and `heldout` (looked at after it was fixed), 24 calls each, and calls of one talker
#     (`single`, `single-heldout`); both talkers of a call through the same band-pass and codec
#     (PCM, u-law, GSM), the second at 0, +6 or -6 dB;
#   - the real two-party telephone call conversations/pyannote_sample.wav with its RTTM.
# DER per file and overall, with overlap scored and excluded, 0.25 s collar, printed and kept in
# OUT/results-SET.json. Asserted (the figures measured when the method was fixed, so that a
# change that makes them worse fails; the issue's goal, <= 10 % with no file above 25 %, is not
# met on every file, see docs/diarization.md):
#   - overall DER with overlap excluded <= 10 % on dev and on heldout;
#   - at most 8 of the 18 one-talker calls split into two speakers;
#   - an agent's voice profile (a one-talker call of the same talker) picks the agent among the
#     diarized speakers in at least 41 of the 48 mixes (43 measured), the wrong one in at most 2
#     (roles_profile.py);
#   - every report's diarization block names its method and rule.
#   usage: test_diarization.sh BUILD/callqa SHARED_DIR [OUT]
set -u
t_start=$(date +%s)
CQ=$1
SH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
command -v sox > /dev/null 2>&1 || { echo "SKIP: sox is not installed (scripts/deps)"; exit 77; }
[ -d "$SH/models/silero_vad" ] || { echo "SKIP: no models in $SH/models"; exit 77; }
export CALLQA_MODEL_DIR="$SH/models"
OUT=${3:-$(mktemp -d)}
mkdir -p "$OUT"
[ -n "${3:-}" ] || trap 'rm -rf "$OUT"' EXIT

python3 "$HERE/der.py" --selftest > "$OUT/selftest.txt" 2>&1
check "der.py passes its hand-built cases" grep -q "selftest ok" "$OUT/selftest.txt"

for s in "dev 24 dev" "heldout 24 heldout" "single 12 single" "single-heldout 6 sheld"; do
    set -- $s
    python3 "$HERE/mkmix.py" --shared "$SH" --out "$OUT/$3" --set "$1" --calls "$2" 2> /dev/null &
done
wait
mkdir -p "$OUT/real"
cp "$SH/corpus/conversations/pyannote_sample.wav" "$SH/corpus/conversations/pyannote_sample.rttm" \
    "$OUT/real/"
for d in dev heldout single sheld real; do
    echo "== $d"
    python3 "$HERE/score_set.py" --callqa "$CQ" --set "$OUT/$d" --out "$OUT/results-$d.json"
done

der_of() { # der_of SET: overall DER with overlap excluded, in %
    python3 -c "import json,sys; print(100*json.load(open(sys.argv[1]))['overall_no_overlap']['der'])" \
        "$OUT/results-$1.json"
}
le() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }
check "dev mixes: overall DER $(der_of dev) % <= 10 %" le "$(der_of dev)" 10
check "held-out mixes: overall DER $(der_of heldout) % <= 10 %" le "$(der_of heldout)" 10
split=$(python3 -c "
import json,sys
n=0
for d in sys.argv[1:]:
    n+=sum(1 for f in json.load(open(d))['files'] if f['speakers']==2)
print(n)" "$OUT/results-single.json" "$OUT/results-sheld.json")
check "one-talker calls split into two: $split of 18 (<= 8)" test "$split" -le 8
python3 "$HERE/roles_profile.py" --callqa "$CQ" --mixes "$OUT/dev" --mixes "$OUT/heldout" \
    --profiles "$OUT/single" --profiles "$OUT/sheld" --out "$OUT/roles-profile.json"
right=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['right'])" "$OUT/roles-profile.json")
wrong=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['wrong'])" "$OUT/roles-profile.json")
check "a voice profile picks the agent in $right of 48 mixes (>= 41)" test "$right" -ge 41
check "and the wrong agent in $wrong (<= 2)" test "$wrong" -le 2
"$CQ" analyze --only diarize --json "$OUT/dev/dev00.wav" > "$OUT/one.json" 2> /dev/null
check "the diarization block names its method and rule" python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))['diarization']
assert d['method']=='mfcc-glr-ahc+gmm-viterbi' and d['rule'] and d['overlap']['detected'] is False
" "$OUT/one.json"
"$CQ" analyze --only diarize --json "$SH/corpus/calls/call01_normal.wav" > "$OUT/stereo.json" 2> /dev/null
check "two legs: no diarization, no speakers, no voice prints" python3 -c "
import json,sys
r=json.load(open(sys.argv[1]))
assert r['diarization'] is None and r['speakers'] is None and 'voiceprint' not in r['inbound']
" "$OUT/stereo.json"
"$CQ" analyze --only diarize --voiceprints --json "$OUT/dev/dev00.wav" > "$OUT/vp.json" 2> /dev/null
check "voice prints only when asked" python3 -c "
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert all(s['voiceprint'] is None for s in a['speakers'])
assert all(len(s['voiceprint']['v'])==36 for s in b['speakers'])
" "$OUT/one.json" "$OUT/vp.json"
refused() { ! "$CQ" analyze --only diarize --diarization-model ecapa --json "$OUT/dev/dev00.wav" \
    > /dev/null 2> "$OUT/model.err"; }
check "an embedding model is refused: none is built in" refused
echo "run time: $(($(date +%s) - t_start)) s"
finish "diarization of mono mixes"
