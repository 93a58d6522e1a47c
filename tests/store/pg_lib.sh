# shellcheck shell=sh
# pg_lib.sh - a private PostgreSQL cluster for one test, under the test's temporary directory
# (Debian's postgresql: the server binaries of `pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin; $CALLQA_PG_BIN overrides). It listens on a free loopback port
# only, with its socket inside the cluster's folder, trust authentication on loopback and that
# socket only, fsync off (commits still reach the kernel: a killed server loses nothing, only a
# machine crash would), the superuser role `callqa` and a database `callqa`.
# Run as root, initdb and the server run as an unprivileged user ($CALLQA_PG_USER, else nobody):
# initdb refuses to run as root.
#
#   . tests/store/pg_lib.sh           (in the test's own shell: the functions set variables)
#   pg_available                   true when the server binaries are installed
#   pg_start DIR                   initdb into DIR/pg (the first time) and start; exports
#                                  PG_URI=postgresql://callqa@127.0.0.1:PORT/callqa, PG_PORT,
#                                  PG_HOME, PG_BIN; started again after pg_stop or pg_kill: the
#                                  same port and data (after pg_kill, the server's crash recovery)
#   pg_stop                        a fast shutdown (sessions ended, everything committed kept)
#   pg_restart                     pg_stop, then start again: same port, same data
#   pg_kill                        SIGKILL to the postmaster and every server process (a crash)
#   pg_psql [PSQL ARGS...]         psql as callqa on the cluster (database callqa unless -d)
#   pg_createdb NAME [TEMPLATE]    a database (a copy of TEMPLATE, which nobody may be using)
#   pg_cleanup                     for an EXIT trap: stops the server if it runs (immediate),
#                                  removes what pg_start made outside DIR; safe to call twice
#   pg_pid                         the postmaster's pid (empty when not running)
# A watchdog started with the server shuts it down (immediate) once the test's shell ($$) is
# gone, however it ended (a SIGKILL, a ctest time-out): no server outlives its test.
# Functions return non-zero with the reason (and initdb's or the server's log) on stderr.

pg_bindir() { # the folder of initdb, pg_ctl, postgres; non-zero when there is none
    if [ -n "${CALLQA_PG_BIN:-}" ]; then
        [ -x "$CALLQA_PG_BIN/initdb" ] && [ -x "$CALLQA_PG_BIN/pg_ctl" ] && echo "$CALLQA_PG_BIN"
        return
    fi
    _pg_d=$(pg_config --bindir 2> /dev/null)
    if [ -n "$_pg_d" ] && [ -x "$_pg_d/initdb" ] && [ -x "$_pg_d/pg_ctl" ] && [ -x "$_pg_d/postgres" ]; then
        echo "$_pg_d"
        return 0
    fi
    # the newest major version first
    for _pg_d in $(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -t/ -k4,4 -n -r); do
        if [ -x "$_pg_d/initdb" ] && [ -x "$_pg_d/pg_ctl" ] && [ -x "$_pg_d/postgres" ]; then
            echo "$_pg_d"
            return 0
        fi
    done
    return 1
}

pg_available() {
    pg_bindir > /dev/null
}

pg__as() { # pg__as COMMAND...: as the cluster's owner (ourselves unless we are root)
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
    elif command -v runuser > /dev/null 2>&1; then
        runuser -u "$PG_OWNER" -- "$@"
    else
        setpriv --reuid="$PG_OWNER" --regid="$(id -g "$PG_OWNER")" --clear-groups -- "$@"
    fi
}

pg__free_port() {
    python3 "${CALLQA_TEST_LIB:-tests/lib}/cqport.py"
}

pg__fail() { # pg__fail MESSAGE [LOG]: the message and the log on stderr; status 1
    echo "pg_lib: $1" >&2
    if [ -n "${2:-}" ] && [ -s "$2" ]; then
        echo "---- $2 (last 40 lines)" >&2
        tail -n 40 "$2" >&2
        echo "----" >&2
    fi
    return 1
}

pg_pid() {
    [ -n "${PG_HOME:-}" ] && [ -s "$PG_HOME/data/postmaster.pid" ] || return 0
    _pg_p=$(head -n 1 "$PG_HOME/data/postmaster.pid")
    [ -n "$_pg_p" ] && kill -0 "$_pg_p" 2> /dev/null && echo "$_pg_p"
    return 0
}

