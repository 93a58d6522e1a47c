#!/bin/sh
# test_tone_at_start.sh - a busy or ringback tone that begins with the recording is found from
# its first burst, as accurately as the same tone beginning later. Built here with sox, not
# kept, each file as 16-bit PCM and through A-law, u-law, GSM 06.10 (WAV49) and MP3 32 kbit/s:
#   (a) every busy and ringback row of the cadence tables (docs/events.md: North American, UK
#       and European) at -20 dBFS peak over a -65 dBFS noise floor, its first burst 0, 1, 5 and
#       20 ms into the file, and 0.31 s in as the reference; and the file starting 30 ms before
#       the first burst's end (a piece of it, from which the event starts: a pair's beat, every
#       7 ms for 480 + 620 Hz, trimmed the North American busy tone's piece under 20 ms);
#   (b) the corpus's US busy and ringback recordings and the calls made from them (call10, a
#       GSM mono mix; call05, u-law stereo, cut before its answer) cut at their first burst's
#       onset (MANIFEST.md: 0.26 and 0.28 s), 1 and 5 ms before it, and the busy tone at its
#       third burst too.
# Each file must have exactly one event, of its type, signal and region, starting within 0.04 s
# of its first burst and ending within 0.04 s of its last (check_events.py): a burst late is
# 0.375 s or more. And without the Silero model (the VAD's DSP fallback), each file's first
# speech segment (the fallback counts tones as activity) must start within 0.1 s of it (the
# pieces aside).
#   usage: test_tone_at_start.sh BUILD/callqa SOURCE_DIR CORPUS_DIR   exit 77 without the corpus
set -u
CQ=$1
SRC=$2
C=$3
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" tones/baresip_busy_us.wav
W=$T/set
P=$T/parts
mkdir -p "$W" "$P"
SPEC=$T/spec
: > "$SPEC"
S() { sox -V1 -R "$@" || { echo "FAIL: sox $*"; exit 1; }; }
TOL=0.04

# encode NAME: W/NAME.wav through the codecs; prints each file's name (itself too)
encode() {
    f=$W/$1.wav
    echo "$1.wav"
    S "$f" -e a-law -b 8 "$W/$1_alaw.wav" && echo "$1_alaw.wav"
    S "$f" -e u-law -b 8 "$W/$1_ulaw.wav" && echo "$1_ulaw.wav"
    # GSM 06.10 and MP3 are mono: a stereo call as the mono mix of its legs
    mix=""
    [ "$(soxi -c "$f")" = 2 ] && mix="remix 1,2"
    # shellcheck disable=SC2086
    S "$f" -e gsm-full-rate "$W/$1_gsm.wav" $mix && echo "$1_gsm.wav"
    # shellcheck disable=SC2086
    S "$f" -C 32 "$W/$1_mp3.mp3" $mix && echo "$1_mp3.mp3"
}

# want GROUP NAME TYPE SIGNAL REGION START END: the event every codec's file of NAME must have
want() {
    encode "$2" | while read -r f; do
        echo "$1 $f inbound $3 $4 $5 - $6 $7 $TOL" >> "$SPEC"
    done
}

# ---- (a) synthesised: the rows of the tables ------------------------------------------------
# row NAME FREQS REPS ON OFF [ON OFF]: P/NAME.wav, REPS periods of the pattern starting with a
# burst (FREQS: F or F1+F2); prints the last burst's end
row() {
    name=$1 freqs=$2 reps=$3
    shift 3
    list="" k=0
    for d in "$@"; do
        k=$((k + 1))
        if [ $((k % 2)) = 1 ]; then
            f1=${freqs%%+*} eff="synth $d sine $f1"
            [ "$f1" != "$freqs" ] && eff="$eff synth $d sine mix ${freqs#*+}"
            # shellcheck disable=SC2086
            S -n -r 8000 -c 1 -b 16 "$P/p$k.wav" $eff vol 0.1
        else
            S -n -r 8000 -c 1 -b 16 "$P/p$k.wav" trim 0 "$d"
        fi
        list="$list $P/p$k.wav"
    done
    r=0 all=""
    while [ $r -lt "$reps" ]; do all="$all$list" r=$((r + 1)); done
    # shellcheck disable=SC2086
    S $all "$P/$name.wav"
    awk -v n="$reps" -v p="$*" 'BEGIN {
        k = split(p, d, " "); per = 0
        for (i = 1; i <= k; i++) per += d[i]
        printf "%.4f\n", n * per - d[k] }'
}

while read -r name type sig reg freqs reps pattern; do
    # shellcheck disable=SC2086
    end=$(row "$name" "$freqs" "$reps" $pattern) || { echo "$end"; exit 1; }
    for lead in 0 0.001 0.005 0.02 0.31; do
        n=${name}_at$lead
        if [ "$lead" = 0 ]; then
            cp "$P/$name.wav" "$P/tone.wav"
        else
            S -n -r 8000 -c 1 -b 16 "$P/lead.wav" trim 0 "$lead"
            S "$P/lead.wav" "$P/$name.wav" "$P/tone.wav"
        fi
        S -n -r 8000 -c 1 -b 16 "$P/noise.wav" synth "$(soxi -D "$P/tone.wav")" whitenoise vol -65 dB
        S -m -v 1 "$P/tone.wav" -v 1 "$P/noise.wav" -b 16 "$W/$n.wav"
        group=synth/start
        [ "$lead" = 0.31 ] && group=synth/later
        want $group "$n" "$type" "$sig" "$reg" "$lead" \
            "$(awk -v a="$lead" -v b="$end" 'BEGIN { printf "%.4f", a + b }')"
    done
    # the recording starts 30 ms before the first burst's end: a piece, which is the start
    on=${pattern%% *}
    cut_at=$(awk -v o="$on" 'BEGIN { printf "%.4f", o - 0.03 }')
    S "$P/$name.wav" "$P/tone.wav" trim "$cut_at"
    S -n -r 8000 -c 1 -b 16 "$P/noise.wav" synth "$(soxi -D "$P/tone.wav")" whitenoise vol -65 dB
    S -m -v 1 "$P/tone.wav" -v 1 "$P/noise.wav" -b 16 "$W/${name}_piece.wav"
    want synth/piece "${name}_piece" "$type" "$sig" "$reg" 0 \
        "$(awk -v a="$cut_at" -v b="$end" 'BEGIN { printf "%.4f", b - a }')"
