#!/bin/sh
# test_deb.sh - the Debian package's life on this machine (docs/install.md): cmake --install into a
# staging folder (the units run the prefix's callqa; an edited callqa.conf is kept), then two
# packages made by cpack from the build directory's install tree, the previous version
# (VERSION~prev, with a changed conffile) and the current one;
#   install the previous (apt-get install ./callqa_*.deb): the user callqa, the files, the man page from the help text,
#     the conffiles, /etc/callqa/callqa.conf read by callqa, the state directories, `callqa
#     version`, the units (systemd-analyze verify where it is installed);
#   edit the conffile, then upgrade (apt-get install ./callqa_*.deb, --force-confold): the edit
#     is kept, the new file is beside it, the state is kept; `callqa analyze` from /usr/bin on the
#     sample call;
#   remove: the programs go, the settings stay; purge: the settings, the state and the logs go,
#     the units' state too, no file of the package is left (the user stays: docs/install.md);
#   the user made without systemd-sysusers (adduser), and without adduser either (useradd);
#   lintian on the current package: no E: line.
# It installs and removes a package and a system user: it needs root (CI runs as root). Without
# root, or with callqa already installed here, it is skipped (77), or fails in CI (CI=1). The
# machine is left as it was: purge, and the user removed when the test created it, also on
# failure.
#   usage: test_deb.sh SOURCE_DIR BUILD_DIR
set -u
SRC=$1
B=$2
. "$SRC/tests/lib.sh"

skip() { # skip REASON: 77, or a failure in CI
    if [ -n "${CI:-}" ]; then
        echo "FAIL (CI): $1"
        exit 1
    fi
    echo "SKIP: $1"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "the package test installs a package and a user: it needs root"
for p in dpkg dpkg-deb cpack lintian dpkg-shlibdeps; do
    command -v "$p" > /dev/null || skip "$p is missing (scripts/deps installs it)"
done
[ -f "$B/CPackConfig.cmake" ] || skip "$B is not a configured build directory"
st=$(dpkg-query -W -f='${Status}' callqa 2> /dev/null || true)
case "$st" in
*installed* | *config-files*) skip "a callqa package is installed here ($st): not touching it" ;;
esac

