#!/usr/bin/env python3
"""mkamd.py - answering-machine sequences: what the far end sends from the moment an outbound
call is answered, a person or a machine, built from the shared corpus (the material the live
`human`/`machine`/`beep` events and Asterisk's AMD() rules, amd_ref.py, are scored on).

    mkamd.py --set dev|held --out DIR [--n N] [--seed S] [--corpus DIR] [--long-greetings]

The file starts at the answer. Half the sequences are people, half machines (alternating):
  - before the greeting, line noise at -72..-48 dBFS (the loudest of it is over AMD()'s
    silence threshold) for 0.3-1.5 s, one time in six 1.5-3.0 s, alike for both classes;
  - a person: one short utterance of a live talker (livelib.LIVE_TALKERS), 0.25-1.3 s, the
    "hello?" of someone picking up; one time in two they say a second one after a 1-3 s pause;
    then 3-6 s of quiet while they wait;
  - a machine: a greeting of 2-12 s, consecutive utterances of a prompt talker
    (livelib.PROMPT_TALKERS, in the held set also Allison's voicemail intro) 0.15-0.6 s apart;
    four times in five the Asterisk beep 0.3-1.2 s after it, then 1-3 s of quiet. Utterances
    keep their own lead-in and tail (the quiet frames within 35 dB of their loudest, and 50 ms),
    so the pauses a level detector hears between them are often longer than the gap inserted.
The two classes' greeting lengths overlap (a person's two utterances and their pause can last up
to 5.6 s, a machine's greeting as little as 2 s). Levels, band-pass and codecs as in mkseq.py: the greeting at
-30..-12 dBFS active level, the beep at -24..-8 dBFS; u-law for even numbers, GSM 06.10 for odd.
The talkers are the same fixed, disjoint sets as the hold-slayer sequences'.

--long-greetings builds the calls that break a rule deciding on the greeting's length alone,
instead of the mix above (codecs PCM, u-law and GSM in turn, by pairs):
  - a person greets at length, 0.5-3.5 s of their own utterances 0.12-0.45 s apart ("Hello,
    Smith residence, Anna speaking"), then waits 1-4 s for an answer; one time in two they say
    "hello?" again (one short utterance) and wait 1-4 s once more;
  - a machine: two in five a short greeting (1.0-3.5 s) that ends in the beep 0.3-1.2 s after
    it, two in five a long one (3.5-12 s) without a beep, one in five a long one with the beep;
    its utterances 0.15-0.6 s apart, as in the mix.
The person's greeting ends at most 3.5 s after it starts (labelled, checked); each part says
what it is ("greeting_long"/"greeting_short", "hello_again").

Writes DIR/amd_SET_NNN.wav and DIR/amd_SET_NNN.json: class (human or machine), greeting
{start, end} (first and last sample of speech, 10 ms frames within 35 dB of the loudest), beep
(the time of the beep's energy onset, or null), parts (kind human or greeting, and beep), the
talker, levels, codec and seed.
"""
import argparse
import json
import os

import numpy as np

import livelib as L
from mkseq import Builder, speech_span, level_part


def greeting_machine(rng, corpus, st, lo=2.0, hi=12.0, gap_hi=0.6):
    """A machine's greeting: (audio, talker, src) of lo-hi s (the voicemail intro: its own)."""
    want = rng.uniform(lo, hi)
    if st == "held" and rng.random() < 0.15:
        src = "ivr_prompts/ast_en_vm_intro.wav"
        return L.read8k(os.path.join(corpus, src)), "allison", src
    talker = str(rng.choice([t for t in L.PROMPT_TALKERS[st] if t != "allison"]))
    utts = L.phrases(corpus, talker, bridge_s=0.3, min_s=0.3)
    k, take, total = int(rng.integers(len(utts))), [], 0.0
    while total < want:
        u = utts[k % len(utts)]
        if total + len(u) / L.RATE > 12 and take:
            break
        take.append(u)
        total += len(u) / L.RATE
        if total < want:
            take.append(np.zeros(int(rng.uniform(0.15, gap_hi) * L.RATE)))
            total += len(take[-1]) / L.RATE
        k += 1
    x = np.concatenate(take)
    return x[:int(hi * L.RATE)], talker, talker


