#!/usr/bin/env python3
"""amd_ref.py - Asterisk's AMD() answering-machine detection rules, run on a recording: the
baseline the live `human`/`machine` events are compared with.

    amd_ref.py FILE.wav...        one JSON line per file: file, status, cause, decision_s
    amd_ref.py --selftest         the hand-checked cases below; exit 1 if one fails

The rules are those of Asterisk's apps/app_amd.c (isAnsweringMachine), read from the
asterisk/asterisk repository at commit 5bda46030049dd61f9dba7758814c1d8e8316c86, and its
documentation (docs.asterisk.org, "Dialplan Applications / AMD", Asterisk 16 to 22: the
AMDSTATUS values MACHINE, HUMAN, NOTSURE, HANGUP and the AMDCAUSE values TOOLONG,
INITIALSILENCE, HUMAN, LONGGREETING, MAXWORDLENGTH, MAXWORDS). The file is read as AMD() reads a
channel in signed linear: 20 ms voice frames (160 samples at 8 kHz, the usual packetisation),
every frame a voice frame, the end of the file a hangup. Times are the milliseconds of audio
read when AMD() decides (its iTotalTime), the file starting at the answer.

Per frame: Asterisk's silence detector (main/dsp.c, __ast_dsp_silence_noise) takes the mean
absolute sample value of the frame (16-bit scale, integer division) and calls the frame silent
when it is under silence_threshold; it keeps the consecutive silent milliseconds, reset by a
non-silent frame. Then, in this order:
  - total time += frame; at total_analysis_time or more: NOTSURE, TOOLONG-<total>;
  - a silent frame: silence = consecutive silent ms; when silence >= between_words_silence the
    state becomes "in silence" and the current run of voice is forgotten; still in the initial
    silence and silence >= initial_silence: MACHINE, INITIALSILENCE-<silence>-<initial_silence>;
    in the greeting and silence >= after_greeting_silence: HUMAN, HUMAN-<silence>-<after>;
  - a voice frame: voice run and total voice += frame; a run of min_word_length after a
    silence counts a word (the state starts "in word", so a greeting from the first frame on
    counts its first word only after a pause); run >= maximum_word_length: MACHINE,
    MAXWORDLENGTH-<run>; words > maximum_number_of_words: MACHINE, MAXWORDS-<words>-<max>; in
    the greeting and total voice >= greeting: MACHINE, LONGGREETING-<voice>-<greeting>; total
    voice >= min_word_length clears the silence count; a run of min_word_length ends the
    initial silence and starts the greeting.
  - the file ends first: HANGUP (AMD() sees the channel hang up).

Own code; nothing of Asterisk's is copied. Python 3 standard library only.
"""
import array
import json
import random
import sys
import wave

# Defaults, each as Asterisk ships it: the compiled-in values of app_amd.c (dflt* at commit
# 5bda4603 above) and configs/samples/amd.conf.sample (same repository), which agree.
INITIAL_SILENCE_MS = 2500      # amd.conf initial_silence = 2500; app_amd.c dfltInitialSilence
GREETING_MS = 1500             # amd.conf greeting = 1500; dfltGreeting
AFTER_GREETING_SILENCE_MS = 800  # amd.conf after_greeting_silence = 800; dfltAfterGreetingSilence
TOTAL_ANALYSIS_TIME_MS = 5000  # amd.conf total_analysis_time = 5000; dfltTotalAnalysisTime
MIN_WORD_LENGTH_MS = 100       # amd.conf min_word_length = 100; dfltMinimumWordLength
BETWEEN_WORDS_SILENCE_MS = 50  # amd.conf between_words_silence = 50; dfltBetweenWordsSilence
# maximum_number_of_words: amd.conf.sample and app_amd.c at 5bda4603 say 2, checked as
# "words > 2". Older app_amd.c (e.g. the stored version at commit 012156de9008) had a compiled-in
# 3 checked as "words >= 3" while its amd.conf.sample said 2: either way the third word decides
# MACHINE (the cause reads MAXWORDS-3-2 here, MAXWORDS-3-3 there). This file follows 5bda4603.
MAXIMUM_NUMBER_OF_WORDS = 2    # amd.conf maximum_number_of_words = 2; dfltMaximumNumberOfWords
SILENCE_THRESHOLD = 256        # amd.conf silence_threshold = 256 (of 32767); dfltSilenceThreshold
MAXIMUM_WORD_LENGTH_MS = 5000  # amd.conf maximum_word_length = 5000; dfltMaximumWordLength
FRAME_MS = 20                  # one voice frame: 160 samples at 8 kHz

