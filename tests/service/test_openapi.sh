#!/bin/sh
# test_openapi.sh - the API's description is a file, docs/openapi.json, compiled into the
# service: /openapi.json (serve --openapi) is that file, and the service checks it against the
# route table (every route documented, with its auth and its role, x-callqa-role; no operation
# without a route). The check
# is shown failing on planted differences.
#   usage: test_openapi.sh BUILD/callqa SOURCE_DIR
set -u
CQ=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib.sh"
DOC=$SRC/docs/openapi.json

"$CQ" serve --openapi > "$T/served.json"
check "serve --openapi prints docs/openapi.json as it is" cmp -s "$T/served.json" "$DOC"
check "docs/openapi.json passes the check against the route table" \
    "$CQ" serve --check-openapi "$DOC"
check "no JSON in the route table's C strings" sh -c "! grep -q '\\\\\"responses\\\\\"' '$SRC/src/service/svc_routes.c'"

plant() { # plant NAME PYTHON: a copy of the document changed by PYTHON (d: the document); the
    # check must refuse it, naming the difference (grep pattern in $3)
    python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
$2
json.dump(d, open(sys.argv[2], 'w'), indent=2)
" "$DOC" "$T/$1.json"
    "$CQ" serve --check-openapi "$T/$1.json" > /dev/null 2> "$T/$1.err"
    rc=$?
    [ $rc -eq 1 ] && grep -q -- "$3" "$T/$1.err" || { cat "$T/$1.err"; return 1; }
}
check "planted: an undocumented route is refused" \
    plant undocumented "del d['paths']['/api/qa/search']['get']" "GET /api/qa/search is not documented"
check "planted: a route documented open that needs the token is refused" \
    plant open "d['paths']['/api/qa/calls']['get']['security'] = []" "GET /api/qa/calls has another auth"
check "planted: a route documented as needing the token that is open is refused" \
    plant closed "del d['paths']['/health']['get']['security']" "GET /health has another auth"
check "planted: a route given a lower role than the table's is refused" \
    plant role "d['paths']['/api/qa/audit']['get']['x-callqa-role'] = 'analyst'" "GET /api/qa/audit has another x-callqa-role"
check "planted: a route without its x-callqa-role is refused" \
    plant norole "del d['paths']['/api/qa/call/{id}/audio']['get']['x-callqa-role']" "GET /api/qa/call/{id}/audio has another x-callqa-role"
check "every operation of docs/openapi.json names its role" python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
roles = {op.get('x-callqa-role') for item in d['paths'].values() for op in item.values()}
sys.exit(0 if roles <= {'none', 'agent', 'analyst', 'supervisor', 'admin'} else 1)
" "$DOC"
check "planted: an operation no route has is refused" \
    plant extra "d['paths']['/api/qa/nothing'] = {'get': {'responses': {}}}" "operations, the route table"
finish "openapi"
