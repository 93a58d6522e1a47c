#!/bin/sh
# test_store_ro_my.sh - the ViciDial read-only queries (src/store/store_ro_my.c) against a real
# MariaDB started here under a temporary directory (tests/lib/my_lib.sh),
# holding ViciDial's schema (../shared/vicidial/schema.sql) and rows made here, credentials among
# them; the account callqa_ask with column-level SELECT on the default allow-list (docs/ask/sources.md),
# accounts that must be refused at open, read_only ON. Then the cmocka program, with the server's
# place in its environment (CQ_MY_*).
#   usage: test_store_ro_my.sh PROGRAM SHARED_DIR
# exit 77 (skip) when ../shared is missing; a failure when MariaDB's server is not installed.
set -u
SHARED=$2
if [ ! -f "$SHARED/vicidial/schema.sql" ]; then
    echo "SKIP: $SHARED/vicidial/schema.sql is missing"
    exit 77
fi
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/my_lib.sh"
my_require
T=$(mktemp -d)
cleanup() {
    my_stop
    if [ -n "${CALLQA_TEST_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
my_start "$T" || { echo "FAIL: mariadbd did not start"; exit 1; }
DBP=$MY_PORT SOCK=$MY_SOCK DBPID=$MY_PID SQL=$MY_SQL
$SQL -e "CREATE DATABASE asterisk CHARACTER SET utf8mb4" && $SQL asterisk < "$SHARED/vicidial/schema.sql" ||
    { echo "FAIL: loading the schema"; exit 1; }

# ---- rows: agents with their passwords, leads with phone numbers, 1000 outbound and 500 inbound
# calls (a cartesian join of the two is 500000 rows, of a third table more than the cap), the
# recordings, a server with its manager secret ----
$SQL asterisk << 'EOF' || { echo "FAIL: the rows"; exit 1; }
INSERT INTO vicidial_users (user, pass, pass_hash, full_name, user_group, phone_login, phone_pass) VALUES
 ('1001', 'agent-pw-1001', 'hash-1001', 'Zoë Łukasz 李小龍', 'AGENTS', '9001', 'sip-pw-9001'),
 ('1002', 'agent-pw-1002', 'hash-1002', 'Plain Agent', 'AGENTS', '9002', 'sip-pw-9002'),
 ('1003', 'agent-pw-1003', 'hash-1003', '<b>Bob</b> & "Co"', 'SUPERVISORS', '9003', 'sip-pw-9003');
INSERT INTO vicidial_user_groups (user_group, group_name, webphone_systemkey_override) VALUES
 ('AGENTS', 'Agents', 'wp-key-1'), ('SUPERVISORS', 'Supervisors', 'wp-key-2');
INSERT INTO vicidial_campaigns (campaign_id, campaign_name, dispo_call_url) VALUES
 ('SALES', 'Sales Outbound', 'http://10.0.0.1/agc/api.php?user=api&pass=api-pw-1'),
 ('RENEW', 'Renewals', '');
INSERT INTO vicidial_inbound_groups (group_id, group_name) VALUES ('SUPPORT', 'Support Line');
INSERT INTO vicidial_statuses (status, status_name) VALUES ('SALE', 'Sale Made'), ('NI', 'Not Interested');
INSERT INTO servers (server_id, server_ip, ASTmgrSECRET, conf_secret) VALUES ('S1', '10.0.0.1', 'ami-secret-1', 'conf-secret-1');
INSERT INTO vicidial_list (lead_id, phone_number, first_name, last_name, security_phrase)
 SELECT seq, CONCAT('555', LPAD(seq, 7, '0')), CONCAT('First', seq), CONCAT('Last', seq), CONCAT('phrase-', seq) FROM seq_1_to_100;
INSERT INTO vicidial_log (uniqueid, lead_id, campaign_id, call_date, length_in_sec, status, phone_number, user, user_group, term_reason)
 SELECT CONCAT('1709305200.', seq), seq % 100 + 1, IF(seq % 3, 'SALES', 'RENEW'), '2024-03-01 09:00:00' + INTERVAL seq MINUTE,
        seq % 400, IF(seq % 4, 'NI', 'SALE'), CONCAT('555', LPAD(seq % 100 + 1, 7, '0')), CONCAT('100', seq % 3 + 1),
        'AGENTS', IF(seq % 2, 'AGENT', 'CALLER') FROM seq_1_to_1000;
INSERT INTO vicidial_closer_log (closecallid, lead_id, campaign_id, call_date, length_in_sec, status, phone_number, user,
                                 queue_seconds, user_group, term_reason, uniqueid)
 SELECT seq, seq % 100 + 1, 'SUPPORT', '2024-03-02 09:00:00' + INTERVAL seq MINUTE, seq % 300, 'SALE',
        CONCAT('555', LPAD(seq % 100 + 1, 7, '0')), CONCAT('100', seq % 3 + 1), (seq % 97) / 4, 'AGENTS', 'CALLER',
        CONCAT('1709398800.', seq) FROM seq_1_to_500;
INSERT INTO recording_log (recording_id, start_time, length_in_sec, filename, location, lead_id, user, vicidial_id)
 SELECT seq, '2024-03-01 09:00:05' + INTERVAL seq MINUTE, IF(seq = 7, NULL, seq % 400), CONCAT('rec', seq),
        CONCAT('http://10.0.0.1/RECORDINGS/rec', seq, '-all.wav'), seq % 100 + 1, CONCAT('100', seq % 3 + 1),
        CONCAT('1709305200.', seq) FROM seq_1_to_200;
EOF

# ---- the accounts: callqa_ask holds SELECT on the default allow-list's columns (docs/ask/sources.md) and
# nothing else; the others hold one thing more each, which open must refuse ----
PW=ask-pw-5ecret
GRANTS="
GRANT SELECT (recording_id, start_time, length_in_sec, user, vicidial_id) ON asterisk.recording_log TO ACCOUNT;
GRANT SELECT (uniqueid, call_date, campaign_id, user, user_group, length_in_sec, status, term_reason) ON asterisk.vicidial_log TO ACCOUNT;
GRANT SELECT (closecallid, uniqueid, call_date, campaign_id, user, user_group, length_in_sec, queue_seconds, status, term_reason) ON asterisk.vicidial_closer_log TO ACCOUNT;
GRANT SELECT (user, full_name, user_group) ON asterisk.vicidial_users TO ACCOUNT;
GRANT SELECT (user_group, group_name) ON asterisk.vicidial_user_groups TO ACCOUNT;
GRANT SELECT (campaign_id, campaign_name) ON asterisk.vicidial_campaigns TO ACCOUNT;
GRANT SELECT (group_id, group_name) ON asterisk.vicidial_inbound_groups TO ACCOUNT;
GRANT SELECT (status, status_name) ON asterisk.vicidial_statuses TO ACCOUNT;"
for a in callqa_ask callqa_ins callqa_file callqa_tbl callqa_role; do
    acc="'$a'@'127.0.0.1'"
    $SQL -e "CREATE USER $acc IDENTIFIED BY '$PW'; $(echo "$GRANTS" | sed "s/ACCOUNT/$acc/g")" ||
        { echo "FAIL: the account $a"; exit 1; }
done
$SQL -e "GRANT INSERT ON asterisk.vicidial_log TO 'callqa_ins'@'127.0.0.1';
         GRANT FILE ON *.* TO 'callqa_file'@'127.0.0.1';
         GRANT SELECT ON asterisk.vicidial_users TO 'callqa_tbl'@'127.0.0.1';
         CREATE ROLE cq_writer; GRANT DELETE ON asterisk.vicidial_log TO cq_writer;
         GRANT cq_writer TO 'callqa_role'@'127.0.0.1'; SET DEFAULT ROLE cq_writer FOR 'callqa_role'@'127.0.0.1';
         SET GLOBAL read_only = ON;" || { echo "FAIL: the accounts"; exit 1; }

CQ_MY_PORT=$DBP CQ_MY_SOCK=$SOCK CQ_MY_PID=$DBPID CQ_MY_DATADIR=$MY_DATADIR CQ_MY_PRIV=$MY_FILES \
    CQ_MY_PASSWORD=$PW "$1"
