#!/bin/sh
# test_fetch_models.sh - scripts/fetch-models --from DIR for DNSMOS (no network): the files
# installed with LICENSE and ATTRIBUTION.txt beside them, a second run installing nothing, a
# file with the wrong sha256 refused, and the script's pins equal to the shared folder's
# ATTRIBUTION.txt. (The download from GitHub at the pinned commit cannot run here.)
#   test_fetch_models.sh SOURCE_DIR SHARED_DIR        exit 77 (skip) without the shared models
set -u
SRC=$1
SHARED=$2
M=$SHARED/models/dnsmos
[ -f "$M/sig_bak_ovr.onnx" ] || { echo "SKIP: $M is missing"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
bad=0
check() { # check NAME COMMAND...
    n=$((n + 1))
    name=$1
    shift
    if "$@"; then echo "ok $n - $name"; else echo "not ok $n - $name"; bad=$((bad + 1)); fi
}
sh "$SRC/scripts/fetch-models" --from "$M" "$T/m" > "$T/out1" 2>&1
check "installed from the folder (status 0)" test $? = 0
for f in sig_bak_ovr.onnx model_v8.onnx LICENSE ATTRIBUTION.txt; do
    check "  dnsmos/$f is there" test -s "$T/m/dnsmos/$f"
done
check "  the files are the folder's" cmp -s "$M/sig_bak_ovr.onnx" "$T/m/dnsmos/sig_bak_ovr.onnx"
check "  ATTRIBUTION names the commit and CC BY 4.0" \
    grep -q "591184a9fcb2cbdec02520fed81a32bbbf9d73ff" "$T/m/dnsmos/ATTRIBUTION.txt"
sh "$SRC/scripts/fetch-models" --from "$M" "$T/m" > "$T/out2" 2>&1
check "a second run installs nothing" grep -q "already in" "$T/out2"
mkdir -p "$T/bad"
cp "$M/model_v8.onnx" "$M/LICENSE" "$T/bad/"
head -c 4096 "$M/sig_bak_ovr.onnx" > "$T/bad/sig_bak_ovr.onnx"
sh "$SRC/scripts/fetch-models" --from "$T/bad" "$T/b" > "$T/out3" 2>&1
check "a truncated file is refused (status 1)" test $? = 1
check "  and not installed" test ! -e "$T/b/dnsmos/sig_bak_ovr.onnx"
check "  saying so" grep -q "wrong sha256" "$T/out3"
for f in sig_bak_ovr.onnx model_v8.onnx; do
    pin=$(grep " $f" "$M/ATTRIBUTION.txt" | grep -o '^[0-9a-f]\{64\}')
    check "the pin of $f is ATTRIBUTION.txt's" grep -q "$pin" "$SRC/scripts/fetch-models"
done
echo "1..$n"
[ $bad = 0 ] || { echo "$bad of $n fetch-models checks failed"; exit 1; }
echo "all $n fetch-models checks passed"
