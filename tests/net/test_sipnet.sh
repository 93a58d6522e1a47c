#!/bin/sh
# test_sipnet.sh - a real SIP network in network namespaces this test makes and removes: baresip
# agents calling each other through Kamailio, its siptrace mirroring every message as HEP to
# `callqa sip --hep`, a router namespace impairing one side's media with iptables (the
# statistic match's nth mode, deterministic) and capturing what it forwards with tcpdump, and
# rtpengine (userspace) relaying two calls and forking their callers' media to `callqa live
# --rtp`, one link rate-limited (tbf) behind bursts of cross traffic. The ten calls (SCEN below)
# run side by side; then sipnet/sipnet_check.py checks them against tshark, the router's
# counters, the agents' recordings and the files played (docs/sip-capture.md).
#
#   usage: test_sipnet.sh BUILD_DIR SHARED_DIR
# Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) for `ip netns`; skipped (77) only when the
# kernel refuses creating or entering a network namespace. Every namespace and process is
# removed on any exit (KEEP=1 keeps the folder of captures, logs and recordings).
. "$(dirname "$0")/../lib.sh"
B=$(cd "$1" && pwd)
SHARED=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$SHARED/corpus
T=$(mktemp -d)
T0=$(date +%s)
phase() { echo "# $(($(date +%s) - T0)) s: $*"; }
chmod 755 "$T"
P=cq$(($$ % 100000))
NSS=
cleanup() {
    for ns in $NSS; do # every process in the test's namespaces, then the namespaces
        pids=$(ip netns pids "$ns" 2> /dev/null)
        [ -n "$pids" ] && kill $pids 2> /dev/null
    done
    sleep 0.3
    for ns in $NSS; do
        pids=$(ip netns pids "$ns" 2> /dev/null)
        [ -n "$pids" ] && kill -KILL $pids 2> /dev/null
        ip netns del "$ns" 2> /dev/null
    done
    [ -n "${KEEP:-}" ] && echo "# kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for tool in kamailio baresip rtpengine tcpdump tshark iptables tc sox; do
    command -v "$tool" > /dev/null || {
        echo "not ok 1 - $tool is not installed (scripts/deps installs it)"
        exit 1
    }
done
need_numpy
if ! ip netns add "${P}r" 2> "$T/netns.err"; then
    echo "1..0 # SKIP the kernel refuses a network namespace: $(cat "$T/netns.err")"
    exit 77
fi
NSS="${P}r"
if ! ip netns exec "${P}r" true 2> "$T/netns.err"; then
    echo "1..0 # SKIP the kernel refuses entering a network namespace: $(cat "$T/netns.err")"
    exit 77
fi

# ---- the recipe's Kamailio configurations (docs/sip-capture.md, each ```kamailio block) and the
# test's own, as `kamailio -c` reads them
awk -v d="$T" '/^```kamailio$/ {k++; f = d "/doc" k ".cfg"; next} /^```/ {f = ""} f {print > f}' \
    "$HERE/../../docs/sip-capture.md"
for cfg in "$T"/doc*.cfg "$HERE/sipnet/kamailio.cfg"; do
    check "kamailio -c accepts $(basename "$cfg")" sh -c "kamailio -c -f '$cfg' > '$T/kc.out' 2>&1 &&
        ! grep -q 'ERROR' '$T/kc.out'"
done

# ---- the network: a router (r) joined by veth pairs to the proxy (p, 10.67.0.2) and to each
# scenario's caller (c$i, 10.68.$i.2) and callee (s$i, 10.69.$i.2); no address in the root
# namespace, no default route (each leaf routes 10.64.0.0/12 through the router)
run() { # run NS COMMAND...: COMMAND inside namespace $P$NS (in the foreground; a process put in
    # the background is started with `ip netns exec` itself, which becomes it: $! is its pid)
    rn=$1
    shift
    ip netns exec "$P$rn" "$@"
}
leaf() { # leaf NAME ADDR ROUTER_ADDR: a namespace joined to the router
    ip netns add "$P$1" && NSS="$NSS $P$1"
    ip link add "$P$1" netns "${P}r" type veth peer name eth0 netns "$P$1"
    ip -n "$P$1" addr add "$2/24" dev eth0
    ip -n "${P}r" addr add "$3/24" dev "$P$1"
    ip -n "$P$1" link set lo up
    ip -n "$P$1" link set eth0 up
    ip -n "${P}r" link set "$P$1" up
    ip -n "$P$1" route add 10.64.0.0/12 via "$3"
}
ip -n "${P}r" link set lo up
run r sysctl -qw net.ipv4.ip_forward=1
leaf p 10.67.0.2 10.67.0.1
# the calls, INDEX:NAME:CALLEE-USER:IMPAIRMENT (the callee user tells Kamailio to relay through
# rtpengine, "relay...", or to trace from its script too, "mirror"; the impairment: below)
SCEN="1:loss0:plain:none 2:loss1:plain:nth100 3:loss3:plain:nth33 4:loss5:plain:nth20
5:loss10:plain:nth10 6:burst:relayburst:burst 7:oneway:plain:oneway 8:mirror:mirror:none
9:relay:relay:relay 10:jitter:plain:tbf"
for s in $SCEN; do
    i=${s%%:*}
    leaf "c$i" "10.68.$i.2" "10.68.$i.1"
    leaf "s$i" "10.69.$i.2" "10.69.$i.1"
done

# ---- the impairments, in the router's FORWARD chain: the media of one direction of a call
# (G.711 at 20 ms: 200-byte IP packets, RTCP left alone), counted by a rule of its own, then
# dropped by the statistic match: nth (every Nth packet) or a burst (5 of every 50); each rule
# named by a comment so that its counters are read back
fw() { run r iptables -w -A FORWARD "$@"; }
rtp() { # rtp FROM TO NAME: count FROM -> TO media packets as NAME.seen
    fw -s "$1" -d "$2" -p udp -m length --length 200 -m comment --comment "$3.seen"
}
for s in $SCEN; do
    i=${s%%:*} rest=${s#*:}
    name=${rest%%:*} imp=${rest##*:}
    c=10.68.$i.2 d=10.69.$i.2
    case $imp in
    nth*)
        every=${imp#nth}
        rtp $c $d "$name"
        fw -s $c -d $d -p udp -m length --length 200 -m statistic --mode nth --every "$every" \
            --packet "$((every - 1))" -m comment --comment "$name.drop" -j DROP
        ;;
    burst) # relayed: 5 of every 50 packets of the caller's media to rtpengine (the first leg)
        rtp $c 10.67.0.2 "$name"
        for k in 0 1 2 3 4; do
            fw -s $c -d 10.67.0.2 -p udp -m length --length 200 -m statistic --mode nth --every 50 \
                --packet "$((45 + k))" -j MARK --set-mark 0x68
        done
        fw -s $c -d 10.67.0.2 -m mark --mark 0x68 -m comment --comment "$name.drop" -j DROP
        ;;
    oneway) # the callee's media never reaches the caller
        rtp $d $c "$name"
        fw -s $d -d $c -p udp -m length --length 200 -m comment --comment "$name.drop" -j DROP
        ;;
    relay) # 5 % of rtpengine's media to the callee (the second leg)
        rtp 10.67.0.2 $d "$name"
        fw -s 10.67.0.2 -d $d -p udp -m length --length 200 -m statistic --mode nth --every 20 \
            --packet 19 -m comment --comment "$name.drop" -j DROP
        ;;
    tbf) # the link to the callee limited to 256 kbit/s, where the proxy's bursts of cross
        # traffic (6 KB every 0.5 s, tests/net/sipnet/cross.py) queue the call's media
        rtp $c $d "$name"
        run r tc qdisc add dev "$P$(echo "s$i")" root tbf rate 256kbit burst 1600 latency 1s
        ;;
    none) rtp $c $d "$name" ;;
    esac