done <<EOF
na_busy busy busy na 480+620 3 0.5 0.5
na_ring ringback - na 440+480 2 2.0 4.0
uk_busy busy busy uk 400 4 0.375 0.375
uk_ring ringback - uk 400+450 2 0.4 0.2 0.4 2.0
eu_busy busy busy eu 425 3 0.5 0.5
eu_ring ringback - eu 425 2 1.0 4.0
EOF

# ---- (b) the corpus, cut at a burst's onset -------------------------------------------------
# cut SRC NAME AT [SECONDS]: SRC from AT on (SECONDS of it) as W/NAME.wav, 16-bit PCM
cut() {
    S "$1" -b 16 -e signed "$W/$2.wav" trim "$3" ${4:+"$4"}
}
for early in 0 0.001 0.005; do
    # the busy tone's bursts: 0.26-0.76, 1.25-1.76, ... 7.25-7.76 s; the ringback's 0.28-2.29,
    # 6.31-8.32 s (call05 is answered at 9.50 s)
    b=$(awk -v e=$early 'BEGIN { printf "%.4f", 0.26 - e }')
    r=$(awk -v e=$early 'BEGIN { printf "%.4f", 0.28 - e }')
    cut "$C/tones/baresip_busy_us.wav" busy_us_at$early "$b"
    want corpus busy_us_at$early busy busy na "$early" "$(awk -v b="$b" 'BEGIN { print 7.76 - b }')"
    cut "$C/calls/call10_busy.wav" call10_at$early "$b"
    want corpus call10_at$early busy busy na "$early" "$(awk -v b="$b" 'BEGIN { print 7.76 - b }')"
    cut "$C/tones/baresip_ringback_us.wav" ring_us_at$early "$r"
    want corpus ring_us_at$early ringback - na "$early" "$(awk -v r="$r" 'BEGIN { print 8.32 - r }')"
    cut "$C/calls/call05_ringback_answer.wav" call05_at$early "$r" 8.5
    want corpus call05_at$early ringback - na "$early" "$(awk -v r="$r" 'BEGIN { print 8.32 - r }')"
done
cut "$C/tones/baresip_busy_us.wav" busy_us_third 2.25
want corpus busy_us_third busy busy na 0 5.51

echo "$(ls "$W" | wc -l) files made; analysing"
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$W" > "$T/reports.jsonl" 2> "$T/err"
st=$?
if [ $st -ne 0 ]; then
    echo "callqa analyze exited $st"
    cat "$T/err"
fi
python3 "$SRC/tests/dsp/check_events.py" "$SPEC" "$T/reports.jsonl" > "$T/out"
ck=$?
grep -v "^ok " "$T/out"
[ -n "${KEEP:-}" ] && cp "$T/out" "$KEEP"
# the worst start of the tones that begin with the recording and of those that begin later
awk '$1 == "ok" { f = $2; sub(/_(alaw|ulaw|gsm)\.wav$|_mp3\.mp3$|\.wav$/, "", f)
    g = f ~ /_at0\.31$/ ? "later" : "start"; split($0, a, "edges "); split(a[2], d, " ")
    v = d[1] < 0 ? -d[1] : d[1]; if (v > w[g]) w[g] = v }
    END { printf "worst start: %.3f s from the recording'"'"'s start, %.3f s from 0.31 s in\n",
          w["start"], w["later"] }' "$T/out"
# The VAD's DSP fallback (no model) on the same files: each tone is activity from its first
# burst, as for a tone that begins later (the first chunk's level was taken as the floor, and
# the first burst was no activity: its speech segments began a period late, 0.55-5.96 s).
"$CQ" analyze --json -q -j 2 --no-isolate --only vad --model-dir "$T/no-models" "$W" \
    > "$T/vad.jsonl" 2> "$T/err" || { echo "callqa analyze --only vad failed"; cat "$T/err"; st=1; }
python3 - "$SPEC" "$T/vad.jsonl" << 'PY' || st=1
import json, os, sys
want = {}
for line in open(sys.argv[1]):
    f = line.split()
    want[f[1]] = (f[2], float(f[7]), f[0] == "synth/piece")
bad = n = 0
for line in open(sys.argv[2]):
    r = json.loads(line)
    name = os.path.basename(r["file"])
    leg, start, piece = want.pop(name)
    if piece:  # a piece of 30 ms is no speech segment (docs/vad.md: 250 ms at least)
        continue
    seg = r[leg]["speech_segments"] if r[leg] and r[leg]["vad"]["engine"] == "dsp" else None
    n += 1
    if not seg or abs(seg[0]["start"] - start) > 0.1:
        bad += 1
        print("FAIL: %s: the DSP VAD's first segment %s, the tone at %.3f s"
              % (name, seg[0] if seg else seg, start))
for name in want:
    print("FAIL: %s: no report" % name)
print("DSP VAD: %d of %d files' first segment within 0.1 s of the first burst" % (n - bad, n))
sys.exit(1 if bad or want else 0)
PY
[ $ck -eq 0 ] && [ $st -eq 0 ]
