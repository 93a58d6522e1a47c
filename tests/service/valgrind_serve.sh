#!/bin/sh
# valgrind_serve.sh - `callqa serve` under valgrind memcheck: the service (valgrind follows
# `callqa serve` into the callqa-service program it runs), its analysis host and the analysis
# children (and their forks) must all stay clean through a health check, a
# plain and a two-leg upload, the metrics and SIGTERM. A child with a valgrind error exits 9,
# which the service answers as 500, so every answer must be 200.
#   usage: valgrind_serve.sh BUILD/callqa CORPUS_DIR      (CALLQA_MODEL_DIR as for the tests)
set -u
CQ=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=$((30000 + $$ % 20000))
U=http://127.0.0.1:$P
sox "$2/calls/call01_normal.wav" "$T/short.wav" trim 5 3
timeout 900 valgrind -q --trace-children=yes --error-exitcode=9 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect \
    "$CQ" serve --listen "127.0.0.1:$P" --no-auth --db "$T/db" 2> "$T/log" &
S=$!
for _ in $(seq 1 120); do curl -s -o /dev/null "$U/health" && break; sleep 1; done
codes="$(curl -s -o /dev/null -w '%{http_code}' "$U/health")"
codes="$codes $(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "@$T/short.wav" "$U/analyze?name=s.wav")"
codes="$codes $(curl -s -o /dev/null -w '%{http_code}' -F "in=@$T/short.wav" -F "out=@$T/short.wav" "$U/analyze?name=legs.wav")"
codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$U/metrics")"
kill -TERM "$S"
wait "$S"
rc=$?
if [ "$codes" != "200 200 200 200" ] || [ "$rc" != 0 ] || grep -q '^==[0-9]*==' "$T/log"; then
    echo "valgrind_serve: answers '$codes', exit $rc"
    grep -v '"route"' "$T/log" | head -60
    exit 1
fi
echo "valgrind_serve: clean (answers $codes, exit 0)"
