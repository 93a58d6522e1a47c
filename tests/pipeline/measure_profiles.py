#!/usr/bin/env python3
"""measure_profiles.py - the voice-profile rule measured on more mixes than the worker test
holds (docs/report/conversation.md "roles"): each agent talker enrolled from one recording (a stereo call,
its print from the agent leg), then mono mixes of another recording of the same voice with each
customer talker, first speaker at random (seeded), analysed by `callqa analyze --voiceprints`;
the similarity of the profile to each diarized speaker (cq_voiceprint_similarity, here in
Python), and the rule at a margin: right, wrong, unknown, with every gap.

    measure_profiles.py --callqa BUILD/callqa --shared DIR [--margin 0.25] [--seed N] [--keep DIR]

Exit status 1 when fewer than 40 mixes were of two speakers or more than 10 % of the decided
were wrong (ctest roles_profiles).

Python 3 standard library and sox (tests/pipeline/mkcalls.py's helpers).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkcalls  # noqa: E402

# voices in two separate recordings each: (first: enrolment, second: the mixes)
AGENTS = {
    "am1": ("quality/p862_u_am1s01.wav", "quality/p862_u_am1s02.wav"),
    "af1": ("quality/p862_u_af1s01.wav", "quality/p862_u_af1s03.wav"),
    "or109": ("quality/p862_or109.wav", "quality/p862_or114.wav"),
    "or134": ("quality/p862_or134.wav", "quality/p862_or154.wav"),
    "or166": ("quality/p862_or166.wav", "quality/p862_or229.wav"),
    "librivox": ("speech/ps_librivox_0870.wav", "speech/ps_librivox_0890.wav"),
}
CUSTOMERS = {
    "or105": "quality/p862_or105.wav", "or129": "quality/p862_or129.wav",
    "or137": "quality/p862_or137.wav", "or155": "quality/p862_or155.wav",
    "or161": "quality/p862_or161.wav", "or170": "quality/p862_or170.wav",
    "or179": "quality/p862_or179.wav", "or221": "quality/p862_or221.wav",
    "vk5qi": "speech/codec2_vk5qi.wav", "p239": "quality/warpq_p239_021_ref.wav",
}


def similarity(a, b):
    d = len(a) // 2
    s = 0.0
    for i in range(d):
        va, vb = a[d + i] ** 2, b[d + i] ** 2
        if va <= 0 or vb <= 0:
            return float("-inf")
        dm = a[i] - b[i]
        s += 0.5 * (va / vb + vb / va - 2.0) + 0.5 * dm * dm * (1.0 / va + 1.0 / vb)
    return -s / d


def analyse(cq, path):
    out = subprocess.run([cq, "analyze", "--voiceprints", "--json", path], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--callqa", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--margin", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=38)
    ap.add_argument("--keep")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    corpus = os.path.join(a.shared, "corpus")
    tmp = a.keep or tempfile.mkdtemp(prefix="roles_profiles.")
    os.makedirs(tmp, exist_ok=True)
    t = lambda name: os.path.join(tmp, name)
    right = wrong = unknown = single = 0
    gaps = []
    for ag, (first, second) in AGENTS.items():
        # enrolment: the agent's first recording on the agent channel, a customer on the other
        mkcalls.prep(os.path.join(corpus, first), t("ag.wav"))
        mkcalls.prep(os.path.join(corpus, CUSTOMERS["or221"]), t("cu.wav"))
        la, lc = mkcalls.length(t("ag.wav")), mkcalls.length(t("cu.wav"))
        mkcalls.silence(t("s_ag.wav"), la + 0.5)
        mkcalls.silence(t("s_cu.wav"), lc + 0.5)
        mkcalls.sox(t("cu.wav"), t("s_ag.wav"), t("in.wav"))
        mkcalls.sox(t("s_cu.wav"), t("ag.wav"), t("out.wav"))
        mkcalls.sox("-M", t("in.wav"), t("out.wav"), t("enrol_%s.wav" % ag))
        prof = analyse(a.callqa, t("enrol_%s.wav" % ag))["outbound"]["voiceprint"]["v"]
        mkcalls.prep(os.path.join(corpus, second), t("ag2.wav"))
        for cu, cf in CUSTOMERS.items():
            g = rng.choice((-3.0, 0.0, 3.0))
            mkcalls.prep(os.path.join(corpus, cf), t("cm.wav"), g)
            pieces = {}
            for who, f in (("agent", t("ag2.wav")), ("customer", t("cm.wav"))):
                total, at, n = mkcalls.length(f), 0.0, 0
                pieces[who] = []
                while at < total - 0.3:
                    d = min(rng.uniform(1.5, 3.0), total - at)
                    p = t("%s_%d.wav" % (who, n))
                    mkcalls.sox(f, p, "trim", "%.3f" % at, "%.3f" % d)
                    pieces[who].append(p)
                    at += d
                    n += 1
            who = first_who = rng.choice(("agent", "customer"))
            seq = []
            while pieces["agent"] or pieces["customer"]:
                if pieces[who]:
                    seq.append(pieces[who].pop(0))
                    gap = t("gap_%d.wav" % len(seq))
                    mkcalls.silence(gap, rng.uniform(0.3, 0.9))
                    seq.append(gap)
                who = "customer" if who == "agent" else "agent"
            mkcalls.silence(t("lead.wav"), 0.5)
            name = "mono_%s_%s.wav" % (ag, cu)
            mkcalls.sox(t("lead.wav"), *seq, t(name))
            r = analyse(a.callqa, t(name))
            sp = r.get("speakers") or []
            if len(sp) != 2:
                single += 1
                print("%-26s one speaker: no roles" % name)
                continue
            s = [similarity(prof, x["voiceprint"]["v"]) for x in sp]
            truth = 0 if first_who == "agent" else 1
            gap = s[truth] - s[1 - truth]  # > 0: the agent closer
            gaps.append(gap)
            if abs(gap) < a.margin:
                unknown += 1
                verdict = "unknown"
            elif gap > 0:
                right += 1
                verdict = "right"
            else:
                wrong += 1
                verdict = "WRONG"
            print("%-26s agent S%d  sim S1 %6.2f S2 %6.2f  gap %+5.2f  diar conf %.2f  %s"
                  % (name, truth + 1, s[0], s[1], gap, r["diarization"]["confidence"], verdict))
    two = right + wrong + unknown
    print("margin %.2f: %d mixes, %d of two speakers: right %d (%.0f %%), wrong %d, unknown %d; "
          "one speaker %d" % (a.margin, two + single, two, right, 100.0 * right / max(two, 1),
                              wrong, unknown, single))
    neg = sorted(g for g in gaps if g <= 0)
    pos = sorted(g for g in gaps if g > 0)
    print("gaps the wrong way: %s" % ", ".join("%.2f" % -g for g in neg) if neg else
          "gaps the wrong way: none")
    if pos:
        print("gaps the right way: smallest %s, median %.2f" %
              (", ".join("%.2f" % g for g in pos[:5]), pos[len(pos) // 2]))
    # the rule's promise: a decision is rarely wrong (at most 10 % of those decided)
    decided = right + wrong
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if two >= 40 and wrong * 10 <= decided else 1


if __name__ == "__main__":
    sys.exit(main())
