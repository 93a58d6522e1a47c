#!/usr/bin/env python3
"""score.py - scores live-call events against the labels of mkseq.py and mkamd.py sequences.

    score.py hold   --labels DIR [--events DIR] [--json FILE]
    score.py amd    --labels DIR [--events DIR] [--json FILE]
    score.py speech --labels DIR --events DIR [--json FILE]
    score.py events --labels DIR --events DIR [--json FILE]
    score.py check  --hold DIR --amd DIR [--events-hold DIR] [--events-amd DIR]

Events: DIR/ID.jsonl for the sequence ID (DIR/ID.wav, DIR/ID.json in the labels), the lines
`callqa classify [--timeline] ID.wav` prints: {"type", "id", "state", "start", "at", ...} and,
with --timeline, {"segment", "start", "end"}. The live events are types `human`, `machine` and
`beep`; an event is taken at its first line (its "open", or its only line), `start` being where
the detector places it in the audio and `at` how much audio had been read when it was printed
(docs/events.md, "Streaming"). A missing file is an empty stream: everything is then missed.

hold (hold-slayer sequences):
  - detection: the first `human` event whose start is no earlier than 0.5 s before the labelled
    human part; latency = its `at` - first_word. Reported: p50/p90/p95/max over the detected
    sequences, and the share of ALL sequences detected within 1.0 s (goal >= 95 %); missed =
    sequences with no such event;
  - false `human`: every other `human` event (start more than 0.5 s before the human part),
    counted by the labelled part its start falls in: during a prompt or an announcement (goal
    0), or elsewhere (ringback, DTMF, music, the quiet between parts).
amd (answering-machine sequences), side by side for callqa (the first `human` or `machine`
  event; its `at` is the decision time) and amd_ref.py (Asterisk's AMD() rules, run here on the
  same files): accuracy (undecided counts wrong), false-machine rate on people, missed-machine
  rate on machines, undecided share, time to decision from the answer (the file's start;
  p50/p90/max over decided sequences); and for callqa `beep`: found within 0.3 s of the labelled
  beep onset, its latency (at - beep), and beeps on sequences without one.
speech: from --timeline segments, the share of each labelled part kind's time the timeline calls
  `speech`, and the share covered by `ivr` events: how much today's classifier tells a recorded
  prompt from a person.
events (hold-slayer sequences): the other live events of `--live hold`, each closed line
  matched to the labelled part it overlaps most ("gap" when none):
  - `ivr_prompt`: right on a prompt; found = labelled prompts of 0.5 s or more that one
    overlaps; its delay = at - the prompt's end;
  - `hold_announcement`: right on an announcement; found = announcements one overlaps; false =
    one whose part is the person (goal 0); delay = at - the announcement's end;
  - `hold_ended`: the first one; early = printed before the last music ended (the hold went on);
    delay = at - the last music's end, and whether it came before the `human` event;
  - `silence`: on speech = overlapping a prompt, announcement or person by more than 0.3 s.
check: the self-checks of the ctest `live_sequences`: the talker sets disjoint (livelib), every
  label file consistent (parts in order, not overlapping, first_word inside the human part,
  talkers from their set's cells), the WAV files 8 kHz 16-bit mono of the labelled length,
  amd_ref.py's hand-checked cases, an AMD() decision on every AMD sequence, the hold and amd
  scores computed (from the given events, or from none), and the scorer on made-up streams
  whose scores are known (oracle_check). Exit 1 on any failure.
"""
import argparse
import glob
import json
import math
import os
import sys
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import amd_ref  # noqa: E402  (standard library only)

PROMPTISH = ("prompt", "announcement")
TOL = 0.5  # s: a `human` event may start this much before the labelled human part
BEEP_TOL = 0.3  # s: a `beep` event within this of the labelled beep onset finds it


def load_labels(d, kind):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "*.json"))):
        lab = json.load(open(f))
        if lab.get("kind") == kind:
            out.append(lab)
    return out


