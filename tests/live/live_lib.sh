# live_lib.sh - sourced by the shell tests that start `callqa live` (tests/live, tests/ui).
#   . "$SRC/tests/live/live_lib.sh"; live_start ERR CQ OPTIONS...
# Every wait here returns as soon as what it waits for is there; its bound (LIVE_HANG, 120 s by
# default) only tells a hang from a slow machine, and it fails loudly.
LIVE_HANG=${LIVE_HANG:-120}

# live_wait HANG WHAT COMMAND...: until COMMAND succeeds (polled every 0.1 s); after HANG
# seconds prints "FAIL - WHAT (not within HANG s)" and returns 1.
live_wait() {
    _lw_hang=$1
    _lw_end=$(($(date +%s) + $1))
    _lw_what=$2
    shift 2
    until "$@"; do
        if [ "$(date +%s)" -gt "$_lw_end" ]; then
            echo "FAIL - $_lw_what (not within $_lw_hang s)"
            return 1
        fi
        sleep 0.1
    done
}

# live_log PID ERR REGEX: until the server PID has written a line matching REGEX (grep -E) to
# ERR; 1, with ERR shown, when the server ended first or after LIVE_HANG seconds.
live_log() {
    _ll_end=$(($(date +%s) + LIVE_HANG))
    until grep -Eq "$3" "$2" 2> /dev/null; do
        if ! kill -0 "$1" 2> /dev/null; then
            grep -Eq "$3" "$2" 2> /dev/null && return 0
            echo "FAIL - the server ended before it said /$3/:"
            cat "$2"
            return 1
        fi
        if [ "$(date +%s)" -gt "$_ll_end" ]; then
            echo "FAIL - the server did not say /$3/ within $LIVE_HANG s:"
            cat "$2"
            return 1
        fi
        sleep 0.1
    done
}

# live_start ERR CQ OPTIONS...: `CQ live OPTIONS...` in the background (its stderr into ERR);
# waits for the line naming its first port (port 0 picks one). Sets LIVE_PID and LIVE_PORT;
# when no port came, prints ERR and returns 1 (LIVE_PID is still to be killed).
live_start() {
    _err=$1
    _cq=$2
    shift 2
    "$_cq" live "$@" 2> "$_err" &
    LIVE_PID=$!
    LIVE_PORT=""
    live_log "$LIVE_PID" "$_err" 'port [0-9]+,' || return 1
    LIVE_PORT=$(sed -n 's/.*port \([0-9]*\),.*/\1/p' "$_err" | head -1)
}

# live_stats FILE FROM KEY: KEY's figure on the newest whole stats line of the event file FILE
# past its line FROM (empty when there is none yet).
live_stats() {
    awk -v from="$2" 'NR > from && /"type":"stats"/ && /}$/ {l = $0} END {print l}' "$1" \
        2> /dev/null | sed -n "s/.*\"$3\":\([0-9][0-9]*\).*/\1/p"
}

# live_stat_ge FILE FROM KEY MIN: that figure is there and at least MIN
live_stat_ge() {
    _v=$(live_stats "$1" "$2" "$3")
    [ -n "$_v" ] && [ "$_v" -ge "$4" ]
}

# live_stat_eq FILE FROM KEY VALUE: that figure is there and is VALUE
live_stat_eq() {
    _v=$(live_stats "$1" "$2" "$3")
    [ -n "$_v" ] && [ "$_v" -eq "$4" ]
}

# live_lines FILE: how many lines FILE has (0 when it is not there)
live_lines() {
    if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi
}

# live_stop PID NAME: SIGTERM, then until it has ended (it drains its calls first); its exit
# status in LIVE_RC. Past LIVE_HANG seconds it is killed, LIVE_RC is 124, and 1 is returned.
live_stop() {
    kill -TERM "$1" 2> /dev/null
    _ls_end=$(($(date +%s) + LIVE_HANG))
    while kill -0 "$1" 2> /dev/null; do
        if [ "$(date +%s)" -gt "$_ls_end" ]; then
            echo "FAIL - $2 (pid $1) did not end within $LIVE_HANG s of SIGTERM: killed"
            kill -KILL "$1" 2> /dev/null
            wait "$1" 2> /dev/null
            LIVE_RC=124
            return 1
        fi
        sleep 0.1
    done
    wait "$1"
    LIVE_RC=$?
}
