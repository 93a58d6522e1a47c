#!/bin/sh
# test_sip_mirror.sh - a tracer's mirrored copies are not retransmissions: a corpus call with every
# SIP request captured twice 0.2 ms apart, byte for byte (Kamailio's siptrace in its script mode
# mirrors each request so), read by `callqa sip --json`: no retransmission more than the call
# itself has, each copy counted in a finding (sip_mirrored, its value `mirrored`); the same
# copies 5 ms later too (Kamailio's own came 1.7 ms after, tests/net/test_sipnet.sh), and copies
# whose Max-Forwards is one less (Kamailio's, traced after its script lowered it); the same
# copies 500 ms apart (an agent's T1: a request sent again) are retransmissions, not mirrored.
# Before, the mirrored call had "3 messages were sent again".
#   usage: test_sip_mirror.sh BUILD/callqa SHARED_DIR
set -u
CQ=$1
PCAP=$2/corpus/pcaps/sip_rtp_g711.pcap
[ -f "$PCAP" ] || { echo "SKIP: $PCAP is missing"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib.sh"
HERE=$(dirname "$0")
N=$(python3 "$HERE/pcap_mirror.py" "$PCAP" "$T/mirror.pcap")
python3 "$HERE/pcap_mirror.py" "$PCAP" "$T/late.pcap" 5000 > /dev/null
python3 "$HERE/pcap_mirror.py" "$PCAP" "$T/lower.pcap" 1700 lower > /dev/null
python3 "$HERE/pcap_mirror.py" "$PCAP" "$T/again.pcap" 500000 > /dev/null
for f in orig:"$PCAP" mirror:"$T/mirror.pcap" late:"$T/late.pcap" lower:"$T/lower.pcap" again:"$T/again.pcap"; do
    "$CQ" sip --json "${f#*:}" > "$T/${f%%:*}.json" 2> "$T/${f%%:*}.err" ||
        echo "# callqa sip ${f%%:*}: $(cat "$T/${f%%:*}.err")"
done
sums() { # sums NAME: "retransmissions mirrored codes" of a capture's dialogs and findings
    python3 -c "
import json, sys
d = json.load(open('$T/$1.json'))
codes = sorted(set(f['code'] for f in d.get('findings', []) if f['code'] in ('sip_mirrored', 'sip_retransmissions')))
mir = sum(f['values']['mirrored'] for f in d.get('findings', []) if f['code'] == 'sip_mirrored')
print(sum(x['retransmissions'] for x in d['dialogs']), mir, ','.join(codes) or '-')"
}
O=$(sums orig) M=$(sums mirror) L=$(sums late) W=$(sums lower) A=$(sums again)
echo "# $N requests copied; the call: $O; mirrored: $M; mirrored 5 ms later: $L; Max-Forwards lowered: $W; sent again: $A"
check "the call itself: no retransmission, nothing mirrored" [ "$O" = "0 0 -" ]
check "every request mirrored 0.2 ms later: $N mirrored, no retransmission, said as a mirror" \
    [ "$M" = "0 $N sip_mirrored" ]
check "every request mirrored 5 ms later (a busy proxy's copy): $N mirrored, no retransmission" \
    [ "$L" = "0 $N sip_mirrored" ]
check "every request mirrored with its Max-Forwards one less (Kamailio's copy traced in its script): $N mirrored" \
    [ "$W" = "0 $N sip_mirrored" ]
check "the same copies 500 ms later: $N retransmissions, none mirrored" [ "$A" = "$N 0 sip_retransmissions" ]
finish "sip mirror"
