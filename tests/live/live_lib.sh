# live_lib.sh - sourced by the shell tests that start `callqa live` (tests/live, tests/ui).
#   . "$SRC/tests/live/live_lib.sh"; live_start ERR CQ OPTIONS...
# live_start ERR CQ OPTIONS...: `CQ live OPTIONS...` in the background (its stderr into ERR);
# waits up to 10 s for the line naming its first port (port 0 picks one). Sets LIVE_PID and
# LIVE_PORT; when no port came, prints ERR and returns 1 (LIVE_PID is still to be killed).
live_start() {
    _err=$1
    _cq=$2
    shift 2
    "$_cq" live "$@" 2> "$_err" &
    LIVE_PID=$!
    LIVE_PORT=""
    for _ in $(seq 100); do
        LIVE_PORT=$(sed -n 's/.*port \([0-9]*\),.*/\1/p' "$_err" | head -1)
        [ -n "$LIVE_PORT" ] && return 0
        sleep 0.1
    done
    cat "$_err"
    return 1
}
