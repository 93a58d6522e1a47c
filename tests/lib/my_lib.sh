# shellcheck shell=sh
# my_lib.sh - a private MariaDB for one test (Debian's mariadb-server), under the test's
# temporary directory: its own data folder, a free loopback port, its socket in the folder, no
# binary log, root by the socket only, and FILE's folder (secure_file_priv) DIR/files.
#
#   . tests/lib/my_lib.sh        (in the test's own shell: the functions set variables)
#   my_require                   exits 1 when the server's programs are missing (scripts/deps
#                                installs mariadb-server): a test never skips for it
#   my_start DIR                 install into DIR/mysql (its temporary files in DIR/tmp) and
#                                start; sets MY_PORT, MY_SOCK, MY_PID, MY_DATADIR, MY_FILES and
#                                MY_SQL (the client, as root, utf8mb4); 1 with the server's log
#                                on stderr when it does not start
#   my_stop                      for an EXIT trap: continues a stopped server, ends it and waits;
#                                safe to call twice
PATH=$PATH:/usr/sbin
MY_PID=""

my_require() {
    for _my_p in mariadbd mariadb-install-db mariadb; do
        command -v "$_my_p" > /dev/null 2>&1 || {
            echo "FAIL: $_my_p is not installed (scripts/deps installs mariadb-server)"
            exit 1
        }
    done
}

my__install() { # my__install DIR: the system tables into DIR/mysql, the log in DIR/install.log
    TMPDIR=$1/tmp mariadb-install-db --no-defaults --datadir="$MY_DATADIR" $_my_root \
        --auth-root-authentication-method=socket --skip-test-db > "$1/install.log" 2>&1
}

my_start() { # my_start DIR
    _my_root=""
    [ "$(id -u)" -eq 0 ] && _my_root=--user=root
    MY_PORT=$(python3 "${CALLQA_TEST_LIB:-tests/lib}/cqport.py")
    MY_SOCK=$1/my.sock
    MY_DATADIR=$1/mysql
    MY_FILES=$1/files
    # its temporary tables in a folder of its own, never the /tmp every other test writes to
    mkdir -p "$MY_FILES" "$1/tmp"
    my__install "$1" || {
        # mariadbd 10.11 has crashed (signal 11) in its bootstrap on a busy machine, before any
        # of the test's work: said, and once more in a fresh folder
        grep -q 'got signal' "$1/install.log" || { cat "$1/install.log" >&2; return 1; }
        echo "my_lib: mariadb-install-db crashed ($(grep -m1 -o 'got signal [0-9]*' "$1/install.log")): once more" >&2
        rm -rf "$MY_DATADIR"
        my__install "$1" || { cat "$1/install.log" >&2; return 1; }
    }
    mariadbd --no-defaults --datadir="$MY_DATADIR" --socket="$MY_SOCK" --port="$MY_PORT" \
        --bind-address=127.0.0.1 --pid-file="$1/my.pid" --log-error="$1/my.err" --tmpdir="$1/tmp" \
        --skip-name-resolve --skip-log-bin --innodb-buffer-pool-size=16M \
        --secure-file-priv="$MY_FILES" $_my_root &
    MY_PID=$!
    MY_SQL="mariadb --no-defaults --default-character-set=utf8mb4 -S $MY_SOCK -uroot"
    # answering as soon as it does; a hang (or a server that died) told after 120 s (InnoDB's
    # start at nice 19 beside busy cores takes far longer than the 2 s of a quiet machine)
    _my_until=$(awk -v f="${CALLQA_TEST_HANG_FACTOR:-1}" -v now="$(date +%s)" \
        'BEGIN { f += 0; if (f < 1) f = 1; printf "%d", now + 120 * f }')
    while [ "$(date +%s)" -lt "$_my_until" ]; do
        mariadb --no-defaults -S "$MY_SOCK" -uroot -e 'SELECT 1' > /dev/null 2>&1 && return 0
        kill -0 "$MY_PID" 2> /dev/null || break
        sleep 0.1
    done
    cat "$1/my.err" >&2
    return 1
}

my_stop() {
    [ -n "$MY_PID" ] || return 0
    kill -CONT "$MY_PID" 2> /dev/null
    kill "$MY_PID" 2> /dev/null
    wait "$MY_PID" 2> /dev/null
    MY_PID=""
}
