# tests/lib.sh - shared by the shell tests: TAP-style checks, and waits for the servers they start.
#   . "$(dirname "$0")/../lib.sh"; check NAME COMMAND...; ...; finish WHAT
fails=0
n=0
check() { # check NAME CONDITION...: one "ok N - NAME" or "not ok N - NAME" line
    n=$((n + 1))
    name=$1
    shift
    if "$@"; then echo "ok $n - $name"; else
        echo "not ok $n - $name"
        fails=$((fails + 1))
        low_disk_note
    fi
}
low_disk_note() { # a note when the temporary folder's disk is nearly full (a cause of failures
    # that says nothing of the code: files written short)
    ldn=$(df -Pk "${TMPDIR:-/tmp}" 2> /dev/null | awk 'NR == 2 {print $4}')
    [ -n "$ldn" ] && [ "$ldn" -lt 1048576 ] &&
        echo "# note: $((ldn / 1024)) MB free on the disk of ${TMPDIR:-/tmp}"
    return 0
}
# PYNP: Debian's python3, which has numpy and scipy (python3-numpy python3-scipy, scripts/deps);
# the python3 first on the PATH may be another interpreter without them.
PYNP=/usr/bin/python3
need_numpy() { # need_numpy: fails the test at once, saying why, when $PYNP lacks numpy or scipy
    "$PYNP" -c 'import numpy, scipy.signal' 2> /dev/null && return 0
    echo "FAIL: $PYNP has no numpy or scipy (Debian python3-numpy python3-scipy; scripts/deps)"
    exit 1
}
free_port() { # a port on 127.0.0.1 that is free now, below the ephemeral range (tests/lib/cqport.py)
    python3 "${CALLQA_TEST_LIB:-tests/lib}/cqport.py"
}
finish() { # finish WHAT: the plan line and the exit status
    echo "1..$n"
    [ $fails -eq 0 ] || { echo "$fails of $n $1 checks failed"; exit 1; }
    echo "all $n $1 checks passed"
}
stop_wait() { # stop_wait PID NAME: SIGTERM, then up to 60 s for it to end; a process still
    # there is killed and counted as a failed check (never a test that hangs on its own harness)
    kill "$1" 2> /dev/null
    if wait_until 60 ended "$1"; then
        wait "$1" 2> /dev/null
        return 0
    fi
    echo "not ok - $2 (pid $1) did not stop within 60 s of SIGTERM: killed"
    fails=$((fails + 1))
    kill -KILL "$1" 2> /dev/null
    wait "$1" 2> /dev/null
    return 1
}
wait_until() { # wait_until HANG_SEC COMMAND...: 0 as soon as COMMAND succeeds (tried every 0.1 s),
    # 1 once HANG_SEC seconds have passed without it. HANG_SEC only tells a hang from a slow
    # machine: the caller says what it waited for when it fails
    wu_end=$(($(date +%s) + $1))
    shift
    while ! "$@"; do
        [ "$(date +%s)" -lt "$wu_end" ] || return 1
        sleep 0.1
    done
}
ended() { # ended PID: the process has ended (a child of this shell is reaped as it ends)
    ! kill -0 "$1" 2> /dev/null
}
serving() { # serving PID URL: 0 once URL answers HTTP (curl -g: an IPv6 literal may be in it); 1 at
    # once when PID has ended, or after 120 s
    wait_until 120 serving_or_gone "$1" "$2" && curl -sg -o /dev/null "$2"
}
serving_or_gone() { curl -sg -o /dev/null "$2" || ended "$1"; }
wait_port() { # wait_port PORTFILE ERRFILE: until a fake server started in the background has
    # written its port (python3 can take seconds to start on a loaded machine; 120 s at most),
    # or the test stops with the server's error output
    wait_until 120 test -s "$1" && return 0
    echo "the fake did not start: $(cat "$2")"
    exit 1
}
wait_http() { # wait_http PORT: until something answers HTTP on 127.0.0.1:PORT (python3 can take
    # seconds to start on a loaded machine; 120 s at most); 1 if nothing did
    wait_until 120 curl -s -o /dev/null "http://127.0.0.1:$1/"
}
models_without() { # models_without SHARED_MODELS DIR NAME...: DIR made to hold a link to every
    # model of the shared folder but the NAMEs (the shared folder may hold VADER's lexicon, which
    # the tests of sentiment without it, or with the reference package's, leave out); prints DIR
    mw_src=$1 mw_dir=$2
    shift 2
    mkdir -p "$mw_dir"
    for m in "$mw_src"/*; do
        case " $* " in *" $(basename "$m") "*) continue ;; esac
        ln -sfn "$m" "$mw_dir/$(basename "$m")"
    done
    echo "$mw_dir"
}
