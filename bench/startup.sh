#!/bin/sh
# bench/startup.sh - what each library chain costs a process that starts: the number of shared
# objects it loads and its start-up time. Tiny programs that do nothing (`int main(void)
# { return 0; }`) are linked with each set of libraries callqa has used (--no-as-needed, so
# every one is loaded), and timed with `hyperfine -N` beside `callqa version` and /bin/true:
#   nothing        libc only
#   analysis-wav   soxr, jansson, fftw3f, nettle (the analysis libraries without libsndfile)
#   analysis       the same plus libsndfile and its codec chain
#   +spandsp       the same plus libspandsp (libtiff, jpeg, webp, ...)
#   +service       the same plus libcurl, libmicrohttpd, sqlite3
# "libs" is `ldd PROGRAM | wc -l` (the vdso and the loader included); "instructions" is what
# callgrind counts from exec to exit (loader included), steady where wall times are not on a
# shared machine. A last line per callqa counts the objects `callqa analyze --only
# levels,silence` loads on a WAV call (LD_DEBUG=files, dlopen included; ldd cannot see those).
#   usage: bench/startup.sh        (after scripts/build; needs cc, pkg-config, hyperfine)
#   CQ="build/callqa other/callqa" bench/startup.sh     several callqa binaries side by side
#   HYPERFINE_ARGS="--warmup 50 --runs 1000" bench/startup.sh   (default: --warmup 20 --min-runs 200)
set -eu
cd "$(dirname "$0")/.."
CQ=${CQ:-build/callqa}
W=bench/out/startup
mkdir -p "$W"

printf 'int main(void) { return 0; }\n' > "$W/empty.c"
link() { # link NAME PKG...: the empty program linked with the packages' libraries
    name=$1
    shift
    # shellcheck disable=SC2046 # one word per flag
    cc -O2 -o "$W/$name" "$W/empty.c" -Wl,--no-as-needed $([ $# -gt 0 ] && pkg-config --libs "$@")
}
link nothing
link analysis-wav soxr jansson fftw3f nettle
link analysis sndfile soxr jansson fftw3f nettle
link +spandsp sndfile soxr jansson fftw3f nettle spandsp
link +service sndfile soxr jansson fftw3f nettle spandsp libcurl libmicrohttpd sqlite3

set -- /bin/true "$W/nothing" "$W/analysis-wav" "$W/analysis" "$W/+spandsp" "$W/+service"
for cq in $CQ; do set -- "$@" "$cq version"; done
# shellcheck disable=SC2086 # HYPERFINE_ARGS is a list of options
hyperfine -N --style none ${HYPERFINE_ARGS:---warmup 20 --min-runs 200} \
    --export-json "$W/startup.json" "$@" > /dev/null 2> "$W/hyperfine.err" ||
    { cat "$W/hyperfine.err" >&2; exit 1; }
grep -q "outliers" "$W/hyperfine.err" && echo "(hyperfine saw statistical outliers: a busy machine)"

# wall time; CPU time (user + system); and, when valgrind is installed, the instructions the
# process executes (callgrind), which other load on the machine does not disturb at all
python3 - "$W/startup.json" "$W/" <<'PY'
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
            2> "$W/ld.txt" > /dev/null || true
        n=$(grep -c 'file=.*generating link map' "$W/ld.txt" || true)
        s=$(grep -c 'file=libsndfile.*generating link map' "$W/ld.txt" || true)
        echo "\`$cq analyze --only levels,silence samples/sample-call.wav\` loads $n shared" \
            "objects besides the program (LD_DEBUG=files), libsndfile among them $s time(s)"
    done
fi
