#!/bin/sh
# test_long_signals.sh - long call-progress signals, as a call records them: every row of the
# cadence tables (docs/events.md: North American, UK and European ringback, busy and congestion,
# the UK double ring on 400 Hz alone too), SIT, fax CNG and CED, synthesised with sox (each
# frequency up to 1 % and each on and off time up to 10 % off nominal, drawn per file), and the
# corpus's US busy and ringback recordings (one period cut from each). events_mkcalls repeats a
# period 2-15 times from a random point of it, steps the level 6 dB up or down partway, and
# loses 1-3 frames of 20 ms (zeroed, or cut out); each file then goes through A-law, u-law,
# GSM 06.10 and MP3 32 kbit/s (events_codecs: libsndfile).
# Each signal must be found once, its start within 0.3 s of the first tone's onset and its end
# within 0.5 s of the last tone's end, and no other event may appear (suite_check.py signals);
# then `callqa classify` on every file must agree with `callqa analyze` (suite_check.py stream).
# Prints the files per signal and codec, what was found, every miss, and the minutes it took.
#   usage: test_long_signals.sh BUILD/callqa BUILD/events_mkcalls SOURCE_DIR CORPUS_DIR
#   exit 77 without the corpus; VARIANTS (default 6) files per signal and seed; KEEP=DIR keeps
#   the set
set -u
CQ=$1
MK=$2
SRC=$3
C=$4
VARIANTS=${VARIANTS:-6}
T0=$(date +%s)
# shellcheck source=tests/events/events_lib.sh
. "$SRC/tests/events/events_lib.sh"
events_need "$C" tones/baresip_busy_us.wav
W=$T/set
mkdir -p "$W" "$T/periods"
: > "$T/truth0"
S() { sox -V1 -R "$@" || { echo "FAIL: sox $*"; exit 1; }; }

# synth NAME SEED F1[+F2] ON OFF [ON OFF]: one period at -20 dBFS (RMS of the sum), each
# frequency and each time off nominal by a draw of its own; prints the period's file and its
# tone spans
synth() {
    name=$1 seed=$2 freqs=$3
    shift 3
    P=$T/periods/$name.wav
    awk -v seed="$seed" -v f="$freqs" -v spec="$*" 'BEGIN {
        srand(seed); n = split(f, fr, "+"); m = split(spec, d, " ")
        for (i = 1; i <= n; i++) printf "%.3f ", fr[i] * (1 + (2 * rand() - 1) * 0.01)
        printf "|"
        for (i = 1; i <= m; i++) printf " %.4f", d[i] * (1 + (2 * rand() - 1) * 0.1)
        printf "\n" }' > "$T/draw"
    fs=$(cut -d'|' -f1 "$T/draw") ds=$(cut -d'|' -f2 "$T/draw")
    list="" spans="" t=0 k=0
    for d in $ds; do
        k=$((k + 1))
        if [ $((k % 2)) = 1 ]; then
            # shellcheck disable=SC2086
            set -- $fs
            eff="synth $d sine $1"
            [ $# -gt 1 ] && eff="$eff synth $d sine mix $2"
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
    S $list "$P"
    echo "$P$spans"
}

