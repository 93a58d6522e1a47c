#!/usr/bin/env python3
"""mkseq.py - hold-slayer sequences: calls as the far end sends them while a caller waits for a
person, built from the shared corpus (the material the live `human` event is scored on).

    mkseq.py --set dev|held --out DIR [--n N] [--seed S] [--corpus DIR] [--probe]
             [--companies K] [--hard]

One sequence, in order:
  1. ringback: 1-4 rings of the corpus's US ringback recording (one 6.03 s period of it tiled,
     the last period cut 0.4-2.5 s after its ring);
  2. an IVR: 1-4 prompts, each a corpus IVR prompt recording (Allison, the Asterisk voice) or, one
     time in two, a recording of another prompt talker of the set (livelib.PROMPT_TALKERS);
     after each but the last, 1-4 DTMF keys (ITU-T Q.23 pairs, 50-100 ms each, 60-150 ms apart,
     the low group at -18..-6 dBm0, the high group 0..3 dB over it) 0.8-3 s after the prompt;
  3. hold: the set's hold music from a random point, 25-130 s, with an announcement (a queue
     announcement of Allison's or a prompt talker's recording) every 20-40 s; during one
     announcement in two the music stops, otherwise it goes on 12-20 dB under it (the music's
     parts are then cut around the announcement in the labels);
  4. the live person: 0.3-2.5 s of quiet after the music, then 3-12 s of one live talker's
     utterances (livelib.LIVE_TALKERS), 0.15-0.9 s apart.
Every part gets its own active level, -30..-12 dBFS (-28..-14 for the music and the rings), so
that neither level nor the corpus prompts' peak normalisation tells a prompt from a person. Line
noise (-72..-60 dBFS) runs under it all, the whole call goes through a 300-3400 Hz band-pass
and then one codec: G.711 u-law for even sequence numbers, GSM 06.10 for odd (sox, both ways).

Talkers: prompt voices and live voices are disjoint sets, and dev and held share no talker but
Allison, whose recordings are split by file (livelib.py lists them all; check_sets() asserts it).

first_word: the energy onset of the live part (livelib.onset): the first 10 ms frame of the
person's clean signal (placed and scaled, before noise, band-pass and codec) at most 25 dB under
that part's active level that starts 50 ms of frames as loud.

With --probe (hold mode's probe, docs/live/hold-slayer.md "Asking the line"), the person waits for an answer
after a greeting: 4. is the talker's greeting (utterances 0.15-0.3 s apart, 1-6 s in all), then
8-12 s of quiet line; and DIR/hold_SET_NNN.reply.wav holds the person's reply to a probe (another
utterance of theirs, 0.4-2.5 s, at the greeting's level +-3 dB, through the same channel and
codec), which the sender mixes in when the probe is heard (as_send --reply). The labels add
first_utt_end (the greeting's last speech sample, s) and reply.

With --hard (with --probe: the announcements a probe's reply window is fooled by, heard for the
first time, so no --companies), each announcement is, one time in three each: single words of a
prompt talker (0.25-0.6 s pieces of its utterances, cut at their quietest frames) 0.6-1.5 s
apart, 3-8 of them; a prompt take (as in 3.)
whose speech pauses 0.8-2.5 s mid-sentence, at the quietest 10 ms frame of its middle third
(labelled "pause_at"); or a take as in 3. The person, after the greeting, says "hello?" again
(one of their short utterances) 2-4 s later one time in two. The codecs go PCM, u-law, GSM in
turn. The label says "announce_kind" (words, pause, take) for each announcement.

With --companies K (remembered announcements, docs/live.md), sequence i calls company i % K
("destination": "co-SET-K" in its labels): each company has its own hold music track (of the
set's) and one or two announcements (a prompt take as in 3., 3-9 s, drawn once per company),
which its holds play in turn, each time at its own level, with or without the music under it;
the codec still follows the sequence number.

Writes DIR/hold_SET_NNN.wav (8 kHz 16-bit mono) and DIR/hold_SET_NNN.json: duration, codec,
set, seed, first_word, and the parts in time order, each with kind (ringback, prompt, dtmf,
music, announcement, human), start, end (s), level_dbfs (active level reached; dtmf: the low
group's dBm0 and the twist), and talker/src/key where they apply. The same arguments give the
same files.
"""
import argparse
import json
import os

