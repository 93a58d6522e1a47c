#!/bin/sh
# test_dashboard.sh - the dashboard's serving and sessions, over real HTTP (curl) against
# `callqa serve`: the embedded files (equal to the build's ui-dist), their ETags and 304s, the
# security headers on every answer; the token exchanged for a session cookie (its flags), the
# cookie on API routes and the event stream, the bearer token beside it, CSRF on unsafe methods,
# Origin checks, an expired, a tampered and a forged cookie, sessions across a restart and their
# end with a new token, --no-auth; a second service on the same port refused, a restart right
# after a stop binding.
#   usage: test_dashboard.sh BUILD/callqa
set -u
CQ=$1
B=$(dirname "$CQ")
T=$(mktemp -d)
SVC=""
cleanup() {
    [ -n "$SVC" ] && kill "$SVC" 2>/dev/null && wait "$SVC" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
TOKEN=a-test-token-0123456789
printf '%s\n' "$TOKEN" > "$T/token"
chmod 0600 "$T/token"
mkdir -p "$T/models" # no models: nothing here analyses a call
AP=$(free_port)
U="http://127.0.0.1:$AP"

start_service() { # start_service LOG [args...]: in the background, until /health answers
    log=$1
    shift
    CALLQA_MODEL_DIR="$T/models" "$CQ" serve --listen "127.0.0.1:$AP" --db "$T/callqa.db" "$@" \
        > /dev/null 2> "$log" &
    SVC=$!
    serving "$SVC" "$U/health"
}
stop_service() { # SIGTERM: exit 0 (under ASan, no leak either)
    kill -TERM "$SVC"
    wait "$SVC"
    rc=$?
    SVC=""
    check "SIGTERM: the service exits 0" [ "$rc" = 0 ]
}
req() { # req URL [curl args...]: the status; body in $T/body, headers in $T/headers
    u=$1
    shift
    rm -f "$T/body" # curl writes none when there is no body
    curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$u"
}
header() { # header NAME: its value in $T/headers (no CR)
    tr -d '\r' < "$T/headers" | sed -n "s/^$1: //Ip" | head -n 1
}
code_is() { # code_is CODE: the JSON error's code in $T/body
    python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["code"] == sys.argv[2]' \
        "$T/body" "$1"
}
jget() { # jget EXPR: a Python expression on d, the JSON of $T/body
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$T/body" "$1"
}
CSP="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
security_headers() { # the headers every answer carries
    [ "$(header Content-Security-Policy)" = "$CSP" ] &&
        [ "$(header X-Content-Type-Options)" = nosniff ] &&
        [ "$(header Referrer-Policy)" = no-referrer ] && [ "$(header X-Frame-Options)" = DENY ]
}

check "the service starts with a token" start_service "$T/serve1.log" --token-file "$T/token"

# ---- the files ----
s=$(req "$U/")
check "GET /: 200 without a token" [ "$s" = 200 ]
check "GET /: the security headers" security_headers
if [ -d "$B/ui-dist" ]; then
    echo "# the dashboard is built in ($B/ui-dist)"
    check "GET /: index.html as built, text/html" sh -c "cmp -s '$T/body' '$B/ui-dist/index.html' && [ \"\$(tr -d '\r' < '$T/headers' | sed -n 's/^Content-Type: //Ip')\" = 'text/html; charset=utf-8' ]"
    check "GET /: Cache-Control no-cache and an ETag" sh -c "grep -qi '^Cache-Control: no-cache' '$T/headers' && grep -qi '^ETag: \"[0-9a-f]\{32\}\"' '$T/headers'"
    ETAG=$(header ETag)
    s=$(req "$U/" -H "If-None-Match: $ETAG")
    check "GET / with If-None-Match its ETag: 304, no body, the headers" sh -c "[ $s = 304 ] && [ ! -s '$T/body' ] && grep -qi '^ETag: ' '$T/headers'"
    check "... and the security headers on the 304" security_headers
    s=$(req "$U/" -H "If-None-Match: \"0123\", W/$ETAG")
    check "GET / with a list holding its weak ETag: 304" [ "$s" = 304 ]
    s=$(req "$U/" -H 'If-None-Match: "0123456789abcdef0123456789abcdef"')
    check "GET / with another ETag: 200" [ "$s" = 200 ]
    s=$(req "$U/" -I)
    check "HEAD /: 200, the ETag, the length, no body" sh -c "[ $s = 200 ] && [ \"\$(tr -d '\r' < '$T/headers' | sed -n 's/^ETag: //Ip')\" = '$ETAG' ] && grep -qi '^Content-Length: $(wc -c < "$B/ui-dist/index.html")' '$T/headers' && ! grep -qi doctype '$T/body'"
    for f in app.js app.css; do
        s=$(req "$U/assets/$f")
        check "GET /assets/$f: 200, the built file" sh -c "[ $s = 200 ] && cmp -s '$T/body' '$B/ui-dist/$f'"
        check "GET /assets/$f: its type, no-cache, the security headers" sh -c "grep -qi '^Content-Type: text/$( [ $f = app.js ] && echo javascript || echo css); charset=utf-8' '$T/headers' && grep -qi '^Cache-Control: no-cache' '$T/headers'" 
        check "GET /assets/$f: the security headers" security_headers
        e=$(header ETag)
        s=$(req "$U/assets/$f" -H "If-None-Match: $e")
        check "GET /assets/$f again with its ETag: 304" [ "$s" = 304 ]
    done
    check "the three ETags differ" sh -c "[ \"\$(curl -sI '$U/' '$U/assets/app.js' '$U/assets/app.css' | tr -d '\r' | sed -n 's/^ETag: //Ip' | sort -u | wc -l)\" = 3 ]"
else
    echo "# the dashboard is not built in (CQ_DASHBOARD OFF)"
    check "GET /: the plain page says the dashboard was not built" grep -q 'dashboard was not built' "$T/body"
fi
for p in /assets/index.html /assets/app.js.map /assets/x.js; do
    s=$(req "$U$p")
    check "GET $p: 404 without a token" sh -c "[ $s = 404 ] && grep -q not_found '$T/body'"
done
for p in /assets/..%2fapp.js /assets/../assets/app.js /assets/app.js/; do
    s=$(req "$U$p" --path-as-is)
    check "GET $p: not served ($s)" sh -c "[ $s = 404 ] || [ $s = 401 ]"
done

# ---- the API's answers carry the headers too ----
s=$(req "$U/health")
check "GET /health: 200 with the security headers" sh -c "[ $s = 200 ]" 
check "... the security headers" security_headers
s=$(req "$U/calls")
check "no token, no cookie: 401 unauthorized" sh -c "[ $s = 401 ] && grep -q '\"code\":\"unauthorized\"' '$T/body'"
check "... the 401 carries the security headers" security_headers

# ---- logging in ----
s=$(req "$U/api/session")
check "GET /api/session, nothing sent: not authenticated, reason missing" sh -c "[ $s = 200 ] && [ \"\$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[\"auth_required\"], d[\"authenticated\"], d[\"expires\"], d[\"csrf\"], d[\"reason\"])' '$T/body')\" = 'True False None None missing' ]"
s=$(req "$U/api/session" -X POST -H 'Content-Type: application/json' -d '{"token":"wrong-token-0123456789"}')
check "POST /api/session, a wrong token: 401 unauthorized, no cookie" sh -c "[ $s = 401 ] && ! grep -qi '^Set-Cookie' '$T/headers'" 
check "... code unauthorized" code_is unauthorized
s=$(req "$U/api/session" -X POST -d '{}')
check "POST /api/session, no token: 401 unauthorized" sh -c "[ $s = 401 ] && ! grep -qi '^Set-Cookie' '$T/headers'"
s=$(req "$U/api/session" -X POST -d "{\"token\":\"${TOKEN}x\"}")
check "POST /api/session, the token and one more byte: 401" [ "$s" = 401 ]
s=$(req "$U/api/session" -X POST -d 'token=a-test-token')
check "POST /api/session, not JSON: 400 bad_json" sh -c "[ $s = 400 ] && grep -q bad_json '$T/body'"
head -c 100000 /dev/zero | tr '\0' x > "$T/big"
s=$(req "$U/api/session" -X POST --data-binary @"$T/big")
check "POST /api/session, a 100 kB body: 413" [ "$s" = 413 ]
before=$(date +%s)
s=$(req "$U/api/session" -X POST -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\"}")
after=$(date +%s)
check "POST /api/session, the token: 200" [ "$s" = 200 ]
# expires: 8 h after the session was made, some time between the request and its answer
check "... authenticated, auth required, expires in 8 h, a 64-hex csrf, the shared token is admin" python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"authenticated", "auth_required", "expires", "csrf", "user", "role", "live_feed"}, d
assert d["live_feed"] is False, d
assert d["user"] == "token" and d["role"] == "admin", d
assert d["authenticated"] is True and d["auth_required"] is True
assert int(sys.argv[2]) + 28800 <= d["expires"] <= int(sys.argv[3]) + 28800 + 1, d["expires"]
assert re.fullmatch("[0-9a-f]{64}", d["csrf"])
' "$T/body" "$before" "$after"
CSRF=$(jget 'd["csrf"]')
SC=$(header Set-Cookie)
echo "# Set-Cookie: $SC"
check "the cookie: callqa_session=v1.<expiry>.<nonce>.<mac>; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800" \
    sh -c "echo '$SC' | grep -Eq '^callqa_session=v1\.[0-9]+\.[0-9a-f]{32}\.[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800$'"
