# shellcheck shell=sh
# prom_lib.sh - a private Prometheus for one test (Debian's prometheus), under the test's
# temporary directory, on a free loopback port, scraping and evaluating every second.
#
#   . tests/lib/prom_lib.sh
#   prom_start DIR JOB=TARGET... one scrape job per argument; TARGET is HOST:PORT, or `self` for
#                                the server itself; its config DIR/prometheus.yml, its data
#                                DIR/tsdb, its log DIR/prometheus.log. Sets PROM_PORT, PROM_URL
#                                and PROM_PID; 1 when its API has not answered within 120 s (each
#                                test then waits for the series it needs)
#                                With PROM_RULES set to a rules file, Prometheus loads it
#                                (rule_files) and evaluates it every second.
#   prom_stop                    for an EXIT trap; safe to call twice
PROM_PID=""

prom_start() { # prom_start DIR JOB=TARGET...
    _pr_dir=$1
    shift
    PROM_PORT=$(python3 "${CALLQA_TEST_LIB:-tests/lib}/cqport.py")
    PROM_URL=http://127.0.0.1:$PROM_PORT
    {
        printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
        [ -n "${PROM_RULES:-}" ] && printf "rule_files:\n  - '%s'\n" "$PROM_RULES"
        printf 'scrape_configs:\n'
        for _pr_j in "$@"; do
            _pr_t=${_pr_j#*=}
            [ "$_pr_t" = self ] && _pr_t=127.0.0.1:$PROM_PORT
            printf "  - job_name: %s\n    static_configs:\n      - targets: ['%s']\n" "${_pr_j%%=*}" "$_pr_t"
        done
    } > "$_pr_dir/prometheus.yml"
    prometheus --config.file="$_pr_dir/prometheus.yml" --storage.tsdb.path="$_pr_dir/tsdb" \
        --web.listen-address="127.0.0.1:$PROM_PORT" > "$_pr_dir/prometheus.log" 2>&1 &
    PROM_PID=$!
    _pr_end=$(($(date +%s) + 120))
    while [ "$(date +%s)" -lt "$_pr_end" ]; do
        curl -s -o /dev/null "$PROM_URL/-/ready" && return 0
        kill -0 "$PROM_PID" 2> /dev/null || break
        sleep 0.1
    done
    cat "$_pr_dir/prometheus.log" >&2
    return 1
}

prom_stop() {
    [ -n "$PROM_PID" ] || return 0
    kill "$PROM_PID" 2> /dev/null
    wait "$PROM_PID" 2> /dev/null
    PROM_PID=""
}