T=$(mktemp -d)
USER_BEFORE=0
getent passwd callqa > /dev/null && USER_BEFORE=1
cleanup() {
    if dpkg-query -W callqa > /dev/null 2>&1; then
        dpkg --purge callqa > /dev/null 2>&1 || echo "cleanup: dpkg --purge callqa failed"
    fi
    if [ $USER_BEFORE -eq 0 ] && getent passwd callqa > /dev/null; then
        userdel callqa 2> /dev/null || echo "cleanup: userdel callqa failed"
    fi
    if [ $USER_BEFORE -eq 0 ] && getent group callqa > /dev/null; then
        groupdel callqa 2> /dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# cmake --install, staged (DESTDIR) under another prefix: the units run that prefix's callqa, and
# an edited callqa.conf is kept when installing again
S=$T/stage
if DESTDIR="$S" cmake --install "$B" --prefix /opt/callqa > "$T/install-tree.log" 2>&1; then
    check "cmake --install: the programs, man pages, copyright under the prefix" sh -c "
        [ -x '$S/opt/callqa/bin/callqa' ] && [ -x '$S/opt/callqa/bin/callqa-service' ] &&
        [ -f '$S/opt/callqa/share/man/man1/callqa.1.gz' ] && [ -f '$S/opt/callqa/share/doc/callqa/copyright' ]"
    check "cmake --install: /etc/callqa/callqa.conf, logrotate, sysusers.d, the units" sh -c "
        [ -f '$S/etc/callqa/callqa.conf' ] && [ -f '$S/etc/logrotate.d/callqa' ] &&
        [ -f '$S/usr/lib/sysusers.d/callqa.conf' ] && [ -f '$S/lib/systemd/system/callqa-ingest.service' ]"
    check "cmake --install: the units run the prefix's callqa" sh -c "
        grep -q '^ExecStart=/opt/callqa/bin/callqa serve ' '$S/lib/systemd/system/callqa.service' &&
        grep -q '^ExecStart=/opt/callqa/bin/callqa worker ' '$S/lib/systemd/system/callqa-worker.service' &&
        grep -q '^ExecStart=/opt/callqa/bin/callqa ingest ' '$S/lib/systemd/system/callqa-ingest.service'"
    echo "# edited" >> "$S/etc/callqa/callqa.conf"
    DESTDIR="$S" cmake --install "$B" --prefix /opt/callqa > "$T/install-tree2.log" 2>&1
    check "cmake --install again: the edited callqa.conf is kept, the new one is callqa.conf.dist" sh -c "
        grep -q '^# edited' '$S/etc/callqa/callqa.conf' && [ -f '$S/etc/callqa/callqa.conf.dist' ] &&
        ! grep -q '^# edited' '$S/etc/callqa/callqa.conf.dist'"
else
    cat "$T/install-tree.log"
    check "DESTDIR=... cmake --install" false
fi

VER=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$B/CPackConfig.cmake")
REL=$(sed -n 's/^set(CPACK_DEBIAN_PACKAGE_RELEASE "\(.*\)")$/\1/p' "$B/CPackConfig.cmake")
PREV="$VER~prev"
echo "# packages $PREV-$REL and $VER-$REL from $B"
t0=$(date +%s)
(cd "$B" && cpack -G DEB -B "$T/prev" -D CPACK_PACKAGE_VERSION="$PREV") > "$T/cpack-prev.log" 2>&1 ||
    { cat "$T/cpack-prev.log"; echo "not ok - cpack of $PREV"; exit 1; }
(cd "$B" && cpack -G DEB -B "$T/cur") > "$T/cpack-cur.log" 2>&1 ||
    { cat "$T/cpack-cur.log"; echo "not ok - cpack of $VER"; exit 1; }
echo "# cpack twice: $(($(date +%s) - t0)) s"
PREV_DEB=$(ls "$T"/prev/callqa_*.deb)
CUR_DEB=$(ls "$T"/cur/callqa_*.deb)

# the previous version's callqa.conf differs from the current one's, as a new release's may: the
# upgrade then meets a conffile changed both here and in the package
dpkg-deb -R "$PREV_DEB" "$T/prev-tree"
echo "# the previous version's line" >> "$T/prev-tree/etc/callqa/callqa.conf"
(cd "$T/prev-tree" && find etc lib usr -type f | sort | xargs md5sum > DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$T/prev-tree" "$PREV_DEB" > /dev/null

check "the package's version is $VER-$REL" [ "$(dpkg-deb -f "$CUR_DEB" Version)" = "$VER-$REL" ]
check "the previous package's is older" dpkg --compare-versions "$PREV-$REL" lt "$VER-$REL"
check "the package's binaries are stripped (no .symtab)" sh -c "
    dpkg-deb -x '$CUR_DEB' '$T/cur-tree' &&
    ! readelf -S '$T/cur-tree/usr/bin/callqa' | grep -q symtab &&
    ! readelf -S '$T/cur-tree/usr/bin/callqa-service' | grep -q symtab"
check "the conffiles are marked" sh -c "dpkg-deb -e '$CUR_DEB' '$T/ctl' &&
    grep -qx /etc/callqa/callqa.conf '$T/ctl/conffiles' && grep -qx /etc/logrotate.d/callqa '$T/ctl/conffiles'"
check "Depends has the libraries callqa links (dpkg-shlibdeps) and libsndfile1 (loaded at run time)" \
    sh -c "dpkg-deb -f '$CUR_DEB' Depends | grep -q 'libjansson4' &&
           dpkg-deb -f '$CUR_DEB' Depends | grep -q 'libmicrohttpd12' &&
           dpkg-deb -f '$CUR_DEB' Depends | grep -q 'libsndfile1'"
check "Recommends libsox3 (DNSMOS reference mode loads it at run time), which Depends lacks" \
    sh -c "dpkg-deb -f '$CUR_DEB' Recommends | grep -q 'libsox3' &&
           ! dpkg-deb -f '$CUR_DEB' Depends | grep -q 'libsox3'"

# ---- install the previous version ----------------------------------------------------------------
# as an administrator installs a downloaded package: apt resolves its dependencies
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "$PREV_DEB" < /dev/null > "$T/install.log" 2>&1; then
    cat "$T/install.log"
    echo "not ok - apt-get install $PREV_DEB"
    exit 1
fi
check "installed: $PREV-$REL" [ "$(dpkg-query -W -f='${Status} ${Version}' callqa)" = "install ok installed $PREV-$REL" ]
check "the user callqa: a system user, home /var/lib/callqa, no login shell" sh -c '
    e=$(getent passwd callqa) && uid=$(echo "$e" | cut -d: -f3) && [ "$uid" -lt 1000 ] &&
    [ "$(echo "$e" | cut -d: -f6)" = /var/lib/callqa ] &&
    case "$(echo "$e" | cut -d: -f7)" in */nologin | */false) true ;; *) false ;; esac'
