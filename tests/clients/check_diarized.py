#!/usr/bin/env python3
"""check_diarized.py - a mono mix of two talkers transcribed by `callqa analyze --transcribe`,
checked against the requests the fake ASR received (tests/clients/fake_asr.py --rttm) and the
report callqa wrote.

    check_diarized.py --report REPORT.json --log FAKE_LOG_DIR --rttm CALL.rttm

When the diarization found two speakers (report `diarization.n_speakers` 2):
  1. the transcript says so: speakers_from "diarization", its diarization block has the
     report's method and confidence, no "both parties are one speaker" warning; two legs of
     role mixed, speakers S1 and S2;
  2. every request the fake received is one speaker's: named S1_START_END.wav or
     S2_START_END.wav, as one chunk of that speaker's leg in the report, with no protocol
     violation; as many requests as chunks;
  3. callqa's cutting, against the diarization: each request's audio (what is not zeros, to
     5 ms) lies within its speaker's diarized segments widened by the plan's pad_sec, and
     overlaps the other speaker's segments by no more than one 5 ms frame per part;
  4. against the truth (the RTTM): each request holds at most --tol seconds (0.5) of the
     speech of a second reference speaker (where that speaker alone speaks, farther than
     0.25 s from a reference boundary: the fake's `truth`); a miss says whether that speech lay
     in the speaker's own diarized segments (a diarization error) or not (callqa's cutting).
     With --strict-truth any miss fails; without, a diarization error is listed as a note and
     only the cutting's share over --tol fails;
  5. the requests together carry at least --cover (0.9) of the reference speech so scored;
  6. the utterances: every segment of a leg, and every turn, has the leg's speaker (S1, S2),
     lies inside that leg's chunks, and both speakers have turns.
When the diarization found one speaker: the mix is transcribed as before, one `mixed` leg with
the warning, speakers_from "mix", and the fake saw two reference speakers in its requests (the
check of 4 tells one speaker from two).
Exit 0 when all hold, else 1 with what failed. Python 3 standard library only.
"""
import argparse
import json
import os
import re
import sys

NAME = re.compile(r"^(S1|S2|mixed)_(\d+\.\d{3})_(\d+\.\d{3})\.wav$")
FRAME = 0.005


