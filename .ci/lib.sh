# .ci/lib.sh - sourced by .ci/run: the stages' clock and the summary.
#   stage KEY WALL_BUDGET CPU_BUDGET DESCRIPTION   ends the stage before it, starts KEY
#   stage_end                                      ends the current stage
#   lane NAME CMD...                               CMD in the background, its output in a file,
#                                                  its CPU counted apart when cgroups allow
#   lane_wait NAME                                 its status; its output printed (and kept in
#                                                  $LANES/NAME.log until the run ends)
#   summary                                        every stage against its budget
# CPU seconds are the whole machine's (/proc/stat: user, nice, system, irq, softirq, steal),
# which count the servers a test starts even when they leave its process tree; on a machine
# that runs nothing else they are the run's own. A stage over its budget is printed as such,
# not failed: a slow machine is no defect, but a stage that grew is a regression to look at.

cpu_now() { # the machine's busy time, in hundredths of a second
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

STAGES="" STAGE="" STAGE_T0=0 STAGE_C0=0 STAGE_WB=0 STAGE_CB=0 RUN_T0=$(date +%s) RUN_C0=$(cpu_now)
stage() {
    [ -n "$STAGE" ] && stage_end
    STAGE=$1 STAGE_WB=$2 STAGE_CB=$3 STAGE_T0=$(date +%s) STAGE_C0=$(cpu_now)
    shift 3
    echo "== $STAGE: $* (budget ${STAGE_WB} s, ${STAGE_CB} CPU s)"
}
stage_end() {
    w=$(($(date +%s) - STAGE_T0))
    c=$((($(cpu_now) - STAGE_C0) / 100))
    over=""
    [ "$w" -gt "$STAGE_WB" ] && over=" OVER the wall budget"
    [ "$c" -gt "$STAGE_CB" ] && over="$over OVER the CPU budget"
    echo "-- $STAGE: $w s, $c CPU s (budget $STAGE_WB s, $STAGE_CB CPU s)$over"
    STAGES="$STAGES
$(printf '%-11s %6d s %6d CPU s   budget %5d s %5d CPU s%s' "$STAGE" "$w" "$c" "$STAGE_WB" "$STAGE_CB" "$over")"
    STAGE=""
}
summary() {
    [ -n "$STAGE" ] && stage_end
    echo "== the stages (wall, CPU of the whole machine):$STAGES"
    printf '%-11s %6d s %6d CPU s   budget %5d s %5d CPU s\n' all "$(($(date +%s) - RUN_T0))" \
        "$((($(cpu_now) - RUN_C0) / 100))" "$RUN_WALL_BUDGET" "$RUN_CPU_BUDGET"
}

# lanes: a stage's work side by side; each lane's CPU from a cpuacct cgroup of its own (root
# with cgroup v1), else only the stage's
LANES=$(mktemp -d)
trap 'rm -rf "$LANES"' EXIT
CG=/sys/fs/cgroup/cpuacct
lane() {
    name=$1
    shift
    cg=""
    [ -w "$CG" ] && mkdir "$CG/cq-ci-$$-$name" 2> /dev/null && cg=$CG/cq-ci-$$-$name
    (
        t0=$(date +%s)
        st=0
        # the lane's shell joins the cgroup, then becomes the command: its processes inherit it
        sh -c '[ -z "$1" ] || echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cg" "$@" \
            > "$LANES/$name.log" 2>&1 || st=$?
        echo "$st $(($(date +%s) - t0))" > "$LANES/$name.rc"
    ) &
    echo $! > "$LANES/$name.pid"
}
lane_wait() { # NAME: 0 when the lane passed
    wait "$(cat "$LANES/$1.pid")" 2> /dev/null || true
    set -- "$1" $(cat "$LANES/$1.rc")
    cpu=""
    if [ -f "$CG/cq-ci-$$-$1/cpuacct.usage" ]; then
        cpu=", $(($(cat "$CG/cq-ci-$$-$1/cpuacct.usage") / 1000000000)) CPU s"
        rmdir "$CG/cq-ci-$$-$1" 2> /dev/null || true
    fi
    cat "$LANES/$1.log"
    echo "-- lane $1: exit $2, $3 s$cpu"
    return "$2"
}
