#!/usr/bin/env python3
"""mkcorpus.py - the spoken redaction corpus: two-leg calls synthesised word by word with
espeak-ng, each word's true time known, with sensitive numbers and as many near-misses.

    mkcorpus.py --seed SEED --out DIR [--per-type N] [--shared DIR] [--jobs 2]

Writes into DIR:
  calls/ID.wav                  a stereo call (ViciDial layout: channel 1 = inbound = customer,
                                channel 2 = outbound = agent), 8 kHz, PCM16, u-law or A-law
  calls/ID-in.wav, ID-out.wav   a call as two GSM 06.10 WAV legs (customer in, agent out)
  script.json                   the truth: {seed, calls: [{id, codec, files, duration,
                                legs: {customer|agent: {words: [{w, s, e, u, d}]}},
                                items: [{id, kind: entity|near, type, leg, words: [index...],
                                digits: [[s, e]...], value, source}]}]}
                                w: the word said; s/e: its speech on the call's clock (the
                                synthesised word trimmed of its silence at -50 dBFS); u: the
                                utterance's index on that leg; d: the digit it stands for, when it
                                is a digit word (null otherwise).
  calls.tsv                     ID, codec, file(s): what the test uploads

Every item is said by the customer after the agent's question that cues it (entities) or a
question that cues something harmless (near-misses). Entity types: card, cvv, expiry, ssn, iban,
email, phone. Near-misses: order, reference and account numbers, amounts, times, Luhn-invalid
16-digit runs, a card's last four, years, ZIP codes, small counts. With --shared, the number
segments of the Harper Valley bank calls (SHARED/transcripts) are said too, labelled as
tests/privacy/test_privacy_text.c labels them (four phone numbers; every other number a near-miss).

Words are synthesised once per voice and word, so the run time grows with the vocabulary, not
the corpus: one espeak-ng run per voice (-v VOICE -s SPEED, SSML with a 700 ms break after each
word, sox to 8 kHz) cut where the audio stays under -50 dBFS for 300 ms; a run that does not cut
into one piece per word is said again one word per espeak-ng run (sox trims each at -50 dBFS). Python 3 standard library,
espeak-ng and sox.
"""
import argparse
import array
import json
import math
import operator
import os
import random
import re
import subprocess
import sys
import wave
import zlib
from concurrent.futures import ThreadPoolExecutor

try:  # C speed for the frames' levels (Python 3.11 has it; without it, the same in Python)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
except ImportError:
    audioop = None

RATE = 8000
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
# (voice, speed): the customer's and the agent's voices are drawn from these
VOICES = [("en-us", 165), ("en-gb", 150), ("en-us+f3", 175), ("en-gb-scotland", 145),
          ("en-gb-x-rp", 160), ("en-us+m3", 140)]
TYPES = ["card", "cvv", "expiry", "ssn", "iban", "email", "phone"]
TEST_CARDS = ["4111111111111111", "4242424242424242", "4012888888881881", "5555555555554444",
              "5105105105105100", "378282246310005", "371449635398431", "6011111111111117",
              "6011000990139424", "3530111333300000", "3566002020360505", "30569309025904",
              "4000056655665556", "2223003122003222", "5200828282828210", "6200000000000005"]