done

# ---- the audio: 16-bit 8 kHz mono WAVs for baresip's aufile; the caller's file ends first, so
# the caller hangs up (baresip ends a call when its source file ends)
# clean speech (ITU-T P.862's reference talkers) for the calls whose loss is measured
sox "$CORPUS/quality/p862_or105.wav" "$CORPUS/quality/p862_or109.wav" -b 16 -e signed -c 1 \
    -r 8000 "$T/talk.wav" trim 0 12
sox "$CORPUS/calls/call14_vicidial-in.wav" -b 16 -e signed -c 1 -r 8000 "$T/listen.wav" trim 2 16
# the relayed call's caller: ringback, an answer, DTMF 8275#, a SIT and its announcement
sox "$CORPUS/calls/call05_ringback_answer.wav" -b 16 -e signed -r 8000 "$T/e1.wav" remix 1 trim 3 9
sox "$CORPUS/calls/call06_ivr_dtmf.wav" -b 16 -e signed -r 8000 "$T/e2.wav" remix 1 trim 24.5 4
sox "$CORPUS/calls/call11_sit_intercept.wav" -b 16 -e signed -r 8000 "$T/e3.wav" remix 1 trim 0 5
sox "$T/e1.wav" "$T/e2.wav" "$T/e3.wav" "$T/events.wav"
sox "$CORPUS/calls/call14_vicidial-in.wav" -b 16 -e signed -c 1 -r 8000 "$T/listen_long.wav" trim 2 21