IN_WORD, IN_SILENCE = 1, 2


def amd(samples, rate=8000, **kw):
    """AMD() over int16 samples (a list or array). Returns {"status", "cause", "decision_s"}.
    Keyword arguments override the defaults (initial_silence, greeting, after_greeting_silence,
    total_analysis_time, min_word_length, between_words_silence, maximum_number_of_words,
    silence_threshold, maximum_word_length), in ms or as amd.conf has them; words_at_least=True
    reads maximum_number_of_words as the releases before 5bda4603 checked it (words >= max)."""
    p = dict(initial_silence=INITIAL_SILENCE_MS, greeting=GREETING_MS,
             after_greeting_silence=AFTER_GREETING_SILENCE_MS,
             total_analysis_time=TOTAL_ANALYSIS_TIME_MS, min_word_length=MIN_WORD_LENGTH_MS,
             between_words_silence=BETWEEN_WORDS_SILENCE_MS,
             maximum_number_of_words=MAXIMUM_NUMBER_OF_WORDS,
             silence_threshold=SILENCE_THRESHOLD, maximum_word_length=MAXIMUM_WORD_LENGTH_MS,
             words_at_least=False)
    p.update(kw)
    flen = rate * FRAME_MS // 1000
    in_initial, in_greeting = True, False
    voice = silence = total = words = run = 0
    dsp_silence = 0  # the silence detector's count of consecutive silent ms
    state = IN_WORD

    def done(status, cause):
        return {"status": status, "cause": cause, "decision_s": total / 1000.0}

    for i in range(0, len(samples) - flen + 1, flen):
        frame = samples[i:i + flen]
        ms = flen * 1000 // rate
        total += ms
        if total >= p["total_analysis_time"]:
            return done("NOTSURE", "TOOLONG-%d" % total)
        mean_abs = int(sum(abs(int(s)) for s in frame)) // flen
        if mean_abs < p["silence_threshold"]:
            dsp_silence += ms
        else:
            dsp_silence = 0
        if dsp_silence > 0:
            silence = dsp_silence
            if silence >= p["between_words_silence"]:
                state = IN_SILENCE
                run = 0
            if in_initial and silence >= p["initial_silence"]:
                return done("MACHINE", "INITIALSILENCE-%d-%d" % (silence, p["initial_silence"]))
            if in_greeting and silence >= p["after_greeting_silence"]:
                return done("HUMAN", "HUMAN-%d-%d" % (silence, p["after_greeting_silence"]))
        else:
            run += ms
            voice += ms
            if run >= p["min_word_length"] and state == IN_SILENCE:
                words += 1
                state = IN_WORD
            if run >= p["maximum_word_length"]:
                return done("MACHINE", "MAXWORDLENGTH-%d" % run)
            if (words >= p["maximum_number_of_words"] if p["words_at_least"] else
                    words > p["maximum_number_of_words"]):
                return done("MACHINE", "MAXWORDS-%d-%d" % (words, p["maximum_number_of_words"]))
            if in_greeting and voice >= p["greeting"]:
                return done("MACHINE", "LONGGREETING-%d-%d" % (voice, p["greeting"]))
            if voice >= p["min_word_length"]:
                silence = 0
            if run >= p["min_word_length"] and not in_greeting:
                in_initial, in_greeting = False, True
    return done("HANGUP", "")