PREFIXES = [("4", 16), ("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
            ("6011", 16), ("65", 16), ("3528", 16), ("36", 14), ("4", 13)]
TEST_IBANS = ["GB82WEST12345698765432", "DE89370400440532013000", "GB33BUKB20201555555555",
              "FR1420041010050500013M02606", "NL91ABNA0417164300", "ES9121000418450200051332",
              "IE29AIBK93115212345678", "BE68539007547034"]
FIRST = ["john", "mary", "alex", "priya", "tom", "li", "sara", "omar"]
LAST = ["smith", "jones", "patel", "nguyen", "brown", "garcia"]
DOMAINS = ["gmail", "yahoo", "outlook", "hotmail", "acme"]
TLDS = [["com"], ["net"], ["org"], ["co", "dot", "uk"], ["io"]]

# the agent's questions: what cues each entity, and harmless ones for the near-misses
ASK = {
    "card": ["can i take the long number on the card please", "what is the card number",
             "please read me the sixteen digits on the front of your card",
             "go ahead with the card number when you are ready"],
    "cvv": ["and the security code on the back", "what is the three digit code on the back",
            "and the c v v please", "finally the card verification code"],
    "expiry": ["and the expiry date", "when does the card expire",
               "what is the expiration date on the card", "and it is valid until when"],
    "ssn": ["can you confirm your social security number",
            "for verification i need your social security number",
            "what is your s s n please"],
    "iban": ["what is the i b a n of the account", "please spell the iban for the transfer",
             "and the international bank account number"],
    "email": ["what is your email address", "which email should we send the receipt to",
              "can i have an email address please"],
    "phone": ["what is the best phone number to reach you", "which number should we call you back on",
              "can i have a contact number please", "what is your mobile number"],
    "order": ["what is the order number", "do you have your order number handy"],
    "reference": ["do you have a reference number", "what is the case reference"],
    "account": ["what is the account number on the statement", "which member number is it"],
    "amount": ["how much was the payment", "what was the total on the bill"],
    "time": ["what time suits you for the appointment", "when did you call us before"],
    "serial": ["what is the serial number on the box", "can you read the code on the box"],
    "last4": ["which card was it", "what are the last four digits of the card"],
    "year": ["when did you open the account", "which year did you move"],
    "zip": ["and the zip code of that address", "what is the postcode"],
    "count": ["how many times did that happen", "how many cards do you have"],
}
NEAR = ["order", "reference", "account", "amount", "time", "serial", "last4", "year", "zip",
        "count"]


# ----------------------------------------------------------------------------- numbers

def luhn_ok(d):
    s, alt = 0, False
    for ch in reversed(d):
        x = int(ch)
        if alt:
            x *= 2
            if x > 9:
                x -= 9
        s += x
        alt = not alt
    return s % 10 == 0


def luhn_complete(body):
    for c in "0123456789":
        if luhn_ok(body + c):
            return body + c
    raise AssertionError(body)


def gen_card(rng):
    if rng.random() < 0.4:
        return rng.choice(TEST_CARDS)
    pre, n = rng.choice(PREFIXES)
    body = pre + "".join(rng.choice("0123456789") for _ in range(n - len(pre) - 1))
    return luhn_complete(body)


def luhn_invalid(rng, n=16):
    while True:
        d = rng.choice("3456") + "".join(rng.choice("0123456789") for _ in range(n - 1))
        if not luhn_ok(d):
            return d


def gen_ssn(rng):
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            break
    return "%03d%02d%04d" % (a, rng.randint(1, 99), rng.randint(1, 9999))


def iban_check(country, bban):
    s = bban + country + "00"
    n = int("".join(str(int(c, 36)) for c in s))
    return "%s%02d%s" % (country, 98 - n % 97, bban)


def gen_iban(rng):
    if rng.random() < 0.5:
        return rng.choice(TEST_IBANS)
    bank = rng.choice(["WEST", "NWBK", "BARC", "MIDL", "HBUK"])
    return iban_check("GB", bank + "".join(rng.choice("0123456789") for _ in range(14)))


def two_digit_words(n):
    """'27' as said: twenty seven, oh nine, ten, fifteen."""
    if n < 10:
        return ["oh", DIGITS[n]]
    if n < 20:
        return [TEENS[n - 10]]
    return [TENS[n // 10]] + ([DIGITS[n % 10]] if n % 10 else [])


def number_words(n):
    """A number as said in full: 4111 -> four thousand one hundred and eleven."""
    out = []
    if n >= 1000:
        out += number_words(n // 1000) + ["thousand"]
        n %= 1000
        if n and n < 100:
            out.append("and")
    if n >= 100:
        out += [DIGITS[n // 100], "hundred"]
        n %= 100
        if n:
            out.append("and")
    if n >= 20:
        out.append(TENS[n // 10])
        if n % 10:
            out.append(DIGITS[n % 10])
    elif n >= 10:
        out.append(TEENS[n - 10])
    elif n > 0 or not out:
        out.append(DIGITS[n])
    return out


# A phrase is a list of tokens: (word, digit-or-None, pause-before seconds or None, is_item)
def tok(w, d=None, pause=None, item=True):
    return [w, d, pause, item]


def digits_said(rng, s, groups, group_pause=(0.15, 0.5), style=True):
    """Tokens saying the digits of s digit by digit in the given group sizes, with "double"
    and "oh" now and then."""
    out, i = [], 0
    for gi, g in enumerate(groups):
        part = s[i:i + g]
        i += g
        j = 0
        first = True
        while j < len(part):
            pause = rng.uniform(*group_pause) if (first and gi > 0) else None
            first = False
            c = part[j]
            if style and j + 1 < len(part) and part[j + 1] == c and rng.random() < 0.25:
                out.append(tok("double", None, pause))
                out.append(tok(DIGITS[int(c)], None))
                # both digits stand on the pair: the item's digits are "double" and the word
                out[-2][1] = c
                out[-1][1] = c
                j += 2
                continue
            w = "oh" if (c == "0" and style and rng.random() < 0.3) else DIGITS[int(c)]
            out.append(tok(w, c, pause))
            j += 1
    return out


def card_groups(n):
    return {16: [4, 4, 4, 4], 15: [4, 6, 5], 14: [4, 6, 4], 13: [4, 4, 5]}.get(n, [n])


def words_tokens(text, item=False):
    return [tok(w, None, None, item) for w in text.split()]


def spell_tokens(s, rng):
    out = []
    for i, c in enumerate(s):
        pause = rng.uniform(0.1, 0.35) if (i and i % 4 == 0) else None
        if c.isdigit():
            out.append(tok(DIGITS[int(c)], c, pause))
        else:
            out.append(tok(c, None, pause))
    return out


def entity(rng, typ, extra):
    """(tokens of the customer's answer, value, extra items) for an entity of type typ."""
    lead = rng.choice(["", "sure it's", "yes it is", "okay", "that's", "it is"])
    toks = words_tokens(lead)
    if typ == "card":
        v = gen_card(rng)
        toks += digits_said(rng, v, card_groups(len(v)))
        # now and then the expiry and the code follow in the same breath
        if extra and rng.random() < 0.3:
            m, y = rng.randint(1, 12), rng.randint(25, 31)
            toks += words_tokens("expires", item=False)
            ex = [tok(w, None) for w in two_digit_words(m) + two_digit_words(y)]
            return toks, v, [("expiry", ex, "%02d%02d" % (m, y))]
        return toks, v, []
    if typ == "cvv":
        n = 4 if rng.random() < 0.2 else 3
        v = "".join(rng.choice("0123456789") for _ in range(n))
        return toks + digits_said(rng, v, [n]), v, []
    if typ == "expiry":
        m, y = rng.randint(1, 12), rng.randint(25, 32)
        r = rng.random()
        if r < 0.4:
            ws = two_digit_words(m) + two_digit_words(y)
        elif r < 0.7:
            ws = [MONTHS[m - 1]] + two_digit_words(20) + two_digit_words(y)
        else:
            ws = two_digit_words(m) + ["slash"] + two_digit_words(y)
        return toks + [tok(w, None, None, w != "slash") for w in ws], "%02d%02d" % (m, y), []
    if typ == "ssn":
        v = gen_ssn(rng)
        return toks + digits_said(rng, v, [3, 2, 4], style=rng.random() < 0.5), v, []
    if typ == "iban":
        v = gen_iban(rng)
        return toks + spell_tokens(v, rng), v, []
    if typ == "email":
        f, l_ = rng.choice(FIRST), rng.choice(LAST)
        dom, tld = rng.choice(DOMAINS), rng.choice(TLDS)
        r = rng.random()
        local = [f, "dot", l_] if r < 0.5 else ([f] if r < 0.7 else [f, "underscore", l_])
        ws = local + ["at", dom, "dot"] + tld
        v = "".join({"dot": ".", "underscore": "_", "at": "@"}.get(w, w) for w in ws)
        return toks + [tok(w, None) for w in ws], v, []
    if typ == "phone":
        r = rng.random()
        if r < 0.5:
            v = "%03d555%04d" % (rng.randint(201, 989), rng.randint(100, 9999))
            toks += digits_said(rng, v, [3, 3, 4])
        elif r < 0.8:
            v = "07" + "".join(rng.choice("0123456789") for _ in range(9))
            toks += digits_said(rng, v, [5, 3, 3])
        else:
            v = "1" + "%03d555%04d" % (rng.randint(201, 989), rng.randint(100, 9999))
            toks += words_tokens("plus", item=False) + digits_said(rng, v, [1, 3, 3, 4])
        return toks, v, []
    raise AssertionError(typ)


def near_miss(rng, typ):
    lead = rng.choice(["", "it's", "yes", "okay it is", "that was"])
    toks = words_tokens(lead)
    if typ == "order":
        v = "".join(rng.choice("0123456789") for _ in range(rng.choice([8, 10, 12])))
        return toks + words_tokens("order") + digits_said(rng, v, [len(v) // 2] * 2), v
    if typ == "reference":
        v = "".join(rng.choice("0123456789") for _ in range(rng.choice([6, 9, 10])))
        return toks + words_tokens("the reference is") + digits_said(rng, v, [len(v)]), v
    if typ == "account":
        v = "".join(rng.choice("0123456789") for _ in range(8))
        return toks + words_tokens("account") + digits_said(rng, v, [4, 4]), v
    if typ == "amount":
        n = rng.choice([rng.randint(100, 999), rng.randint(1000, 9999), rng.randint(20, 99)])
        unit = rng.choice(["dollars", "pounds", ""])
        return toks + [tok(w, None) for w in number_words(n)] + words_tokens(unit), str(n)
    if typ == "time":
        h = rng.randint(1, 12)
        r = rng.random()
        if r < 0.3:
            ws = ["quarter", "to", DIGITS[h] if h < 10 else TEENS[h - 10]]
        elif r < 0.6:
            ws = (DIGITS[h] if h < 10 else TEENS[h - 10]).split() + ["thirty"]
        else:
            ws = ["at"] + ((DIGITS[h] if h < 10 else TEENS[h - 10]).split()) + ["o'clock"]
        return toks + [tok(w, None) for w in ws], str(h)
    if typ == "serial":
        v = luhn_invalid(rng, 16)
        return toks + words_tokens("the serial is") + digits_said(rng, v, [4, 4, 4, 4]), v
    if typ == "last4":
        v = "".join(rng.choice("0123456789") for _ in range(4))
        return toks + words_tokens("the one ending in") + digits_said(rng, v, [4]), v
    if typ == "year":
        y = rng.randint(1985, 2024)
        ws = (two_digit_words(y // 100) + two_digit_words(y % 100)) if y < 2000 else \
            (["two", "thousand"] + ([DIGITS[y % 100]] if y % 100 < 10 else two_digit_words(y % 100)))
        ws = [w for w in ws if w != "oh"] if y < 2000 else ws
        return toks + words_tokens("back in") + [tok(w, None) for w in ws], str(y)
    if typ == "zip":
        v = "".join(rng.choice("0123456789") for _ in range(5))
        return toks + words_tokens("zip") + digits_said(rng, v, [5], style=False), v
    if typ == "count":
        n = rng.randint(2, 12)
        w = DIGITS[n] if n < 10 else TEENS[n - 10]
        return toks + [tok(w, None)] + words_tokens("times"), str(n)
    raise AssertionError(typ)


# ----------------------------------------------------------------------------- Harper Valley

HV_PHONES = {("0224c92b64d144d4", 10): 0, ("0224c92b64d144d4", 11): 0, ("0224c92b64d144d4", 12): 0,
             ("07c275cd57b84685", 5): 1, ("07c275cd57b84685", 6): 1, ("07c275cd57b84685", 7): 1,
             ("0ece8b36d4c148b0", 9): 2, ("0ece8b36d4c148b0", 10): 2, ("0ece8b36d4c148b0", 11): 2,
             ("0ece8b36d4c148b0", 13): 3, ("0ece8b36d4c148b0", 14): 3,
             ("0ece8b36d4c148b0", 15): 3, ("0ece8b36d4c148b0", 16): 3}
HV_NUM = set(DIGITS + ["oh"] + TEENS + TENS[2:] + ["hundred", "thousand", "to", "too", "for"])
HV_DIGIT = dict({w: str(i) for i, w in enumerate(DIGITS)}, oh="0")


def hv_number(ws, j):
    """Whether ws[j] is a number word: a homophone only beside a digit word."""
    w = ws[j]
    if w in ("to", "too", "for"):
        return any(x in HV_DIGIT for x in ws[max(0, j - 1):j] + ws[j + 1:j + 2])
    return w in HV_NUM


def hv_calls(shared):
    """[(sid, [(role, seg index, [words], gap before)])]: each call's segments holding at least
    one number word, each with the segment before it (its context), in time order."""
    d = os.path.join(shared, "transcripts", "transcript")
    if not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".json"):
            continue
        sid = name[:16]
        segs = json.load(open(os.path.join(d, name), encoding="utf-8"))
        idx = sorted(range(len(segs)), key=lambda i: segs[i]["start_ms"])
        keep = set()
        for k, i in enumerate(idx):
            ws = segs[i]["transcript"].split()
            strong = sum(w in HV_NUM and w not in ("to", "too", "for") for w in ws)
            if strong >= 2 or (sid, i) in HV_PHONES:
                keep.add(k)
                if k:
                    keep.add(k - 1)
        if not keep:
            continue
        sel = []
        for k in sorted(keep):
            i = idx[k]
            s = segs[i]
            ws = [re.sub(r"[^a-z0-9']", "", w) for w in s["transcript"].split()]
            ws = [w for w in ws if w]
            if ws:
                sel.append(("agent" if s["speaker_role"] == "agent" else "customer", i, ws))
        out.append((sid, sel))
    return out


# ----------------------------------------------------------------------------- audio

class Synth:
    """Each (voice, word) said once: espeak-ng, then sox to 8 kHz mono PCM16, trimmed."""

    def __init__(self, cache, jobs):
        self.cache = cache
        self.jobs = jobs
        self.audio = {}
        self.faded = {}
        self.noise = noise_floor(0x5e, RATE)
        os.makedirs(cache, exist_ok=True)

    def path(self, voice, word):
        safe = re.sub(r"[^A-Za-z0-9]", lambda m: "_%02x" % ord(m.group(0)), word)
        return os.path.join(self.cache, "%s_%d_%s.wav" % (voice[0].replace("+", "-"), voice[1],
                                                          safe))

    def one(self, key):
        voice, word = key
        p = self.path(voice, word)
        if not os.path.exists(p):
            said = word.upper() if len(word) == 1 and word.isalpha() else word
            es = subprocess.Popen(["espeak-ng", "-v", voice[0], "-s", str(voice[1]), "--stdout",
                                   said], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            subprocess.run(["sox", "-R", "-q", "-t", "wav", "-", "-r", str(RATE), "-b", "16", "-c", "1",
                            p + ".tmp.wav", "silence", "1", "0.005", "-50d", "reverse",
                            "silence", "1", "0.005", "-50d", "reverse"],
                           stdin=es.stdout, check=True, stderr=subprocess.DEVNULL)
            es.stdout.close()
            es.wait()
            os.replace(p + ".tmp.wav", p)
        with wave.open(p) as w:
            a = array.array("h", w.readframes(w.getnframes()))
        if sys.byteorder != "little":
            a.byteswap()
        if len(a) < RATE // 20:  # a word sox trimmed to nothing: never expected
            raise RuntimeError("no audio for %r (%s)" % (word, voice))
        return key, a

    def batch(self, voice, words):
        """The words said by one espeak-ng run (SSML, 700 ms breaks between them), cut apart
        where the audio is under -50 dBFS for 300 ms or more: [samples] in order, or None when
        the cut did not give one piece per word."""
        esc = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;"}
        said = ["".join(esc.get(ch, ch) for ch in (w.upper() if len(w) == 1 and w.isalpha()
                                                    else w)) for w in words]
        ssml = "<speak>" + "".join('%s<break time="700ms"/>' % w for w in said) + "</speak>"
        p = os.path.join(self.cache, "batch_%s_%d_%08x.wav" % (
            voice[0].replace("+", "-"), voice[1], zlib.crc32("\n".join(words).encode())))
        es = subprocess.Popen(["espeak-ng", "-m", "-v", voice[0], "-s", str(voice[1]),
                               "--stdout", "--stdin"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        sx = subprocess.Popen(["sox", "-R", "-q", "-t", "wav", "-", "-r", str(RATE), "-b", "16", "-c",
                               "1", p], stdin=es.stdout, stderr=subprocess.DEVNULL)
        es.stdout.close()
        es.stdin.write(ssml.encode("utf-8"))
        es.stdin.close()
        es.wait()
        if sx.wait() != 0:
            return None
        with wave.open(p) as w:
            a = array.array("h", w.readframes(w.getnframes()))
        os.unlink(p)
        if sys.byteorder != "little":
            a.byteswap()
        fl = RATE // 200  # 5 ms
        thr = 32768.0 * 10 ** (-50 / 20)
        loud = []
        for i in range(0, len(a), fl):
            f = a[i:i + fl]
            if audioop is not None:
                r = audioop.rms(f.tobytes(), 2)
            else:
                r = (sum(map(operator.mul, f, f)) / len(f)) ** 0.5
            loud.append(r >= thr)
        pieces, i, n = [], 0, len(loud)
        while i < n:
            if not loud[i]:
                i += 1
                continue
            j = i
            while j < n:
                if loud[j]:
                    j += 1
                    continue
                k = j
                while k < n and not loud[k]:
                    k += 1
                if k - j >= 60 or k == n:
                    break
                j = k
            pieces.append(a[i * fl:j * fl])
            i = j
        if len(pieces) != len(words) or any(len(x) < RATE // 20 for x in pieces):
            return None
        return pieces

    def prepare(self, keys):
        todo = sorted(set(keys) - set(self.audio))
        by_voice = {}
        for v, w in todo:
            by_voice.setdefault(v, []).append(w)
        jobs = [(v, ws[i:i + 100]) for v, ws in sorted(by_voice.items())
                for i in range(0, len(ws), 100)]
        left = []
        with ThreadPoolExecutor(self.jobs) as ex:
            for (v, ws), got in zip(jobs, ex.map(lambda j: self.batch(*j), jobs)):
                if got is None:  # one espeak-ng run per word instead
                    left += [(v, w) for w in ws]
                    continue
                for w, a in zip(ws, got):
                    self.audio[(v, w)] = a
            for k, a in ex.map(self.one, left):
                self.audio[k] = a
        for k in todo:
            self.faded[k] = faded(self.audio[k], self.noise)
        self.fallback = len(left)


class Leg:
    def __init__(self):
        self.words = []  # dicts
        self.pieces = []  # (start sample, audio key)
        self.u = -1


def layout(cid, rng, exchanges, synth, vo_agent, vo_cust, lead_in):
    legs = {"agent": Leg(), "customer": Leg()}
    items = []
    t = lead_in
    for agent_words, ctoks, specs in exchanges:
        for role, words in (("agent", [tok(w, None, None, False) for w in agent_words]),
                            ("customer", ctoks)):
            if not words:
                continue
            leg = legs[role]
            leg.u += 1
            vo = vo_agent if role == "agent" else vo_cust
            first = True
            idx_map = []
            for w, d, pause, _it in words:
                if not first:
                    t += pause if pause is not None else rng.uniform(0.04, 0.12)
                first = False
                a = synth.audio[(vo, w)]
                s0 = int(round(t * RATE))
                leg.pieces.append((s0, (vo, w)))
                e = (s0 + len(a)) / RATE
                idx_map.append(len(leg.words))
                leg.words.append({"w": w, "s": round(s0 / RATE, 4), "e": round(e, 4),
                                  "u": leg.u, "d": d})
                t = e
            if role == "customer":
                for kind, typ, tix, value, source in specs:
                    wi = [idx_map[i] for i in tix]
                    digs = [[leg.words[i]["s"], leg.words[i]["e"]] for i in wi
                            if leg.words[i]["d"] is not None or not digit_free(typ)]
                    items.append({"id": "%s/%d" % (cid, len(items)), "kind": kind, "type": typ,
                                  "leg": "customer", "words": wi, "digits": digs,
                                  "value": value, "source": source,
                                  "start": leg.words[wi[0]]["s"], "end": leg.words[wi[-1]]["e"]})
            t += rng.uniform(0.5, 1.1)
    dur = t + rng.uniform(0.8, 1.5)
    return legs, items, dur


def digit_free(typ):
    """Types whose every word is part of what must be covered (an email, an IBAN's letters,
    an expiry's month): for these, every word of the item counts as a 'digit'."""
    return typ in ("email", "iban", "expiry")


NOISE = {}


def noise_floor(seed, n):
    """A line's noise (about -66 dBFS, a 1 s loop of Gaussian noise, one loop per seed): no
    digital silence, which a GSM 06.10 round trip can turn into a steady offset."""
    if seed not in NOISE:
        rng = random.Random(seed)
        NOISE[seed] = array.array("h", (int(round(rng.gauss(0, 16))) for _ in range(RATE)))
    loop = NOISE[seed]
    return (loop * (n // RATE + 1))[:n]


def faded(a, noise):
    """The word with 4 ms fades at both ends (no clicks at its cuts), over the line's noise."""
    a = array.array("h", a)
    k = min(32, len(a) // 2)
    for i in range(k):
        g = i / k
        a[i] = int(a[i] * g)
        a[-1 - i] = int(a[-1 - i] * g)
    for i in range(len(a)):
        x = a[i] + noise[i % len(noise)]
        a[i] = 32767 if x > 32767 else (-32768 if x < -32768 else x)
    return a


def render(legs, synth, dur, seed):
    n = int(round(dur * RATE))
    out = {}
    for r, (role, leg) in enumerate(sorted(legs.items())):
        buf = noise_floor(seed % 7 * 2 + r, n)
        for s0, key in leg.pieces:
            a = synth.faded[key]  # the word with the noise in it already
            m = min(len(a), n - s0)
            buf[s0:s0 + m] = a[:m]
        out[role] = buf
    return out


def levels(a):
    """The level of each 20 ms frame, dBFS rounded to 0.1 (digital silence: -100)."""
    flen = RATE // 50
    out = []
    if audioop is not None:
        raw = a.tobytes()  # audioop reads native-endian samples
        for i in range(0, len(a), flen):
            f = raw[2 * i:2 * (i + flen)]
            r = audioop.rms(f, 2)
            out.append(round(20 * math.log10(r / 32768.0), 1) if r > 0 else -100.0)
        return out
    for i in range(0, len(a), flen):
        f = a[i:i + flen]
        p = sum(map(operator.mul, f, f)) / len(f)
        out.append(round(10 * math.log10(p / 32768.0 ** 2), 1) if p > 0 else -100.0)
    return out


def write_wav(path, chans):
    n = len(chans[0])
    if len(chans) == 1:
        data = chans[0]
    else:
        data = array.array("h", bytes(2 * n * len(chans)))
        for c, ch in enumerate(chans):
            data[c::len(chans)] = ch
    if sys.byteorder != "little":
        data = array.array("h", data)
        data.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(len(chans))
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


# ----------------------------------------------------------------------------- the corpus

def plan(rng, per_type):
    """[(exchanges)] per call: entities and near-misses, shuffled into calls of 4-7 exchanges."""
    ex = []
    for typ in TYPES:
        for _ in range(per_type):
            ask = rng.choice(ASK[typ]).split()
            ctoks, value, extra = entity(rng, typ, extra=(typ == "card"))
            specs = [("entity", typ, [i for i, x in enumerate(ctoks) if x[3] and
                                      (x[1] is not None or typ in ("email", "iban", "expiry"))],
                      value, "template")]
            for etyp, etoks, evalue in extra:
                base = len(ctoks)
                ctoks = ctoks + etoks
                specs.append(("entity", etyp, list(range(base, base + len(etoks))), evalue,
                              "template"))
            # the main item's words: those of its digits (and letters/words for the word types)
            ex.append((ask, ctoks, specs))
    n_ent = sum(len(e[2]) for e in ex)
    for i in range(n_ent):
        typ = NEAR[i % len(NEAR)]
        ask = rng.choice(ASK[typ]).split()
        ctoks, value = near_miss(rng, typ)
        idx = [j for j, x in enumerate(ctoks) if x[3] and (x[1] is not None or
                                                          typ in ("amount", "time", "year",
                                                                  "count"))]
        if typ in ("amount", "time", "year", "count"):
            # the number's words only (not "dollars", "back", "in")
            idx = [j for j, x in enumerate(ctoks) if x[0] in NUMWORDS and
                   not (typ == "time" and x[0] in ("quarter", "at", "o'clock"))]
        ex.append((ask, ctoks, [("near", typ, idx, value, "template")]))
    rng.shuffle(ex)
    calls, i = [], 0
    while i < len(ex):
        k = rng.randint(4, 7)
        calls.append(ex[i:i + k])
        i += k
    return calls


NUMWORDS = set(DIGITS + ["oh", "double", "triple", "hundred", "thousand", "and"] + TEENS +
               TENS[2:] + ["to"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-type", type=int, default=30)
    ap.add_argument("--shared")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", help="word audio cache (default OUT/words)")
    args = ap.parse_args()
    seed = int(args.seed, 0)
    rng = random.Random(seed)
    os.makedirs(os.path.join(args.out, "calls"), exist_ok=True)
    synth = Synth(args.cache or os.path.join(args.out, "words"), args.jobs)

    calls = []  # (cid, exchanges, vo_agent, vo_cust)
    for k, exchanges in enumerate(plan(rng, args.per_type)):
        va, vc = rng.sample(VOICES, 2)
        calls.append(("s%x-%03d" % (seed & 0xffff, k), exchanges, va, vc))
    if args.shared:
        for sid, sel in hv_calls(args.shared):
            va, vc = rng.sample(VOICES, 2)
            exchanges, pend = [], []
            for role, si, ws in sel:
                if role == "agent":
                    if pend or exchanges == [] or exchanges[-1][1]:
                        exchanges.append((ws, [], []))
                    else:
                        exchanges[-1] = (exchanges[-1][0] + ws, [], [])
                    continue
                if not exchanges:
                    exchanges.append(([], [], []))
                ask, ctoks, specs = exchanges[-1]
                base = len(ctoks)
                toks = [tok(w, HV_DIGIT.get(w), rng.uniform(0.3, 0.8) if (j == 0 and base) else
                            None) for j, w in enumerate(ws)]
                ctoks = ctoks + toks
                numix = [base + j for j, w in enumerate(ws) if hv_number(ws, j)]
                ph = HV_PHONES.get((sid, si))
                if numix:
                    if ph is not None and specs and specs[-1][0] == "entity" and \
                            specs[-1][4] == "hv:%s:%d" % (sid, ph):
                        specs[-1] = (specs[-1][0], specs[-1][1], specs[-1][2] + numix,
                                     specs[-1][3], specs[-1][4])
                    elif ph is not None:
                        specs.append(("entity", "phone", numix, "", "hv:%s:%d" % (sid, ph)))
                    else:
                        specs.append(("near", "hv", numix, "", "hv:%s:%d" % (sid, si)))
                exchanges[-1] = (ask, ctoks, specs)
            calls.append(("hv-" + sid[:8], exchanges, va, vc))

    keys = []
    for cid, exchanges, va, vc in calls:
        for ask, ctoks, _ in exchanges:
            keys += [(va, w) for w in ask] + [(vc, x[0]) for x in ctoks]
    synth.prepare(keys)

    script = {"seed": args.seed, "rate": RATE, "calls": []}
    tsv = []
    codecs = ["pcm", "ulaw", "alaw", "gsm"]
    for k, (cid, exchanges, va, vc) in enumerate(calls):
        lead = 0.4 + 0.01 * (k % 97) + rng.uniform(0, 0.6)
        legs, items, dur = layout(cid, rng, exchanges, synth, va, vc, lead)
        codec = codecs[k % len(codecs)]
        audio = render(legs, synth, dur, seed + k)
        cdir = os.path.join(args.out, "calls")
        if codec == "gsm":
            files = []
            for role, side in (("customer", "in"), ("agent", "out")):
                raw = os.path.join(cdir, "%s-%s.pcm.wav" % (cid, side))
                write_wav(raw, [audio[role]])
                f = "%s-%s.wav" % (cid, side)
                subprocess.run(["sox", "-R", "-q", "-V1", raw, "-e", "gsm-full-rate", os.path.join(cdir, f)],
                               check=True)
                os.unlink(raw)
                files.append(f)
        else:
            raw = os.path.join(cdir, cid + ".pcm.wav")
            write_wav(raw, [audio["customer"], audio["agent"]])
            f = cid + ".wav"
            if codec == "pcm":
                os.replace(raw, os.path.join(cdir, f))
            else:
                subprocess.run(["sox", "-R", "-q", "-V1", raw, "-e", "u-law" if codec == "ulaw" else "a-law",
                                os.path.join(cdir, f)], check=True)
                os.unlink(raw)
            files = [f]
        script["calls"].append({
            "id": cid, "codec": codec, "files": files, "duration": round(dur, 4),
            "voices": {"agent": "%s/%d" % va, "customer": "%s/%d" % vc},
            "legs": {r: {"words": legs[r].words, "env": levels(audio[r])}
                     for r in ("customer", "agent")},
            "items": items})
        tsv.append("%s\t%s\t%s" % (cid, codec, " ".join(files)))
    with open(os.path.join(args.out, "script.json"), "w", encoding="utf-8") as f:
        json.dump(script, f)
    with open(os.path.join(args.out, "calls.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(tsv) + "\n")
    ent = sum(1 for c in script["calls"] for i in c["items"] if i["kind"] == "entity")
    near = sum(1 for c in script["calls"] for i in c["items"] if i["kind"] == "near")
    print("mkcorpus: seed %s: %d calls, %d entities, %d near-misses, %d words synthesised "
          "(%d of them one by one)" % (args.seed, len(calls), ent, near, len(synth.audio),
                                       synth.fallback))
    return 0


if __name__ == "__main__":
    sys.exit(main())