def load_events(d, ident):
    """(events by id at their first line, timeline segments) of one sequence; ([], []) without."""
    if not d:
        return [], []
    path = os.path.join(d, ident + ".jsonl")
    if not os.path.exists(path):
        return [], []
    first, segs = {}, []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        e = json.loads(line)
        if "segment" in e:
            segs.append(e)
        elif "type" in e:
            key = (e["type"], e.get("id"))
            if key not in first:
                first[key] = e
    evs = sorted(first.values(), key=lambda e: (e.get("at", 0), e.get("start") or 0))
    return evs, segs


def pct(xs, q):
    """The q-th percentile (nearest rank) of xs, or None."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(math.ceil(q / 100.0 * len(s))) - 1))]


def fmt(v, unit="s"):
    return "-" if v is None else ("%.2f %s" % (v, unit)).strip()


def part_at(lab, t):
    """The kind of the labelled part t falls in, or "gap"."""
    for p in lab["parts"]:
        if p["start"] <= t < p["end"]:
            return p["kind"]
    return "gap"


# ---- hold-slayer ---------------------------------------------------------------------------------

def score_hold(labels, events_dir):
    lat, missed, false_prompt, false_other, per = [], 0, 0, 0, []
    for lab in labels:
        evs, _ = load_events(events_dir, lab["id"])
        human = [p for p in lab["parts"] if p["kind"] == "human"][0]
        hit, row = None, {"id": lab["id"], "first_word": lab["first_word"], "false": []}
        for e in (e for e in evs if e["type"] == "human"):
            start = e.get("start")
            start = e["at"] if start is None else start
            if start >= human["start"] - TOL:
                if hit is None:
                    hit = e
            else:
                where = part_at(lab, start)
                row["false"].append({"start": start, "at": e["at"], "in": where})
                if where in PROMPTISH:
                    false_prompt += 1
                else:
                    false_other += 1
        if hit is None:
            missed += 1
            row["latency"] = None
        else:
            row["latency"] = round(hit["at"] - lab["first_word"], 3)
            lat.append(row["latency"])
        per.append(row)
    n = len(labels)
    within = sum(1 for x in lat if x <= 1.0)
    return {
        "sequences": n, "detected": len(lat), "missed": missed,
        "latency_p50": pct(lat, 50), "latency_p90": pct(lat, 90), "latency_p95": pct(lat, 95),
        "latency_max": max(lat) if lat else None,
        "within_1s_share": within / n if n else None,
        "false_human_in_prompt_or_announcement": false_prompt,
        "false_human_elsewhere": false_other,
        "per_sequence": per,
    }


def print_hold(r):
    n = r["sequences"]
    print("hold-slayer: %d sequences" % n)
    print("  human detected      %d, missed %d" % (r["detected"], r["missed"]))
    print("  latency after first word  p50 %s  p90 %s  p95 %s  max %s" % (
        fmt(r["latency_p50"]), fmt(r["latency_p90"]), fmt(r["latency_p95"]), fmt(r["latency_max"])))
    print("  within 1.0 s        %s of all sequences (goal >= 95 %%)" % (
        "-" if r["within_1s_share"] is None else "%.1f %%" % (100 * r["within_1s_share"])))
    print("  false human during a prompt or announcement: %d (goal 0); elsewhere: %d" % (
        r["false_human_in_prompt_or_announcement"], r["false_human_elsewhere"]))


def closed_events(d, ident, kind):
    """The closed lines of type `kind` of one sequence's events."""
    path = os.path.join(d, ident + ".jsonl")
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line:
            e = json.loads(line)
            if e.get("type") == kind and e.get("state") == "closed":
                out.append(e)
    return out


def overlap(a0, a1, b0, b1):
    return max(0.0, min(a1, b1) - max(a0, b0))


def part_of(lab, a, b):
    """The labelled part [a, b) overlaps most, or None."""
    best, bo = None, 0.0
    for p in lab["parts"]:
        o = overlap(a, b, p["start"], p["end"])
        if o > bo:
            best, bo = p, o
    return best