def read_wav(path):
    """A 16-bit mono PCM WAV as (int16 samples, rate)."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("%s: not 16-bit mono PCM" % path)
        a = array.array("h")
        a.frombytes(w.readframes(w.getnframes()))
        if sys.byteorder != "little":
            a.byteswap()
        return a, w.getframerate()


def run_file(path):
    x, rate = read_wav(path)
    r = amd(x, rate)
    r["file"] = path
    return r


# ---- hand-checked cases ----------------------------------------------------------------------------

def _synth(spec, seed=7):
    """8 kHz int16 samples from spec: a list of (kind, ms), kind "sil" (digital silence) or
    "word" (white noise with a mean absolute value of about 2000, far over the threshold)."""
    rnd = random.Random(seed)
    out = []
    for kind, ms in spec:
        n = ms * 8
        if kind == "sil":
            out += [0] * n
        else:
            out += [int(max(-32768, min(32767, rnd.gauss(0, 2500)))) for _ in range(n)]
    return out


# (name, signal spec, expected status, expected cause, expected decision in ms); each worked out
# by hand from the rules above with 20 ms frames.
CASES = [
    # 2500 ms of silence while still in the initial silence: MACHINE at 2500 ms.
    ("3 s of silence", [("sil", 3000)], "MACHINE", "INITIALSILENCE-2500-2500", 2500),
    # 300 ms silence (state in silence), words of 300 ms at 300, 800 and 1300 ms with 200 ms
    # pauses: a word counts 100 ms into each run; the third at 1400 ms (total voice 700 ms, under
    # the 1500 ms greeting): 3 > 2 words.
    ("three words in 2 s", [("sil", 300), ("word", 300), ("sil", 200), ("word", 300),
                            ("sil", 200), ("word", 300), ("sil", 700)],
     "MACHINE", "MAXWORDS-3-2", 1400),
    # "hello" (400 ms) after 300 ms, then 1 s of silence: 800 ms of it at 1500 ms: HUMAN.
    ("hello and 1 s of silence", [("sil", 300), ("word", 400), ("sil", 1000)],
     "HUMAN", "HUMAN-800-800", 1500),
    # one 2 s word: the greeting starts at 100 ms of it, total voice 1500 ms at 1700 ms.
    ("one long word", [("sil", 200), ("word", 2000), ("sil", 1000)],
     "MACHINE", "LONGGREETING-1500-1500", 1700),
    # words of 200 ms and pauses of 400 ms after 100 ms of silence: the pauses never reach
    # 800 ms; words count at 200, 800 and 1400 ms, and the third decides (voice 500 ms).
    ("short words, short pauses", [("sil", 100)] + [("word", 200), ("sil", 400)] * 6,
     "MACHINE", "MAXWORDS-3-2", 1400),
    # a greeting of one 300 ms word with 600 ms pauses, four times: the pauses never reach 800
    # ms, the words reach 3 at 100 + 2*900 + 100 = 2000 ms.
    ("hello hello hello", [("sil", 100)] + [("word", 300), ("sil", 600)] * 4,
     "MACHINE", "MAXWORDS-3-2", 2000),
    # silence 2 s, a word, then silence: the greeting starts at 2100 ms (no initial-silence
    # decision at 2000 ms, under 2500), HUMAN 800 ms after the word's end at 2300 ms.
    ("late hello", [("sil", 2000), ("word", 300), ("sil", 1500)],
     "HUMAN", "HUMAN-800-800", 3100),
    # speech from the first frame with 40 ms dips (under between_words_silence): the state
    # starts "in word" and never goes to silence, so no word is counted; the greeting starts at
    # 100 ms, and voice (400 ms per 440 ms cycle) reaches 1500 ms 300 ms into the fourth word,
    # at 3 * 440 + 300 = 1620 ms.
    ("speech from the first frame", [("word", 400), ("sil", 40)] * 6,
     "MACHINE", "LONGGREETING-1500-1500", 1620),
    # a click of 80 ms (under min_word_length) after 1 s of silence: it starts no greeting but
    # resets the silence count, so the initial silence decides 2500 ms after it, at 3580 ms.
    ("a click, then silence", [("sil", 1000), ("word", 80), ("sil", 4000)],
     "MACHINE", "INITIALSILENCE-2500-2500", 3580),
    # voice frames and pauses never deciding until 5000 ms: NOTSURE (never 800 ms of silence,
    # voice under 1500 ms, words under 3: 60 ms bursts never reach min_word_length).
    ("bursts under a word", [("word", 60), ("sil", 700)] * 8, "NOTSURE", "TOOLONG-5000", 5000),
    # the file ends first: HANGUP.
    ("hang-up", [("sil", 1000)], "HANGUP", "", 1000),
]


def selftest(verbose=True):
    """Runs CASES; returns the number of failures."""
    bad = 0
    for name, spec, st, cause, ms in CASES:
        r = amd(_synth(spec))
        ok = r["status"] == st and r["cause"] == cause and abs(r["decision_s"] * 1000 - ms) < 1e-6
        bad += not ok
        if verbose or not ok:
            print("%s amd_ref %s: %s %s at %d ms (expected %s %s at %d ms)" % (
                "ok  " if ok else "FAIL", name, r["status"], r["cause"],
                int(round(r["decision_s"] * 1000)), st, cause, ms))
    return bad


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--selftest":
        sys.exit(1 if selftest() else 0)
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for f in sys.argv[1:]:
        print(json.dumps(run_file(f)))


if __name__ == "__main__":
    main()