import numpy as np

import livelib as L


class Builder:
    """The call being assembled: a growing signal, its parts, the cursor."""

    def __init__(self):
        self.chunks, self.n, self.parts = [], 0, []

    def gap(self, sec):
        k = int(round(sec * L.RATE))
        self.chunks.append(np.zeros(k))
        self.n += k

    def put(self, x, part=None):
        """Append x; label the span [cursor + a, cursor + b) if part carries ("_a", "_b") sample
        offsets inside x (default: all of x)."""
        if part is not None:
            a, b = part.pop("_a", 0), part.pop("_b", len(x))
            part["start"] = round((self.n + a) / L.RATE, 4)
            part["end"] = round((self.n + b) / L.RATE, 4)
            self.parts.append(part)
        self.chunks.append(x)
        self.n += len(x)

    def signal(self):
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0)


def speech_span(x):
    """First and last sample of x's speech (10 ms frames within 35 dB of the loudest)."""
    db = L.frame_db(x)
    on = np.nonzero(db >= db.max() - 35)[0]
    return int(on[0] * L.FRAME), int(min(len(x), (on[-1] + 1) * L.FRAME))


def prompt_take(rng, corpus, st, kind, max_s):
    """A recorded prompt: (audio, talker, src). One time in two one of Allison's prompt files of
    the set's `kind` ("ivr" or "announce"), else consecutive utterances of another prompt talker;
    long recordings are cut at a pause to a run of their utterances of at most max_s."""
    if rng.random() < 0.5:
        src = str(rng.choice(L.ALLISON_FILES[st][kind]))
        x = L.read8k(os.path.join(corpus, src))
        talker = "allison"
        utts = L.utterances(x, bridge_s=0.3, min_s=0.3)
    else:
        talker = str(rng.choice([t for t in L.PROMPT_TALKERS[st] if t != "allison"]))
        src = talker
        utts = L.phrases(corpus, talker)
    k = int(rng.integers(len(utts)))
    take = [utts[k]]
    total = len(utts[k]) / L.RATE
    while k + 1 < len(utts) and total + len(utts[k + 1]) / L.RATE <= max_s:
        k += 1
        take.append(np.zeros(int(rng.uniform(0.25, 0.6) * L.RATE)))
        take.append(utts[k])
        total += len(take[-1]) / L.RATE + len(take[-2]) / L.RATE
    return np.concatenate(take), talker, src


def words_of(utts):
    """Word-sized pieces (0.25-0.6 s) of utterances, each cut at the quietest 10 ms frame of the
    0.25-0.6 s after the last cut and faded over 5 ms at both ends."""
    out, fade = [], np.linspace(0, 1, int(0.005 * L.RATE))
    for u in utts:
        db = L.frame_db(u)
        pos = 0
        while pos + 60 <= len(db):
            cut = pos + 25 + int(np.argmin(db[pos + 25:pos + 60]))
            w = u[pos * L.FRAME:cut * L.FRAME].copy()
            w[:len(fade)] *= fade
            w[-len(fade):] *= fade[::-1]
            if db[pos:cut].max() > db.max() - 20:  # a piece with speech in it
                out.append(w)
            pos = cut
    return out


