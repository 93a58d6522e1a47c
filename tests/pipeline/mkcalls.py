#!/usr/bin/env python3
"""mkcalls.py - the calls of the voice-profile test (tests/pipeline/test_roles_worker.sh), from
recordings of one talker each (../shared/corpus), made with sox:

    mkcalls.py --shared DIR --out DIR [--seed N]

Agents: two talkers whose voice is in two separate recordings each (the P.862 talker am1,
s01 and s02; the P.862 original pair or109/or114, one voice: tests/dsp/mkmix.py). Each
agent's first recording makes its enrolment call, its second the mono mixes, so a profile is
never compared with the recording it was made from.
  - enrol_AGENT.wav: a stereo call, channel 1 the customer (a customer talker), channel 2 the
    agent (its first recording, played three times), turns one after the other;
  - mono_AGENT_CUSTOMER.wav: a mono mix of the agent's second recording and a customer talker,
    cut in turns of 1.5-3 s (each recording played three times) at random and interleaved, the first speaker chosen at random
    (seeded); both through the same 300-3400 Hz band-pass, the customer at +-3 dB at random.
Writes DIR/calls.tsv: file, layout, agent, customer, first (agent|customer), and for each mix
DIR/NAME.turns: each turn's talker (agent|customer), start and end on the mix's clock, s.
"""
import argparse
import os
import random
import subprocess
import tempfile

RATE = 8000
AGENTS = {
    "am1": ("quality/p862_u_am1s01.wav", "quality/p862_u_am1s02.wav"),
    "or109": ("quality/p862_or109.wav", "quality/p862_or114.wav"),
    "af1": ("quality/p862_u_af1s01.wav", "quality/p862_u_af1s03.wav"),
}
CUSTOMERS = {
    "or105": "quality/p862_or105.wav",
    "or161": "quality/p862_or161.wav",
    "or137": "quality/p862_or137.wav",
    "vk5qi": "speech/codec2_vk5qi.wav",
}
ENROL_CUSTOMER = {"am1": "or137", "or109": "or161", "af1": "or105"}
REPEAT = 3  # each 8 s recording is played three times: a speaker has 10-15 s of speech


def sox(*args):
    subprocess.run(["sox", "-q", "-D"] + [str(a) for a in args], check=True)


def prep(src, dst, gain_db=0.0):
    """8 kHz mono, band-passed, normalised to -3 dB peak then the gain, played REPEAT times"""
    sox(src, "-r", RATE, "-c", 1, "-b", 16, dst, "sinc", "300-3400", "norm", -3 + gain_db,
        "repeat", REPEAT - 1)


def length(path):
    out = subprocess.run(["soxi", "-D", path], check=True, capture_output=True, text=True)
    return float(out.stdout)


def silence(dst, sec):
    sox("-n", "-r", RATE, "-c", 1, "-b", 16, dst, "trim", 0, "%.3f" % sec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=38)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    corpus = os.path.join(a.shared, "corpus")
    os.makedirs(a.out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t = lambda name: os.path.join(tmp, name)
        for ag, (first, second) in AGENTS.items():
            # the enrolment call: customer, then the agent, then the customer again
            cu = ENROL_CUSTOMER[ag]
            prep(os.path.join(corpus, first), t("ag.wav"))
            prep(os.path.join(corpus, CUSTOMERS[cu]), t("cu.wav"))
            la, lc = length(t("ag.wav")), length(t("cu.wav"))
            half = lc / 2
            sox(t("cu.wav"), t("cu1.wav"), "trim", 0, "%.3f" % half)
            sox(t("cu.wav"), t("cu2.wav"), "trim", "%.3f" % half)
            silence(t("s_half.wav"), half + 0.5)
            silence(t("s_ag.wav"), la + 0.5)
            silence(t("s_rest.wav"), lc - half + 0.5)
            sox(t("cu1.wav"), t("s_half.wav"), t("s_ag.wav"), t("cu2.wav"), t("in.wav"))
            sox(t("s_half.wav"), t("s_half.wav"), t("ag.wav"), t("s_rest.wav"), t("out.wav"))
            out = os.path.join(a.out, "enrol_%s.wav" % ag)
            sox("-M", t("in.wav"), t("out.wav"), out)
            rows.append(("enrol_%s.wav" % ag, "stereo", ag, cu, "customer"))
            # the mono mixes
            prep(os.path.join(corpus, second), t("ag2.wav"))
            for cu in CUSTOMERS:
                if cu == ENROL_CUSTOMER[ag]:
                    continue
                g = rng.choice((-3.0, 3.0))
                prep(os.path.join(corpus, CUSTOMERS[cu]), t("cm.wav"), g)
                pieces = {}
                for who, f in (("agent", t("ag2.wav")), ("customer", t("cm.wav"))):
                    total, at, n = length(f), 0.0, 0
                    pieces[who] = []
                    while at < total - 0.3:
                        d = min(rng.uniform(1.5, 3.0), total - at)
                        p = t("%s_%d.wav" % (who, n))
                        sox(f, p, "trim", "%.3f" % at, "%.3f" % d)
                        pieces[who].append(p)
                        at += d
                        n += 1
                who = rng.choice(("agent", "customer"))
                first_who = who
                seq, turns, at = [], [], 0.5
                while pieces["agent"] or pieces["customer"]:
                    if pieces[who]:
                        p = pieces[who].pop(0)
                        seq.append(p)
                        d = length(p)
                        turns.append((who, at, at + d))
                        gap = t("gap_%d.wav" % len(seq))
                        silence(gap, rng.uniform(0.3, 0.9))
                        seq.append(gap)
                        at += d + length(gap)
                    who = "customer" if who == "agent" else "agent"
                name = "mono_%s_%s.wav" % (ag, cu)
                silence(t("lead.wav"), 0.5)
                sox(t("lead.wav"), *seq, os.path.join(a.out, name))
                with open(os.path.join(a.out, name.replace(".wav", ".turns")), "w") as f:
                    for w, s0, s1 in turns:
                        f.write("%s\t%.3f\t%.3f\n" % (w, s0, s1))
                rows.append((name, "mono", ag, cu, first_who))
    with open(os.path.join(a.out, "calls.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
