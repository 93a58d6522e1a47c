#!/usr/bin/env python3
"""amd_configs.py - callqa's answering-machine decisions beside Asterisk's AMD() (amd_ref.py) in
several configurations, on mkamd.py calls: the accuracy and the people called machines of each,
so that callqa is compared with AMD()'s best configuration on the same calls.

    amd_configs.py --labels DIR --events DIR

DIR (labels): mkamd.py's ID.wav and ID.json; --events: `callqa classify --live amd ID.wav`'s
lines as ID.jsonl (score.py's layout). callqa's decision is its first `human` or `machine`;
AMD()'s is HUMAN or MACHINE (NOTSURE and HANGUP count wrong, as score.py counts them). The
configurations (amd.conf's names, ms):
  code       app_amd.c's compiled-in defaults (amd_ref.py's): initial_silence 2500, greeting
             1500, after_greeting_silence 800, total_analysis_time 5000, min_word_length 100,
             between_words_silence 50, maximum_number_of_words 2 checked as words > 2 (the
             releases before had 3 checked as words >= 3: the same decisions), silence_threshold
             256, maximum_word_length 5000;
  amd.conf   configs/samples/amd.conf.sample's values, the same numbers with
             maximum_number_of_words = 2, as the releases that checked words >= max read them:
             the second word makes a machine;
  vicidial   AMD(2000,2000,1000,5000,120,50,4,256): initial_silence 2000, greeting 2000,
             after_greeting_silence 1000, total_analysis_time 5000, min_word_length 120,
             between_words_silence 50, maximum_number_of_words 4, silence_threshold 256, the
             arguments ViciDial's documentation gives for its AMD extension.
--best NAME prints that configuration's row as the one compared (chosen on the dev calls).
Prints one row per configuration and callqa's; exit 0.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amd_ref  # noqa: E402

CONFIGS = {
    "code": {},
    "amd.conf": dict(maximum_number_of_words=2, words_at_least=True),
    "vicidial": dict(initial_silence=2000, greeting=2000, after_greeting_silence=1000,
                     total_analysis_time=5000, min_word_length=120, between_words_silence=50,
                     maximum_number_of_words=4, silence_threshold=256),
}


def truth_of(lab):
    return lab["class"]  # mkamd.py: "human" or "machine"


def callqa_of(path):
    try:
        for line in open(path):
            e = json.loads(line)
            if e.get("type") in ("human", "machine"):
                return e["type"]
    except (OSError, ValueError):
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--best", choices=list(CONFIGS))
    a = ap.parse_args()
    ids = sorted(f[:-5] for f in os.listdir(a.labels) if f.endswith(".json"))
    rows = {k: [0, 0, 0] for k in list(CONFIGS) + ["callqa"]}  # right, people as machines
    people = 0
    for i in ids:
        lab = json.load(open(os.path.join(a.labels, i + ".json")))
        truth = truth_of(lab)
        people += truth == "human"
        x, rate = amd_ref.read_wav(os.path.join(a.labels, i + ".wav"))
        got = {k: {"HUMAN": "human", "MACHINE": "machine"}.get(amd_ref.amd(x, rate, **kw)["status"])
               for k, kw in CONFIGS.items()}
        got["callqa"] = callqa_of(os.path.join(a.events, i + ".jsonl"))
        for k, v in got.items():
            rows[k][0] += v == truth
            rows[k][1] += truth == "human" and v == "machine"
    n = len(ids)
    print("%d calls, %d people, %d machines" % (n, people, n - people))
    for k, (right, pam, _) in rows.items():
        print("%-9s accuracy %5.1f %%  people called machines %d / %d" % (
            k, 100.0 * right / n if n else 0, pam, people))
    if a.best and n:
        print("callqa against %s (chosen on the dev calls): %+.1f points" % (
            a.best, 100.0 * (rows["callqa"][0] - rows[a.best][0]) / n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
