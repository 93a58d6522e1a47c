#!/usr/bin/env python3
"""suite_check.py - the checks of the events suites (tests/dsp/test_*.sh).

    suite_check.py talkoff MANIFEST REPORTS.jsonl
        The talk-off suite: no dtmf, ringback, busy, sit or fax event on any call; hold only on
        the calls over hold music. MANIFEST (events_mkcalls talkoff) names each PCM call, its
        kind, talkers and length; the codec versions of a call are FILE_alaw.wav, FILE_ulaw.wav,
        FILE_gsm.wav and FILE_mp3.mp3. Prints the hours and counts per codec and kind, and every
        event that should not be there, with its time.

    suite_check.py signals TRUTH REPORTS.jsonl
        The long-signal suite: TRUTH has one line per file, "FILE TYPE SIGNAL REGION START END
        [EARLY LATE]" (SIGNAL, REGION '-' for any): the file must have exactly one event, of that
        type, signal and region, its start within 0.3 s of START (or between EARLY and START) and
        its end within 0.5 s of END (or between END and LATE) (the MP3
        files carry no Xing tag: callqa removes the standard encoder and decoder delay).

    suite_check.py music MANIFEST REPORTS.jsonl
        The music suite: MANIFEST (events_mkcalls music) has one line per PCM file, "FILE KIND
        MUSIC_START MUSIC_END SECONDS". A file holds when one hold event covers at least 80 % of
        the music's span; no file may have a ringback, busy, sit or fax event. Passes when at
        least 95 % of the files hold and there are 13 DTMF events or fewer (the aim is 98 % and
        none: docs/events.md); prints the rate per codec and kind, every file that does not
        hold and every event of a tone.

    suite_check.py split SRC_DIR RAW_DIR OUT_DIR [CH [NAMES]]
        The lines of `callqa classify [--channel CH]` on many files of SRC_DIR (RAW_DIR/*, each
        line starting with its "file") into OUT_DIR/NAME.chCH.jsonl (CH 1 by default), one per
        file of SRC_DIR or per line of the file NAMES, as `callqa classify` prints a file alone.

    suite_check.py stream EVENTS_MD REPORTS.jsonl STREAM_DIR
        The stream and the batch agree: for every report, each leg's `callqa classify
        --channel N` output (STREAM_DIR/BASENAME.chN.jsonl) against the report's events of that
        leg. Every event the stream hands out is opened once (its first line), may be updated,
        and is closed once (its last line); the closed events equal the report's, one to one:
        the same type, signal, region and digits, starts within 50 ms, ends within 100 ms, and
        each open line's start within 50 ms of the report's. The differences allowed are the
        table under "## Stream and batch" in docs/events.md (EVENTS_MD), read here.

Exit status 0 when every check holds, 1 otherwise, 2 on bad input.
"""
import collections
import json
import os
import re
import sys

TONES = ("dtmf", "ringback", "busy", "sit", "fax")
CODECS = ("pcm", "alaw", "ulaw", "gsm", "mp3")
MUSIC_MIN_HELD = 0.95
MUSIC_MAX_DIGITS = 0


