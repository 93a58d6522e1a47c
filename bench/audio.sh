#!/bin/sh
# bench/audio.sh - reading a recording: callqa's decoding, levels and silences against sox and
# ffmpeg, and what a callqa process costs to start.
#   levels   callqa against its peers side by side in one run, on recordings built from the
#            real corpus (bench/lib.sh's bench_inputs): 92-second telephony calls (mono PCM16,
#            mono u-law, stereo u-law), a 3-minute mono PCM16 call, a 3-minute stereo u-law call
#            and a 1-hour mono file (INPUTS="mono90 mono90u stereo90 mono3 stereo3 hour", the
#            default: all). Peer for levels+silence: `sox F -n stat` + `ffmpeg -i F -af
#            silencedetect=noise=-35dB:d=0.5`; for a stereo call the peer first splits both legs
#            with sox and runs both tools per leg. callqa: `callqa analyze --json -q --only
#            levels,silence F` (CLI, process start-up included; each program of CQ="a b" in its
#            own column) and bench_pipeline (this checkout's library in-process, median of 21
#            runs). Rounds alternate peer and callqa, input by input, so a slow spell of the
#            machine hits both (hyperfine -N: no shell, none of its start-up subtracted); each
#            round prints its ratios (peer median / callqa median) and the load average, then a
#            markdown table gives the medians over the rounds and each round's ratio (ROUNDS=3;
#            RUNS=30 hyperfine runs, HOUR_RUNS=5 for the hour file), and the command that
#            reproduces it. Needs sox, ffmpeg, hyperfine.
#   startup  what each library chain costs a process that starts: the number of shared
#            objects it loads and its start-up time. Tiny programs that do nothing (`int
#            main(void) { return 0; }`) are linked with each set of libraries callqa has used
#            (--no-as-needed, so every one is loaded), and timed with `hyperfine -N` beside
#            `callqa version` and /bin/true:
#              nothing        libc only
#              analysis-wav   soxr, jansson, fftw3f, nettle (the analysis libraries without
#                             libsndfile)
#              analysis       the same plus libsndfile and its codec chain
#              +spandsp       the same plus libspandsp (libtiff, jpeg, webp, ...)
#              +service       the same plus libcurl, libmicrohttpd, sqlite3
#            "libs" is `ldd PROGRAM | wc -l` (the vdso and the loader included); "instructions"
#            is what callgrind counts from exec to exit (loader included), steady where wall
#            times are not on a shared machine. A last line per callqa counts the objects
#            `callqa analyze --only levels,silence` loads on a WAV call (LD_DEBUG=files, dlopen
#            included; ldd cannot see those). CQ="build/callqa other/callqa": several callqa
#            binaries side by side; HYPERFINE_ARGS="--warmup 50 --runs 1000" (default: --warmup
#            20 --min-runs 200). Needs cc, pkg-config, hyperfine.
# Measures for bench/before_after.sh (probe MEASURE BUILD: wall seconds of one run):
#   analyze  `callqa analyze --json -q --only levels,silence` on mono3, stereo3 and hour, one
#            process each
#   full     `callqa analyze --json -q` (every default analyzer, the models) on a corpus call
#   startup  `callqa version`, 100 processes one after the other
#   usage: bench/audio.sh [levels] [startup]     (default: levels; after scripts/build)
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_SECTIONS="levels startup"
BENCH_DEFAULT="levels"

sec_levels() {
    bench_build bench_pipeline
    bench_inputs
    # the inputs: NAME, its file, its label, the peer's script, hyperfine's runs
    INPUTS=${INPUTS:-mono90 mono90u stereo90 mono3 stereo3 hour}
    input() { # input NAME: sets f, label, peer, runs
        case $1 in
        mono90) f=mono90 label="92-s mono PCM16" peer=mono runs=${RUNS:-30} ;;
        mono90u) f=mono90u label="92-s mono u-law" peer=mono runs=${RUNS:-30} ;;
        stereo90) f=stereo90 label="92-s stereo u-law (peer splits legs)" peer=stereo runs=${RUNS:-30} ;;
        mono3) f=mono3 label="3-min mono PCM16" peer=mono runs=${RUNS:-30} ;;
        stereo3) f=stereo3 label="3-min stereo u-law (peer splits legs)" peer=stereo runs=${RUNS:-30} ;;
        hour) f=hour label="1-hour mono PCM16" peer=mono runs=${HOUR_RUNS:-5} ;;
        *) die "unknown input '$1' (INPUTS: mono90 mono90u stereo90 mono3 stereo3 hour)" ;;
        esac
    }
    for i in $INPUTS; do input "$i"; done

    cat > "$W/peer_mono.sh" << 'P'