def short_phrases(corpus, talker):
    """A live talker's short utterances (0.25-1.3 s, pauses of 0.12 s or more split them); the
    first 0.25-1.3 s of its utterances, cut at an energy dip, when it has none."""
    out = L.phrases(corpus, talker, bridge_s=0.12, min_s=0.25, max_s=1.3)
    if out:
        return out
    for u in L.phrases(corpus, talker, bridge_s=0.3, min_s=0.3):
        db = L.frame_db(u)
        lo, hi = 25, min(len(db), 130)
        if hi > lo:
            cut = lo + int(np.argmin(db[lo:hi]))
            out.append(u[:cut * L.FRAME])
    return out


def greeting_person(rng, corpus, talker, want):
    """A person's greeting of their own utterances, 0.12-0.45 s apart, whose speech spans at
    most `want` s (at least one utterance, cut at the end to fit)."""
    utts = (L.phrases(corpus, talker, bridge_s=0.12, min_s=0.25, max_s=3.5) or
            short_phrases(corpus, talker))
    k, take, total = int(rng.integers(len(utts))), [], 0.0
    for _ in range(len(utts)):
        u = utts[k % len(utts)]
        k += 1
        if total + len(u) / L.RATE > want:
            if take:
                continue
            u = u[:int(want * L.RATE)]
        take.append(u)
        total += len(u) / L.RATE
        if total >= want - 0.25:
            break
        g = np.zeros(int(rng.uniform(0.12, 0.45) * L.RATE))
        if total + len(g) / L.RATE + 0.25 > want:
            break
        take.append(g)
        total += len(g) / L.RATE
    while take and not np.any(take[-1]):
        take.pop()
    return np.concatenate(take)


def call_start(rng):
    """A call's builder, its line's noise floor and the wait before the first sound. The same wait
    for both classes: 0.3-1.5 s, one time in six 1.5-3.0 s (over AMD()'s 2.5 s initial silence
    now and then), so that the wait alone does not tell them apart."""
    b = Builder()
    noise_db = rng.uniform(-72, -48)
    b.gap(rng.uniform(0.3, 1.5) if rng.random() < 5 / 6 else rng.uniform(1.5, 3.0))
    return b, noise_db


def put_beep(rng, b, beep_audio):
    """A machine's beep 0.3-1.2 s after its greeting, at -24 to -8 dBFS; its onset (s)."""
    b.gap(rng.uniform(0.3, 1.2))
    y, blv = L.set_level(beep_audio, rng.uniform(-24, -8))
    a2, e2 = speech_span(y)
    beep = round((b.n + a2) / L.RATE, 4)
    b.put(y, {"kind": "beep", "src": L.BEEP_FILE, "level_dbfs": round(float(blv), 2),
              "_a": a2, "_b": e2})
    return beep


def build_long(rng, corpus, st, is_human, beep_audio):
    """--long-greetings: one call (see the docstring)."""
    b, noise_db = call_start(rng)
    beep = None
    if is_human:
        talker = str(rng.choice(L.LIVE_TALKERS[st]))
        x, lv = level_part(rng, greeting_person(rng, corpus, talker, rng.uniform(0.5, 3.5)))
        a, e = speech_span(x)
        g0 = b.n + a
        b.put(x, {"kind": "human", "talker": talker, "level_dbfs": lv, "_a": a, "_b": e})
        g1 = b.n - len(x) + e
        b.gap(rng.uniform(1.0, 4.0))
        if rng.random() < 0.5:  # "hello?" again
            ph = short_phrases(corpus, talker)
            y, lv2 = L.set_level(ph[int(rng.integers(len(ph)))], lv + rng.uniform(-3, 3))
            a2, e2 = speech_span(y)
            b.put(y, {"kind": "human", "what": "hello_again", "talker": talker,
                      "level_dbfs": round(float(lv2), 2), "_a": a2, "_b": e2})
            b.gap(rng.uniform(1.0, 4.0))
        b.gap(1.0)
    else:
        r = rng.random()
        short = r < 0.4
        x, talker, src = (greeting_machine(rng, corpus, st, 1.0, 3.5) if short else
                          greeting_machine(rng, corpus, st, 3.5, 12.0))
        x, lv = level_part(rng, x)
        a, e = speech_span(x)
        g0 = b.n + a
        b.put(x, {"kind": "greeting", "what": "greeting_short" if (e - a) / L.RATE <= 3.5 else
                  "greeting_long", "talker": talker, "src": src, "level_dbfs": lv, "_a": a,
                  "_b": e})
        g1 = b.n - len(x) + e
        if short or r >= 0.8:
            beep = put_beep(rng, b, beep_audio)
            b.gap(rng.uniform(1.0, 3.0))
        else:
            b.gap(rng.uniform(2.0, 4.0))
    greeting = {"start": round(g0 / L.RATE, 4), "end": round(g1 / L.RATE, 4)}
    if is_human and greeting["end"] - greeting["start"] > 3.5 + 1e-6:
        L.die("a person's greeting over 3.5 s: %s" % greeting)
    return b, greeting, beep, talker, noise_db