def score_events(labels, events_dir):
    r = {"sequences": len(labels)}
    for kind, want in (("ivr_prompt", "prompt"), ("hold_announcement", "announcement")):
        right, wrong, on_person, delay, found, labelled = 0, {}, 0, [], set(), 0
        for lab in labels:
            parts = [p for p in lab["parts"] if p["kind"] == want and
                     (want != "prompt" or p["end"] - p["start"] >= 0.5)]
            labelled += len(parts)
            for e in closed_events(events_dir, lab["id"], kind):
                p = part_of(lab, e["start"], e["end"])
                where = p["kind"] if p else "gap"
                if where == want:
                    right += 1
                    found.add((lab["id"], p["start"]))
                    delay.append(e["at"] - p["end"])
                else:
                    wrong[where] = wrong.get(where, 0) + 1
                    on_person += where == "human"
        r[kind] = {"events": right + sum(wrong.values()), "right": right, "wrong_by_part": wrong,
                   "on_the_person": on_person, "labelled": labelled, "found": len(found),
                   "delay_p50": pct(delay, 50), "delay_p90": pct(delay, 90)}
    early, late, before_human, decided = 0, [], 0, 0
    rules = {}
    for lab in labels:
        ev = sorted(closed_events(events_dir, lab["id"], "hold_ended"), key=lambda e: e["at"])
        if not ev:
            continue
        decided += 1
        e = ev[0]
        rules[e.get("rule")] = rules.get(e.get("rule"), 0) + 1
        music_end = max(p["end"] for p in lab["parts"] if p["kind"] == "music")
        if e["at"] < music_end:
            early += 1
        else:
            late.append(e["at"] - music_end)
        hum = [h for h in closed_events(events_dir, lab["id"], "human")]
        if not hum or e["at"] < min(h["at"] for h in hum):
            before_human += 1
    r["hold_ended"] = {"sequences_with_one": decided, "early": early, "rules": rules,
                       "before_the_human_event": before_human,
                       "delay_p50": pct(late, 50), "delay_p90": pct(late, 90)}
    n_sil, on_speech, in_music = 0, 0, 0
    for lab in labels:
        for e in closed_events(events_dir, lab["id"], "silence"):
            n_sil += 1
            sp = sum(overlap(e["start"], e["end"], p["start"], p["end"]) for p in lab["parts"]
                     if p["kind"] in ("prompt", "announcement", "human"))
            on_speech += sp > 0.3
            mu = sum(overlap(e["start"], e["end"], p["start"], p["end"]) for p in lab["parts"]
                     if p["kind"] == "music")
            in_music += mu > 0.5 * (e["end"] - e["start"])
    r["silence"] = {"events": n_sil, "on_speech": on_speech, "mostly_in_music": in_music}
    return r


def print_events(r):
    print("hold-mode events: %d sequences" % r["sequences"])
    for kind in ("ivr_prompt", "hold_announcement"):
        k = r[kind]
        print("  %-18s %d events, %d right, wrong %s (on the person: %d); found %d of %d labelled;"
              " delay after its end p50 %s p90 %s" % (
                  kind, k["events"], k["right"], k["wrong_by_part"] or "none", k["on_the_person"],
                  k["found"], k["labelled"], fmt(k["delay_p50"]), fmt(k["delay_p90"])))
    h = r["hold_ended"]
    print("  hold_ended         in %d sequences, early %d, rules %s, before the human event %d;"
          " after the music's end p50 %s p90 %s" % (
              h["sequences_with_one"], h["early"], h["rules"], h["before_the_human_event"],
              fmt(h["delay_p50"]), fmt(h["delay_p90"])))
    s = r["silence"]
    print("  silence            %d events, %d on speech, %d mostly in the music" % (
        s["events"], s["on_speech"], s["mostly_in_music"]))


# ---- answering machines --------------------------------------------------------------------------

