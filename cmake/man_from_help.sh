#!/bin/sh
# man_from_help.sh - a man page made from the help text the programs print, so that the page and
# `--help` have one source (the commands' tables, src/config/cfg_cmds.c). Run by the build
# (CMakeLists.txt: callqa_man).
#   man_from_help.sh OUT.1 NAME SECTION VERSION "SUMMARY" TAIL [TITLE COMMAND...]...
# Each TITLE is followed by a command whose standard output is help text; "--" ends a command.
# The first one's text is the page's synopsis and description; each one after it is a subsection
# (.SS TITLE), and a TITLE "SECTION::TITLE" starts a section first (.SH SECTION: the commands
# of one heading of `callqa --help`). The help text's shapes become roff: "usage:" lines and
# the lines under them a synopsis; "  -x, --flag ARG  text" lines (and the deeper-indented lines
# after them) a tagged paragraph; a blank line a new paragraph; other lines text (a paragraph of
# their own after a tagged one); an "Example: callqa ..." line a line of its own. In the first
# text, a line "Heading:" is a subsection of the description and a line "  command ARGS  text"
# a tagged paragraph: `callqa --help`'s commands by task. TAIL (roff: the files, see also) ends
# the page.
set -eu
out=$1 name=$2 section=$3 version=$4 summary=$5 tail=$6
shift 6
tmp="$out.tmp"
upper=$(printf '%s' "$name" | tr 'a-z' 'A-Z')
{
    printf '.TH %s %s "" "%s %s" "User Commands"\n' "$upper" "$section" "$name" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$(printf '%s' "$name" | sed 's/-/\\-/g')" "$summary"
} > "$tmp"
first=1
while [ $# -gt 0 ]; do
    title=$1
    shift
    cmd=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        cmd="$cmd '$(printf '%s' "$1" | sed "s/'/'\\\\''/g")'"
        shift
    done
    [ $# -gt 0 ] && shift
    if [ $first -eq 1 ]; then
        printf '.SH SYNOPSIS\n' >> "$tmp"
    else
        case $title in
        *::*)
            printf '.SH %s\n' "$(printf '%s' "${title%%::*}" | sed 's/-/\\-/g')" >> "$tmp"
            title=${title#*::}
            ;;
        esac
        printf '.SS %s\n' "$(printf '%s' "$title" | sed 's/-/\\-/g')" >> "$tmp"
    fi
    text=$(eval "$cmd") || {
        echo "man_from_help.sh: $cmd failed" >&2
        rm -f "$tmp"
        exit 1
    }
    printf '%s\n' "$text" | awk -v first="$first" '
    function esc(s) {
        gsub(/\\/, "\\e", s)
        gsub(/-/, "\\-", s)
        if (s ~ /^[.\047]/) s = "\\&" s
        return s
    }
    function close_usage() { if (in_usage) { print ".fi"; in_usage = 0 } }
    # a tagged paragraph: TAG in bold, then REST (when there is any) as its text
    function tagged(tag, rest) {
        sub(/^ +/, "", rest)
        print ".TP"
        in_tp = 1
        print ".B " esc(tag)
        if (rest != "") print esc(rest)
    }
    BEGIN { in_usage = 0; seen_text = 0; in_tp = 0 }
    /^usage: / {
        sub(/^usage: /, "")
        if (!in_usage) { print ".nf"; in_usage = 1 }
        print esc($0)
        next
    }
    /^[ \t]*$/ {
        close_usage()
        if (first == 1 && !seen_text) { print ".SH DESCRIPTION"; seen_text = 1 } else print ".PP"
        in_tp = 0
        next
    }
    first == 1 && seen_text && /^[A-Z][^:]*:$/ {
        close_usage()
        s = $0
        sub(/:$/, "", s)
        print ".SS " esc(s)
        in_tp = 0
        next
    }
    first == 1 && seen_text && /^  [a-z]/ {
        s = $0
        sub(/^ +/, "", s)
        i = index(s, "  ")
        tagged(i > 0 ? substr(s, 1, i - 1) : s, i > 0 ? substr(s, i) : "")
        next
    }
    /^Example: / {
        close_usage()
        if (in_tp) { print ".PP"; in_tp = 0 }
        print ".br"
        print esc($0)
        print ".br"
        next
    }
    /^ {1,4}-/ {
        close_usage()
        s = $0
        sub(/^ +/, "", s)
        # the flag and its argument end at two spaces, else at the argument (a word in capitals)
        i = index(s, "  ")
        if (i > 0) { tag = substr(s, 1, i - 1); rest = substr(s, i) }
        else {
            n = split(s, w, " ")
            tag = w[1]; k = 2
            while (tag ~ /,$/ && k <= n) { tag = tag " " w[k]; k++ }
            if (k <= n && w[k] ~ /^[A-Z][A-Z0-9_.|=:\/-]*$/) { tag = tag " " w[k]; k++ }
            rest = ""
            for (; k <= n; k++) rest = rest " " w[k]
        }
        tagged(tag, rest)
        next
    }
    /^ {5,}[^ ]/ { s = $0; sub(/^ +/, "", s); print esc(s); next }
    {
        close_usage()
        s = $0
        sub(/^ +/, "", s)
        if (first == 1 && !seen_text) { print ".SH DESCRIPTION"; seen_text = 1 }
        if (in_tp) { print ".PP"; in_tp = 0 }
        print esc(s)
    }
    END { close_usage() }' >> "$tmp"
    first=0
done
cat "$tail" >> "$tmp"
mv "$tmp" "$out"