def reports(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if "error" in r and "events" not in r:
                sys.exit("%s: %s" % (r.get("file"), r["error"]))
            out[os.path.basename(r["file"])] = r
    return out


def codec_of(name):
    base, ext = os.path.splitext(name)
    for c in CODECS[1:]:
        if base.endswith("_" + c):
            return c, base[: -len(c) - 1] + ".wav"
    return "pcm", name


def talkoff(manifest, rep_path):
    calls = {}
    with open(manifest, encoding="utf-8") as f:
        for line in f:
            name, kind, a, b, db, secs = line.split()
            calls[name] = (kind, a, b, float(db), float(secs))
    reps = reports(rep_path)
    talkers = set()
    for kind, a, b, _, _ in calls.values():
        talkers.update([b] if kind != "talk" else [a, b])
    hours = collections.Counter()
    files = collections.Counter()
    counts = collections.Counter()
    bad = []
    seen = set()
    for name, r in sorted(reps.items()):
        codec, pcm = codec_of(name)
        if pcm not in calls:
            sys.exit("%s: not in the manifest" % name)
        seen.add((pcm, codec))
        kind = calls[pcm][0]
        hours[(codec, kind)] += r.get("duration") or 0
        files[(codec, kind)] += 1
        for e in r.get("events") or []:
            counts[(codec, e["type"])] += 1
            if e["type"] in TONES or (e["type"] == "hold" and kind != "hold"):
                bad.append("%-60s %-8s %7.2f-%7.2f %s" % (name, e["type"], e["start"], e["end"],
                                                          e.get("digits") or e.get("signal") or ""))
    missing = [(c, k) for c in calls for k in CODECS if (c, k) not in seen]
    total = sum(hours.values()) / 3600
    print("talkers: %d (%s)" % (len(talkers), ", ".join(sorted(talkers))))
    print("%-6s %-5s %6s %7s   %s" % ("codec", "kind", "files", "hours", "events"))
    for codec in CODECS:
        for kind in ("talk", "hold", "ivr"):
            if files[(codec, kind)]:
                print("%-6s %-5s %6d %7.3f" % (codec, kind, files[(codec, kind)],
                                               hours[(codec, kind)] / 3600))
        ev = ", ".join("%s %d" % (t, counts[(codec, t)]) for t in TONES + ("hold", "ivr"))
        print("%-6s events: %s" % (codec, ev))
    print("all: %d files, %.2f hours of calls" % (len(reps), total))
    for b in bad:
        print("TALK-OFF " + b)
    if missing:
        print("MISSING %d reports, e.g. %s %s" % (len(missing), *missing[0]))
    print("%d tone events where none sounds (dtmf, ringback, busy, sit, fax), %d holds off hold "
          "music" % (sum(1 for b in bad if " hold " not in b[60:70]),
                     sum(1 for b in bad if " hold " in b[60:70])))
    return 0 if not bad and not missing else 1


def off(x, lo, hi):
    return x - hi if x > hi else x - lo if x < lo else 0.0


def signals(truth, rep_path):
    reps = reports(rep_path)
    ok = 0
    fails = []
    per = collections.Counter()
    good = collections.Counter()
    worst = [0.0, 0.0]
    with open(truth, encoding="utf-8") as f:
        rows = [line.split() for line in f if line.strip()]
    for row in rows:
        name, typ, sig, reg, a, b = row[:6]
        a, b = float(a), float(b)
        # optional: a piece of tone the start or end may be claimed from too (the sweep's)
        early, late = (float(row[6]), float(row[7])) if len(row) >= 8 else (a, b)
        r = reps.get(name)
        group = re.sub(r"_\d+$", "", os.path.splitext(name)[0].rsplit("_", 1)[0])
        per[group] += 1
        if r is None:
            fails.append("%s: no report" % name)
            continue
        ev = r.get("events") or []
        want = [e for e in ev if e["type"] == typ and (sig == "-" or e.get("signal") == sig) and
                (reg == "-" or e.get("region") == reg)]
        desc = "; ".join("%s %s %s %.2f-%.2f" % (e["type"], e.get("signal") or "",
                                                  e.get("region") or "", e["start"], e["end"])
                         for e in ev) or "no event"
        if len(ev) != 1 or len(want) != 1:
            fails.append("%-44s want %s %s %s %.2f-%.2f, got %s" % (name, typ, sig, reg, a, b, desc))
            continue
        e = want[0]
        # how far outside [EARLY, START] the start is, and outside [END, LATE] the end
        da, db = off(e["start"], min(early, a), a), off(e["end"], b, max(late, b))
        worst = [max(worst[0], abs(da)), max(worst[1], abs(db))]
        if abs(da) > 0.3 or abs(db) > 0.5:
            fails.append("%-44s want %s %.2f-%.2f, got %.2f-%.2f (start %+.2f, end %+.2f)" %
                         (name, typ, a, b, e["start"], e["end"], da, db))
            continue
        ok += 1
        good[group] += 1
    print("%-28s %6s %6s" % ("signal / codec", "files", "found"))
    for g in sorted(per):
        print("%-28s %6d %6d" % (g, per[g], good[g]))
    print("all: %d of %d found once, spanning the signal (worst start %.3f s, end %.3f s)" %
          (ok, len(rows), worst[0], worst[1]))
    for f in fails:
        print("MISS " + f)
    return 0 if not fails else 1


def allowed(md):
    """The table under "## Stream and batch": rows | `type` | `difference` | why |."""
    text = open(md, encoding="utf-8").read()
    m = re.search(r"^## Stream and batch\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        sys.exit("%s: no section '## Stream and batch'" % md)
    rows = {}
    for line in m.group(1).splitlines():
        c = re.match(r"\|\s*`(\w+)`\s*\|\s*`(\w+)`\s*\|", line)
        if c:
            rows[c.group(1)] = c.group(2)
    known = {"closed_only"}
    for t, d in rows.items():
        if d not in known:
            sys.exit("%s: unknown difference %s for %s" % (md, d, t))
    return rows


def same(b, s, start_tol=0.05, end_tol=0.1):
    if b["type"] != s["type"]:
        return False
    for k in ("signal", "region", "digits"):
        if (b.get(k) or "") != (s.get(k) or ""):
            return False
    return abs(b["start"] - s["start"]) <= start_tol and abs(b["end"] - s["end"]) <= end_tol


def stream(md, rep_path, sdir):
    allow = allowed(md)
    reps = reports(rep_path)
    legs = checked = 0
    diffs = []
    nev = collections.Counter()
    for name, r in sorted(reps.items()):
        stereo = r.get("has_legs") and r.get("outbound") is not None
        for ch, leg in ((1, "inbound"), (2, "outbound")) if stereo else ((1, "inbound"),):
            path = os.path.join(sdir, "%s.ch%d.jsonl" % (name, ch))
            try:
                with open(path, encoding="utf-8") as f:
                    lines = [json.loads(x) for x in f if x.startswith("{\"type\"")]
            except OSError as e:
                diffs.append("%s ch%d: no stream output (%s)" % (name, ch, e))
                continue
            legs += 1
            batch = [e for e in (r.get("events") or []) if e.get("leg") == leg]
            by_id = collections.OrderedDict()
            for x in lines:
                by_id.setdefault(x["id"], []).append(x)
            closed = []
            for i, seq in by_id.items():
                typ = seq[0]["type"]
                states = [x["state"] for x in seq]
                if allow.get(typ) == "closed_only" and states == ["closed"]:
                    closed.append((seq[-1], None))
                    continue
                if (states[0] != "open" or states[-1] != "closed" or
                        any(s != "update" for s in states[1:-1]) or
                        any(x["type"] != typ for x in seq)):
                    diffs.append("%s ch%d: event %s %s: %s" % (name, ch, i, typ, " ".join(states)))
                    continue
                closed.append((seq[-1], seq[0]))
            left = list(batch)
            for c, o in closed:
                nev[c["type"]] += 1
                k = next((j for j, b in enumerate(left) if same(b, c)), None)
                if k is None:
                    diffs.append("%s ch%d: the stream's %s %.3f-%.3f %s is not in the batch" %
                                 (name, ch, c["type"], c["start"], c["end"], c.get("digits") or ""))
                    continue
                if o is not None and abs(o["start"] - left[k]["start"]) > 0.05:
                    diffs.append("%s ch%d: %s opened at start %.3f, the batch's starts %.3f" %
                                 (name, ch, c["type"], o["start"], left[k]["start"]))
                del left[k]
            for b in left:
                diffs.append("%s ch%d: the batch's %s %.3f-%.3f %s is not in the stream" %
                             (name, ch, b["type"], b["start"], b["end"], b.get("digits") or ""))
        checked += 1
    print("stream and batch: %d files, %d legs, events %s; %d differences" %
          (checked, legs, dict(sorted(nev.items())), len(diffs)))
    for d in diffs:
        print("DIFF " + d)
    return 0 if not diffs else 1


def music(manifest, rep_path):
    rows = {}
    with open(manifest, encoding="utf-8") as f:
        for line in f:
            name, kind, a, b, _ = line.split()
            rows[name] = (kind, float(a), float(b))
    reps = reports(rep_path)
    files, held = collections.Counter(), collections.Counter()
    misses, tones, seen = [], [], set()
    for name, r in sorted(reps.items()):
        codec, pcm = codec_of(name)
        if pcm not in rows:
            sys.exit("%s: not in the manifest" % name)
        seen.add((pcm, codec))
        kind, a, b = rows[pcm]
        ev = r.get("events") or []
        cover = max([min(e["end"], b) - max(e["start"], a) for e in ev if e["type"] == "hold"] or [0])
        files[(codec, kind)] += 1
        if cover >= 0.8 * (b - a):
            held[(codec, kind)] += 1
        else:
            desc = "; ".join("%s %.2f-%.2f" % (e["type"], e["start"], e["end"]) for e in ev) or "no event"
            misses.append("%-50s music %.2f-%.2f, hold covers %4.1f s: %s" % (name, a, b, max(cover, 0), desc))
        for e in ev:
            if e["type"] in TONES:
                tones.append("%-50s %-8s %7.2f-%7.2f %s" % (name, e["type"], e["start"], e["end"],
                                                            e.get("digits") or e.get("signal") or ""))
    missing = [(c, k) for c in rows for k in CODECS if (c, k) not in seen]
    kinds = sorted({k for k, _, _ in rows.values()})
    print("%-6s %s" % ("codec", "  ".join("%-14s" % k for k in kinds)))
    for codec in CODECS:
        print("%-6s %s" % (codec, "  ".join("%4d/%-4d %4.0f%%" % (held[(codec, k)], files[(codec, k)],
                                                                  100.0 * held[(codec, k)] / max(files[(codec, k)], 1))
                                             for k in kinds)))
    n, h = sum(files.values()), sum(held.values())
    for m in misses:
        print("NO HOLD " + m)
    for t in tones:
        print("TONE    " + t)
    if missing:
        print("MISSING %d reports, e.g. %s %s" % (len(missing), *missing[0]))
    digits = [t for t in tones if t.split()[1] == "dtmf"]
    print("music: %d files, %d held (%.1f %%), %d call-progress tone events, %d DTMF events" %
          (n, h, 100.0 * h / max(n, 1), len(tones) - len(digits), len(digits)))
    # the aim is 98 % and no digit either; measured 95.7 % and 13 short digits (docs/events.md,
    # "Tone or music"): this holds the line there until they are reached
    return 0 if n and h >= MUSIC_MIN_HELD * n and len(tones) == len(digits) and \
        len(digits) <= MUSIC_MAX_DIGITS and not missing else 1


def split(src_dir, raw_dir, out_dir, ch="1", names_path=None):
    """The lines of `callqa classify [--channel CH] FILE...` (raw_dir/*, each line starting with
    its "file") into out_dir/NAME.chCH.jsonl, one per file of src_dir (or per name of the file
    names_path), empty when it had no event, as `callqa classify FILE` prints them alone."""
    if names_path is None:
        names = sorted(os.listdir(src_dir))
    else:
        with open(names_path, encoding="utf-8") as f:
            names = sorted(x.strip() for x in f if x.strip())
    per = {n: [] for n in names}
    for b in sorted(os.listdir(raw_dir)):
        with open(os.path.join(raw_dir, b), encoding="utf-8") as f:
            for line in f:
                d = json.loads(line, object_pairs_hook=collections.OrderedDict)
                name = d.pop("file")
                if name not in per:
                    print("split: a line of %s, which is not in %s" % (name, names_path or src_dir))
                    return 1
                per[name].append(json.dumps(d, separators=(",", ":")))
    for n, lines in per.items():
        with open(os.path.join(out_dir, "%s.ch%s.jsonl" % (n, ch)), "w", encoding="utf-8") as f:
            f.write("".join(x + "\n" for x in lines))
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "talkoff":
        return talkoff(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "music":
        return music(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "signals":
        return signals(argv[2], argv[3])
    if 5 <= len(argv) <= 7 and argv[1] == "split":
        return split(*argv[2:])
    if len(argv) == 5 and argv[1] == "stream":
        return stream(argv[2], argv[3], argv[4])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
