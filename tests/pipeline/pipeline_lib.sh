# pipeline_lib.sh - shared by the pipeline tests: a store filled through the upload route.
#   . "$(dirname "$0")/pipeline_lib.sh"  (after tests/lib.sh, and $CQ and $T set)
#   serve_start DB; upload RECORDING_ID PART...; serve_stop
#   DB: a store (tests/lib/store_lib.sh: a file or a postgresql:// URI); logs go to $T

serve_start() { # serve_start DB: `callqa serve --db DB` on a free port; $U, $SERVE set
    PORT=$(free_port)
    U="http://127.0.0.1:$PORT"
    slog="$T/$(basename "$1").serve.log"
    "$CQ" serve --db "$1" --no-auth --listen "127.0.0.1:$PORT" > "$slog" 2>&1 &
    SERVE=$!
    serving "$SERVE" "$U/health" && return 0
    echo "serve did not start: $(cat "$slog")"
    exit 1
}

serve_stop() {
    kill "$SERVE"
    wait "$SERVE" 2>/dev/null
}

upload() { # upload RECORDING_ID PART...: queued by agent ann today, or the test stops
    rid=$1
    shift
    parts=""
    for p in "$@"; do parts="$parts -F $p"; done
    # shellcheck disable=SC2086 # the parts are words on purpose
    code=$(curl -s -o "$T/up.json" -w '%{http_code}' \
        -F "metadata={\"recording_id\":\"$rid\",\"agent_user\":\"ann\",\"call_date\":\"$(date +%F) 09:00:00\"};type=application/json" \
        $parts "$U/api/qa/calls")
    [ "$code" = 201 ] || { echo "upload $rid: $code $(cat "$T/up.json")"; exit 1; }
}
