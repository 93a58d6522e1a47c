# shellcheck shell=sh
# bench/lib.sh - what the benchmark drivers share, sourced by each from the checkout's root:
#   . bench/lib.sh; ...; bench_main "$@"
# A driver is one family of benchmarks: its sections are functions sec_NAME (a '-' in NAME is a
# '_' in the function), listed in BENCH_SECTIONS, those run with no argument in BENCH_DEFAULT;
# its measures for bench/before_after.sh are functions probe_NAME BUILD [DIR] that print one
# number. Every driver's results go to bench/out (git ignores it).
#
#   bench_main ARGS...     runs the sections named in ARGS, each with the arguments that follow
#                          it (a word that is not a section's name is an argument of the section
#                          before it; arguments before any section's name are the default
#                          section's, when there is one); none: the default sections. Each runs
#                          in a subshell of its own, so its temporary folder, traps and exit stay
#                          its own. -h or --help: the driver's header; --list: its sections;
#                          probe NAME BUILD [DIR]: one run of a measure with BUILD's programs,
#                          its figure on stdout.
#   bench_build TARGET...  the targets built by the one build runner (scripts/build --target)
#   bench_inputs           the recordings of bench/out, made once from the corpus (below)
#   peers_setup            the strongest peer that installs here (below)
#   median / median_low    the median of numbers on stdin, one a line: for an even count the
#                          mean of the two middle ones / the lower of them
#   now; secs CMD...       the wall clock; the wall seconds of one run of CMD (output discarded)
#   ratio A B              A / B with one decimal
#   free_port              a port on 127.0.0.1 that is free now
#   die MESSAGE            MESSAGE on stderr, after the driver's name; exit 1
#   need TOOL...           each on PATH or in /usr/sbin, or die naming scripts/deps --bench
#
# Settings every driver reads: CALLQA_SHARED_DIR (../shared: the corpus, models, references),
# CALLQA_MODEL_DIR (SHARED/models), CQ (build/callqa: the program measured; CALLQA_BIN and
# CALLQA, the names some drivers read before, are taken too).
set -eu
BENCH_NAME=bench/$(basename "$0")
SHARED=${CALLQA_SHARED_DIR:-../shared}
CQ=${CQ:-${CALLQA_BIN:-${CALLQA:-build/callqa}}}
W=bench/out
mkdir -p "$W"

die() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}
need() {
    for _t in "$@"; do
        command -v "$_t" > /dev/null 2>&1 || [ -x "/usr/sbin/$_t" ] ||
            die "$_t is missing (scripts/deps --bench installs the benchmarks' tools)"
    done
}
bench_build() {
    scripts/build --target "$@" > /dev/null
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
median_low() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
now() { date +%s.%N; }
secs() {
    _t0=$(now)
    "$@" > /dev/null 2>&1
    _t1=$(now)
    awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.4f\n", b - a }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The benchmarks' recordings, built once from the real corpus into bench/out (needs sox):
#   mono3    3-minute mono 8 kHz PCM16 call (speech, prompts, music; corpus files concatenated)
#   stereo3  3-minute stereo 8 kHz u-law call (the mono call and its reverse as the two legs)
#   hour     1-hour mono 8 kHz PCM16 file (mono3 twenty times)
#   mono90, mono90u, stereo90   a 92-second telephony call cut from the same concatenation: mono
#            8 kHz PCM16, the same in mono u-law, and stereo u-law (it and its reverse as the legs),
#            u-law without dither (the same bytes at every build)
bench_inputs() {
    _missing=""
    for _f in mono3 stereo3 hour mono90 mono90u stereo90; do
        [ -f "bench/out/$_f.wav" ] || _missing=1
    done
    [ -z "$_missing" ] && return 0
    for _f in speech/ps_librivox_0870.wav quality/p862_or105.wav ivr_prompts/ast_en_demo_congrats.wav \
        speech/codec2_vk5qi.wav hold_music/moh_manolo_camp_morning_coffee.wav; do
        sox "$SHARED/corpus/$_f" -r 8000 -c 1 -b 16 "bench/out/part_$(basename "$_f")"
    done
    (
        cd bench/out
        sox part_*.wav cat.wav
        sox cat.wav cat.wav mono3.wav trim 0 180
        sox mono3.wav rev.wav reverse
        sox -M mono3.wav rev.wav -e u-law stereo3.wav
        set --
        for _i in $(seq 20); do set -- "$@" mono3.wav; done
        sox "$@" hour.wav
        sox cat.wav mono90.wav trim 0 92
        sox mono90.wav -D -e u-law mono90u.wav
        sox mono90.wav rev.wav reverse
        sox -M mono90.wav rev.wav -D -e u-law stereo90.wav
        rm -f part_*.wav cat.wav rev.wav
    )
}

# The strongest configuration of a Python peer that installs here, and the weaker one for a
# labelled second column. After peers_setup:
#   PEER_PY      Debian's /usr/bin/python3 (another python3 on PATH cannot import Debian's torch)
#   PEER_STRONG  env assignments for PyTorch on OpenBLAS (libopenblas0-pthread's libblas.so.3,
#                liblapack.so.3 and libopenblas.so.0 first on the library path)
#   PEER_WEAK    env assignments for PyTorch on Debian's reference BLAS/LAPACK (libblas3,
#                liblapack3): what `libblas.so.3` is on a machine without OpenBLAS
#   PEER_CODE    a folder holding snakers4+silero-vad/ and gabrielmittag+NISQA/, the code the
#                reference runner (../shared/reference/tools) imports, extracted from the
#                repository snapshots in MIRROR_DIR (default ../.mirror, each a bare git dir
#                named repo)
#   NISQA_DIR    PEER_CODE/gabrielmittag+NISQA
# As root it installs what is missing with apt-get; otherwise it names the packages.
PEER_PKGS="python3-torch python3-torchaudio python3-numpy python3-scipy python3-soundfile
python3-pandas python3-yaml python3-tqdm libopenblas0-pthread libblas3 liblapack3 sox ffmpeg git"
peers_setup() {
    missing=""
    for p in $PEER_PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing > /dev/null
        else
            echo "bench: the peer needs these Debian packages: apt-get install$missing" >&2
            return 1
        fi
    fi
    PEER_PY=/usr/bin/python3
    multi=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2> /dev/null || echo x86_64-linux-gnu)
    [ -e "$multi/openblas-pthread/libblas.so.3" ] ||
        { echo "bench: $multi/openblas-pthread/libblas.so.3 is missing (libopenblas0-pthread)" >&2; return 1; }
    PEER_STRONG="LD_LIBRARY_PATH=$multi/openblas-pthread"
    PEER_WEAK="LD_LIBRARY_PATH=$multi/blas:$multi/lapack"
    export MIRROR_DIR=${MIRROR_DIR:-$(cd .. && pwd)/.mirror}
    for r in snakers4+silero-vad gabrielmittag+NISQA; do
        [ -d "$MIRROR_DIR/$r/repo" ] || {
            echo "bench: no snapshot of ${r%%+*}/${r#*+} in $MIRROR_DIR/$r/repo (a bare git dir)" >&2
            return 1
        }
    done
    PEER_CODE=$(pwd)/bench/out/peers
    mkdir -p "$PEER_CODE"
    "$PEER_PY" -c 'import sys; sys.dont_write_bytecode = True; sys.path.insert(0, sys.argv[1])
import seed_pipeline; seed_pipeline.setup_code(sys.argv[2])' "$SHARED/reference/tools" "$PEER_CODE" ||
        return 1
    NISQA_DIR=$PEER_CODE/gabrielmittag+NISQA
    export NISQA_DIR
}

bench_is_section() { # NAME: true when NAME is one of the driver's sections
    for s in $BENCH_SECTIONS; do [ "$s" = "$1" ] && return 0; done
    return 1
}
bench_run_section() { # NAME ARGS...: the section in a subshell of its own
    f=sec_$(echo "$1" | tr - _)
    shift
    ("$f" "$@")
}
bench_main() {
    case ${1:-} in
    -h | --help)
        sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p'
        return 0
        ;;
    --list)
        echo "$BENCH_SECTIONS"
        return 0
        ;;
    probe)
        [ $# -ge 3 ] || die "usage: $BENCH_NAME probe MEASURE BUILD [DIR]"
        m=$(echo "$2" | tr - _)
        shift 2
        command -v "probe_$m" > /dev/null 2>&1 || die "no measure '$m' here"
        "probe_$m" "$@"
        return
        ;;
    esac
    if [ $# -eq 0 ]; then
        # shellcheck disable=SC2086 # the default sections, one word each
        set -- $BENCH_DEFAULT
    fi
    # arguments before any section's name: the default section's, when there is one
    if ! bench_is_section "$1"; then
        [ "$(echo "$BENCH_DEFAULT" | wc -w)" -eq 1 ] ||
            die "unknown section '$1' (sections: $(echo $BENCH_SECTIONS))"
        set -- "$BENCH_DEFAULT" "$@"
    fi
    sec=$1
    shift
    args=""
    # each section with the arguments up to the next section's name
    while :; do
        if [ $# -eq 0 ] || bench_is_section "$1"; then
            # shellcheck disable=SC2086 # the arguments were words (quoted below)
            eval "bench_run_section \"\$sec\" $args"
            [ $# -eq 0 ] && return 0
            sec=$1 args=""
        else
            args="$args '$(printf '%s' "$1" | sed "s/'/'\\\\''/g")'"
        fi
        shift
    done
}
