#!/bin/sh
# test_route_rules.sh - what reads callqa's per-route gauges (docs/routes.md, "Alerts and
# dashboards"), against the gauges' spec (the names below, the one list of them here):
#   - deploy/prometheus/callqa-routes.rules.yml passes `promtool check rules`, and its unit tests
#     (callqa-routes.rules.test.yml: a stable route, three degraded ones, thin hours, one odd
#     hour, the answered ratio against the day before, the exporter absent) pass `promtool test
#     rules`; the rules name no callqa_ metric outside the spec;
#   - deploy/grafana-routes.json: every panel has a title, the datasource ${DS_PROMETHEUS} (as in
#     deploy/grafana-callqa.json, same schemaVersion) and expressions that read only the spec's
#     metrics; the route_dim and route_name variables; the time series on window="hour" of the
#     chosen routes; the figures the dashboard must show are all there;
#   - docs/routes.md names every alert.
# Skipped (77) without promtool (scripts/deps installs prometheus, which brings it) or python3.
#   usage: test_route_rules.sh SOURCE_DIR
set -u
SRC=$1
for p in promtool python3; do
    command -v "$p" > /dev/null || { echo "SKIP: $p is missing (scripts/deps installs it)"; exit 77; }
done
. "$SRC/tests/lib.sh"
RULES=$SRC/deploy/prometheus/callqa-routes.rules.yml
RTEST=$SRC/deploy/prometheus/callqa-routes.rules.test.yml
DASH=$SRC/deploy/grafana-routes.json
# the gauges callqa serve exposes per route (docs/routes.md)
SPEC="callqa_route_calls callqa_route_attempts callqa_route_answered_ratio callqa_route_mos
callqa_route_network_mos callqa_route_packet_loss_ratio callqa_route_jitter_seconds
callqa_route_post_dial_delay_seconds callqa_route_one_way_ratio callqa_route_dead_air_ratio
callqa_route_clipping_ratio callqa_route_dropouts_per_minute callqa_route_qa_score
callqa_route_change_active callqa_route_change_size"
export SPEC

check "promtool check rules" promtool check rules "$RULES"
check "promtool test rules" promtool test rules "$RTEST"
check "the rules read only the spec's callqa_ metrics" python3 - "$RULES" <<'PY'
import os, re, sys
spec = set(os.environ["SPEC"].split())
used = set(re.findall(r"\bcallqa_[a-z_]+", open(sys.argv[1]).read()))
print("# rules: %s; not in the spec: %s" % (sorted(used), sorted(used - spec)))
sys.exit(1 if used - spec or not used else 0)
PY
check "every alert is in docs/routes.md" python3 - "$RULES" "$SRC/docs/routes.md" <<'PY'
import re, sys
alerts = re.findall(r"^\s*- alert:\s*(\S+)", open(sys.argv[1]).read(), re.M)
doc = open(sys.argv[2]).read()
missing = [a for a in alerts if a not in doc]
print("# %d alerts, not in the doc: %s" % (len(alerts), missing))
sys.exit(1 if missing or len(alerts) < 6 else 0)
PY
check "the dashboard: titles, datasource, only the spec's metrics, variables, hour window" \
    python3 - "$DASH" "$SRC/deploy/grafana-callqa.json" <<'PY'
import json, os, re, sys
spec = set(os.environ["SPEC"].split())
dash = json.load(open(sys.argv[1]))
ref = json.load(open(sys.argv[2]))
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "offset", "bool", "atan2", "inf", "nan"}
bad = []

def metrics(expr):
    """The metric names an expression reads: strings, label matchers, ranges and grouping
    lists taken out; what is left that is an identifier, not a function and not a keyword."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    e = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1 ", e)
    names = set()
    for m in re.finditer(r"(?<![\w:$.])([A-Za-z_:][\w:]*)(\s*\()?", e):
        if m.group(2) or m.group(1).lower() in KEYWORDS:
            continue
        names.add(m.group(1))
    return names

if not any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus"
           for i in dash.get("__inputs", [])):
    bad.append("no __inputs DS_PROMETHEUS")
if dash.get("schemaVersion") != ref.get("schemaVersion"):
    bad.append("schemaVersion %s, grafana-callqa.json's %s" % (dash.get("schemaVersion"), ref.get("schemaVersion")))
if dash.get("title") != "callqa \u2014 routes":
    bad.append("title %r" % dash.get("title"))
var = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
dim = var.get("route_dim", {})
if dim.get("type") != "custom" or dim.get("query") != "carrier,trunk,server,campaign":
    bad.append("route_dim is not custom carrier,trunk,server,campaign")
rn = var.get("route_name", {})
q = rn.get("query")
q = q.get("query") if isinstance(q, dict) else q
if (rn.get("type") != "query" or not rn.get("multi") or rn.get("datasource") != DS
        or q != 'label_values(callqa_route_calls{route_dim="$route_dim"}, route_name)'):
    bad.append("route_name is not a multi label_values query of callqa_route_calls: %r" % q)
read = set()
ids = []
for p in dash.get("panels", []):
    t = p.get("title") or ""
    ids.append(p.get("id"))
    if not t.strip():
        bad.append("panel %s has no title" % p.get("id"))
    if p.get("datasource") != DS:
        bad.append("%s: datasource %r" % (t, p.get("datasource")))
    if not p.get("gridPos"):
        bad.append("%s: no gridPos" % t)
    targets = p.get("targets") or []
    if not targets:
        bad.append("%s: no target" % t)
    for tg in targets:
        e = tg.get("expr", "")
        if "datasource" in tg and tg["datasource"] != DS:
            bad.append("%s: a target's datasource %r" % (t, tg["datasource"]))
        names = metrics(e)
        if not names or names - spec:
            bad.append("%s: %r reads %s" % (t, e, sorted(names - spec) or "no metric"))
        read |= names
        if p.get("type") == "timeseries":
            sels = re.findall(r"callqa_route_\w+\{([^}]*)\}", e)
            if not sels or len(sels) != len(re.findall(r"callqa_route_\w+", e)):
                bad.append("%s: a metric without a selector" % t)
            for s in sels:
                for need in ('window="hour"', 'route_dim="$route_dim"', 'route_name=~"$route_name"'):
                    if need not in s:
                        bad.append("%s: %s lacks %s" % (t, e, need))
if len(ids) != len(set(ids)):
    bad.append("panel ids not unique: %s" % ids)
want = {"callqa_route_" + m for m in (
    "calls attempts answered_ratio mos network_mos packet_loss_ratio jitter_seconds one_way_ratio "
    "dead_air_ratio qa_score change_active change_size").split()}
if want - read:
    bad.append("no panel shows %s" % sorted(want - read))
print("# %d panels, metrics read: %d; problems: %s" % (len(ids), len(read), bad or "none"))
sys.exit(1 if bad else 0)
PY
finish "route rules and dashboard"