def overlap(spans, segs):
    tot = 0.0
    for a, b in spans:
        for s, e in segs:
            if e > a and s < b:
                tot += min(b, e) - max(a, s)
    return tot


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--rttm", required=True)
    ap.add_argument("--tol", type=float, default=0.5)
    ap.add_argument("--cover", type=float, default=0.9)
    ap.add_argument("--strict-truth", action="store_true",
                    help="a second reference speaker in a request fails whatever its cause")
    a = ap.parse_args()
    with open(a.report, encoding="utf-8") as f:
        rep = json.loads(f.readline())
    reqs = []
    with open(os.path.join(a.log, "requests.jsonl"), encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q.get("endpoint") == "transcribe":
                reqs.append(q)
    bad, notes = [], []

    def need(cond, what):
        if not cond:
            bad.append(what)
        return cond

    t = rep.get("transcript") or {}
    dia = rep.get("diarization") or {}
    n_spk = dia.get("n_speakers")
    need(reqs, "the fake received no transcription request")
    for q in reqs:
        need(not q.get("violations"), "request %s: violations %s" % (q["n"], q.get("violations")))
        need(q.get("status") == 200, "request %s: status %s" % (q["n"], q.get("status")))
        need("truth" in q, "request %s: the fake logged no truth (--rttm)" % q["n"])
    if n_spk != 2:
        legs = t.get("legs", [])
        need(t.get("speakers_from") == "mix", "one speaker: speakers_from %r, want mix" %
             t.get("speakers_from"))
        need(t.get("diarization") is None, "one speaker: a diarization block in the transcript")
        need(len(legs) == 1 and legs[0].get("speaker") == "mixed",
             "one speaker: legs %s, want one mixed" % [x.get("speaker") for x in legs])
        need(any("one speaker (mixed)" in w for w in t.get("warnings", [])),
             "one speaker: no warning that both parties are one speaker")
        need(all(NAME.match(q["file"]["filename"]).group(1) == "mixed" for q in reqs),
             "one speaker: a request not named mixed_")
        need(any(not q["truth"]["one_speaker"] for q in reqs if "truth" in q),
             "one speaker: the fake found one reference speaker in every mixed request "
             "(the truth check tells nothing apart)")
        print("n_speakers %s: transcribed as one mixed speaker, %d requests, the fake saw two "
              "reference speakers in %d" % (n_spk, len(reqs),
                                             sum(1 for q in reqs if not q["truth"]["one_speaker"])))
        return report(bad)
    # 1. the block
    need(t.get("speakers_from") == "diarization",
         "speakers_from %r, want diarization" % t.get("speakers_from"))
    td = t.get("diarization") or {}
    need(td.get("method") == dia.get("method") and td.get("confidence") == dia.get("confidence"),
         "transcript diarization %s, report %s/%s" % (td, dia.get("method"), dia.get("confidence")))
    need(not any("one speaker (mixed)" in w for w in t.get("warnings", [])),
         "the mixed warning on a diarized mix")
    legs = {x.get("speaker"): x for x in t.get("legs", [])}
    need(sorted(legs) == ["S1", "S2"], "legs %s, want S1 and S2" % sorted(legs))
    need(all(x.get("role") == "mixed" and x.get("leg") == "mix" for x in legs.values()),
         "a speaker's leg is not the mix")
    segs = {s["id"]: [(g["start"], g["end"]) for g in s["segments"]]
            for s in rep.get("speakers") or []}
    pad = (t.get("plan") or {}).get("pad_sec", 0.2)
    # 2. the requests are the chunks
    chunks = {}
    for sp, x in legs.items():
        for c in x.get("chunks", []):
            chunks[c["file"]] = sp
    need(len(reqs) == len(chunks) == t.get("requests"),
         "%d requests, %d chunks, transcript.requests %s" % (len(reqs), len(chunks),
                                                            t.get("requests")))
    truth = scorable(fake().parse_rttm(a.rttm))
    second_total = scored = 0.0
    for q in reqs:
        fn = q["file"]["filename"]
        m = NAME.match(fn)
        if not need(m and m.group(1) in ("S1", "S2"), "request %s: %r is not S1_/S2_" % (q["n"], fn)):
            continue
        sp = m.group(1)
        other = "S2" if sp == "S1" else "S1"
        need(chunks.get(fn) == sp, "request %s: %s is no chunk of %s's leg" % (q["n"], fn, sp))
        audio = q.get("audio") or []
        # 3. the cutting, against the diarization
        own = [(s - pad - FRAME - 0.001, e + pad + FRAME + 0.001) for s, e in segs.get(sp, [])]
        for p in audio:
            inside = overlap([p], own)
            need(inside >= p[1] - p[0] - 1e-6,
                 "request %s (%s): audio %.3f-%.3f lies %.3f s outside %s's padded segments"
                 % (q["n"], fn, p[0], p[1], p[1] - p[0] - inside, sp))
            into = overlap([p], segs.get(other, []))
            need(into <= 2 * FRAME + 1e-6,
                 "request %s (%s): audio %.3f-%.3f holds %.3f s of %s's segments"
                 % (q["n"], fn, p[0], p[1], into, other))
        # 4. the truth
        tr = q.get("truth") or {}
        sec = tr.get("speakers", {})
        scored += sum(sec.values())
        second_total += tr.get("second_sec", 0)
        if not tr.get("one_speaker"):
            # where the second speaker's speech lies: in the speaker's own diarized segments
            # (the diarization gave it to this speaker) or in the widening (the cutting)
            main_spk = max(sec, key=sec.get)
            theirs = [x for k, v in truth.items() if k != main_spk for x in v]
            heard = inter_spans([tuple(p) for p in audio], theirs)
            in_own = overlap(heard, segs.get(sp, []))
            cutting = tr.get("second_sec", 0) - in_own
            (bad if a.strict_truth or cutting > a.tol else notes).append("request %s (%s): %s of two reference speakers; of the second's %.2f s, "
                       "%.2f s in %s's own diarized segments (a diarization error), %.2f s in "
                       "the widening (the cutting)" % (q["n"], fn, sec, tr.get("second_sec", 0),
                                                      in_own, sp, tr.get("second_sec", 0) - in_own))
    # 5. coverage of the reference speech
    total = sum(e - s for v in truth.values() for s, e in v)
    need(total > 0 and scored / total >= a.cover,
         "the requests carry %.1f of %.1f s of the scorable reference speech (want %.0f %%)"
         % (scored, total, 100 * a.cover))
    # 6. utterances and turns
    spans = {sp: [(c["start"], c["end"]) for c in x.get("chunks", [])] for sp, x in legs.items()}
    n_seg = 0
    for sp, x in legs.items():
        for g in x.get("segments", []):
            n_seg += 1
            need(g.get("speaker") == sp, "%s segment %.3f-%.3f says speaker %r"
                 % (sp, g["start"], g["end"], g.get("speaker")))
            need(overlap([(g["start"], g["end"])], spans[sp]) >= g["end"] - g["start"] - 0.002,
                 "%s segment %.3f-%.3f outside its chunks" % (sp, g["start"], g["end"]))
    turns = t.get("turns", [])
    need({u["speaker"] for u in turns} == {"S1", "S2"},
         "turn speakers %s, want S1 and S2" % sorted({u["speaker"] for u in turns}))
    for u in turns:
        sp = u["speaker"]
        if sp in spans:
            need(any(c0 - 0.002 <= u["start"] and u["end"] <= c1 + 0.002 or
                     overlap([(u["start"], u["end"])], spans[sp]) > 0 for c0, c1 in spans[sp]),
                 "turn %s %.3f-%.3f outside its speaker's chunks" % (sp, u["start"], u["end"]))
    print("two speakers (confidence %s): %d requests (S1 %d, S2 %d), %d segments, %d turns; "
          "%.1f s of scorable reference speech sent of %.1f s; a second reference speaker "
          "in the requests: %.2f s in all, at most %.2f s in one"
          % (dia.get("confidence"), len(reqs),
             sum(1 for q in reqs if q["file"]["filename"].startswith("S1_")),
             sum(1 for q in reqs if q["file"]["filename"].startswith("S2_")), n_seg, len(turns),
             scored, total, second_total,
             max([q.get("truth", {}).get("second_sec", 0) for q in reqs] or [0])))
    for n in notes:
        print("note (the diarization's error, not the cutting's): " + n)
    return report(bad)


def inter_spans(a, b):
    out = []
    for s, e in a:
        for x, y in b:
            if y > s and x < e:
                out.append((max(s, x), min(e, y)))
    return out


def fake():
    """The fake server's module: its RTTM reader and scorable spans are the check's too."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fake_asr  # noqa: E402
    return fake_asr


def scorable(spk):
    """As the fake's: each speaker's speech where it alone speaks, 0.25 s from boundaries."""
    return fake().rttm_scorable(spk)


def report(bad):
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
