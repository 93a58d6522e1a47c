#!/usr/bin/env python3
"""check_summary.py MODE RESULT.json - what tests/clients/test_summary_llm.sh expects of
`callqa score --json` for each of the fake's kinds (tests/clients/fake_llm.py) on
tests/clients/transcript.json, whose call is 28 s long without a report: quarters of 7 s, the agent
speaking in quarters 1, 2 and 4, the customer in 1 and 3. Exit 0 when it holds, else the
assertion's message."""
import json
import sys

mode, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
sm, se, chk = d["summary"], d["sentiment"], d["sentiment_llm"]
OUTCOMES = ("resolved", "follow_up", "transferred", "unresolved")
GOOD = {"agent": [2, 2, None, 2], "customer": [1, None, -3, None]}


def speakers(s):
    return {e["speaker"]: e for e in s["speakers"]}


def good_summary():
    assert sm["source"] == "llm" and sm["model"] == "fake-model", sm
    assert sm["text"].count(". ") + 1 == 2 and sm["reason"] and sm["outcome"] in OUTCOMES, sm
    assert sm["refused"] is None, sm
    backs = {q["backs"] for q in sm["quotes"]}
    assert backs == {"reason", "outcome"}, sm["quotes"]
    for q in sm["quotes"]:
        assert set(q) == {"speaker", "start", "end", "quote", "backs"}, q
    # the quotes carry the line's speaker and times, as checked
    assert {(q["speaker"], q["start"]) for q in sm["quotes"]} == {("customer", 3.8),
                                                                   ("agent", 25.5)}, sm


def refused_summary(why):
    assert sm["source"] is None and sm["text"] is None and sm["outcome"] is None, sm
    assert sm["reason"] is None and sm["quotes"] == [] and sm["model"] is None, sm
    assert why in (sm["refused"] or ""), (why, sm["refused"])


def sentiment(expect, dropped=()):
    assert se["scale"] == [-5, 5], se
    assert se["source"] == {"name": "llm", "model": "fake-model"}, se["source"]
    sp = speakers(se)
    assert list(sp) == ["agent", "customer"], list(sp)  # the order they first speak
    for name, qs in expect.items():
        e = sp[name]
        assert e["source"] == "llm", e
        assert e["quarters"] == qs, (name, e["quarters"], qs)  # None stays None, never 0
        known = [v for v in qs if v is not None]
        assert e["first"] == (known[0] if known else None), e
        assert e["last"] == (known[-1] if known else None), e
        assert e["shift"] == (known[-1] - known[0] if known else None), e
        assert sorted(q["quarter"] for q in e["quotes"]) == \
            [i + 1 for i, v in enumerate(qs) if v is not None], e["quotes"]
        for q in e["quotes"]:
            assert set(q) == {"quarter", "speaker", "quote", "start", "end"} and q["quote"], q
    c = [v for v in expect["customer"] if v is not None]
    want = (c[0] >= 0 and c[-1] <= -2) if len(c) >= 2 else None
    assert se["customer_drop"] is want, (se["customer_drop"], want)
    assert chk["used"] is True and chk["why"] is None and chk["model"] == "fake-model", chk
    got = [x["why"] for x in chk["dropped"]]
    assert len(got) == len(dropped), got
    for g, w in zip(got, dropped):
        assert w in g, (w, g)


if mode == "valid":
    good_summary()
    sentiment(GOOD)
    assert se["customer_drop"] is True  # +1 at the start, -3 at the end
elif mode == "summary_bad_quote":
    refused_summary('the summary\'s quote "my account was hacked" (customer, 3.80-7.10 s) '
                    'is not in the transcript')
    sentiment(GOOD)
elif mode == "summary_sentences":
    refused_summary("the summary has 5 sentences (2 to 4 asked)")
elif mode == "summary_outcome":
    refused_summary("the outcome 'escalated' is not one of resolved, follow_up, transferred, "
                    "unresolved")
elif mode == "summary_unbacked":
    refused_summary("no quote of the transcript backs the summary's outcome")
elif mode == "sentiment_bad_quote":
    good_summary()
    sentiment({"agent": GOOD["agent"], "customer": [None, None, -3, None]},
              ["the quote is not in the transcript"])
    assert chk["dropped"][0] == {"speaker": "customer", "quarter": 1, "value": 1.0,
                                 "quote": "this is an outrage",
                                 "why": "the quote is not in the transcript"}, chk["dropped"]
elif mode == "sentiment_speaker":
    sentiment({"agent": GOOD["agent"], "customer": [None, None, -3, None]},
              ["the quote is the agent's words, not the customer's"])
elif mode == "sentiment_quarter":
    sentiment({"agent": GOOD["agent"], "customer": [None, None, -3, None]},
              ["the quote is the customer's words in quarter 1, not quarter 2"])
elif mode == "sentiment_range":
    sentiment({"agent": [None, 2, None, 2], "customer": [None, None, -3, None]},
              ["the figure 7 is outside -5..+5", "the figure -6 is outside -5..+5"])
elif mode == "sentiment_none":
    good_summary()
    assert se is None, se
    assert chk["used"] is False and chk["why"] == "no figure of the LLM's passed the checks", chk
    assert len(chk["dropped"]) == 5 and all("outside -5..+5" in x["why"] for x in
                                            chk["dropped"]), chk
elif mode == "report_valid":
    assert sm["source"] == "llm" and sm["refused"] is None, sm
    assert se["source"]["name"] == "llm", se
elif mode == "report_refused":
    assert sm["source"] == "deterministic" and sm["model"] is None and sm["outcome"] is None, sm
    assert sm["text"].startswith("This ") and sm["quotes"] == [], sm
    assert sm["refused"] == "the summary has 5 sentences (2 to 4 asked)", sm
elif mode == "report_failed":
    assert sm["source"] == "deterministic" and sm["text"], sm
    assert sm["refused"].startswith("LLM failed: "), sm
    assert se is None and chk["used"] is False and chk["why"].startswith("LLM failed: "), chk
elif mode == "report_nollm":
    assert sm["source"] == "deterministic" and sm["text"] and sm["refused"] is None, sm
    assert se is None and chk is None, (se, chk)
else:
    sys.exit(f"unknown mode {mode}")
