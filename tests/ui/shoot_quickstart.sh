#!/bin/sh
# shoot_quickstart.sh - the README's screenshot (docs/screenshots/quickstart.png): the calls list
# of the store `scripts/quickstart` made (run it first: scripts/quickstart --no-serve), served by
# `callqa serve` and photographed in Chromium.
#   usage: tests/ui/shoot_quickstart.sh [OUT_DIR]      (default docs/screenshots)
# Needs node with ui/'s packages (playwright-core) and Chromium.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/docs/screenshots}
. "$HERE/../lib.sh"
DB=$ROOT/build/quickstart/callqa.db
[ -f "$DB" ] || { echo "shoot_quickstart: no $DB: run scripts/quickstart --no-serve first" >&2; exit 1; }
PORT=$(free_port)
"$ROOT/build/callqa" serve --db "$DB" --no-auth --listen "127.0.0.1:$PORT" > /dev/null 2>&1 &
SERVE=$!
trap 'kill $SERVE 2> /dev/null' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
mkdir -p "$OUT"
node "$HERE/shoot_quickstart.mjs" "http://127.0.0.1:$PORT" "$OUT"
echo "shoot_quickstart: $OUT/quickstart.png"