# the rows: NAME TYPE SIGNAL REGION FREQS ON OFF [ON OFF]
while read -r name type sig reg freqs pattern; do
    for seed in $(seq 1 "$VARIANTS"); do
        # shellcheck disable=SC2086
        out=$(synth "$name" "$(printf '%s' "$name$seed" | cksum | cut -d' ' -f1)" "$freqs" $pattern) || { echo "$out"; exit 1; }
        per=${out%% *} spans=${out#* }
        # shellcheck disable=SC2086
        line=$("$MK" signal "$per" "$W" "${name}_$seed" "$(printf '%s' "$name$seed" | cksum | cut -d' ' -f1)" $spans) ||
            { echo "FAIL: events_mkcalls signal $name"; exit 1; }
        echo "$line" | awk -v t="$type" -v s="$sig" -v r="$reg" '{ print $1, t, s, r, $2, $3, $4 }' >> "$T/truth0"
    done
done <<EOF
na_ringback ringback - na 440+480 2.0 4.0
na_busy busy busy na 480+620 0.5 0.5
na_congestion busy congestion na 480+620 0.25 0.25
uk_ringback ringback - uk 400+450 0.4 0.2 0.4 2.0
uk_ringback400 ringback - uk 400 0.4 0.2 0.4 2.0
uk_busy busy busy uk 400 0.375 0.375
eu_ringback ringback - eu 425 1.0 4.0
eu_busy busy busy eu 425 0.5 0.5
eu_congestion busy congestion eu 425 0.25 0.25
fax_cng fax cng itu 1100 0.5 3.0
fax_ced fax ced itu 2100 3.0 1.5
EOF
# SIT: the three tones (the first and second of either pair of frequencies, 274, 274 and
# 380 ms) and 2 s of silence, each off nominal as above
for seed in $(seq 1 "$VARIANTS"); do
    h=$(printf 'sit%s' "$seed" | cksum | cut -d' ' -f1)
    f1=913.8 f2=1370.6
    [ $((seed % 2)) = 1 ] && f1=985.2
    [ $((seed % 3)) = 1 ] && f2=1428.5
    awk -v seed="$h" 'BEGIN { srand(seed)
        for (i = 0; i < 3; i++) printf "%.5f ", 1 + (2 * rand() - 1) * 0.01
        printf "%.4f %.4f %.4f %.4f\n", 0.274 * (1 + (2 * rand() - 1) * 0.1), 0.274 * (1 + (2 * rand() - 1) * 0.1),
               0.380 * (1 + (2 * rand() - 1) * 0.1), 2.0 * (1 + (2 * rand() - 1) * 0.1) }' > "$T/draw"
    read -r k1 k2 k3 d1 d2 d3 d4 < "$T/draw"
    P=$T/periods/sit.wav
    S -n -r 8000 -c 1 -b 16 "$T/periods/s1.wav" synth "$d1" sine "$(awk -v f="$f1" -v k="$k1" 'BEGIN { print f * k }')" vol 0.1
    S -n -r 8000 -c 1 -b 16 "$T/periods/s2.wav" synth "$d2" sine "$(awk -v f="$f2" -v k="$k2" 'BEGIN { print f * k }')" vol 0.1
    S -n -r 8000 -c 1 -b 16 "$T/periods/s3.wav" synth "$d3" sine "$(awk -v k="$k3" 'BEGIN { print 1776.7 * k }')" vol 0.1
    S -n -r 8000 -c 1 -b 16 "$T/periods/s4.wav" trim 0 "$d4"
    S "$T/periods/s1.wav" "$T/periods/s2.wav" "$T/periods/s3.wav" "$T/periods/s4.wav" "$P"
    spans=$(awk -v a="$d1" -v b="$d2" -v c="$d3" 'BEGIN { printf "0-%.4f %.4f-%.4f %.4f-%.4f", a, a, a + b, a + b, a + b + c }')
    # shellcheck disable=SC2086
    line=$("$MK" signal "$P" "$W" "sit_$seed" "$h" $spans) || { echo "FAIL: events_mkcalls signal sit"; exit 1; }
    echo "$line" | awk '{ print $1, "sit", "-", "itu", $2, $3, $4 }' >> "$T/truth0"
done
# the corpus's recordings: one period of each (MANIFEST.md's on-segments)
# at -20 dBFS peak, as the synthesised ones
S "$C/tones/baresip_busy_us.wav" -r 8000 -b 16 -e signed "$T/periods/us_busy.wav" trim 0.26 1.0 gain -n -20
S "$C/tones/baresip_ringback_us.wav" -r 8000 -b 16 -e signed "$T/periods/us_ring.wav" trim 0.28 6.03 gain -n -20
for seed in $(seq 1 "$VARIANTS"); do
    for r in "us_busy busy busy na 0-0.5" "us_ring ringback - na 0-2.01"; do
        # shellcheck disable=SC2086
        set -- $r
        line=$("$MK" signal "$T/periods/$1.wav" "$W" "corpus_$1_$seed" "$(printf '%s' "$1$seed" | cksum | cut -d' ' -f1)" "$5") ||
            { echo "FAIL: events_mkcalls signal $1"; exit 1; }
        echo "$line" | awk -v t="$2" -v s="$3" -v r="$4" '{ print $1, t, s, r, $2, $3, $4 }' >> "$T/truth0"
    done
done

events_codecs "$W"
awk '{ b = $1; sub(/\.wav$/, "", b); print; print b "_alaw.wav", $2, $3, $4, $5, $6, $7
       print b "_ulaw.wav", $2, $3, $4, $5, $6, $7; print b "_gsm.wav", $2, $3, $4, $5, $6, $7
       print b "_mp3.mp3", $2, $3, $4, $5, $6, $7 }' "$T/truth0" | cut -d' ' -f1-6 > "$T/truth"
n=$(ls "$W" | wc -l)
periods=$(awk '{ s += $7 } END { print s }' "$T/truth0")
secs=$(awk '{ s += $6 } END { printf "%.0f", s }' "$T/truth0")
echo "$n files ($(wc -l < "$T/truth0") signals, $periods periods, about $secs s each codec); analysing"
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$W" > "$T/reports.jsonl" 2> "$T/err"
st=$?
[ $st -ne 0 ] && { echo "callqa analyze exited $st"; cat "$T/err"; }
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp -r "$W" "$T/truth" "$T/reports.jsonl" "$KEEP/"
python3 "$SRC/tests/events/suite_check.py" signals "$T/truth" "$T/reports.jsonl" || st=1
# the stream, file by file, against the batch
events_stream "$CQ" "$W" "$T/reports.jsonl" "$SRC" || st=1
echo "long signals: $(( ($(date +%s) - T0) / 60 )) min $(( ($(date +%s) - T0) % 60 )) s"
exit $st