CK=${SC%%;*}
s=$(req "$U/calls" -H "Cookie: $CK")
check "the cookie on an API route (GET /calls): 200" [ "$s" = 200 ]
s=$(req "$U/calls" -H "Cookie: theme=dark; $CK; other=\"1\"")
check "the cookie among others: 200" [ "$s" = 200 ]
s=$(req "$U/calls" -H "Authorization: Bearer $TOKEN")
check "the bearer token still works: 200" [ "$s" = 200 ]
s=$(req "$U/calls" -H "Authorization: Bearer wrong-token-0123456789" -H "Cookie: $CK")
check "a wrong bearer token is refused even with a cookie: 401" [ "$s" = 401 ]
s=$(req "$U/api/qa/events" -H "Cookie: $CK" -m 2)
check "the event stream with the cookie: 200 text/event-stream" sh -c "grep -q '^HTTP/1.1 200' '$T/headers' && grep -qi '^Content-Type: text/event-stream' '$T/headers'"
s=$(req "$U/api/qa/events" -m 2)
check "the event stream without: 401" [ "$s" = 401 ]
s=$(req "$U/api/session" -H "Cookie: $CK")
check "GET /api/session with the cookie: authenticated, the same csrf and expiry, no reason" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["authenticated"] is True and d["reason"] is None and d["csrf"] == sys.argv[2], d
assert d["expires"] == int(sys.argv[3].split(".")[1])
' "$T/body" "$CSRF" "$CK"

