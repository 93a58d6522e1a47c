#!/bin/sh
# bench/net.sh - the rate at which a capture's RTP streams are read: `callqa sip --json` against
# `tshark -n -o rtp.heuristic_rtp:TRUE -q -z rtp,streams` on the same file, alternating run by
# run (A B A B ...), the median of RUNS each, as MB/s of capture and the ratio. The capture is
# made by tests/net/gen_pcap.py (big:PACKETS: 200 calls' G.711 streams both ways, 1 % loss);
# both tools must find the same streams with the same figures (tests/net/compare_tshark.py), or
# the run stops.
#   usage: bench/net.sh [PACKETS] [RUNS]     (default 2000000 packets, about 455 MB; 5 runs;
#          after scripts/build; needs tshark, python3)
set -eu
cd "$(dirname "$0")/.."
N=${1:-2000000}
RUNS=${2:-5}
W=bench/out/net
mkdir -p "$W"
CAP=$W/big-$N.pcap
[ -s "$CAP" ] || python3 tests/net/gen_pcap.py "big:$N" "$CAP"
python3 tests/net/compare_tshark.py build/callqa-service "$CAP" > "$W/compare.out" ||
    { cat "$W/compare.out"; echo "bench/net.sh: the tools disagree on $CAP"; exit 1; }
MB=$(awk -v b="$(stat -c %s "$CAP")" 'BEGIN { printf "%.1f", b / 1e6 }')
now() { date +%s.%N; }
secs() { t0=$(now); "$@" > /dev/null 2>&1; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: > "$W/callqa.t"
: > "$W/tshark.t"
for _ in $(seq "$RUNS"); do
    secs build/callqa sip --json "$CAP" >> "$W/callqa.t"
    secs tshark -n -o rtp.heuristic_rtp:TRUE -q -z rtp,streams -r "$CAP" >> "$W/tshark.t"
done
a=$(median < "$W/callqa.t")
b=$(median < "$W/tshark.t")
echo "== bench/net.sh: $CAP ($MB MB, $N packets, $(grep -o '[0-9]* streams' "$W/compare.out")), median of $RUNS runs each, $(nproc) CPUs"
awk -v a="$a" -v b="$b" -v mb="$MB" 'BEGIN {
    printf "| tool | seconds | MB/s |\n|---|---|---|\n"
    printf "| callqa sip --json | %.3f | %.0f |\n", a, mb / a
    printf "| tshark -z rtp,streams | %.3f | %.0f |\n", b, mb / b
    printf "tshark / callqa: %.1fx\n", b / a }'
