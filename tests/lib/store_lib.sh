# shellcheck shell=sh
# store_lib.sh - the store a test uses: SQLite files, or, when CALLQA_TEST_STORE=postgresql (the
# `_pg` twins of tests/CMakeLists.txt), databases of a private PostgreSQL cluster started under
# the test's folder (tests/store/pg_lib.sh). Tests read and write the store only through
# tests/lib/storedb.py (in Python: `import storedb`; in shell: store_sql).
#
#   . tests/lib/store_lib.sh
#   store_setup DIR          once, in the test's own shell (not inside $(...)): on PostgreSQL,
#                            starts the cluster (exits 77, a ctest skip, when PostgreSQL is not
#                            installed; 1 when it does not start); exports PYTHONPATH with
#                            tests/lib, and CALLQA_UPLOAD_DIR=DIR/uploads on PostgreSQL (uploads
#                            are kept beside a store file by default, and a URI has no folder)
#   test_store DIR [NAME]    prints the store NAME (default: store): DIR/NAME.db, or
#                            postgresql://callqa@127.0.0.1:PORT/NAME, a database made empty now
#                            when it does not exist (NAME: letters, digits, _ and -)
#   store_copy FROM DIR NAME prints a new store NAME, a copy of FROM (which nobody may be using)
#   store_is_pg              true on PostgreSQL
#   store_sql STORE SQL [PARAM...]  the rows, '|' between columns, NULL as nothing
#   store_name STORE         the store's last path element (for log file names)
#   store_json EXPR KEY      SQL for a key of a JSON text column, as text (storedb's json_text)
#   store_cleanup            for the EXIT trap, before DIR is removed: stops the cluster

STORE_LIB_DIR=$(cd "$(dirname "${0:-.}")" 2> /dev/null && pwd)
# this file's folder, wherever the sourcing test is: tests/lib beside tests/<suite>/
for _sl_d in "$STORE_LIB_DIR/../lib" "$STORE_LIB_DIR/lib" "$STORE_LIB_DIR/../../tests/lib"; do
    if [ -f "$_sl_d/storedb.py" ]; then
        STORE_LIB_DIR=$(cd "$_sl_d" && pwd)
        break
    fi
done
[ -f "$STORE_LIB_DIR/storedb.py" ] || {
    echo "store_lib.sh: cannot find tests/lib/storedb.py from $0" >&2
    exit 1
}
. "$STORE_LIB_DIR/../store/pg_lib.sh"

STORE_KIND=sqlite
case ${CALLQA_TEST_STORE:-sqlite} in
sqlite | "") ;;
postgresql | postgres | pg) STORE_KIND=postgresql ;;
*)
    echo "store_lib.sh: CALLQA_TEST_STORE=$CALLQA_TEST_STORE: sqlite or postgresql" >&2
    exit 1
    ;;
esac

store_is_pg() {
    [ "$STORE_KIND" = postgresql ]
}

store_setup() { # store_setup DIR
    export PYTHONPATH="$STORE_LIB_DIR${PYTHONPATH:+:$PYTHONPATH}"
    store_is_pg || return 0
    if ! pg_available; then
        echo "SKIP: CALLQA_TEST_STORE=postgresql and no PostgreSQL server is installed (scripts/deps installs postgresql)"
        exit 77
    fi
    _sl_t0=$(date +%s.%N)
    pg_start "$1" || {
        echo "FAIL: the test's PostgreSQL did not start"
        exit 1
    }
    export CALLQA_PSQL="$PG_BIN/psql"
    export CALLQA_UPLOAD_DIR="${CALLQA_UPLOAD_DIR:-$1/uploads}"
    echo "# postgresql: $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //'), $PG_URI, up in $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$_sl_t0" "$(date +%s.%N)") s"
}

store__db() { # the database name of a store NAME
    case $1 in
    *[!A-Za-z0-9_-]* | "")
        echo "store_lib.sh: store name '$1': letters, digits, _ and - only" >&2
        return 1
        ;;
    esac
    echo "$1" | tr 'A-Z-' 'a-z_'
}

store__need_pg() {
    [ -n "${PG_URI:-}" ] && return 0
    echo "store_lib.sh: CALLQA_TEST_STORE=postgresql: call store_setup DIR first, in the test's shell" >&2
    return 1
}

test_store() { # test_store DIR [NAME]
    _sl_n=${2:-store}
    if ! store_is_pg; then
        echo "$1/$_sl_n.db"
        return 0
    fi
    store__need_pg || return 1
    _sl_db=$(store__db "$_sl_n") || return 1
    if [ "$(pg_psql -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$_sl_db'")" != 1 ]; then
        pg_createdb "$_sl_db" || return 1
    fi
    echo "postgresql://callqa@127.0.0.1:$PG_PORT/$_sl_db"
}

store_copy() { # store_copy FROM DIR NAME
    if ! store_is_pg; then
        cp "$1" "$2/$3.db" || return 1
        echo "$2/$3.db"
        return 0
    fi
    store__need_pg || return 1
    _sl_from=$(store__db "${1##*/}") || return 1
    _sl_db=$(store__db "$3") || return 1
    pg_psql -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS \"$_sl_db\"" > /dev/null &&
        pg_createdb "$_sl_db" "$_sl_from" || return 1
    echo "postgresql://callqa@127.0.0.1:$PG_PORT/$_sl_db"
}

store_sql() { # store_sql STORE SQL [PARAM...]
    python3 "$STORE_LIB_DIR/storedb.py" "$@"
}

store_json() {
    if store_is_pg; then echo "(($1)::json ->> '$2')"; else echo "json_extract($1, '\$.$2')"; fi
}

store_name() {
    basename "$1"
}

store_cleanup() {
    store_is_pg && pg_cleanup
    return 0
}