# ---- CSRF: the override route (PATCH /api/qa/call/{id}/scores) ----
OV='{"supervisor":"Ann","scores":{"greeting":4}}'
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H "Cookie: $CK" -H 'Content-Type: application/json' -d "$OV")
check "PATCH with the cookie, no X-CSRF-Token: 403 csrf" sh -c "[ $s = 403 ]"
check "... code csrf" code_is csrf
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H "Cookie: $CK" -H "X-CSRF-Token: $(echo "$CSRF" | tr 0-9a-f 1-9a-f0)" -d "$OV")
check "PATCH with the cookie and another X-CSRF-Token: 403 csrf" sh -c "[ $s = 403 ] && grep -q '\"code\":\"csrf\"' '$T/body'"
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H "Cookie: $CK" -H "X-CSRF-Token: $CSRF" -d "$OV")
echo "# PATCH with the cookie and its CSRF value: $s $(cat "$T/body")"
check "PATCH with the cookie and its X-CSRF-Token: past auth (neither 401 nor 403)" sh -c "[ $s != 401 ] && [ $s != 403 ] && [ $s != 000 ]"
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H "Authorization: Bearer $TOKEN" -d "$OV")
check "PATCH with the bearer token needs no CSRF value" sh -c "[ $s != 401 ] && [ $s != 403 ]"
s=$(req "$U/cache?server=x&file=y.wav" -X DELETE -H "Cookie: $CK")
check "DELETE with the cookie, no X-CSRF-Token: 403 csrf" sh -c "[ $s = 403 ] && grep -q '\"code\":\"csrf\"' '$T/body'"