agent() { # agent DIR USER ADDR SOURCE_WAV: a baresip configuration
    mkdir -p "$1/rec"
    cat > "$1/config" << EOF
poll_method epoll
sip_listen $3:5060
audio_source aufile,$4
audio_player aufile,/dev/null
audio_alert aufile,/dev/null
rtp_ports 20000-20999
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module sndfile.so
module plc.so
module menu.so
module account.so
snd_path $1/rec
EOF
    echo "<sip:$2@$3>;regint=0;outbound=\"sip:10.67.0.2\";answermode=auto;audio_codecs=PCMU" > "$1/accounts"
    : > "$1/contacts"
}

phase "network and audio ready"
# ---- the servers, each in the foreground in the proxy's namespace
mkdir -p "$T/hep" "$T/live"
ip netns exec "${P}p" rtpengine --config-file=none --table=-1 --interface=10.67.0.2 --listen-ng=10.67.0.2:2223 \
    --foreground --log-stderr --port-min=30000 --port-max=30999 --pidfile="$T/rtpengine.pid" \
    > "$T/rtpengine.log" 2>&1 &
ip netns exec "${P}p" kamailio -f "$HERE/sipnet/kamailio.cfg" -DD -E -Y "$T/kamailio.fifo" > "$T/kamailio.log" 2>&1 &
ip netns exec "${P}p" "$B/callqa-service" sip --hep 10.67.0.2:9060 --hep-dir "$T/hep" --hep-allow 10.67.0.2 \
    > "$T/hep.jsonl" 2> "$T/hep.err" &
COLLECTOR=$!
ip netns exec "${P}p" "$B/callqa" live --rtp 10.67.0.2:40000 --record-dir "$T/live" --stall-sec 2 \
    > "$T/live.jsonl" 2> "$T/live.err" &
LIVE=$!
# -s 4096: in immediate mode the kernel's ring holds frames of the snap length (262144 by default:
# 64 of them in 16 MiB, a tenth of a second of this network's packets on a busy machine); the
# largest SIP message here is under 2 KiB
ip netns exec "${P}r" tcpdump -i any -Q out -n --immediate-mode -s 4096 -B 32768 -U \
    -w "$T/wire.pcap" udp > "$T/tcpdump.log" 2>&1 &
