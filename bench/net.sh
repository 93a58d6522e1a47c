#!/bin/sh
# bench/net.sh - reading network captures: callqa against tshark.
#   rtp [PACKETS] [RUNS]   the rate at which a capture's RTP streams are read: `callqa sip
#          --json` against `tshark -n -o rtp.heuristic_rtp:TRUE -q -z rtp,streams` on the same
#          file, alternating run by run (A B A B ...), the median of RUNS each, as MB/s of
#          capture and the ratio. The capture is made by tests/net/gen_pcap.py (big:PACKETS: 200
#          calls' G.711 streams both ways, 1 % loss); both tools must find the same streams with
#          the same figures (tests/net/compare_tshark.py), or the run stops. Default 2000000
#          packets (about 455 MB), 5 runs; needs tshark, python3.
#   usage: bench/net.sh [rtp] [PACKETS] [RUNS]     (after scripts/build)
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_SECTIONS="rtp"
BENCH_DEFAULT="rtp"

sec_rtp() {
    N=${1:-2000000}
    RUNS=${2:-5}
    D=$W/net
    mkdir -p "$D"
    CAP=$D/big-$N.pcap
    [ -s "$CAP" ] || python3 tests/net/gen_pcap.py "big:$N" "$CAP"
    python3 tests/net/compare_tshark.py "$(dirname "$CQ")/callqa-service" "$CAP" > "$D/compare.out" ||
        { cat "$D/compare.out"; echo "$BENCH_NAME: the tools disagree on $CAP"; exit 1; }
    MB=$(awk -v b="$(stat -c %s "$CAP")" 'BEGIN { printf "%.1f", b / 1e6 }')
    : > "$D/callqa.t"
    : > "$D/tshark.t"
    for _ in $(seq "$RUNS"); do
        secs "$CQ" sip --json "$CAP" >> "$D/callqa.t"
        secs tshark -n -o rtp.heuristic_rtp:TRUE -q -z rtp,streams -r "$CAP" >> "$D/tshark.t"
    done
    a=$(median < "$D/callqa.t")
    b=$(median < "$D/tshark.t")
    echo "== $BENCH_NAME: $CAP ($MB MB, $N packets, $(grep -o '[0-9]* streams' "$D/compare.out")), median of $RUNS runs each, $(nproc) CPUs"
    awk -v a="$a" -v b="$b" -v mb="$MB" 'BEGIN {
        printf "| tool | seconds | MB/s |\n|---|---|---|\n"
        printf "| callqa sip --json | %.3f | %.0f |\n", a, mb / a
        printf "| tshark -z rtp,streams | %.3f | %.0f |\n", b, mb / b
        printf "tshark / callqa: %.1fx\n", b / a }'
}

bench_main "$@"
