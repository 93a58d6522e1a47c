#!/bin/sh
# test_one_mask.sh - one masking path for every way a call comes in (src/pipeline/, pl_mask_report;
# docs/privacy/pipeline.md, "One walk"): a redacted call (campaign BANK with redaction on, call06's keyed
# digits 8275#) through the QA worker (uploaded, then `callqa worker`), through POST /analyze
# (its body) and through POST /investigate (its recording beside a capture), on one
# `callqa serve` with redaction on, and the same three on a service without redaction:
#   - without redaction, each of the three keeps the digits (the check below has digits to see);
#   - with it, the worker's stored report and /analyze's answer are the same report: every
#     string and number of the two equal but the names the caller gave, the analysis's time and
#     the analyzers the worker adds (the level envelope), and the worker's `redaction` object;
#     their keyed digits the same '*'s;
#   - /investigate's in-band digits of the same recording the same '*'s;
#   - none of the three answers, nor the three reports as stored, holds the digits 8275;
#   - a call of a campaign without redaction (SALES) keeps its digits in the worker, as its
#     campaign's plan says (a request names no campaign: every campaign's types).
#   usage: test_one_mask.sh BUILD/callqa SHARED_DIR
set -u
if [ ! -d "$2/corpus/calls" ] || [ ! -d "$2/models" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
SH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
SERVE=""
cleanup() {
    [ -n "$SERVE" ] && kill "$SERVE" 2> /dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
export CALLQA_MODEL_DIR="$SH/models"
WAV=$SH/corpus/calls/call06_ivr_dtmf.wav
CAP=$SH/corpus/pcaps/sipp_dtmf_2833_5.pcap

serve_start() { # serve_start NAME [CONFIG]: `callqa serve` on a free port; $U set
    PORT=$(free_port)
    U="http://127.0.0.1:$PORT"
    "$CQ" serve --db "$T/$1.db" ${2:+--config "$2"} --no-auth --listen "127.0.0.1:$PORT" \
        > "$T/$1.serve.log" 2>&1 &
    SERVE=$!
    serving "$SERVE" "$U/health" && return 0
    echo "serve did not start: $(cat "$T/$1.serve.log")"
    exit 1
}
upload() { # upload RECORDING_ID CAMPAIGN
    code=$(curl -s -o "$T/up.json" -w '%{http_code}' \
        -F "metadata={\"recording_id\":\"$1\",\"agent_user\":\"ann\",\"campaign_id\":\"$2\",\"call_date\":\"$(date +%F) 09:00:00\"};type=application/json" \
        -F "audio=@$WAV;type=audio/wav" "$U/api/qa/calls")
    [ "$code" = 201 ] || { echo "upload $1: $code $(cat "$T/up.json")"; exit 1; }
}
# the three ways in, answers into $T/NAME.worker.json, .analyze.json, .investigate.json
three() { # three NAME [CONFIG]
    serve_start "$1" "${2:-}"
    upload B1 BANK
    upload S1 SALES
    "$CQ" worker --db "$T/$1.db" ${2:+--config "$2"} --once --jobs 1 --max-load 0 --no-idle \
        --backoff-sec 0.2 --max-retries 1 >> "$T/$1.worker.log" 2>&1
    check "$1: the worker analyses both calls" \
        sh -c "[ \$(grep -c '\"complete\"' '$T/$1.worker.log') -eq 2 ]"
    for r in B1 S1; do curl -s -o "$T/$1.worker.$r.json" "$U/api/qa/call/$r/report"; done
    code=$(curl -s -o "$T/$1.analyze.json" -w '%{http_code}' --data-binary "@$WAV" \
        -H "Content-Type: audio/wav" "$U/analyze?name=call06_ivr_dtmf.wav")
    check "$1: POST /analyze of the same recording: 200" [ "$code" = 200 ]
    code=$(curl -s -o "$T/$1.investigate.json" -w '%{http_code}' \
        -F "recording=@$WAV;type=audio/wav" -F "capture=@$CAP;type=application/octet-stream" \
        "$U/investigate")
    check "$1: POST /investigate of the same recording with a capture: 200" [ "$code" = 200 ]
    stop_wait "$SERVE" "$1 service"
    SERVE=""
}

printf 'redact_campaigns = BANK=all, SALES=none\nredact_dir = %s\n' "$T/redacted" > "$T/red.conf"
three plain
three red "$T/red.conf"

cat > "$T/cmp.py" <<'EOF'
import json, re, sys

T, what = sys.argv[1], sys.argv[2]


def load(name):
    with open("%s/%s.json" % (T, name), encoding="utf-8") as f:
        return json.load(f)


def leaves(v, p=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, p + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, "%s[%d]" % (p, i))
    else:
        yield p, v


def keyed(rep):
    """The report's keyed digit fields: path -> value."""
    return {p: v for p, v in leaves(rep) if re.search(r"(digits|digit|in_band|rfc4733|sip_info)$", p)
            and isinstance(v, str)}


def report(name):
    o = load(name)
    return o.get("report") or {} if "report" in o else o


w, s, a = report(what + ".worker.B1"), report(what + ".worker.S1"), report(what + ".analyze")
i = load(what + ".investigate")
in_band = ((i.get("cross_checks") or {}).get("dtmf") or {}).get("in_band")
kw, ka, ks = keyed(w), keyed(a), keyed(s)
if what == "plain":
    ok = (kw and kw == ka and in_band == "8275#" and all(v == "8275#" for v in kw.values()) and
          ks == kw)
    print("# worker %s, /analyze %s, /investigate %r" % (kw, ka, in_band))
    sys.exit(0 if ok else 1)
# with redaction: the worker's report and /analyze's the same but for what the caller names
# (and the stored call's route: the dialer's, which a request has none of)
skip = re.compile(r"^\.(file|inbound\.source|outbound\.source|analysis_time_sec|engine\.analyzers"
                  r"(\[\d+\])?|redaction(\..*)?|route(\..*)?)$")
lw, la = dict(leaves(w)), dict(leaves(a))
diff = [(p, lw.get(p), la.get(p)) for p in sorted(set(lw) | set(la))
        if not skip.match(p) and not p.startswith(".redaction") and lw.get(p) != la.get(p)]
masked = kw and kw == ka and all(set(v) == {"*"} and len(v) == 5 for v in kw.values())
print("# %d leaves compared, %d differ: %s" % (len(set(lw) | set(la)), len(diff), diff[:5]))
print("# keyed digits: worker %s, /analyze %s, /investigate %r; SALES %s" % (kw, ka, in_band, ks))
ok = (not diff and masked and in_band == "*****" and w.get("redaction", {}).get("digits_masked")
      and all(v == "8275#" for v in ks.values()) and ks)
sys.exit(0 if ok else 1)
EOF
check "without redaction: the worker, /analyze and /investigate keep the digits 8275#" \
    python3 "$T/cmp.py" "$T" plain
check "with it: the worker's report and /analyze's the same, their keyed digits the same '*'s, /investigate's in-band digits too" \
    python3 "$T/cmp.py" "$T" red
sqlite3 "$T/red.db" "SELECT report FROM analyses WHERE call_id IS NULL OR call_id = (SELECT id FROM calls WHERE recording_id = 'B1')" > "$T/red.stored" 2>&1
check "with it: no answer, nor the stored reports of the three (the analyses' rows), holds 8275" sh -c \
    "[ \$(wc -l < '$T/red.stored') -ge 3 ] && ! cat '$T'/red.worker.B1.json '$T'/red.analyze.json '$T'/red.investigate.json '$T/red.stored' | grep -q 8275"
finish "one masking path"