def amd_decisions(labels, events_dir, wav_dir):
    """Per sequence: truth, callqa's decision and time, amd_ref's, callqa's first beep."""
    rows = []
    for lab in labels:
        evs, _ = load_events(events_dir, lab["id"])
        dec = next((e for e in evs if e["type"] in ("human", "machine")), None)
        beep = next((e for e in evs if e["type"] == "beep"), None)
        mend = next((e for e in evs if e["type"] == "message_end"), None)
        bpart = next((p for p in lab.get("parts", []) if p["kind"] == "beep"), None)
        ref = amd_ref.run_file(os.path.join(wav_dir, lab["id"] + ".wav"))
        rows.append({
            "id": lab["id"], "class": lab["class"], "beep": lab.get("beep"),
            "greeting_s": round(lab["greeting"]["end"] - lab["greeting"]["start"], 3),
            "callqa": dec["type"] if dec else None, "callqa_at": dec["at"] if dec else None,
            "callqa_beep": (beep.get("start") if beep.get("start") is not None else beep["at"]) if beep else None,
            "callqa_beep_at": beep["at"] if beep else None,
            "beep_end": bpart["end"] if bpart else None,
            "greeting_end": lab["greeting"]["end"],
            "message_end": mend["start"] if mend else None,
            "message_end_at": mend["at"] if mend else None,
            "amd_ref": {"HUMAN": "human", "MACHINE": "machine"}.get(ref["status"]),
            "amd_ref_status": ref["status"], "amd_ref_cause": ref["cause"],
            "amd_ref_at": ref["decision_s"],
        })
    return rows


def amd_summary(rows, who):
    people = [r for r in rows if r["class"] == "human"]
    machines = [r for r in rows if r["class"] == "machine"]
    decided = [r for r in rows if r[who] is not None]
    times = [r[who + "_at"] for r in decided]
    # a person's decision after the end of their greeting: what the pause rule costs
    wait = [r[who + "_at"] - r["greeting_end"] for r in people if r[who] == "human"]
    n = len(rows)
    return {
        "accuracy": sum(r[who] == r["class"] for r in rows) / n if n else None,
        "false_machine_on_people": sum(r[who] == "machine" for r in people) / len(people) if people else None,
        "missed_machine": sum(r[who] == "human" for r in machines) / len(machines) if machines else None,
        "undecided": (n - len(decided)) / n if n else None,
        "decision_p50": pct(times, 50), "decision_p90": pct(times, 90),
        "decision_max": max(times) if times else None,
        "person_after_greeting_p50": pct(wait, 50), "person_after_greeting_p95": pct(wait, 95),
    }


def message_end_summary(rows):
    """`message_end` (the moment to leave a message): on machines with a beep, within BEEP_TOL
    of the beep's end; on machines without one, after the greeting's end; on people, none."""
    mb = [r for r in rows if r["class"] == "machine" and r["beep_end"] is not None]
    mn = [r for r in rows if r["class"] == "machine" and r["beep_end"] is None]
    on_beep = [r for r in mb if r["message_end"] is not None and abs(r["message_end"] - r["beep_end"]) <= BEEP_TOL]
    lat = [r["message_end_at"] - r["beep_end"] for r in on_beep]
    return {"machines_with_beep": len(mb), "within_tol_of_beep_end": len(on_beep),
            "latency_p50": pct(lat, 50), "latency_max": max(lat) if lat else None,
            "before_beep": sum(1 for r in mb if r["message_end"] is not None and r["message_end"] < r["beep_end"] - BEEP_TOL),
            "machines_without_beep": len(mn),
            "after_greeting": sum(1 for r in mn if r["message_end"] is not None and r["message_end"] >= r["greeting_end"]),
            "on_people": sum(1 for r in rows if r["class"] == "human" and r["message_end"] is not None)}


def score_amd(labels, events_dir, wav_dir):
    rows = amd_decisions(labels, events_dir, wav_dir)
    with_beep = [r for r in rows if r["beep"] is not None]
    found = [r for r in with_beep if r["callqa_beep"] is not None and abs(r["callqa_beep"] - r["beep"]) <= BEEP_TOL]
    blat = [r["callqa_beep_at"] - r["beep"] for r in found]
    causes = {}
    for r in rows:
        c = r["amd_ref_cause"].split("-")[0] or r["amd_ref_status"]
        causes.setdefault(r["class"], {}).setdefault(c, 0)
        causes[r["class"]][c] += 1
    return {
        "sequences": len(rows),
        "people": sum(r["class"] == "human" for r in rows),
        "machines": sum(r["class"] == "machine" for r in rows),
        "callqa": amd_summary(rows, "callqa"),
        "amd_ref": amd_summary(rows, "amd_ref"),
        "amd_ref_causes": causes,
        "message_end": message_end_summary(rows),
        "beep": {"labelled": len(with_beep), "found": len(found),
                 "latency_p50": pct(blat, 50), "latency_max": max(blat) if blat else None,
                 "false_beeps": sum(1 for r in rows if r["beep"] is None and r["callqa_beep"] is not None)},
        "per_sequence": rows,
    }


