#!/usr/bin/env python3
"""doc_commands.py - every command a reader may copy from README.md and docs/, run.

A fenced block is taken by its info string:

  ```sh run        each line run in one `sh -e` in a folder of sample files (below); it must
                   exit 0
  ```console run   lines starting "$ " are run one by one, as above; the lines after each are
                   the output it must print, once masked (below); a line "..." stands for any
                   lines
  ```sh syntax     needs what this machine lacks (a dialer, a PBX, a real path of a server):
                   `sh -n`, and each `callqa` command's name checked against `callqa --help`
  ```kamailio      a whole Kamailio configuration: `kamailio -c` (when kamailio is installed)

The folder holds the corpus's files under the names the docs use: call.wav (a stereo call),
stereo.wav (another), 1234-in.wav and 1234-out.wav, inbound.wav and outbound.wav (ViciDial's
legs), mono.wav (a mono mix), calls/ (two calls), capture.pcap and call.pcap (a SIP call with
its RTP), capture.pcapng (a B2BUA's two legs), events.wav (a mono leg with DTMF), call.json (a
transcript) with report.json (its recording's report), build/callqa, and the checkout's
config/, deploy/, samples/ and scorecards/;
`callqa` is on the PATH, the models are $CALLQA_MODEL_DIR.

Masked before comparing: ISO 8601 times, decimal seconds of elapsed time ("in 1.2 s", "1.2 s
wall"), hexadecimal ids of 8 digits or more, UUIDs, and the folder's own path.

usage: doc_commands.py [--min N] BUILD_DIR SHARED_DIR FILE|FOLDER...   (TAP; exit 1 when a
       block fails; --min N: fail unless at least N blocks are run; a folder: its .md files)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r"^```(\S*)(?:\s+(\S+))?\s*$")


def blocks(path):
    """(line, kind, text) of each block of path whose info string names a check"""
    out, cur = [], None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        m = FENCE.match(line)
        if cur is None and m and m.group(1):
            lang, tag = m.group(1), m.group(2) or ""
            kind = {"sh": {"run": "run", "syntax": "syntax"}, "console": {"run": "console"},
                    "kamailio": {"": "kamailio"}}.get(lang, {}).get(tag)
            cur = [n, kind, []]
        elif cur is not None and line.startswith("```"):
            if cur[1]:
                out.append((cur[0], cur[1], "\n".join(cur[2])))
            cur = None
        elif cur is not None:
            cur[2].append(line)
    return out


def mask(text, root):
    text = text.replace(root, "DIR")
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?", "TIME", text)
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "UUID",
                  text)
    text = re.sub(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,}\b", "ID", text)
    text = re.sub(r"\b\d+(\.\d+)? s (wall|elapsed)", "T s \\2", text)
    text = re.sub(r"\bin \d+(\.\d+)? s\b", "in T s", text)
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:  # trailing blank lines: a block cannot show them
        lines.pop()
    return lines


def matches(want, got):
    """want's lines against got's, "..." standing for any lines"""
    if not want:
        return not got
    if want[0] == "...":
        return any(matches(want[1:], got[k:]) for k in range(len(got) + 1))
    return bool(got) and want[0] == got[0] and matches(want[1:], got[1:])


def fixtures(root, build, shared):
    os.makedirs(root)
    c = os.path.join(shared, "corpus")
    files = {"call.wav": "calls/call01_normal.wav", "1234-in.wav": "calls/call14_vicidial-in.wav",
             "1234-out.wav": "calls/call14_vicidial-out.wav",
             "mono.wav": "calls/call13_mono_diarization.wav",
             "calls/call03.wav": "calls/call03_dead_air.wav",
             "calls/call08.wav": "calls/call08_low_level.wav",
             "capture.pcap": "pcaps/sip_rtp_g711.pcap", "call.pcap": "pcaps/sip_rtp_g711.pcap",
             "capture.pcapng": "pcaps/asterisk_b2bua.pcapng",
             "inbound.wav": "calls/call14_vicidial-in.wav",
             "outbound.wav": "calls/call14_vicidial-out.wav", "stereo.wav": "calls/call07_clipping.wav"}
    for name, src in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        shutil.copy(os.path.join(c, src), os.path.join(root, name))
    subprocess.run(["sox", os.path.join(c, "calls/call06_ivr_dtmf.wav"), "-b", "16", "-e",
                    "signed", os.path.join(root, "events.wav"), "remix", "1", "trim", "20", "10"],
                   check=True)
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for d in ("config", "deploy", "samples", "scorecards"):  # as a reader in the checkout has them
        os.symlink(os.path.join(src, d), os.path.join(root, d))
    os.makedirs(os.path.join(root, "build"))
    for prog in ("callqa", "callqa-service"):
        os.symlink(os.path.join(build, prog), os.path.join(root, "build", prog))
    # a transcript (the mono sample's) and its recording's report, as `callqa score` reads them
    shutil.copy(os.path.join(src, "samples", "sample-mono.transcript.json"),
                os.path.join(root, "call.json"))
    with open(os.path.join(root, "report.json"), "w") as f:
        subprocess.run([os.path.join(build, "callqa"), "analyze", "--json",
                        os.path.join(src, "samples", "sample-mono.wav")], stdout=f,
                       stderr=subprocess.DEVNULL, check=True)


HELP = {}


def help_of(build, words):
    """`callqa WORDS --help`'s text, or None when it is no command"""
    key = tuple(words)
    if key not in HELP:
        p = subprocess.run([os.path.join(build, "callqa")] + list(words) + ["--help"],
                           capture_output=True, text=True)
        HELP[key] = p.stdout + p.stderr if p.returncode == 0 else None
        if key == ("analyze",) and HELP[key]:  # the ASR flags have a help of their own
            p = subprocess.run([os.path.join(build, "callqa"), "analyze", "--transcribe",
                                "--help"], capture_output=True, text=True)
            HELP[key] += p.stdout + p.stderr
    return HELP[key]


