# bench/peers.sh - sourced by the benchmarks that run a Python peer: sets up the strongest
# configuration of that peer that installs here, and the weaker one for a labelled second column.
#   . bench/peers.sh; peers_setup
# Then:
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
    SHARED=${CALLQA_SHARED_DIR:-../shared}
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