def print_amd(r):
    print("answering machines: %d sequences (%d people, %d machines)" % (r["sequences"], r["people"], r["machines"]))
    print("  %-34s %-14s %-14s" % ("", "callqa", "amd_ref (AMD())"))

    def line(name, key, unit=None):
        vals = []
        for who in ("callqa", "amd_ref"):
            v = r[who][key]
            vals.append("-" if v is None else ("%.1f %%" % (100 * v) if unit == "%" else "%.2f s" % v))
        print("  %-34s %-14s %-14s" % (name, vals[0], vals[1]))
    line("accuracy (undecided = wrong)", "accuracy", "%")
    line("false machine on people", "false_machine_on_people", "%")
    line("missed machine (said human)", "missed_machine", "%")
    line("undecided (none, NOTSURE, HANGUP)", "undecided", "%")
    line("time to decision p50", "decision_p50")
    line("time to decision p90", "decision_p90")
    line("time to decision max", "decision_max")
    line("person: after the greeting p50", "person_after_greeting_p50")
    line("person: after the greeting p95", "person_after_greeting_p95")
    print("  AMD() causes: %s" % json.dumps(r["amd_ref_causes"], sort_keys=True))
    b = r["beep"]
    print("  callqa beep: %d of %d found within %.1f s; latency p50 %s max %s; %d beeps where there is none" % (
        b["found"], b["labelled"], BEEP_TOL, fmt(b["latency_p50"]), fmt(b["latency_max"]), b["false_beeps"]))
    m = r["message_end"]
    print("  callqa message_end: %d of %d machines with a beep within %.1f s of its end (printed %s after it, "
          "max %s), %d before it; %d of %d without a beep after the greeting; %d on people" % (
              m["within_tol_of_beep_end"], m["machines_with_beep"], BEEP_TOL, fmt(m["latency_p50"]),
              fmt(m["latency_max"]), m["before_beep"], m["after_greeting"], m["machines_without_beep"],
              m["on_people"]))


# ---- what the timeline calls speech --------------------------------------------------------------

def score_speech(labels, events_dir):
    tot, sp, iv, nstream = {}, {}, {}, 0
    for lab in labels:
        _, segs = load_events(events_dir, lab["id"])
        nstream += bool(segs)
        speech = [(s["start"], s["end"]) for s in segs if s["segment"] == "speech"]
        ivr = []  # ivr spans: from the lines that carry an end (load_events keeps first lines)
        path = os.path.join(events_dir, lab["id"] + ".jsonl")
        if os.path.exists(path):
            for line in open(path):
                e = json.loads(line) if line.strip() else {}
                if e.get("type") == "ivr" and e.get("end") is not None:
                    ivr.append((e["start"], e["end"]))
        for p in lab["parts"]:
            k, a, b = p["kind"], p["start"], p["end"]
            tot[k] = tot.get(k, 0) + (b - a)
            sp[k] = sp.get(k, 0) + sum(max(0, min(b, e) - max(a, s)) for s, e in speech)
            iv[k] = iv.get(k, 0) + sum(max(0, min(b, e) - max(a, s)) for s, e in ivr)
    kinds = [k for k in ("prompt", "announcement", "human", "music", "ringback", "dtmf") if k in tot]
    # today's nearest thing to a `human` event: the end of a hold. What ended each hold (the
    # first labelled part that ends after it), and for those the person ended, how long after
    # the first word the closed line came.
    ends, late = {}, []
    for lab in labels:
        path = os.path.join(events_dir, lab["id"] + ".jsonl")
        if not os.path.exists(path):
            continue
        for line in open(path):
            e = json.loads(line) if line.strip() else {}
            if e.get("type") == "hold" and e.get("state") == "closed" and e.get("end") is not None:
                nxt = next((p for p in lab["parts"] if p["end"] > e["end"]), None)
                k = nxt["kind"] if nxt else "end of file"
                ends[k] = ends.get(k, 0) + 1
                if k == "human":
                    late.append(e["at"] - lab["first_word"])
    return {"sequences": len(labels), "with_timeline": nstream,
            "hold_ended_by": ends, "hold_end_after_first_word_p50": pct(late, 50),
            "hold_end_after_first_word_max": max(late) if late else None,
            "kinds": {k: {"seconds": round(tot[k], 1), "speech_share": sp[k] / tot[k] if tot[k] else None,
                          "ivr_share": iv[k] / tot[k] if tot[k] else None} for k in kinds}}