def build(rng, corpus, st, is_human, beep_audio):
    b, noise_db = call_start(rng)
    beep = None
    if is_human:
        talker = str(rng.choice(L.LIVE_TALKERS[st]))
        ph = short_phrases(corpus, talker)
        x, lv = level_part(rng, ph[int(rng.integers(len(ph)))])
        a, e = speech_span(x)
        g0 = b.n + a
        b.put(x, {"kind": "human", "talker": talker, "level_dbfs": lv, "_a": a, "_b": e})
        g1 = b.n - len(x) + e
        if rng.random() < 0.5:  # "hello? ... hello?"
            b.gap(rng.uniform(1.0, 3.0))
            y, lv2 = L.set_level(ph[int(rng.integers(len(ph)))], lv + rng.uniform(-3, 3))
            a2, e2 = speech_span(y)
            b.put(y, {"kind": "human", "talker": talker, "level_dbfs": round(float(lv2), 2),
                      "_a": a2, "_b": e2})
            g1 = b.n - len(y) + e2
        b.gap(rng.uniform(3.0, 6.0))
    else:
        x, talker, src = greeting_machine(rng, corpus, st)
        x, lv = level_part(rng, x)
        a, e = speech_span(x)
        g0 = b.n + a
        b.put(x, {"kind": "greeting", "talker": talker, "src": src, "level_dbfs": lv, "_a": a, "_b": e})
        g1 = b.n - len(x) + e
        if rng.random() < 0.8:
            beep = put_beep(rng, b, beep_audio)
        b.gap(rng.uniform(1.0, 3.0))
    greeting = {"start": round(g0 / L.RATE, 4), "end": round(g1 / L.RATE, 4)}
    return b, greeting, beep, talker, noise_db


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=["dev", "held"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--long-greetings", action="store_true")
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "../../../shared/corpus"))
    a = ap.parse_args()
    L.check_sets()
    os.makedirs(a.out, exist_ok=True)
    beep_audio = L.read8k(os.path.join(a.corpus, L.BEEP_FILE))
    base = a.seed * 1000 + (500 if a.set == "held" else 0) + 100000  # apart from mkseq's seeds
    if a.long_greetings:
        base += 300000  # apart from the mix's own
    for i in range(a.n):
        rng = np.random.default_rng(base + i)
        is_human = i % 2 == 0
        b, greeting, beep, talker, noise_db = (build_long if a.long_greetings else build)(
            rng, a.corpus, a.set, is_human, beep_audio)
        x = b.signal()
        x = x + L.line_noise(rng, len(x), noise_db)
        x = L.telephone_band(x)
        codec = (["pcm", "ulaw", "gsm"][(i // 2) % 3] if a.long_greetings else
                 "ulaw" if (i // 2) % 2 == 0 else "gsm")  # each codec for both classes
        name = "amd_%s_%03d" % (a.set, i)
        L.write_wav(os.path.join(a.out, name + ".wav"), x, codec)
        lab = {"id": name, "kind": "amd", "set": a.set, "seed": base + i, "codec": codec,
               "class": "human" if is_human else "machine", "talker": talker,
               "noise_dbfs": round(float(noise_db), 2), "duration": round(len(x) / L.RATE, 4),
               "greeting": greeting, "beep": beep, "parts": b.parts}
        errs = L.check_labels(lab)
        if errs:
            L.die("%s: %s" % (name, "; ".join(errs)))
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump(lab, f, indent=1)
    print("mkamd: %d %s sequences in %s" % (a.n, a.set, a.out))


if __name__ == "__main__":
    main()
