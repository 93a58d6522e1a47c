# tests/lib.sh - shared by the shell tests: TAP-style checks.
#   . "$(dirname "$0")/../lib.sh"; check NAME COMMAND...; ...; finish WHAT
fails=0
n=0
check() { # check NAME CONDITION...: one "ok N - NAME" or "not ok N - NAME" line
    n=$((n + 1))
    name=$1
    shift
    if "$@"; then echo "ok $n - $name"; else echo "not ok $n - $name"; fails=$((fails + 1)); fi
}
finish() { # finish WHAT: the plan line and the exit status
    echo "1..$n"
    [ $fails -eq 0 ] || { echo "$fails of $n $1 checks failed"; exit 1; }
    echo "all $n $1 checks passed"
}