def print_speech(r):
    print("timeline: %d sequences (%d with a timeline)" % (r["sequences"], r["with_timeline"]))
    print("  %-14s %10s %14s %12s" % ("part", "seconds", "called speech", "in an ivr"))
    for k, v in r["kinds"].items():
        print("  %-14s %10.1f %13.1f%% %11.1f%%" % (k, v["seconds"], 100 * v["speech_share"], 100 * v["ivr_share"]))
    print("  holds ended by: %s" % json.dumps(r["hold_ended_by"], sort_keys=True))
    print("  the person's hold end: closed %s after the first word (p50), %s at most" % (
        fmt(r["hold_end_after_first_word_p50"]), fmt(r["hold_end_after_first_word_max"])))


# ---- self-checks ---------------------------------------------------------------------------------

def check(a):
    import livelib  # numpy and scipy: only the checks need the builders' module
    bad = []
    try:
        livelib.check_sets()
    except AssertionError as e:
        bad.append("talker sets: %s" % e)
    seen = {"prompt": set(), "live": set()}
    for d, kind in ((a.hold, "hold"), (a.amd, "amd")):
        labels = load_labels(d, kind)
        if not labels:
            bad.append("%s: no %s labels" % (d, kind))
        for lab in labels:
            for e in livelib.check_labels(lab):
                bad.append("%s: %s" % (lab["id"], e))
            for p in lab["parts"]:
                if p.get("talker"):
                    seen["live" if p["kind"] == "human" else "prompt"].add((lab["set"], p["talker"]))
            with wave.open(os.path.join(d, lab["id"] + ".wav"), "rb") as w:
                if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (8000, 2, 1):
                    bad.append("%s.wav: not 8 kHz 16-bit mono" % lab["id"])
                if abs(w.getnframes() / 8000.0 - lab["duration"]) > 0.021:
                    bad.append("%s.wav: %.3f s, labelled %.3f s" % (lab["id"], w.getnframes() / 8000.0, lab["duration"]))
    pv = {t for _, t in seen["prompt"]} & {t for _, t in seen["live"]}
    if pv:
        bad.append("voices both recorded and live: %s" % sorted(pv))
    for cell in ("prompt", "live"):
        dh = {t for s, t in seen[cell] if s == "dev"} & {t for s, t in seen[cell] if s == "held"} - {"allison"}
        if dh:
            bad.append("%s talkers in both dev and held: %s" % (cell, sorted(dh)))
    print("talkers used: prompt %s; live %s" % (
        ", ".join(sorted("%s/%s" % x for x in seen["prompt"])), ", ".join(sorted("%s/%s" % x for x in seen["live"]))))
    nfail = amd_ref.selftest(verbose=False)
    if nfail:
        bad.append("amd_ref: %d hand-checked cases fail" % nfail)
    else:
        print("amd_ref: %d hand-checked cases reproduced" % len(amd_ref.CASES))
    # scores over every set are computed; only the dev set's are printed (the held set's
    # results are not looked at while the detectors are being built)
    for st in ("held", "dev"):
        amd_labels = [x for x in load_labels(a.amd, "amd") if x["set"] == st]
        hold_labels = [x for x in load_labels(a.hold, "hold") if x["set"] == st]
        r = score_amd(amd_labels, a.events_amd, a.amd)
        for row in r["per_sequence"]:
            if row["amd_ref_status"] not in ("HUMAN", "MACHINE", "NOTSURE", "HANGUP"):
                bad.append("%s: AMD() gave no status" % row["id"])
        h = score_hold(hold_labels, a.events_hold)
        if h["detected"] + h["missed"] != h["sequences"]:
            bad.append("%s hold scores do not add up" % st)
        if st == "dev":
            print("dev set:")
            print_amd(r)
            print_hold(h)
        else:
            print("held set: %d AMD and %d hold-slayer sequences scored (results not shown)" % (
                r["sequences"], h["sequences"]))
    bad += oracle_check(a)
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


