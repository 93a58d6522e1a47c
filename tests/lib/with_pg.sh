#!/bin/sh
# with_pg.sh - run a unit test program on PostgreSQL: a private server (tests/store/pg_lib.sh) under
# a temporary folder, its URI in CALLQA_TEST_STORE_URI (the store's unit tests read it).
#   usage: with_pg.sh PROGRAM [ARGS...]      exit 77 (skip) when PostgreSQL is not installed
set -u
. "$(dirname "$0")/../store/pg_lib.sh"
if ! pg_available; then
    echo "SKIP: PostgreSQL's server is not installed (scripts/deps installs it)"
    exit 77
fi
T=$(mktemp -d)
trap 'pg_cleanup; rm -rf "$T"' EXIT
pg_start "$T" || exit 1
CALLQA_TEST_STORE_URI=$PG_URI "$@"
