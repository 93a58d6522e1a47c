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
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" tones/baresip_busy_us.wav
W=$T/set
mkdir -p "$W" "$T/periods"
: > "$T/found"
S() { sox -V1 -R "$@" || { echo "FAIL: sox $*"; exit 1; }; }

# the rows: NAME TYPE SIGNAL REGION FREQS ON OFF [ON OFF]
cat > "$T/rows" <<EOF
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
# each file's seed: the CRC (cksum) of its row's name (sit, us_busy, us_ring for SIT and the
# corpus's recordings) and its number, all in one cksum
mkdir -p "$T/ck"
for name in $(cut -d' ' -f1 "$T/rows") sit us_busy us_ring; do
    for seed in $(seq 1 "$VARIANTS"); do printf '%s' "$name$seed" > "$T/ck/$name$seed"; done
done
(cd "$T/ck" && cksum -- *) > "$T/seeds" || { echo "FAIL: cksum"; exit 1; }

# The plan of every file, made by one awk: a period's pieces, "T NAME SECS F1 [F2]" (a tone at
# -20 dBFS, RMS of the sum) or "S NAME SECS" (silence), then "F PERIOD FILE SEED TYPE SIGNAL
# REGION SPANS...": the pieces joined into PERIOD, which events_mkcalls signal repeats (the
# spans: the period's tones). Each frequency is up to 1 % and each on and off time up to 10 %
# off nominal, by a draw of its own (srand of the file's seed). SIT: the three tones (the first
# and second of either pair of frequencies, 274, 274 and 380 ms) and 2 s of silence, each off
# nominal as above.
awk -v V="$VARIANTS" -v P="$T/periods" '
    function row(name, type, sig, reg, freqs, spec, seed,   h, nf, fr, m, d, fs, i, t, spans) {
        h = ck[name seed]
        srand(h); nf = split(freqs, fr, "+"); m = split(spec, d, " ")
        for (i = 1; i <= nf; i++) fs = fs sprintf("%.3f ", fr[i] * (1 + (2 * rand() - 1) * 0.01))
        split(fs, fr, " ")
        for (i = 1; i <= m; i++) d[i] = sprintf("%.4f", d[i] * (1 + (2 * rand() - 1) * 0.1))
        t = 0
        for (i = 1; i <= m; i++) {
            if (i % 2 == 1) {
                print "T", "p" i, d[i], fr[1], (nf > 1 ? fr[2] : "")
                spans = spans sprintf(" %.4f-%.4f", t, t + d[i])
            } else
                print "S", "p" i, d[i]
            t = sprintf("%.4f", t + d[i])
        }
        print "F", P "/" name ".wav", name "_" seed, h, type, sig, reg spans
    }
    FNR == NR { n = split($3, p, "/"); ck[p[n]] = $1; next }
    {
        spec = $6
        for (i = 7; i <= NF; i++) spec = spec " " $i
        for (seed = 1; seed <= V; seed++) row($1, $2, $3, $4, $5, spec, seed)
    }
    END {
        for (seed = 1; seed <= V; seed++) {
            h = ck["sit" seed]
            f1 = 913.8; f2 = 1370.6
            if (seed % 2 == 1) f1 = 985.2
            if (seed % 3 == 1) f2 = 1428.5
            srand(h)
            for (i = 0; i < 3; i++) k[i] = sprintf("%.5f", 1 + (2 * rand() - 1) * 0.01)
            a = sprintf("%.4f", 0.274 * (1 + (2 * rand() - 1) * 0.1))
            b = sprintf("%.4f", 0.274 * (1 + (2 * rand() - 1) * 0.1))
            c = sprintf("%.4f", 0.380 * (1 + (2 * rand() - 1) * 0.1))
            e = sprintf("%.4f", 2.0 * (1 + (2 * rand() - 1) * 0.1))
            x = f1 * k[0]; print "T", "s1", a, x
            x = f2 * k[1]; print "T", "s2", b, x
            x = 1776.7 * k[2]; print "T", "s3", c, x
            print "S", "s4", e
            printf "F %s/sit.wav sit_%d %s sit - itu 0-%.4f %.4f-%.4f %.4f-%.4f\n", P, seed, h,
                   a, a, a + b, a + b, a + b + c
        }
        # the recordings of the corpus: one period of each (the on-segments of MANIFEST.md), below
        for (seed = 1; seed <= V; seed++) {
            print "F", P "/us_busy.wav", "corpus_us_busy_" seed, ck["us_busy" seed], "busy busy na 0-0.5"
            print "F", P "/us_ring.wav", "corpus_us_ring_" seed, ck["us_ring" seed], "ringback - na 0-2.01"
        }
    }' "$T/seeds" "$T/rows" > "$T/plan" || { echo "FAIL: awk (the plan)"; exit 1; }
# the corpus's periods at -20 dBFS peak, as the synthesised ones
S "$C/tones/baresip_busy_us.wav" -r 8000 -b 16 -e signed "$T/periods/us_busy.wav" trim 0.26 1.0 gain -n -20
S "$C/tones/baresip_ringback_us.wav" -r 8000 -b 16 -e signed "$T/periods/us_ring.wav" trim 0.28 6.03 gain -n -20

# the plan carried out; each line of events_mkcalls signal (FILE START END PERIODS) is the
# truth's with the signal's type, signal and region
list=""
while read -r op a b c d <&3; do
    case $op in
    T)  eff="synth $b sine $c"
        [ -n "$d" ] && eff="$eff synth $b sine mix $d"
        # shellcheck disable=SC2086
        S -n -r 8000 -c 1 -b 16 "$T/periods/$a.wav" $eff vol 0.1
        list="$list $T/periods/$a.wav" ;;
    S)  S -n -r 8000 -c 1 -b 16 "$T/periods/$a.wav" trim 0 "$b"
        list="$list $T/periods/$a.wav" ;;
    F)  # shellcheck disable=SC2086
        [ -n "$list" ] && S $list "$a"
        list=""
        # shellcheck disable=SC2086
        set -- $d
        printf '%s %s %s ' "$1" "$2" "$3" >> "$T/found"
        shift 3
        "$MK" signal "$a" "$W" "$b" "$c" "$@" >> "$T/found" ||
            { echo "FAIL: events_mkcalls signal $b"; exit 1; } ;;
    esac
done 3< "$T/plan"
awk '{ print $4, $1, $2, $3, $5, $6, $7 }' "$T/found" > "$T/truth0"

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
python3 "$SRC/tests/dsp/suite_check.py" signals "$T/truth" "$T/reports.jsonl" || st=1
# the stream, file by file, against the batch
events_stream "$CQ" "$W" "$T/reports.jsonl" "$SRC" || st=1
echo "long signals: $(( ($(date +%s) - T0) / 60 )) min $(( ($(date +%s) - T0) % 60 )) s"
exit $st