sox "$1" -n stat 2>/dev/null
ffmpeg -nostdin -hide_banner -i "$1" -af silencedetect=noise=-35dB:d=0.5 -f null - 2>/dev/null
P
    cat > "$W/peer_stereo.sh" << 'P'
d=$(mktemp -d)
sox "$1" -b 16 -e signed-integer "$d/l1.wav" remix 1
sox "$1" -b 16 -e signed-integer "$d/l2.wav" remix 2
for l in l1 l2; do
    sox "$d/$l.wav" -n stat 2>/dev/null
    ffmpeg -nostdin -hide_banner -i "$d/$l.wav" -af silencedetect=noise=-35dB:d=0.5 -f null - 2>/dev/null
done
rm -rf "$d"
P

    ONLY="analyze --json -q --only levels,silence"
    # hyperfine -N: each command is executed without a shell (the peers' scripts by `sh`), so no
    # shell start-up is estimated and subtracted; with that correction a run of a few
    # milliseconds on a busy machine could come out at 0.
    hf_median() { # hf_median NAME RUNS CMD: hyperfine median in ms
        hyperfine -N -w 3 -r "$2" --export-csv "$W/$1.csv" "$3" > /dev/null 2>&1
        awk -F, 'NR==2 {printf "%.3f", $(NF - 4) * 1000}' "$W/$1.csv"
    }
    lib_ms() { # lib_ms FILE: bench_pipeline median in ms
        build/bench/bench_pipeline --only levels,silence --runs 21 "$1" |
            awk '/median/ {for (i = 1; i <= NF; i++) if ($i == "median") {print $(i + 1); exit}}'
    }
    load() { cut -d' ' -f1-3 /proc/loadavg; }

    # Rounds alternate peer and callqa (each CQ in turn), input by input, so a slow spell of the
    # machine hits both; each round's ratio is the peer's median over callqa's in that round,
    # and each cell of the table the median over the rounds. rounds.txt keeps every figure:
    # "INPUT ROUND peer MS load L1 L5 L15", "INPUT ROUND cq K MS", "INPUT ROUND lib MS".
    ROUNDS=${ROUNDS:-3}
    : > "$W/rounds.txt"
    echo "Per round (ratio: the peer's median / callqa's median in that round; load: 1, 5, 15 min):"
    for r in $(seq "$ROUNDS"); do
        for i in $INPUTS; do
            input "$i"
            pm=$(hf_median peer "$runs" "sh $W/peer_$peer.sh $W/$f.wav")
            echo "$i $r peer $pm load $(load)" >> "$W/rounds.txt"
            line="round $r, $i: peer $pm ms"
            k=0
            for cq in $CQ; do
                k=$((k + 1))
                cm=$(hf_median "cq$k" "$runs" "$cq $ONLY $W/$f.wav")
                echo "$i $r cq $k $cm" >> "$W/rounds.txt"
                line="$line; $cq $cm ms ($(ratio "$pm" "$cm")x)"
            done
            lm=$(lib_ms "$W/$f.wav")
            echo "$i $r lib $lm" >> "$W/rounds.txt"
            echo "$line; library $lm ms ($(ratio "$pm" "$lm")x); load $(load)"
        done
    done
    echo

    med() { awk "$1" "$W/rounds.txt" | median_low; }
    head="| input | peer (sox stat + ffmpeg silencedetect) |"
    rule="|---|---|"
    for cq in $CQ; do head="$head \`$cq\` | ratio (rounds) |" rule="$rule---|---|"; done
    echo "$head callqa library | library ratio |"
    echo "$rule---|---|"
    for i in $INPUTS; do
        input "$i"
        row="| $label | $(med "\$1 == \"$i\" && \$3 == \"peer\" {print \$4}") ms |"
        k=0
        for cq in $CQ; do
            k=$((k + 1))
            rs=$(awk -v i="$i" -v k="$k" '$1 == i && $3 == "peer" {p[$2] = $4}
                $1 == i && $3 == "cq" && $4 == k {printf "%.1f\n", p[$2] / $5}' "$W/rounds.txt")
            row="$row $(med "\$1 == \"$i\" && \$3 == \"cq\" && \$4 == $k {print \$5}") ms |"
            row="$row $(echo "$rs" | median_low)x ($(echo "$rs" | paste -sd/ -)) |"
        done
        rs=$(awk -v i="$i" '$1 == i && $3 == "peer" {p[$2] = $4}
            $1 == i && $3 == "lib" {printf "%.1f\n", p[$2] / $4}' "$W/rounds.txt")
        row="$row $(med "\$1 == \"$i\" && \$3 == \"lib\" {print \$4}") ms | $(echo "$rs" | median_low)x |"
        echo "$row"
    done
    echo
    for cq in $CQ; do
        for i in $INPUTS; do
            case $i in mono3 | hour)
                input "$i"
                # shellcheck disable=SC2086 # ONLY is the command's words
                kb=$(/usr/bin/time -f %M "$cq" $ONLY "$W/$f.wav" 2>&1 > /dev/null | tail -1)
                echo "\`$cq\` peak RSS, $label: $((kb / 1024)) MiB"
                ;;
            esac
        done
    done
    echo "($ROUNDS rounds of ${RUNS:-30} hyperfine runs, ${HOUR_RUNS:-5} for the hour file;" \
        "cells: the median over the rounds; every figure in $W/rounds.txt)"
    echo "reproduce: CQ=\"$CQ\" INPUTS=\"$INPUTS\" ROUNDS=$ROUNDS RUNS=${RUNS:-30} bench/audio.sh levels"
}

