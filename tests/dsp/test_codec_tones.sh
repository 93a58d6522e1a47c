#!/bin/sh
# test_codec_tones.sh - call-progress tones and DTMF through the codecs call recordings are
# stored in. Built here with sox, not kept:
#   (a) the corpus tone files (the DTMF ones, which end while the digit sounds, followed by
#       0.3 s of silence) and tone calls (calls/call05, call06, call10, call11) as 16-bit PCM, and through A-law, u-law, GSM 06.10 (WAV49) and MP3 32 kbit/s; a stereo
#       call goes through GSM and MP3 as ViciDial stores it: a leg file per party (-in/-out)
#       and a mono mix of both;
#   (b) single-frequency European (425 Hz) and UK (400 Hz) busy and ringback cadences at -10,
#       -25 and -40 dBFS peak over a -70 dBFS noise floor, through the same codecs.
# Every labelled event must be found with the right signal, region and digits, and no other
# event: tone and DTMF edges within 0.06 s of the labels (through MP3: within 0.06 s of the
# same event found in the PCM recording, the decoder's delay removed); hold and
# IVR must cover half their labelled span (their edges are music and speech, not tones).
# Prints found/expected and false events per codec.
#   usage: test_codec_tones.sh BUILD/callqa SOURCE_DIR CORPUS_DIR   exit 77 without the corpus
set -u
CQ=$1
SRC=$2
C=$3
# shellcheck source=tests/dsp/events_lib.sh
. "$SRC/tests/dsp/events_lib.sh"
events_need "$C" calls/labels.json
W=$T/set
mkdir -p "$W" "$T/parts"
SPEC=$T/spec
: > "$SPEC"
S() { sox -R "$@" || { echo "FAIL: sox $*"; exit 1; }; }

# encode SRC NAME CODEC: NAME through CODEC into $W; prints the file names to label, one per
# line, each followed by the legs it carries ("mono" or "stereo")
encode() {
    src=$1 name=$2 codec=$3
    ch=$(soxi -c "$src")
    case $codec in
    pcm | alaw | ulaw)
        enc=signed-integer
        [ "$codec" = alaw ] && enc=a-law
        [ "$codec" = ulaw ] && enc=u-law
        [ "$codec" = pcm ] && bits=16 || bits=8
        S "$src" -r 8000 -e $enc -b $bits "$W/${name}_$codec.wav"
        [ "$ch" = 2 ] && echo "${name}_$codec.wav stereo" || echo "${name}_$codec.wav mono"
        ;;
    gsm | mp3)
        ext=wav opt="-e gsm-full-rate"
        [ "$codec" = mp3 ] && ext=mp3 opt="-C 32"
        if [ "$ch" = 2 ]; then
            # shellcheck disable=SC2086
            S "$src" -r 8000 $opt "$W/${name}_$codec-in.$ext" remix 1
            # shellcheck disable=SC2086
            S "$src" -r 8000 $opt "$W/${name}_$codec-out.$ext" remix 2
            # shellcheck disable=SC2086
            S "$src" -r 8000 $opt "$W/${name}_${codec}_mix.$ext" remix 1,2
            echo "${name}_$codec-in.$ext stereo"
            echo "${name}_${codec}_mix.$ext mono"
        else
            # shellcheck disable=SC2086
            S "$src" -r 8000 $opt "$W/${name}_$codec.$ext"
            echo "${name}_$codec.$ext mono"
        fi
        ;;
    esac
}

# want GROUP FILE LAYOUT LEG TYPE SIGNAL REGION DIGITS START END TOL: one spec line; a mono
# file carries both parties on its one (inbound) leg
want() {
    g=$1 f=$2 layout=$3 leg=$4
    shift 4
    [ "$layout" = mono ] && leg=inbound
    tol=$7
    # through MP3: edges within 0.06 s of the PCM recording's (the codec smears them)
    [ "$tol" != overlap ] && case $f in
        *.mp3) tol=0.06@$(echo "$f" | sed 's/_mp3\(-in\|_mix\)\{0,1\}\.mp3$/_pcm.wav/') ;;
        esac
    echo "$g $f $leg $1 $2 $3 $4 $5 $6 $tol" >> "$SPEC"
}

CODECS="pcm alaw ulaw gsm mp3"