# ---- Origin ----
s=$(req "$U/api/session" -X POST -H 'Origin: http://evil.example' -d "{\"token\":\"$TOKEN\"}")
check "a cross-origin POST /api/session: 403 cross_origin, no cookie" sh -c "[ $s = 403 ] && ! grep -qi '^Set-Cookie' '$T/headers'"
check "... code cross_origin" code_is cross_origin
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H "Cookie: $CK" -H "X-CSRF-Token: $CSRF" -H "Origin: http://127.0.0.1:$((AP + 1))" -d "$OV")
check "a PATCH from another port with cookie and CSRF value: 403 cross_origin" sh -c "[ $s = 403 ] && grep -q cross_origin '$T/body'"
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H "Authorization: Bearer $TOKEN" -H 'Origin: null' -d "$OV")
check "a PATCH with Origin: null, even with the bearer token: 403 cross_origin" sh -c "[ $s = 403 ] && grep -q cross_origin '$T/body'"
s=$(req "$U/api/session" -X POST -H "Origin: http://127.0.0.1:$AP" -d "{\"token\":\"$TOKEN\"}")
check "a same-origin POST /api/session: 200" [ "$s" = 200 ]
s=$(req "$U/health" -H 'Origin: http://evil.example')
check "a GET with another Origin is not refused" [ "$s" = 200 ]

# ---- tampered and forged cookies ----
V=${CK#callqa_session=}
EXP=$(echo "$V" | cut -d. -f2)
NONCE=$(echo "$V" | cut -d. -f3)
MAC=$(echo "$V" | cut -d. -f4)
FLIP=$(echo "$MAC" | awk '{ c = substr($0, 1, 1); printf "%s%s\n", (c == "0" ? "1" : "0"), substr($0, 2) }')
for bad in "v1.$EXP.$NONCE.$FLIP" "v1.$((EXP + 86400)).$NONCE.$MAC" "v1.$EXP.$(echo "$NONCE" | rev).$MAC" \
    "v2.$EXP.$NONCE.$MAC" "v1.$EXP.$NONCE.$(echo "$MAC" | tr a-f A-F)" "v1.$EXP.$NONCE.${MAC}0" \
    "v1.0$EXP.$NONCE.$MAC" "v1.9999999999.00000000000000000000000000000000.$(printf '%064d' 0)" "garbage" ""; do
    s=$(req "$U/calls" -H "Cookie: callqa_session=$bad")
    check "a tampered or forged cookie '$(echo "$bad" | cut -c1-40)...': 401 unauthorized" sh -c "[ $s = 401 ] && grep -q '\"code\":\"unauthorized\"' '$T/body'"
done
s=$(req "$U/api/session" -H "Cookie: callqa_session=v1.$EXP.$NONCE.$FLIP")
check "GET /api/session with a tampered cookie: reason invalid" [ "$(jget 'd["reason"]')" = invalid ]

# ---- logging out ----
s=$(req "$U/api/session" -X DELETE -H "Cookie: $CK")
check "DELETE /api/session: 200, the cookie cleared (Max-Age=0)" sh -c "[ $s = 200 ] && [ \"\$(tr -d '\r' < '$T/headers' | sed -n 's/^Set-Cookie: //Ip')\" = 'callqa_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0' ]"

# ---- a second service on the port; a restart; the same token keeps the sessions ----
CALLQA_MODEL_DIR="$T/models" "$CQ" serve --listen "127.0.0.1:$AP" --db "$T/other.db" --no-auth > /dev/null 2> "$T/second.log"
rc=$?
check "a second callqa serve on the same port: refused (exit $rc)" sh -c "[ $rc != 0 ] && grep -q 'port in use' '$T/second.log'"
cat "$T/second.log" | grep 'port in use' | sed 's/^/# /'
s=$(req "$U/calls" -H "Cookie: $CK")
check "the first still serves" [ "$s" = 200 ]
stop_service
check "a restart right after the stop binds" start_service "$T/serve2.log" --token-file "$T/token"
check "... with no listen error" sh -c "! grep -q 'cannot listen' '$T/serve2.log'"
s=$(req "$U/calls" -H "Cookie: $CK")
check "the session survives the restart: 200" [ "$s" = 200 ]
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H "Cookie: $CK" -H "X-CSRF-Token: $CSRF" -d "$OV")
check "... and its CSRF value too" sh -c "[ $s != 401 ] && [ $s != 403 ]"
stop_service