check "the group callqa" sh -c "getent group callqa > /dev/null"
for d in /var/lib/callqa /var/log/callqa; do
    check "$d: callqa:callqa, 0750" [ "$(stat -c '%U:%G %a' $d)" = "callqa:callqa 750" ]
done
for f in /usr/bin/callqa /usr/bin/callqa-service; do
    check "$f is installed, executable" [ -x "$f" ]
done
# dpkg's path-exclude (minimal images leave out /usr/share/man and /usr/share/doc): those files
# are then read from the package
excludes=$(cat /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* 2> /dev/null | grep -E '^path-(ex|in)clude' || true)
where() { # where FILE: FILE as installed, or its copy in the package when dpkg leaves it out
    ex=0
    # shellcheck disable=SC2254 # the rules are globs
    for rule in $(echo "$excludes" | tr ' ' '='); do
        case "$1" in
        ${rule#path-exclude=}) [ "${rule#path-exclude=}" != "$rule" ] && ex=1 ;;
        esac
        case "$1" in
        ${rule#path-include=}) [ "${rule#path-include=}" != "$rule" ] && ex=0 ;;
        esac
    done
    if [ $ex -eq 1 ]; then echo "$T/cur-tree$1"; else echo "$1"; fi
}
for f in /etc/callqa/callqa.conf /etc/logrotate.d/callqa /usr/lib/sysusers.d/callqa.conf \
    /lib/systemd/system/callqa.service /lib/systemd/system/callqa-worker.service \
    /lib/systemd/system/callqa-ingest.service /usr/share/doc/callqa/copyright \
    /usr/share/doc/callqa/changelog.Debian.gz /usr/share/man/man1/callqa.1.gz \
    /usr/share/man/man1/callqa-service.1.gz; do
    w=$(where "$f")
    [ "$w" = "$f" ] || echo "# $f: left out by dpkg's path-exclude here; the package's copy is read"
    check "$f is installed" [ -f "$w" ]
done
MANPAGE=$(where /usr/share/man/man1/callqa.1.gz)
check "callqa version: callqa $VER" [ "$(/usr/bin/callqa version)" = "callqa $VER" ]
check "the conffiles are known to dpkg" sh -c "dpkg-query -W -f='\${Conffiles}' callqa | grep -q ' /etc/callqa/callqa.conf ' &&
    dpkg-query -W -f='\${Conffiles}' callqa | grep -q ' /etc/logrotate.d/callqa '"
check "callqa serve reads /etc/callqa/callqa.conf" sh -c \
    "/usr/bin/callqa serve --config /etc/callqa/callqa.conf --list-routes | grep -q '^GET /health'"
check "the units run /usr/bin/callqa as callqa" sh -c "
    for u in callqa callqa-worker callqa-ingest; do
        grep -q '^ExecStart=/usr/bin/callqa ' /lib/systemd/system/\$u.service &&
        grep -qx 'User=callqa' /lib/systemd/system/\$u.service || exit 1
    done"
if command -v systemd-analyze > /dev/null; then
    check "systemd-analyze verify the units" systemd-analyze verify /lib/systemd/system/callqa.service \
        /lib/systemd/system/callqa-worker.service /lib/systemd/system/callqa-ingest.service
else
    echo "# systemd-analyze is not installed: the units are not verified"
fi
if command -v logrotate > /dev/null; then
    check "logrotate reads /etc/logrotate.d/callqa" sh -c "logrotate -d /etc/logrotate.d/callqa > '$T/logrotate.log' 2>&1"
fi
# the man page: every flag each help text prints is in it (one source, two forms)
if command -v man > /dev/null; then
    MANWIDTH=200 man -l "$MANPAGE" 2> "$T/man.err" | col -b > "$T/man.txt"
else
    zcat "$MANPAGE" | sed 's/\\-/-/g' > "$T/man.txt"
fi
check "man callqa: the page renders without warnings" sh -c "[ -s '$T/man.txt' ] && [ ! -s '$T/man.err' ]"
check "man callqa: its title and version" grep -q "callqa $VER" "$T/man.txt"
for cmd in analyze serve worker ingest; do
    [ $cmd = analyze ] && cmd="" # callqa --help
    # shellcheck disable=SC2086 # cmd is one word or none
    /usr/bin/callqa $cmd --help > "$T/help.txt" 2>&1
    check "man callqa: every flag of callqa${cmd:+ $cmd} --help" sh -c "
        for f in \$(grep -o -- '--[a-z][a-z-]*' '$T/help.txt' | sort -u); do
            grep -q -- \"\$f\" '$T/man.txt' || { echo \"missing: \$f\"; exit 1; }
        done"
done

# ---- local changes, then the upgrade ---------------------------------------------------------------
echo "allowed_hosts = callqa.example.com # local edit" >> /etc/callqa/callqa.conf
install -m 0600 -o callqa -g callqa /dev/null /etc/callqa/token
echo "0123456789abcdef0123" > /etc/callqa/token
echo "state" > /var/lib/callqa/kept
if ! apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold \
    "$CUR_DEB" < /dev/null > "$T/upgrade.log" 2>&1; then
    cat "$T/upgrade.log"
    echo "not ok - apt-get install (the upgrade) $CUR_DEB"
    exit 1
fi
check "upgraded: $VER-$REL" [ "$(dpkg-query -W -f='${Status} ${Version}' callqa)" = "install ok installed $VER-$REL" ]
check "the local edit of callqa.conf is kept" grep -q 'local edit' /etc/callqa/callqa.conf
check "the package's new callqa.conf is beside it (.dpkg-dist)" sh -c \
    "[ -f /etc/callqa/callqa.conf.dpkg-dist ] && ! grep -q 'local edit' /etc/callqa/callqa.conf.dpkg-dist"
check "callqa serve reads the edited callqa.conf" sh -c \
    "/usr/bin/callqa serve --config /etc/callqa/callqa.conf --list-routes > /dev/null"
check "the token file and the state are kept" sh -c \
    "[ \"\$(stat -c '%U %a' /etc/callqa/token)\" = 'callqa 600' ] && [ -f /var/lib/callqa/kept ]"
check "the user is the same one" [ "$(getent passwd callqa | cut -d: -f3)" = "$(stat -c %u /var/lib/callqa)" ]
check "callqa analyze from /usr/bin on the sample call: its report" sh -c "
    cd '$T' && /usr/bin/callqa analyze --json -q '$SRC/samples/sample-call.wav' > '$T/sample.json' &&
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if r[\"duration\"] > 30 and r[\"has_legs\"] else 1)' '$T/sample.json'"

# ---- remove, then purge ------------------------------------------------------------------------------
dpkg --remove callqa > "$T/remove.log" 2>&1 || { cat "$T/remove.log"; echo "not ok - dpkg --remove"; }
check "removed: the settings stay (config-files)" [ "$(dpkg-query -W -f='${Status}' callqa)" = "deinstall ok config-files" ]
check "removed: the programs, man pages and units are gone" sh -c "
    [ ! -e /usr/bin/callqa ] && [ ! -e /usr/bin/callqa-service ] &&
    [ ! -e /usr/share/man/man1/callqa.1.gz ] && [ ! -e /lib/systemd/system/callqa.service ]"
check "removed: /etc/callqa/callqa.conf, the token and the state stay" sh -c \
    "grep -q 'local edit' /etc/callqa/callqa.conf && [ -f /etc/callqa/token ] && [ -f /var/lib/callqa/kept ]"
dpkg --purge callqa > "$T/purge.log" 2>&1 || { cat "$T/purge.log"; echo "not ok - dpkg --purge"; }
check "purged: dpkg knows no callqa" sh -c "! dpkg-query -W -f='\${Status}' callqa 2> /dev/null | grep -q ok"
check "purged: /etc/callqa, /etc/logrotate.d/callqa, /var/lib/callqa and /var/log/callqa are gone" sh -c "
    [ ! -e /etc/callqa ] && [ ! -e /etc/logrotate.d/callqa ] && [ ! -e /var/lib/callqa ] &&
    [ ! -e /var/log/callqa ]"
check "purged: no unit state is left (masks, deb-systemd-helper's records)" sh -c "
    ! ls /etc/systemd/system/callqa*.service /var/lib/systemd/deb-systemd-helper-masked/callqa* \
         /var/lib/systemd/deb-systemd-helper-enabled/callqa* 2> /dev/null | grep -q ."
dpkg-deb -c "$CUR_DEB" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' > "$T/files"
check "purged: no file of the package is left ($(wc -l < "$T/files") files)" sh -c "
    [ -s '$T/files' ] && while read -r f; do [ ! -e \"\$f\" ] || { echo \"left: \$f\"; exit 1; }; done < '$T/files'"
check "purged: the system user is kept (docs/install.md)" sh -c "getent passwd callqa > /dev/null"

# ---- without systemd-sysusers ------------------------------------------------------------------------
# where systemd-sysusers fails (or is missing), postinst makes the user with adduser: a failing
# one first on the PATH, the user deleted first (the test made it)
if [ $USER_BEFORE -eq 0 ]; then
    userdel callqa 2> /dev/null
    getent group callqa > /dev/null && groupdel callqa
    mkdir -p "$T/fakebin"
    printf '#!/bin/sh\nexit 1\n' > "$T/fakebin/systemd-sysusers"
    chmod 0755 "$T/fakebin/systemd-sysusers"
    if PATH="$T/fakebin:$PATH" dpkg -i "$CUR_DEB" > "$T/install2.log" 2>&1; then
        # adduser's user has no comment (systemd-sysusers' and useradd's have one)
        check "systemd-sysusers failing: the user callqa is made all the same (adduser)" sh -c \
            "getent passwd callqa | grep -q '^callqa:x:[0-9]*:[0-9]*::/var/lib/callqa:/usr/sbin/nologin\$' &&
             getent group callqa > /dev/null"
        check "... and owns /var/lib/callqa" [ "$(stat -c '%U:%G' /var/lib/callqa)" = "callqa:callqa" ]
    else
        cat "$T/install2.log"
        check "dpkg -i with systemd-sysusers failing" false
    fi
    dpkg --purge callqa > "$T/purge2.log" 2>&1 || { cat "$T/purge2.log"; echo "not ok - dpkg --purge"; }
    # ... and without adduser either: the package's postinst run by itself, with a PATH of the
    # tools it may use but systemd-sysusers, adduser and deb-systemd-helper
    userdel callqa 2> /dev/null
    getent group callqa > /dev/null && groupdel callqa
    mkdir -p "$T/minbin"
    for tool in sh getent groupadd useradd install chown chmod dpkg-statoverride dpkg; do
        p=$(command -v $tool) && ln -sf "$p" "$T/minbin/$tool"
    done
    PATH="$T/minbin" sh "$T/ctl/postinst" configure > "$T/postinst3.log" 2>&1
    check "neither systemd-sysusers nor adduser: postinst makes the user with useradd" sh -c \
        "getent passwd callqa | grep -q '^callqa:x:[0-9]*:[0-9]*:callqa call-recording analysis:/var/lib/callqa:/usr/sbin/nologin\$' &&
         [ \"\$(stat -c '%U:%G %a' /var/lib/callqa)\" = 'callqa:callqa 750' ]" ||
        cat "$T/postinst3.log"
    rm -rf /var/lib/callqa /var/log/callqa
fi

# ---- lintian ---------------------------------------------------------------------------------------
lintian "$CUR_DEB" > "$T/lintian.txt" 2>&1
sed 's/^/# lintian: /' "$T/lintian.txt" | grep -v 'root privileges'
check "lintian: no error" sh -c "! grep -q '^E:' '$T/lintian.txt'"
echo "# $(($(date +%s) - t0)) s in all"
finish "package"
