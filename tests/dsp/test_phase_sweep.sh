#!/bin/sh
# test_phase_sweep.sh - a signal the recording cuts is claimed from its first 100 ms of tone:
# every cadence row of the tables (North American, UK and European busy, ringback and congestion,
# at their nominal frequencies and times, and each again 1 % and 10 % off them: the frequencies
# up, the bursts longer and the gaps shorter, or all the other way; -20 dBFS), the recording's
# start swept over 24 phases of the period (events_mkcalls sweep), 3 to 10 periods each; the
# nominal rows as PCM and through A-law, u-law, GSM 06.10 and MP3 32 kbit/s, the rows off nominal
# as PCM. Each file must have exactly one event, of its type, signal and region, starting within
# 0.3 s of the first piece of tone of 100 ms or more the recording leaves (a partial first burst
# is claimed; a piece of 20-100 ms may be) and ending within 0.5 s of the last (suite_check.py
# signals); then `callqa classify` on every file must agree with `callqa analyze` (suite_check.py
# stream).
#   usage: test_phase_sweep.sh BUILD/callqa BUILD/events_mkcalls SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus; KEEP=DIR keeps the set
set -u
CQ=$1
MK=$2
SRC=$3
C=$4
T0=$(date +%s)
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" tones/baresip_busy_us.wav
W=$T/set
W2=$T/off
mkdir -p "$W" "$W2" "$T/periods"
: > "$T/truth0"
: > "$T/truth2"
S() { sox -V1 -R "$@" || { echo "FAIL: sox $*"; exit 1; }; }

# the rows: NAME TYPE SIGNAL REGION FREQS PERIODS ON OFF [ON OFF]
while read -r name type sig reg freqs periods pattern; do
    list="" spans="" t=0 k=0
    for d in $pattern; do
        k=$((k + 1))
        if [ $((k % 2)) = 1 ]; then
            f1=${freqs%%+*} eff="synth $d sine $f1"
            [ "$f1" != "$freqs" ] && eff="$eff synth $d sine mix ${freqs#*+}"
            # shellcheck disable=SC2086
            S -n -r 8000 -c 1 -b 16 "$T/periods/p$k.wav" $eff vol 0.1
            spans="$spans $(awk -v a="$t" -v d="$d" 'BEGIN { printf "%.4f-%.4f", a, a + d }')"
        else
            S -n -r 8000 -c 1 -b 16 "$T/periods/p$k.wav" trim 0 "$d"
        fi
        list="$list $T/periods/p$k.wav"
        t=$(awk -v a="$t" -v d="$d" 'BEGIN { printf "%.4f", a + d }')
    done
    # shellcheck disable=SC2086
    S $list "$T/periods/$name.wav"
    # the nominal rows through every codec (W), the rows off nominal as PCM (W2)
    case $name in *_hi | *_lo) dir=$W2 truth=$T/truth2 ;; *) dir=$W truth=$T/truth0 ;; esac
    # shellcheck disable=SC2086
    "$MK" sweep "$T/periods/$name.wav" "$dir" "$name" 24 "$periods" $spans > "$T/lines" ||
        { echo "FAIL: events_mkcalls sweep $name"; exit 1; }
    awk -v t="$type" -v s="$sig" -v r="$reg" '{ print $1, t, s, r, $2, $3, $4, $5 }' "$T/lines" >> "$truth"
done <<EOF
na_ringback ringback - na 440+480 3 2.0 4.0
na_busy busy busy na 480+620 6 0.5 0.5
na_congestion busy congestion na 480+620 10 0.25 0.25
uk_ringback ringback - uk 400+450 4 0.4 0.2 0.4 2.0
uk_busy busy busy uk 400 6 0.375 0.375
eu_ringback ringback - eu 425 3 1.0 4.0
eu_busy busy busy eu 425 6 0.5 0.5
eu_congestion busy congestion eu 425 10 0.25 0.25
na_ringback_hi ringback - na 444.4+484.8 3 2.2 3.6
na_busy_hi busy busy na 484.8+626.2 6 0.55 0.45
na_congestion_lo busy congestion na 475.2+613.8 10 0.225 0.275
uk_ringback_lo ringback - uk 396+445.5 4 0.36 0.22 0.36 2.2
uk_busy_hi busy busy uk 404 6 0.4125 0.3375
eu_ringback_lo ringback - eu 420.75 3 0.9 4.4
eu_busy_lo busy busy eu 420.75 6 0.45 0.55
eu_congestion_hi busy congestion eu 429.25 10 0.275 0.225
EOF
events_codecs "$W"
# every codec's file has the PCM file's truth
while read -r f rest; do
    b=${f%.wav}
    for v in "$f" "${b}_alaw.wav" "${b}_ulaw.wav" "${b}_gsm.wav" "${b}_mp3.mp3"; do
        echo "$v $rest"
    done
done < "$T/truth0" > "$T/truth"
cat "$T/truth2" >> "$T/truth"
mv "$W2"/*.wav "$W/"
st=0
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$W" > "$T/reports.jsonl" 2> "$T/err" ||
    { echo "FAIL: callqa analyze: $(tail -3 "$T/err")"; exit 1; }
python3 "$SRC/tests/dsp/suite_check.py" signals "$T/truth" "$T/reports.jsonl" || st=1
events_stream "$CQ" "$W" "$T/reports.jsonl" "$SRC" || st=1
[ -n "${KEEP:-}" ] && cp -r "$W" "$T/truth" "$T/reports.jsonl" "$KEEP/"
echo "phase sweep: $(( ($(date +%s) - T0) / 60 )) min $(( ($(date +%s) - T0) % 60 )) s"
exit $st
