#!/bin/sh
# test_roles_worker.sh - roles and agents' voice profiles in the QA pipeline (docs/report.md
# "roles", docs/privacy/retention.md "Agent voice profiles"), with the real worker and a SQLite store:
#   - calls made by tests/pipeline/mkcalls.py from one-talker recordings: for each of three agents
#     (P.862 talkers), a stereo enrolment call from the agent's first recording, and mono mixes
#     of the agent's second recording with another customer talker, first speaker at random;
#   - campaign BANK with voice_profile_campaigns = BANK: the enrolment calls make one profile
#     per agent (the store's voice_profiles), and no voice print is left in a stored analysis
#     or written to the log;
#   - the mono mixes of the same agents: no two-speaker mix gets a wrong agent, and those decided
#     are decided by the profile, its evidence naming "voice profile of agent A from 1 call"
#     (measured: 8 of 9 right, 1 unknown under the margin); the accuracy and the misses are
#     printed;
#   - campaign SALES (profiles not on for it): no print kept, no profile made, and the roles of
#     a mono mix are unknown (no transcript, no profile);
#   - a transcript of a mix (the fake ASR server, the agent's greeting and closing and the
#     customer's request said in their turns): SALES decided by the transcript, BANK by the
#     profile and the transcript together, both right;
#   - callqa store erase --agent: that agent's profiles gone, logged in deletions, the others
#     kept.
#   usage: test_roles_worker.sh BUILD/callqa SHARED_DIR
set -u
if [ ! -d "$2/corpus/quality" ] || [ ! -d "$2/models" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
command -v sox > /dev/null || { echo "SKIP: sox is missing"; exit 77; }
CQ=$1
SH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
SERVE=""
FAKE=""
cleanup() {
    [ -n "$SERVE" ] && kill "$SERVE" 2> /dev/null
    [ -n "$FAKE" ] && kill "$FAKE" 2> /dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
export CALLQA_MODEL_DIR="$SH/models"
start=$(date +%s)
sq() { sqlite3 "$T/qa.db" "$@"; }

python3 "$HERE/mkcalls.py" --shared "$SH" --out "$T/calls" 2> "$T/mkcalls.err" ||
    { echo "mkcalls failed: $(cat "$T/mkcalls.err")"; exit 1; }

serve_start() { # serve_start CONFIG: `callqa serve` on a free port; $U set
    PORT=$(free_port)
    U="http://127.0.0.1:$PORT"
    "$CQ" serve --db "$T/qa.db" --config "$1" --no-auth --listen "127.0.0.1:$PORT" \
        >> "$T/serve.log" 2>&1 &
    SERVE=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$U/health" && return 0
        sleep 0.1
    done
    echo "serve did not start: $(cat "$T/serve.log")"
    exit 1
}
upload() { # upload RECORDING_ID AGENT CAMPAIGN FILE
    code=$(curl -s -o "$T/up.json" -w '%{http_code}' \
        -F "metadata={\"recording_id\":\"$1\",\"agent_user\":\"$2\",\"campaign_id\":\"$3\",\"direction\":\"inbound\",\"call_date\":\"$(date +%F) 09:00:00\"};type=application/json" \
        -F "audio=@$4" "$U/api/qa/calls")
    [ "$code" = 201 ] || { echo "upload $1: $code $(cat "$T/up.json")"; exit 1; }
}
worker() { # worker CONFIG
    "$CQ" worker --db "$T/qa.db" --config "$1" --once --jobs 1 --max-load 0 --no-idle \
        --backoff-sec 0.2 --max-retries 1 >> "$T/worker.log" 2>&1
}
report() { # report RECORDING_ID: the stored analysis, as the API serves it, into $T/ID.json
    curl -s -o "$T/$1.json" "$U/api/qa/call/$1/report"
}

printf 'voice_profile_campaigns = BANK\n' > "$T/qa.conf"
serve_start "$T/qa.conf"

# ---- enrolment: the stereo calls of each agent --------------------------------------------------
while IFS="$(printf '\t')" read -r file layout agent cust first; do
    [ "$layout" = stereo ] && upload "E_$agent" "$agent" BANK "$T/calls/$file"
done < "$T/calls/calls.tsv"
upload S_ENROL am1 SALES "$T/calls/enrol_am1.wav"
worker "$T/qa.conf"
check "the enrolment calls are complete" \
    test "$(sq "SELECT COUNT(*) FROM jobs WHERE state = 'complete'")" = 4
check "one voice profile per agent of BANK, from one call each, with its speech" \
    test "$(sq "SELECT group_concat(agent || ':' || campaign || ':' || calls || ':' || (speech_sec >= 3), ',') FROM (SELECT * FROM voice_profiles ORDER BY agent)")" = \
    "af1:BANK:1:1,am1:BANK:1:1,or109:BANK:1:1"
check "a profile is a print of 36 numbers" \
    python3 -c "import json,sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('SELECT print FROM voice_profiles').fetchall(); sys.exit(not all(len(json.loads(p)) == 36 for (p,) in r))" "$T/qa.db"
check "no SALES profile (profiles are not on for SALES)" \
    test "$(sq "SELECT COUNT(*) FROM voice_profiles WHERE campaign = 'SALES'")" = 0
check "no voice print in any stored analysis" \
    test "$(sq "SELECT COUNT(*) FROM analyses WHERE report LIKE '%voiceprint%'")" = 0
check "the log names the profile's update, never the print" \
    sh -c "grep -q 'voice profile updated' '$T/worker.log' && ! grep -q '\"v\":' '$T/worker.log' && ! grep -qi 'voiceprint' '$T/worker.log'"

# ---- the mono mixes of the same agents -------------------------------------------------------
while IFS="$(printf '\t')" read -r file layout agent cust first; do
    [ "$layout" = mono ] && upload "M_${agent}_$cust" "$agent" BANK "$T/calls/$file"
done < "$T/calls/calls.tsv"
upload S_MONO am1 SALES "$T/calls/mono_am1_or105.wav"
worker "$T/qa.conf"
check "the mono mixes are complete" \
    test "$(sq "SELECT COUNT(*) FROM jobs WHERE state = 'complete'")" = 14
while IFS="$(printf '\t')" read -r file layout agent cust first; do
    [ "$layout" = mono ] && report "M_${agent}_$cust"
done < "$T/calls/calls.tsv"
python3 - "$T" > "$T/roles.out" 2>&1 <<'EOF'
import json, os, sys
T = sys.argv[1]
right = wrong = unknown = one = 0
misses = []
for line in open(os.path.join(T, "calls", "calls.tsv")):
    file, layout, agent, cust, first = line.rstrip("\n").split("\t")
    if layout != "mono":
        continue
    r = json.load(open(os.path.join(T, "M_%s_%s.json" % (agent, cust))))["report"]
    n = (r.get("diarization") or {}).get("n_speakers")
    if n != 2:
        one += 1
        assert r.get("roles") is None, "a mix of %s speakers has roles" % n
        misses.append("%s: diarized as %s speaker(s): no roles" % (file, n))
        continue
    ro = r["roles"]
    truth = "S1" if first == "agent" else "S2"
    other = "S2" if truth == "S1" else "S1"
    got = ro[truth]["role"]
    ev = [e for e in ro[truth]["evidence"] if e["kind"] == "profile"]
    ok = (got == "agent" and ro[other]["role"] == "customer" and ro["decided_by"] == "profile"
          and len(ev) == 1 and ("voice profile of agent %s from 1 call:" % agent) in ev[0]["detail"]
          and ev[0]["supports"] == truth + " agent")
    if ok:
        right += 1
    elif got == "unknown":
        unknown += 1
        misses.append("%s: unknown (%s)" % (file, ro["rule"]))
    else:
        wrong += 1
        misses.append("%s: WRONG %s" % (file, json.dumps(ro)[:400]))
two = right + wrong + unknown
print("roles by voice profile, mono mixes with a random first speaker: %d mixes, %d diarized "
      "as two speakers: right %d, wrong %d, unknown %d" % (two + one, two, right, wrong, unknown))
print("misses:" if misses else "misses: none")
for m in misses:
    print("  " + m)
# never wrong; the right agent on at least two thirds (measured: 8 of 9, the other unknown:
# docs/report/conversation.md "roles")
sys.exit(0 if wrong == 0 and two >= 6 and right * 3 >= 2 * two else 1)
EOF
rc=$?
cat "$T/roles.out"
check "no mix of an enrolled agent gets a wrong agent; 2/3 or more right by the profile, with its evidence" \
    test $rc = 0
# the stored transcript of none: roles unknown without a transcript nor a profile (SALES)
report S_MONO
check "SALES: a mono mix without a profile or a transcript: both roles unknown, confidence null" \
    python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['report']
ro = r['roles']
assert r['diarization']['n_speakers'] == 2, r['diarization']
assert ro['S1']['role'] == 'unknown' and ro['S2']['role'] == 'unknown', ro
assert ro['S1']['confidence'] is None and ro['decided_by'] is None, ro
assert not [e for e in ro['S1']['evidence'] if e['kind'] == 'profile'], ro
assert r['speakers'][0]['voiceprint'] is None
" "$T/S_MONO.json"
check "still no voice print in any stored analysis, and no SALES profile" \
    test "$(sq "SELECT COUNT(*) FROM analyses WHERE report LIKE '%\"v\":[%'")/$(sq "SELECT COUNT(*) FROM voice_profiles WHERE campaign = 'SALES'")" = 0/0
check "the mono mixes did not change the profiles (only two-leg calls enrol)" \
    test "$(sq "SELECT SUM(calls) FROM voice_profiles")" = 3

# ---- a transcript: the agent's and the customer's phrases ----------------------------------------
ASR_DIR=$HERE/../clients
. "$ASR_DIR/asr_lib.sh"
MIX=mono_am1_or105
python3 - "$T/calls/$MIX.turns" > "$T/mix.stm" <<'EOF'
import sys
turns = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
agent = ["thank you for calling first bank this is anna from support how can i help you today",
         "okay let me look at that for you", "sure one moment please",
         "i see the payment on the fourth", "that is all done now"]
cust = ["hi i'd like to ask about my account", "yes that is right", "okay thanks",
        "the one from last week", "great"]
# the closing in the agent's turns of the call's last third (the transcription sends only
# the VAD's speech: a turn may not be sent at all)
end = float(turns[-1][2])
na = nc = 0
for i, (who, s, e) in enumerate(turns):
    if who == "agent":
        closing = float(s) > end * 2 / 3
        text = "is there anything else i can help you with" if closing else agent[na % 5]
        na += 1
    else:
        text = cust[nc % 5]
        nc += 1
    print("mix 1 %s %s %s %s" % (who, s, e, text))
EOF
fake_start "$T/asr" --protocol openai --mode openai,stm --stm "$T/mix.stm"
cat > "$T/tx.conf" << EOC
voice_profile_campaigns = BANK
asr_url = $URL/v1
asr_model = whisper-large-v3
asr_language = en
EOC
upload T_BANK am1 BANK "$T/calls/$MIX.wav"
upload T_SALES am1 SALES "$T/calls/$MIX.wav"
worker "$T/tx.conf"
report T_BANK
report T_SALES
FIRST=$(awk -F '\t' -v f="$MIX.wav" '$1 == f { print $5 }' "$T/calls/calls.tsv")
check "with a transcript, the calls are complete and transcribed" \
    test "$(sq "SELECT COUNT(*) FROM calls c JOIN jobs j ON j.call_id = c.id JOIN transcripts t ON t.call_id = c.id WHERE c.recording_id LIKE 'T_%' AND j.state = 'complete'")" = 2
roles_of() { # roles_of ID EXPECTED-DECIDED-BY
    python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['report']
ro = r['roles']
truth = 'S1' if sys.argv[2] == 'agent' else 'S2'
other = 'S2' if truth == 'S1' else 'S1'
kinds = {e['kind'] for e in ro[truth]['evidence']}
ok = (ro[truth]['role'] == 'agent' and ro[other]['role'] == 'customer'
      and ro['decided_by'] == sys.argv[3] and {'greeting', 'customer_phrase'} <= kinds)
print(sys.argv[1].split('/')[-1], ro['decided_by'], ro['S1']['role'], ro['S1']['confidence'], ro['rule'])
sys.exit(0 if ok else 1)
" "$T/$1.json" "$FIRST" "$2"
}
# (the closing is not required: the transcription sends each speaker's diarized spans, and a
# span cut inside "is there anything else i can help you with" can leave the phrase in pieces)
check "SALES with a transcript: the agent right, decided by the greeting and the request" \
    roles_of T_SALES transcript
check "BANK with a transcript and the profile: the agent right, decided by both" \
    roles_of T_BANK profile+transcript
fake_stop

# ---- erasure with the agent --------------------------------------------------------------------
"$CQ" store erase --agent am1 --dry-run --db "$T/qa.db" > "$T/erase_dry.out" 2>&1
check "erase --agent --dry-run: says 1, deletes nothing" \
    sh -c "grep -q 'agent am1: 1 voice profile would be erased' '$T/erase_dry.out' && [ \$(sqlite3 '$T/qa.db' \"SELECT COUNT(*) FROM voice_profiles WHERE agent = 'am1'\") = 1 ]"
"$CQ" store erase --agent am1 --db "$T/qa.db" > "$T/erase.out" 2>&1
check "erase --agent am1: exit 0, its profile gone, the others kept" \
    sh -c "[ $? = 0 ] && [ \$(sqlite3 '$T/qa.db' \"SELECT group_concat(agent) FROM (SELECT agent FROM voice_profiles ORDER BY agent)\") = af1,or109 ]"
check "the erasure is logged in deletions (what voice_profile, why erasure), without a print" \
    sh -c "sqlite3 '$T/qa.db' \"SELECT what || '|' || why || '|' || detail FROM deletions\" | grep -q '^voice_profile|erasure|.*\"campaigns\":\\[\"BANK\"\\]' && ! sqlite3 '$T/qa.db' 'SELECT detail FROM deletions' | grep -q '\"v\"'"
check "... and in the audit trail" \
    sh -c "sqlite3 '$T/qa.db' \"SELECT action || '|' || target FROM audit_log\" | grep -q '^erase|1 voice profiles'"
"$CQ" store erase --agent am1 --db "$T/qa.db" > "$T/erase2.out" 2>&1
check "erasing again: 0 profiles" grep -q 'agent am1: 0 voice profiles erased' "$T/erase2.out"
"$CQ" store erase --agent af1 --lead 42 --db "$T/qa.db" > "$T/erase3.out" 2>&1
check "erase --agent with --lead: refused (exit 2), nothing deleted" \
    sh -c "[ $? = 2 ] && [ \$(sqlite3 '$T/qa.db' \"SELECT COUNT(*) FROM voice_profiles WHERE agent = 'af1'\") = 1 ]"

kill "$SERVE" 2> /dev/null
wait "$SERVE" 2> /dev/null
SERVE=""
echo "run time: $(($(date +%s) - start)) s"
finish "roles and voice profile"