def announce_hard(rng, corpus, st):
    """--hard's announcement: (audio, talker, src, kind), see the docstring."""
    r = rng.random()
    if r < 1 / 3:
        talker = str(rng.choice([t for t in L.PROMPT_TALKERS[st] if t != "allison"]))
        words = words_of(L.phrases(corpus, talker))
        if words:
            k, take = int(rng.integers(len(words))), []
            for j in range(int(rng.integers(3, 9))):
                if take:
                    take.append(np.zeros(int(rng.uniform(0.6, 1.5) * L.RATE)))
                take.append(words[(k + j) % len(words)])
            return np.concatenate(take), talker, talker, "words"
    x, talker, src = prompt_take(rng, corpus, st, "announce", rng.uniform(2, 9))
    if r < 2 / 3:
        db = L.frame_db(x)
        n = len(db)
        cut = (n // 3 + int(np.argmin(db[n // 3:2 * n // 3]))) * L.FRAME if n >= 9 else len(x) // 2
        x = np.concatenate([x[:cut], np.zeros(int(rng.uniform(0.8, 2.5) * L.RATE)), x[cut:]])
        return x, talker, src, "pause"
    return x, talker, src, "take"


def level_part(rng, x, lo=-30.0, hi=-12.0):
    y, lv = L.set_level(x, rng.uniform(lo, hi))
    return y, round(float(lv), 2)


def company(corpus, st, seed, k):
    """Company k of --companies: its music track and its one or two announcements."""
    rng = np.random.default_rng(seed * 7919 + k)
    src = str(rng.choice(L.MUSIC_FILES[st]))
    anns = [prompt_take(rng, corpus, st, "announce", rng.uniform(3, 9))
            for _ in range(int(rng.integers(1, 3)))]
    return {"name": "co-%s-%d" % (st, k), "music": src, "announcements": anns}


def build(rng, corpus, st, probe=False, co=None, hard=False):
    b = Builder()
    b.gap(rng.uniform(0.1, 0.8))

    # 1. ringback
    rb = L.read8k(os.path.join(corpus, L.RINGBACK_FILE))
    per = rb[int(L.RINGBACK_PERIOD[0] * L.RATE):int(L.RINGBACK_PERIOD[1] * L.RATE)]
    rings = int(rng.integers(1, 5))
    per, lv = level_part(rng, per, -28, -14)
    on0, on1 = int(L.RINGBACK_ON[0] * L.RATE), int(L.RINGBACK_ON[1] * L.RATE)
    for r in range(rings):
        seg = per if r < rings - 1 else per[:on1 + int(rng.uniform(0.4, 2.5) * L.RATE)]
        b.put(seg, {"kind": "ringback", "src": L.RINGBACK_FILE, "level_dbfs": lv, "_a": on0, "_b": on1})

    # 2. IVR prompts with DTMF between them
    nprompt = int(rng.integers(1, 5))
    for i in range(nprompt):
        x, talker, src = prompt_take(rng, corpus, st, "ivr", rng.uniform(3, 12))
        x, lv = level_part(rng, x)
        a, e = speech_span(x)
        b.put(x, {"kind": "prompt", "talker": talker, "src": src, "level_dbfs": lv, "_a": a, "_b": e})
        if i < nprompt - 1:
            b.gap(rng.uniform(0.8, 3.0))
            low, twist = round(rng.uniform(-18, -6), 1), round(rng.uniform(0, 3), 1)
            for k in range(int(rng.integers(1, 5))):
                key = str(rng.choice(list("0123456789*#")))
                d = rng.uniform(0.05, 0.1)
                b.put(L.dtmf(key, d, low, twist, rng), {"kind": "dtmf", "key": key,
                                                       "level_dbm0": low, "twist_db": twist})
                b.gap(rng.uniform(0.06, 0.15))
            b.gap(rng.uniform(0.5, 2.0))
        else:
            b.gap(rng.uniform(0.3, 1.5))

    # 3. hold music with announcements every 20-40 s
    src = str(rng.choice(L.MUSIC_FILES[st])) if co is None else co["music"]
    music = L.read8k(os.path.join(corpus, src))
    n_ann = int(rng.integers(0, 2)) if co else 0  # where in its list this hold starts
    hold = rng.uniform(25, 130)
    off = int(rng.integers(0, max(1, len(music) - int(hold * L.RATE))))
    mus = np.resize(np.roll(music, -off), int(hold * L.RATE))  # wraps around a short track
    mus, mlv = level_part(rng, mus, -28, -14)
    pos, next_ann = 0, int(rng.uniform(20, 40) * L.RATE)
    while pos < len(mus):
        stop = min(len(mus), next_ann)
        if stop - pos > L.RATE // 10:
            b.put(mus[pos:stop], {"kind": "music", "src": src, "level_dbfs": mlv,
                                  "offset_s": round(((off + pos) % len(music)) / L.RATE, 3)})
        pos = stop
        if pos >= len(mus) - 5 * L.RATE:  # no announcement in the last 5 s of the hold
            if pos < len(mus):
                b.put(mus[pos:], {"kind": "music", "src": src, "level_dbfs": mlv,
                                  "offset_s": round(((off + pos) % len(music)) / L.RATE, 3)})
            break
        akind = None
        if co is None and hard:
            x, talker, asrc, akind = announce_hard(rng, corpus, st)
        elif co is None:
            x, talker, asrc = prompt_take(rng, corpus, st, "announce", rng.uniform(2, 9))
        else:  # the company's own, in turn
            x, talker, asrc = co["announcements"][n_ann % len(co["announcements"])]
            n_ann += 1
        x, lv = level_part(rng, x)
        part = {"kind": "announcement", "talker": talker, "src": asrc, "level_dbfs": lv}
        if akind:
            part["announce_kind"] = akind
        if rng.random() < 0.5:  # the music stops for it
            lead = np.zeros(int(rng.uniform(0.2, 0.8) * L.RATE))
            trail = np.zeros(int(rng.uniform(0.2, 0.8) * L.RATE))
            y = np.concatenate([lead, x, trail])
            a, e = speech_span(y)
            part.update({"_a": a, "_b": e, "music_under_db": None})
            b.put(y, part)
        else:  # the music goes on under it
            duck = rng.uniform(12, 20)
            a, e = speech_span(x)
            seg = mus[pos:pos + len(x)]
            seg = np.pad(seg, (0, len(x) - len(seg)))
            part.update({"_a": a, "_b": e, "music_under_db": round(-duck, 1)})
            b.put(x + seg * 10 ** (-duck / 20), part)
            pos += len(x)
        next_ann = pos + int(rng.uniform(20, 40) * L.RATE)

    # 4. the live person
    b.gap(rng.uniform(0.3, 2.5))
    talker = str(rng.choice(L.LIVE_TALKERS[st]))
    utts = L.phrases(corpus, talker, bridge_s=0.3, min_s=0.3)
    if probe:
        return probe_person(rng, b, utts, talker, corpus if hard else None)
    want, take, k = rng.uniform(3, 12), [], int(rng.integers(len(utts)))
    total = 0.0
    while total < want:
        u = utts[k % len(utts)]
        take.append(u)
        total += len(u) / L.RATE
        if total < want:
            take.append(np.zeros(int(rng.uniform(0.15, 0.9) * L.RATE)))
            total += len(take[-1]) / L.RATE
        k += 1
    x, lv = level_part(rng, np.concatenate(take))
    first_word, _ = put_person(b, x, lv, talker)
    b.gap(rng.uniform(0.5, 1.5))
    return b, first_word


def put_person(b, x, lv, talker):
    """The live person's speech x (at active level lv) appended and labelled: returns its first
    word (its energy onset, livelib.onset) and its speech's end, in s."""
    a, e = speech_span(x)
    fw = L.onset(x, lv)
    fw = a if fw is None else fw
    a = min(a, fw)
    first_word, end = round((b.n + fw) / L.RATE, 4), round((b.n + e) / L.RATE, 4)
    b.put(x, {"kind": "human", "talker": talker, "level_dbfs": lv, "_a": a, "_b": e})
    return first_word, end


def probe_person(rng, b, utts, talker, again_corpus=None):
    """The person of a probe sequence: a greeting of 1-6 s, the quiet line; the reply apart.
    With again_corpus (--hard), one time in two "hello?" again 2-4 s after the greeting."""
    short = [u for u in utts if len(u) <= 6 * L.RATE] or [u[:6 * L.RATE] for u in utts]
    want, take, k = rng.uniform(1, 6), [], int(rng.integers(len(short)))
    total = 0.0
    while True:
        u = short[k % len(short)]
        if take and total + len(u) / L.RATE > want + 1.0:
            break
        take.append(u)
        total += len(u) / L.RATE
        k += 1
        if total >= want:
            break
        take.append(np.zeros(int(rng.uniform(0.15, 0.3) * L.RATE)))
        total += len(take[-1]) / L.RATE
    x, lv = level_part(rng, np.concatenate(take))
    first_word, first_end = put_person(b, x, lv, talker)
    if again_corpus and rng.random() < 0.5:
        b.gap(rng.uniform(2, 4))
        ph = L.phrases(again_corpus, talker, bridge_s=0.12, min_s=0.25, max_s=1.0) or short
        y, lv2 = L.set_level(ph[int(rng.integers(len(ph)))], lv + rng.uniform(-3, 3))
        a2, e2 = speech_span(y)
        b.put(y, {"kind": "human_again", "talker": talker, "level_dbfs": round(float(lv2), 2),
                  "_a": a2, "_b": e2})
    b.gap(rng.uniform(8, 12))
    # the reply: another utterance of theirs, 0.4-2.5 s
    cands = [u for u in utts if 0.4 * L.RATE <= len(u) <= 2.5 * L.RATE] or utts
    r = cands[int(rng.integers(len(cands)))]
    r, rlv = L.set_level(r, lv + rng.uniform(-3, 3))
    ra, re_ = speech_span(r)  # from its first word (as first_word is): as_send's delay is to it
    on = L.onset(r, rlv)
    ra = max(0, (on if on is not None else ra) - int(0.02 * L.RATE))
    r = r[ra:min(re_, ra + int(2.5 * L.RATE))]
    return b, first_word, first_end, r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=["dev", "held"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--probe", action="store_true", help="the person answers a probe (see above)")
    ap.add_argument("--hard", action="store_true", help="announcements that fool a reply window")
    ap.add_argument("--companies", type=int, default=0,
                    help="calls to K companies whose announcements repeat (see above)")
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "../../../shared/corpus"))
    a = ap.parse_args()
    L.check_sets()
    os.makedirs(a.out, exist_ok=True)
    # the held set's seeds are apart from the dev set's, so the same --seed gives other calls
    base = a.seed * 1000 + (500 if a.set == "held" else 0) + (200000 if a.hard else 0)
    if a.hard and a.companies:
        L.die("--hard calls name no company: its announcements are heard for the first time")
    cos = [company(a.corpus, a.set, base, k) for k in range(a.companies)]
    for i in range(a.n):
        rng = np.random.default_rng(base + i)
        co = cos[i % len(cos)] if cos else None
        built = build(rng, a.corpus, a.set, a.probe, co, a.hard)
        b, first_word = built[0], built[1]
        x = b.signal()
        noise_db = rng.uniform(-72, -60)
        x = x + L.line_noise(rng, len(x), noise_db)
        x = L.telephone_band(x)
        codec = ["pcm", "ulaw", "gsm"][i % 3] if a.hard else "ulaw" if i % 2 == 0 else "gsm"
        name = "hold_%s_%03d" % (a.set, i)
        L.write_wav(os.path.join(a.out, name + ".wav"), x, codec)
        lab = {"id": name, "kind": "hold", "set": a.set, "seed": base + i, "codec": codec,
               "duration": round(len(x) / L.RATE, 4), "first_word": first_word, "parts": b.parts}
        if co:
            lab["destination"] = co["name"]
        if a.probe:  # the reply, through the same channel (the line's noise is in the call)
            r = L.telephone_band(built[3])
            L.write_wav(os.path.join(a.out, name + ".reply.wav"), r, codec)
            lab.update({"first_utt_end": built[2], "reply": name + ".reply.wav",
                        "reply_sec": round(len(r) / L.RATE, 4)})
        errs = L.check_labels(lab)
        if errs:
            L.die("%s: %s" % (name, "; ".join(errs)))
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump(lab, f, indent=1)
    print("mkseq: %d %s sequences in %s" % (a.n, a.set, a.out))


if __name__ == "__main__":
    main()