TCPDUMP=$!
listening() { # listening NS PROTO PORT: a socket bound there in namespace $P$NS
    run "$1" ss -lnH -"$2" "sport = :$3" | grep -q .
}
up() {
    listening p u 5060 && listening p u 2223 && listening p u 9060 && listening p u 40000 &&
        grep -q "listening on any" "$T/tcpdump.log"
}
if ! wait_until 60 up; then
    echo "not ok 1 - the servers did not start"
    tail -5 "$T"/*.log "$T"/*.err | sed 's/^/# /'
    exit 1
fi

phase "servers up"
# ---- the calls, side by side: callees first (auto-answer), then every caller
CALLEES=
for s in $SCEN; do
    i=${s%%:*} rest=${s#*:}
    name=${rest%%:*} user=${rest#*:}
    user=${user%%:*}
    src=$T/listen.wav
    [ "$name" = relay ] && src=$T/listen_long.wav
    agent "$T/s$i" "$user" "10.69.$i.2" "$src"
    ip netns exec "${P}s$i" baresip -f "$T/s$i" -t 120 > "$T/s$i.log" 2>&1 < /dev/null &
    CALLEES="$CALLEES $!"
done
callees_up() {
    for cs in $SCEN; do
        listening "s${cs%%:*}" u 5060 || return 1
    done
}
wait_until 60 callees_up || echo "# not every callee listens on 5060 within 60 s"
# the relayed calls' callers forked to callqa live as soon as rtpengine has each call
FORKS=
ip netns exec "${P}p" python3 "$HERE/sipnet/cross.py" 10.69.10.2 9 6 1000 0.5 13 &
FORKS="$FORKS $!"
for i in 6 9; do
    ip netns exec "${P}p" python3 "$HERE/sipnet/rtpe_ng.py" 10.67.0.2:2223 10.67.0.2:40000 "10.68.$i.2" 30 \
        > "$T/fork$i.out" 2> "$T/fork$i.err" &
    FORKS="$FORKS $!"
done
CALLERS=
for s in $SCEN; do
    i=${s%%:*} rest=${s#*:}
    name=${rest%%:*} user=${rest#*:}
    user=${user%%:*}
    src=$T/talk.wav
    [ "$name" = relay ] && src=$T/events.wav
    agent "$T/c$i" "caller$i" "10.68.$i.2" "$src"
    echo "$i $name $user" >> "$T/scenarios"
    ip netns exec "${P}c$i" baresip -f "$T/c$i" -t 120 -e "/dial sip:$user@10.69.$i.2" > "$T/c$i.log" 2>&1 \
        < /dev/null &
    CALLERS="$CALLERS $!"
done
for pid in $FORKS; do
    wait "$pid"
done
for i in 6 9; do
    check "rtpengine forks relayed call $i's caller to callqa live (subscribe request, answer)" \
        test -s "$T/fork$i.out"
done
hung_up() { # every agent has seen its call end (its recording written): each call ends with
    # its caller's file (12 s, 18 s); baresip itself stays until -t
    for hs in $SCEN; do
        grep -q "terminated" "$T/s${hs%%:*}.log" && grep -q "terminated" "$T/c${hs%%:*}.log" ||
            return 1
    done
}
wait_until 90 hung_up || echo "# not every agent saw its call end within 90 s"
for pid in $CALLERS $CALLEES; do
    kill "$pid" 2> /dev/null
done
phase "calls ended"
filed() { [ "$(grep -c hep_call "$T/hep.jsonl")" -ge "$(echo $SCEN | wc -w)" ]; } # each BYE answered
wait_until 30 filed || echo "# the collector filed $(grep -c hep_call "$T/hep.jsonl") calls"
sleep 0.2 # the last datagrams through tcpdump (immediate mode: delivered as they come)
# tcpdump and the collector write what they hold on SIGTERM; callqa live ends the forked call
# itself, 2 s after its last packet (--stall-sec)
stop_wait "$TCPDUMP" tcpdump
stop_wait "$COLLECTOR" "the HEP collector"
live_done() { [ "$(ls "$T"/live/*.wav 2> /dev/null | wc -l)" -ge 2 ]; }
wait_until 60 live_done || echo "# callqa live did not write both calls"
stop_wait "$LIVE" "callqa live"
for s in $SCEN; do
    i=${s%%:*}
    for d in c s; do
        for f in "$T/$d$i"/rec/*-dec.wav; do
            [ -f "$f" ] && mv "$f" "$T/$d$i/heard.wav"
        done
    done
done
phase "captures written"
iptables_counts() {
    run r iptables -w -L FORWARD -v -x -n |
        awk '{for (i = 1; i <= NF; i++) if ($i == "/*") print $(i + 1), $1}'
}
iptables_counts > "$T/router.txt"
sed 's/^/# router: /' "$T/router.txt"
grep -h "packets.*dropped by kernel" "$T/tcpdump.log" | sed 's/^/# tcpdump: /'

CALLQA_MODEL_DIR=$SHARED/models "$PYNP" "$HERE/sipnet/sipnet_check.py" "$B" "$T" "$n"
rc=$?
phase "checked"
n=$(cat "$T/n" 2> /dev/null || echo "$n")
[ $rc -eq 0 ] || fails=$((fails + $(cat "$T/fails" 2> /dev/null || echo 1)))
finish "SIP network"
