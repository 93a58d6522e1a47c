#!/bin/sh
# test_deps.sh - scripts/deps on a machine whose node and npm did not come from Debian
# (NodeSource, nvm): neither Debian's nodejs nor its npm is asked for, with or without --models
# (Debian's npm depends on Debian's nodejs: apt refused it as "held broken packages"); without a
# node, nodejs and npm are. `scripts/deps --print` lists what it would install, installing nothing.
#   usage: test_deps.sh SOURCE_DIR
. "$(dirname "$0")/../lib.sh"
SRC=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v dpkg-query > /dev/null || {
    echo "1..0 # SKIP not a Debian system (no dpkg-query)"
    exit 77
}
mkdir -p "$T/nodesource" "$T/bare"
for tool in node npm; do # a node and npm of their own, first on the PATH
    printf '#!/bin/sh\necho v20.0.0\n' > "$T/nodesource/$tool"
    chmod +x "$T/nodesource/$tool"
done
# the tools scripts/deps itself runs, and nothing else: no node, no npm
for tool in sh dpkg-query grep id; do
    ln -s "$(command -v $tool)" "$T/bare/$tool"
done
PATH="$T/nodesource:$T/bare" sh "$SRC/scripts/deps" --print > "$T/base" 2> "$T/base.err"
PATH="$T/nodesource:$T/bare" sh "$SRC/scripts/deps" --models --print > "$T/models" 2> "$T/models.err"
PATH="$T/bare" sh "$SRC/scripts/deps" --models --print > "$T/none" 2> "$T/none.err"
echo "# node elsewhere: [$(cat "$T/models")]; no node: [$(cat "$T/none")]"
words() { tr ' ' '\n' < "$1" | grep -qx "$2"; }
check "a node of its own: no Debian nodejs or npm asked for" sh -c \
    "! grep -qwE 'nodejs|npm' '$T/base'"
check "a node and npm of their own, --models: no Debian nodejs or npm asked for" sh -c \
    "! grep -qwE 'nodejs|npm' '$T/models' && [ ! -s '$T/models.err' ]"
check "no node: nodejs and npm asked for (or Debian's are installed already)" sh -c \
    "{ grep -qw nodejs '$T/none' || dpkg-query -W -f='\${Status}' nodejs 2> /dev/null |
       grep -q 'install ok installed'; } &&
     { grep -qw npm '$T/none' || dpkg-query -W -f='\${Status}' npm 2> /dev/null |
       grep -q 'install ok installed'; }"
check "--print installs nothing and says nothing on stderr" sh -c "[ ! -s '$T/base.err' ]"
finish "deps"