# ---- a new token ends every session ----
printf 'another-token-9876543210\n' > "$T/token"
check "the service starts with another token" start_service "$T/serve3.log" --token-file "$T/token"
s=$(req "$U/calls" -H "Cookie: $CK")
check "the old session under the new token: 401 unauthorized" sh -c "[ $s = 401 ] && grep -q '\"code\":\"unauthorized\"' '$T/body'"
s=$(req "$U/api/session" -H "Cookie: $CK")
check "... GET /api/session says invalid" [ "$(jget 'd["reason"]')" = invalid ]
s=$(req "$U/api/session" -X POST -d "{\"token\":\"$TOKEN\"}")
check "the old token cannot log in: 401" [ "$s" = 401 ]
stop_service

# ---- expiry (session_ttl_sec) and Secure (session_cookie_secure) ----
# 10 s: the request made at once is well inside it; the one after the cookie's expiry (its
# second field) is refused
export CALLQA_SESSION_TTL_SEC=10 CALLQA_SESSION_COOKIE_SECURE=true
check "the service starts with session_ttl_sec=10, session_cookie_secure=true" \
    start_service "$T/serve4.log" --token-file "$T/token"
unset CALLQA_SESSION_TTL_SEC CALLQA_SESSION_COOKIE_SECURE
s=$(req "$U/api/session" -X POST -d '{"token":"another-token-9876543210"}')
SC=$(header Set-Cookie)
check "the cookie: Max-Age=10; Secure" sh -c "[ $s = 200 ] && echo '$SC' | grep -q 'SameSite=Strict; Max-Age=10; Secure$'"
CK=${SC%%;*}
s=$(req "$U/calls" -H "Cookie: $CK")
check "at once: 200" [ "$s" = 200 ]
expiry=$(echo "$CK" | cut -d. -f2)
past_expiry() { [ "$(date +%s)" -gt "$expiry" ]; }
wait_until 60 past_expiry
s=$(req "$U/calls" -H "Cookie: $CK")
check "after its expiry: 401 session_expired" sh -c "[ $s = 401 ]"
check "... code session_expired" code_is session_expired
s=$(req "$U/api/session" -H "Cookie: $CK")
check "... GET /api/session says expired, not authenticated" [ "$(jget '(d["reason"], d["authenticated"])')" = "('expired', False)" ]
s=$(req "$U/calls" -H "Cookie: $CK" -H "Authorization: Bearer another-token-9876543210")
check "an expired cookie beside the bearer token: 200" [ "$s" = 200 ]
stop_service

# ---- --no-auth ----
check "the service starts with --no-auth" start_service "$T/serve5.log" --no-auth
s=$(req "$U/api/session")
check "GET /api/session: auth not required, authenticated" [ "$(jget '(d["auth_required"], d["authenticated"], d["reason"])')" = "(False, True, None)" ]
s=$(req "$U/api/session" -X POST -d '{}')
check "POST /api/session: 200, auth_required false, a csrf, no cookie" sh -c "[ $s = 200 ] && ! grep -qi '^Set-Cookie' '$T/headers' && [ \"\$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[\"authenticated\"], d[\"auth_required\"], len(d[\"csrf\"]))' '$T/body')\" = 'True False 64' ]"
s=$(req "$U/calls")
check "an API route with nothing: 200" [ "$s" = 200 ]
s=$(req "$U/api/qa/call/1/scores" -X PATCH -d "$OV")
check "PATCH without Origin or CSRF value: past auth" sh -c "[ $s != 401 ] && [ $s != 403 ]"
s=$(req "$U/api/qa/call/1/scores" -X PATCH -H 'Origin: http://evil.example' -d "$OV")
check "a cross-origin PATCH is refused without auth too: 403 cross_origin" sh -c "[ $s = 403 ] && grep -q cross_origin '$T/body'"
s=$(req "$U/")
check "GET /: 200" [ "$s" = 200 ]
stop_service

"$CQ" serve --help-settings > "$T/settings.txt"
check "the session settings are listed" sh -c "grep -q '^  session_ttl_sec  *28800' '$T/settings.txt' && grep -q '^  session_cookie_secure  *false' '$T/settings.txt'"

finish dashboard