sec_startup() {
    S=$W/startup
    mkdir -p "$S"

    printf 'int main(void) { return 0; }\n' > "$S/empty.c"
    link() { # link NAME PKG...: the empty program linked with the packages' libraries
        name=$1
        shift
        # shellcheck disable=SC2046 # one word per flag
        cc -O2 -o "$S/$name" "$S/empty.c" -Wl,--no-as-needed $([ $# -gt 0 ] && pkg-config --libs "$@")
    }
    link nothing
    link analysis-wav soxr jansson fftw3f nettle
    link analysis sndfile soxr jansson fftw3f nettle
    link +spandsp sndfile soxr jansson fftw3f nettle spandsp
    link +service sndfile soxr jansson fftw3f nettle spandsp libcurl libmicrohttpd sqlite3

    set -- /bin/true "$S/nothing" "$S/analysis-wav" "$S/analysis" "$S/+spandsp" "$S/+service"
    for cq in $CQ; do set -- "$@" "$cq version"; done
    # shellcheck disable=SC2086 # HYPERFINE_ARGS is a list of options
    hyperfine -N --style none ${HYPERFINE_ARGS:---warmup 20 --min-runs 200} \
        --export-json "$S/startup.json" "$@" > /dev/null 2> "$S/hyperfine.err" ||
        { cat "$S/hyperfine.err" >&2; exit 1; }
    grep -q "outliers" "$S/hyperfine.err" && echo "(hyperfine saw statistical outliers: a busy machine)"

    # wall time; CPU time (user + system); and, when valgrind is installed, the instructions the
    # process executes (callgrind), which other load on the machine does not disturb at all
    python3 - "$S/startup.json" "$S/" << 'PY'
import json, re, shutil, subprocess, sys
def instructions(cmd):
    if not shutil.which("valgrind"):
        return "-"
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
                         + cmd.split(), capture_output=True, text=True).stderr
    m = re.search(r"Collected : (\d+)", out)
    return "%.2f M" % (int(m.group(1)) / 1e6) if m else "-"
print("| program | libs (ldd) | wall, median (ms) | wall, mean ± sd (ms) | CPU user+sys (ms) "
      "| instructions |")
print("|---|---|---|---|---|---|")
for r in json.load(open(sys.argv[1]))["results"]:
    cmd = r["command"]
    ldd = subprocess.run(["ldd", cmd.split()[0]], capture_output=True, text=True).stdout
    print("| `%s` | %d | %.2f | %.2f ± %.2f | %.2f | %s |" % (
        cmd.replace(sys.argv[2], ""), len(ldd.splitlines()), r["median"] * 1e3,
        r["mean"] * 1e3, r["stddev"] * 1e3, (r["user"] + r["system"]) * 1e3, instructions(cmd)))
PY

    if [ -f samples/sample-call.wav ]; then
        echo
        for cq in $CQ; do
            LD_DEBUG=files "$cq" analyze -q --only levels,silence samples/sample-call.wav \
                2> "$S/ld.txt" > /dev/null || true
            n=$(grep -c 'file=.*generating link map' "$S/ld.txt" || true)
            s=$(grep -c 'file=libsndfile.*generating link map' "$S/ld.txt" || true)
            echo "\`$cq analyze --only levels,silence samples/sample-call.wav\` loads $n shared" \
                "objects besides the program (LD_DEBUG=files), libsndfile among them $s time(s)"
        done
    fi
}

m_analyze() { # BUILD
    for f in "$W/mono3.wav" "$W/stereo3.wav" "$W/hour.wav"; do
        "$1/callqa" analyze --json -q --only levels,silence "$f"
    done
}
m_full() { "$1/callqa" analyze --json -q "$SHARED/corpus/calls/call01_normal.wav"; }
m_startup() {
    i=0
    while [ $i -lt 100 ]; do "$1/callqa" version; i=$((i + 1)); done
}
probe_analyze() {
    bench_inputs > /dev/null
    secs m_analyze "$1"
}
probe_full() {
    export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}
    secs m_full "$1"
}
probe_startup() { secs m_startup "$1"; }

bench_main "$@"