# ---- (a) the corpus: labels from MANIFEST.md (tones/) and calls/labels.json ----------------
for codec in $CODECS; do
    g=corpus/$codec
    encode "$C/tones/baresip_busy_us.wav" busy_us $codec | while read -r f layout; do
        want $g "$f" $layout inbound busy busy na - 0.26 7.76 0.06; done
    encode "$C/tones/baresip_ringback_us.wav" ringback_us $codec | while read -r f layout; do
        want $g "$f" $layout inbound ringback - na - 0.28 8.32 0.06; done
    for d in 0 1 2 3 4 star; do
        digit=$d
        [ $d = star ] && digit='*'
        # the file ends while its digit sounds; MP3 would move that end to a whole frame
        S "$C/tones/baresip_dtmf_$d.wav" -r 8000 -b 16 "$T/dtmf_$d.wav" pad 0 0.3
        encode "$T/dtmf_$d.wav" dtmf_$d $codec | while read -r f layout; do
            want $g "$f" $layout inbound dtmf - - "$digit" 0.0 0.4 0.06; done
    done
    encode "$C/calls/call05_ringback_answer.wav" call05 $codec | while read -r f layout; do
        want $g "$f" $layout inbound ringback - na - 0.28 8.32 0.06; done
    encode "$C/calls/call06_ivr_dtmf.wav" call06 $codec | while read -r f layout; do
        want $g "$f" $layout inbound dtmf - - 8275# 26.1019 27.0019 0.06
        want $g "$f" $layout outbound ivr - - - 27.8019 35.4009 overlap
        want $g "$f" $layout outbound hold - - - 35.7009 50.7009 overlap
    done
    encode "$C/calls/call10_busy.wav" call10 $codec | while read -r f layout; do
        want $g "$f" $layout inbound busy busy na - 0.26 7.76 0.06; done
    encode "$C/calls/call11_sit_intercept.wav" call11 $codec | while read -r f layout; do
        want $g "$f" $layout inbound sit - itu - 0.5 1.428 0.06
        want $g "$f" $layout inbound ivr - - - 1.528 6.1056 overlap
    done
done

# ---- (b) synthesised single-frequency cadences ----------------------------------------------
# cadence NAME FREQ PEAK_DB REPS LEAD ON OFF [ON OFF...]: bursts of FREQ Hz at PEAK_DB dBFS
# peak after LEAD s, the on/off pattern REPS times, over white noise at -70 dBFS RMS; prints
# the start of the first burst and the end of the last
cadence() {
    name=$1 f=$2 lvl=$3 reps=$4 lead=$5
    shift 5
    P=$T/parts
    S -n -r 8000 -b 16 -c 1 -e signed "$P/lead.wav" trim 0 "$lead"
    list="$P/lead.wav" k=0 period=0 last_off=0
    while [ $# -ge 2 ]; do
        k=$((k + 1))
        S -n -r 8000 -b 16 -c 1 -e signed "$P/on$k.wav" synth "$1" sine "$f" vol "$lvl" dB pad 0 "$2"
        period=$(awk -v p=$period -v a="$1" -v b="$2" 'BEGIN { print p + a + b }')
        last_off=$2
        shift 2
    done
    r=0
    while [ $r -lt "$reps" ]; do
        i=1
        while [ $i -le $k ]; do list="$list $P/on$i.wav" i=$((i + 1)); done
        r=$((r + 1))
    done
    # shellcheck disable=SC2086
    S $list "$P/tone.wav"
    dur=$(soxi -D "$P/tone.wav")
    S -n -r 8000 -b 16 -c 1 -e signed "$P/noise.wav" synth "$dur" whitenoise vol -65 dB
    S -m -v 1 "$P/tone.wav" -v 1 "$P/noise.wav" -b 16 "$T/$name.wav"
    awk -v l="$lead" -v n="$reps" -v p="$period" -v o="$last_off" \
        'BEGIN { printf "%.4f %.4f\n", l, l + n * p - o }'
}

for lvl in -10 -25 -40 -45; do
    tag=m${lvl#-}
    while read -r name f type signal region reps lead pattern; do
        # shellcheck disable=SC2086
        se=$(cadence ${name}_$tag $f $lvl $reps $lead $pattern) || { echo "$se"; exit 1; }
        for codec in $CODECS; do
            encode "$T/${name}_$tag.wav" ${name}_$tag $codec | while read -r file layout; do
                # shellcheck disable=SC2086
                want synth/$codec "$file" $layout inbound $type $signal $region - $se 0.06
            done
        done
    done <<EOF
eu_busy 425 busy busy eu 8 0.33 0.5 0.5
eu_ring 425 ringback - eu 3 0.33 1.0 4.0
uk_busy 400 busy busy uk 8 0.33 0.375 0.375
uk_ring 400 ringback - uk 3 0.33 0.4 0.2 0.4 2.0
EOF
done

n=$(ls "$W" | wc -l)
echo "$n files made; analysing"
"$CQ" analyze --json -q -j 2 --no-isolate --only events "$W" > "$T/reports.jsonl" 2> "$T/err"
st=$?
if [ $st -ne 0 ]; then
    echo "callqa analyze exited $st"
    cat "$T/err"
fi
[ -n "${KEEP:-}" ] && cp "$SPEC" "$KEEP.spec"
python3 "$SRC/tests/dsp/check_events.py" "$SPEC" "$T/reports.jsonl" || exit 1
[ $st -eq 0 ] || exit 1
