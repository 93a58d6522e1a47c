#!/bin/sh
# bench/run.sh - callqa against its peers, side by side in one run, on recordings built from
# the real corpus (../shared/corpus or $CALLQA_SHARED_DIR) by bench/make-inputs.sh: a 3-minute
# mono PCM16 call, a 3-minute stereo u-law call and a 1-hour mono file.
# Peer for levels+silence: `sox F -n stat` + `ffmpeg -i F -af silencedetect=noise=-35dB:d=0.5`;
# for the stereo call the peer first splits both legs with sox and runs both tools per leg.
# callqa: `callqa analyze --json -q --only levels,silence F` (CLI, process start-up included)
# and bench_pipeline (the library in-process, median of 21 runs).
# Prints a markdown table of medians and ratios (peer time / callqa time; higher is better).
#   usage: bench/run.sh            (after scripts/build; needs sox, ffmpeg, hyperfine)
set -eu
cd "$(dirname "$0")/.."
SHARED=${CALLQA_SHARED_DIR:-../shared}
C=$SHARED/corpus
W=bench/out
mkdir -p "$W"
cmake --build build --target bench_pipeline >/dev/null

sh bench/make-inputs.sh "$C" "$W"

cat > "$W/peer_mono.sh" <<'P'
sox "$1" -n stat 2>/dev/null
ffmpeg -nostdin -hide_banner -i "$1" -af silencedetect=noise=-35dB:d=0.5 -f null - 2>/dev/null
P
cat > "$W/peer_stereo.sh" <<'P'
d=$(mktemp -d)
sox "$1" -b 16 -e signed-integer "$d/l1.wav" remix 1
sox "$1" -b 16 -e signed-integer "$d/l2.wav" remix 2
for l in l1 l2; do
    sox "$d/$l.wav" -n stat 2>/dev/null
    ffmpeg -nostdin -hide_banner -i "$d/$l.wav" -af silencedetect=noise=-35dB:d=0.5 -f null - 2>/dev/null
done
rm -rf "$d"
P

CQ="build/callqa analyze --json -q --only levels,silence"
median() { # median NAME CMD: hyperfine median in ms
    hyperfine -w 3 -r "${RUNS:-30}" --export-csv "$W/$1.csv" "$2" >/dev/null 2>&1
    awk -F, 'NR==2 {printf "%.3f", $(NF - 4) * 1000}' "$W/$1.csv"
}
lib_ms() { # lib_ms FILE: bench_pipeline median in ms
    build/bench/bench_pipeline --only levels,silence --runs 21 "$1" |
        awk '/median/ {for (i = 1; i <= NF; i++) if ($i == "median") {print $(i + 1); exit}}'
}
rss_kb() { /usr/bin/time -f %M $CQ "$1" 2>&1 >/dev/null | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }

# Rounds alternate peer and callqa, so a slow spell of the machine hits both; each cell is the
# median over the rounds of the per-round medians.
ROUNDS=${ROUNDS:-3}
: > "$W/rounds.txt"
for r in $(seq "$ROUNDS"); do
    echo "pm $(median peer_mono "sh $W/peer_mono.sh $W/mono3.wav")" >> "$W/rounds.txt"
    echo "cm $(median cq_mono "$CQ $W/mono3.wav")" >> "$W/rounds.txt"
    echo "lm $(lib_ms "$W/mono3.wav")" >> "$W/rounds.txt"
    echo "ps $(median peer_stereo "sh $W/peer_stereo.sh $W/stereo3.wav")" >> "$W/rounds.txt"
    echo "cs $(median cq_stereo "$CQ $W/stereo3.wav")" >> "$W/rounds.txt"
    echo "ls $(lib_ms "$W/stereo3.wav")" >> "$W/rounds.txt"
    echo "ph $(RUNS=5 median peer_hour "sh $W/peer_mono.sh $W/hour.wav")" >> "$W/rounds.txt"
    echo "ch $(RUNS=5 median cq_hour "$CQ $W/hour.wav")" >> "$W/rounds.txt"
    echo "lh $(lib_ms "$W/hour.wav")" >> "$W/rounds.txt"
done
med() { awk -v k="$1" '$1 == k {print $2}' "$W/rounds.txt" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
pm=$(med pm); cm=$(med cm); lm=$(med lm)
ps=$(med ps); cs=$(med cs); ls_=$(med ls)
ph=$(med ph); ch=$(med ch); lh=$(med lh)
r3=$(rss_kb "$W/mono3.wav")
rh=$(rss_kb "$W/hour.wav")

echo "| input | peer (sox stat + ffmpeg silencedetect) | callqa CLI | CLI ratio | callqa library | library ratio |"
echo "|---|---|---|---|---|---|"
echo "| 3-min mono PCM16 | $pm ms | $cm ms | $(ratio "$pm" "$cm")x | $lm ms | $(ratio "$pm" "$lm")x |"
echo "| 3-min stereo u-law (peer splits legs) | $ps ms | $cs ms | $(ratio "$ps" "$cs")x | $ls_ ms | $(ratio "$ps" "$ls_")x |"
echo "| 1-hour mono PCM16 | $ph ms | $ch ms | $(ratio "$ph" "$ch")x | $lh ms | $(ratio "$ph" "$lh")x |"
echo
echo "callqa CLI peak RSS: 3-min $((r3 / 1024)) MiB, 1-hour $((rh / 1024)) MiB ($ROUNDS rounds, medians)"