def flags_unknown(text, build, known):
    """the callqa commands of a shell text that are none, and their --flags that their help
    does not name ("CMD --flag")"""
    bad = []
    for cmd in re.split(r"[;|&\n]", text.replace("\\\n", " ")):
        m = re.search(r"(?:^|\s|/)callqa\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?(.*)", cmd)
        if not m:
            continue
        words = [m.group(1)] + ([m.group(2)] if m.group(2) else [])
        h = help_of(build, words) if len(words) == 2 else None
        if h is None:
            words = words[:1]
            h = help_of(build, words)
        if h is None:
            bad.append("callqa " + words[0])
            continue
        rest = cmd[m.end(1 if len(words) == 1 else 2):]
        for flag in re.findall(r"(?:^|\s)(--[a-z][a-z0-9-]*)", rest):
            if flag not in h:
                bad.append("callqa %s %s" % (" ".join(words), flag))
    return bad


def folder(root):
    """a fresh folder for one block: a link to each sample file, and copies of the small files
    a block may overwrite (call.json, report.json), so that no block sees what another wrote"""
    d = tempfile.mkdtemp(prefix="block-", dir=root)
    for name in os.listdir(os.path.join(root, "base")):
        src = os.path.join(root, "base", name)
        if name.endswith(".json"):
            shutil.copy(src, os.path.join(d, name))
        else:
            os.symlink(src, os.path.join(d, name))
    return d


def commands_of(help_text):
    return set(re.findall(r"\bcallqa ([a-z][a-z-]*)", help_text))


def main():
    args = sys.argv[1:]
    least = 0
    if args[:1] == ["--min"]:
        least, args = int(args[1]), args[2:]
    build, shared, files = os.path.abspath(args[0]), os.path.abspath(args[1]), []
    for path in args[2:]:  # a folder: its pages, subfolders included, in order
        if os.path.isdir(path):
            files += sorted(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs
                            if f.endswith(".md"))
        else:
            files.append(path)
    os.environ.setdefault("CALLQA_MODEL_DIR", os.path.join(shared, "models"))
    root = tempfile.mkdtemp(prefix="cq-docs-")
    env = dict(os.environ, PATH=os.path.join(root, "base", "build") + os.pathsep +
               os.environ["PATH"], LC_ALL="C")
    n = fails = ran = 0
    t0 = time.monotonic()
    try:
        fixtures(os.path.join(root, "base"), build, shared)
        help_text = subprocess.run([os.path.join(build, "callqa"), "--help"],
                                   capture_output=True, text=True).stdout
        known = commands_of(help_text) | {"version"}
        have_kamailio = shutil.which("kamailio") is not None
        for path in files:
            rel = os.path.relpath(path)
            for line, kind, text in blocks(path):
                n += 1
                name = "%s:%d (%s)" % (rel, line, kind)
                why = ""
                if kind == "run":
                    ran += 1
                    p = subprocess.run(["sh", "-e", "-c", text], cwd=folder(root), env=env,
                                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                       timeout=120)
                    if p.returncode != 0:
                        why = "exit %d: %s" % (p.returncode, (p.stderr or p.stdout)[-300:])
                elif kind == "console":
                    ran += 1
                    steps, cur = [], None
                    for ln in text.splitlines():
                        if ln.startswith("$ "):
                            cur = [ln[2:], []]
                            steps.append(cur)
                        elif cur is not None:
                            cur[1].append(ln)
                    cwd = folder(root)
                    for cmd, want in steps:
                        p = subprocess.run(["sh", "-e", "-c", cmd], cwd=cwd, env=env,
                                           stdin=subprocess.DEVNULL, capture_output=True,
                                           text=True, timeout=120)
                        got = mask(p.stdout, cwd)
                        if p.returncode != 0:
                            why = "%s: exit %d: %s" % (cmd, p.returncode, p.stderr[-300:])
                            break
                        if not matches(mask("\n".join(want), cwd), got):
                            why = "%s: the output differs:\n%s" % (cmd, "\n".join(got[:20]))
                            break
                elif kind == "syntax":
                    p = subprocess.run(["sh", "-n", "-c", text], capture_output=True, text=True)
                    bad = flags_unknown(text, build, known)
                    if p.returncode != 0:
                        why = "sh -n: " + p.stderr.strip()
                    elif bad:
                        why = "not in callqa's help: " + ", ".join(bad)
                elif kind == "kamailio":
                    if not have_kamailio:
                        print("ok %d - %s # SKIP kamailio is not installed" % (n, name))
                        continue
                    cfg = os.path.join(root, "k%d.cfg" % n)
                    open(cfg, "w").write(text + "\n")
                    p = subprocess.run(["kamailio", "-c", "-f", cfg], capture_output=True,
                                       text=True)
                    if p.returncode != 0 or "ERROR" in p.stderr:
                        why = "kamailio -c: " + p.stderr.strip()[-300:]
                if why:
                    fails += 1
                    print("not ok %d - %s" % (n, name))
                    for ln in why.splitlines():
                        print("#   " + ln)
                else:
                    print("ok %d - %s" % (n, name))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n += 1
    if ran >= least:
        print("ok %d - %d blocks run (at least %d), %d checked in all" % (n, ran, least, n - 1))
    else:
        fails += 1
        print("not ok %d - %d blocks run, fewer than %d" % (n, ran, least))
    print("1..%d" % n)
    print("# %.1f s" % (time.monotonic() - t0))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