def oracle_check(a):
    """The scorer on made-up streams whose scores are known: on the dev sequences, a `human`
    event 0.4 s after every first word plus one inside the first prompt of the first sequence;
    on the AMD sequences, the right decision 0.5 s after the greeting and a `beep` 0.1 s after
    each labelled one. Returns the problems found."""
    import tempfile
    bad = []
    with tempfile.TemporaryDirectory() as t:
        hold = [x for x in load_labels(a.hold, "hold") if x["set"] == "dev"]
        for i, lab in enumerate(hold):
            lines = []
            prompt = next((p for p in lab["parts"] if p["kind"] == "prompt"), None)
            if i == 0 and prompt:
                lines.append({"type": "human", "id": 1, "state": "open", "start": prompt["start"],
                              "at": prompt["start"] + 0.5})
            fw = lab["first_word"]
            lines.append({"type": "human", "id": 2, "state": "open", "start": fw, "at": fw + 0.4})
            lines.append({"type": "human", "id": 2, "state": "closed", "start": fw, "at": fw + 2})
            with open(os.path.join(t, lab["id"] + ".jsonl"), "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in lines))
        h = score_hold(hold, t)
        want_false = 1 if hold and any(p["kind"] == "prompt" for p in hold[0]["parts"]) else 0
        if hold and (h["detected"] != len(hold) or abs(h["latency_p95"] - 0.4) > 1e-6 or
                     h["within_1s_share"] != 1.0 or
                     h["false_human_in_prompt_or_announcement"] != want_false):
            bad.append("hold scorer on the oracle stream: %s" % {k: v for k, v in h.items() if k != "per_sequence"})
        amd = [x for x in load_labels(a.amd, "amd") if x["set"] == "dev"]
        for lab in amd:
            g = lab["greeting"]["end"] + 0.5
            lines = [{"type": lab["class"], "id": 1, "state": "open", "start": lab["greeting"]["start"], "at": g}]
            if lab.get("beep") is not None:
                lines.append({"type": "beep", "id": 2, "state": "open", "start": lab["beep"], "at": lab["beep"] + 0.1})
            with open(os.path.join(t, lab["id"] + ".jsonl"), "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in lines))
        r = score_amd(amd, t, a.amd)
        c = r["callqa"]
        if amd and (c["accuracy"] != 1.0 or c["false_machine_on_people"] != 0 or c["undecided"] != 0 or
                    r["beep"]["found"] != r["beep"]["labelled"] or r["beep"]["false_beeps"]):
            bad.append("AMD scorer on the oracle stream: %s %s" % (c, r["beep"]))
    if not bad:
        print("scorer: made-up streams scored as constructed (hold: %d, AMD: %d sequences)" % (len(hold), len(amd)))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("hold", "amd", "speech", "events"):
        s = sub.add_parser(name)
        s.add_argument("--labels", required=True)
        s.add_argument("--events", required=(name in ("speech", "events")))
        s.add_argument("--json")
    c = sub.add_parser("check")
    c.add_argument("--hold", required=True)
    c.add_argument("--amd", required=True)
    c.add_argument("--events-hold")
    c.add_argument("--events-amd")
    a = ap.parse_args()
    if a.cmd == "check":
        sys.exit(check(a))
    if a.cmd == "hold":
        r = score_hold(load_labels(a.labels, "hold"), a.events)
        print_hold(r)
    elif a.cmd == "amd":
        r = score_amd(load_labels(a.labels, "amd"), a.events, a.labels)
        print_amd(r)
    elif a.cmd == "events":
        r = score_events(load_labels(a.labels, "hold"), a.events)
        print_events(r)
    else:
        r = score_speech(load_labels(a.labels, "hold"), a.events)
        print_speech(r)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