pg__home() { # pg__home DIR: PG_HOME, a folder the owner can reach (DIR/pg when it can)
    PG_HOME=$1/pg
    [ -f "$1/pg.home" ] && PG_HOME=$(cat "$1/pg.home")
    [ -d "$PG_HOME/data" ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        # mktemp folders are 0700: let the owner pass through DIR (not list it)
        chmod o+x "$1"
        if ! pg__as test -x "$1"; then
            # an ancestor of DIR is closed to it: a folder of its own under /tmp
            PG_HOME=$(mktemp -d /tmp/callqa-pg.XXXXXX) || return 1
            chmod 0711 "$PG_HOME"
            PG_HOME=$PG_HOME/pg
            echo "$PG_HOME" > "$1/pg.home"
        fi
    fi
    mkdir -p "$PG_HOME" || return 1
    [ "$(id -u)" -eq 0 ] && chown "$PG_OWNER" "$PG_HOME"
    chmod 0700 "$PG_HOME"
}

pg__conf() { # the settings of a test cluster, after initdb's
    _pg_sock=$PG_HOME
    # a Unix socket's path has at most 107 bytes: none (TCP only) when the folder is too deep
    [ ${#_pg_sock} -gt 90 ] && _pg_sock=""
    cat >> "$PG_HOME/data/postgresql.conf" << EOF
# ---- pg_lib.sh: a private test cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$_pg_sock'
fsync = off
shared_buffers = 32MB
max_connections = 100
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    cat > "$PG_HOME/data/pg_hba.conf" << 'EOF'
# pg_lib.sh: trust on the cluster's own socket and on loopback only
local all all trust
host all all 127.0.0.1/32 trust
EOF
}

pg__watchdog() { # one per cluster: outside the test's process tree (setsid, parent gone)
    [ -s "$PG_HOME/watchdog.pid" ] && kill -0 "$(cat "$PG_HOME/watchdog.pid")" 2> /dev/null && return 0
    (
        setsid sh -c 'while kill -0 "$1" 2> /dev/null; do sleep 2; done
            p=$(head -n 1 "$2/data/postmaster.pid" 2> /dev/null)
            [ -n "$p" ] && kill -0 "$p" 2> /dev/null && kill -QUIT "$p"' pg-watchdog "$$" "$PG_HOME" \
            < /dev/null > /dev/null 2>&1 &
        echo $! > "$PG_HOME/watchdog.pid"
    )
}

pg__ctl_start() {
    (cd "$PG_HOME" && pg__as "$PG_BIN/pg_ctl" -D "$PG_HOME/data" -l "$PG_HOME/server.log" -w -t 120 start) \
        < /dev/null > "$PG_HOME/pg_ctl.log" 2>&1 || return 1
    pg__watchdog
}

pg_start() { # pg_start DIR
    [ -n "${1:-}" ] && [ -d "$1" ] || { pg__fail "pg_start: DIR '${1:-}' is not a folder"; return 1; }
    PG_BIN=$(pg_bindir) || {
        pg__fail "no PostgreSQL server (initdb, pg_ctl, postgres) in \$(pg_config --bindir) or /usr/lib/postgresql/*/bin: install postgresql (scripts/deps)"
        return 1
    }
    PG_OWNER=${CALLQA_PG_USER:-nobody}
    if [ "$(id -u)" -eq 0 ] && ! id -u "$PG_OWNER" > /dev/null 2>&1; then
        pg__fail "user $PG_OWNER, to run PostgreSQL as (initdb refuses root), does not exist: set CALLQA_PG_USER"
        return 1
    fi
    [ "$(id -u)" -eq 0 ] && [ "$(id -u "$PG_OWNER")" -eq 0 ] && {
        pg__fail "CALLQA_PG_USER must not be root"
        return 1
    }
    pg__home "$1" || { pg__fail "cannot make the cluster's folder under $1"; return 1; }
    export PG_BIN PG_HOME PG_OWNER
    if [ -n "$(pg_pid)" ]; then
        pg__fail "a server already runs on $PG_HOME/data (pid $(pg_pid))"
        return 1
    fi
    _pg_first=""
    if [ ! -f "$PG_HOME/data/PG_VERSION" ]; then
        _pg_first=1
        (cd "$PG_HOME" && pg__as "$PG_BIN/initdb" -D "$PG_HOME/data" -U callqa -A trust -N -E UTF8 \
            --locale=C.UTF-8) < /dev/null > "$PG_HOME/initdb.log" 2>&1 ||
            { pg__fail "initdb failed (as $(pg__as id -un))" "$PG_HOME/initdb.log"; return 1; }
    fi
    _pg_tries=0
    while :; do
        if [ -s "$PG_HOME/port" ]; then
            PG_PORT=$(cat "$PG_HOME/port")
        else
            PG_PORT=$(pg__free_port) || { pg__fail "no free port"; return 1; }
            echo "$PG_PORT" > "$PG_HOME/port"
            pg__conf
        fi
        pg__ctl_start && break
        _pg_tries=$((_pg_tries + 1))
        # the free port was taken meanwhile by someone else: another one (first start only)
        if [ -n "$_pg_first" ] && [ $_pg_tries -lt 3 ] &&
            grep -q 'could not bind\|Address already in use' "$PG_HOME/server.log" 2> /dev/null; then
            rm -f "$PG_HOME/port"
            sed -i '/^# ---- pg_lib.sh/,$d' "$PG_HOME/data/postgresql.conf"
            continue
        fi
        cat "$PG_HOME/pg_ctl.log" >&2
        pg__fail "the server did not start on 127.0.0.1:$PG_PORT" "$PG_HOME/server.log"
        return 1
    done
    export PG_PORT
    export PG_URI="postgresql://callqa@127.0.0.1:$PG_PORT/callqa"
    if [ -n "$_pg_first" ]; then
        pg_psql -d postgres -c 'CREATE DATABASE callqa' > /dev/null ||
            { pg__fail "could not create the database callqa" "$PG_HOME/server.log"; return 1; }
    fi
    return 0
}

pg_psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U callqa -d callqa "$@"
}

pg_createdb() { # pg_createdb NAME [TEMPLATE]
    if [ -n "${2:-}" ]; then
        pg_psql -d postgres -c "CREATE DATABASE \"$1\" TEMPLATE \"$2\"" > /dev/null
    else
        pg_psql -d postgres -c "CREATE DATABASE \"$1\"" > /dev/null
    fi
}

pg_stop() {
    [ -n "${PG_HOME:-}" ] || { pg__fail "pg_stop: no cluster (pg_start first)"; return 1; }
    [ -n "$(pg_pid)" ] || return 0
    (cd "$PG_HOME" && pg__as "$PG_BIN/pg_ctl" -D "$PG_HOME/data" -m fast -w -t 120 stop) \
        < /dev/null >> "$PG_HOME/pg_ctl.log" 2>&1 ||
        { pg__fail "the server did not stop" "$PG_HOME/server.log"; return 1; }
}

pg_restart() {
    [ -n "${PG_HOME:-}" ] || { pg__fail "pg_restart: no cluster (pg_start first)"; return 1; }
    pg_stop || return 1
    pg__ctl_start || { pg__fail "the server did not start again" "$PG_HOME/server.log"; return 1; }
}

pg_kill() {
    _pg_pid=$(pg_pid)
    [ -n "$_pg_pid" ] || { pg__fail "pg_kill: no server runs"; return 1; }
    # the postmaster first (no new backends), then every process it had started
    _pg_kids=$(pgrep -P "$_pg_pid")
    kill -KILL "$_pg_pid"
    # shellcheck disable=SC2086 # a list of pids
    [ -n "$_pg_kids" ] && kill -KILL $_pg_kids 2> /dev/null
    _pg_end=$(($(date +%s) + 60))
    while :; do
        _pg_alive=""
        for _pg_p in $_pg_pid $_pg_kids; do kill -0 "$_pg_p" 2> /dev/null && _pg_alive="$_pg_alive $_pg_p"; done
        [ -z "$_pg_alive" ] && return 0
        [ "$(date +%s)" -lt "$_pg_end" ] || break
        sleep 0.05
    done
    pg__fail "pg_kill: processes$_pg_alive outlived SIGKILL by 60 s"
}

pg_cleanup() {
    [ -n "${PG_HOME:-}" ] || return 0
    if [ -n "$(pg_pid)" ]; then
        (cd "$PG_HOME" && pg__as "$PG_BIN/pg_ctl" -D "$PG_HOME/data" -m immediate -w -t 120 stop) \
            < /dev/null > /dev/null 2>&1 || pg_kill > /dev/null 2>&1
    fi
    case $PG_HOME in
    /tmp/callqa-pg.*/pg) rm -rf "${PG_HOME%/pg}" ;;
    esac
    return 0
}
