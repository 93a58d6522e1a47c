"""livelib.py - what mkseq.py and mkamd.py share: the corpus talkers and their fixed sets, reading
audio, active levels, utterances, DTMF, the codecs and the label checks (the scripts' own docstrings say how each is used).

Every voice is a real recording of the shared corpus (../shared/corpus, MANIFEST.md); only
tones (DTMF) and line noise are generated. Python 3 with numpy and scipy (Debian python3-numpy,
python3-scipy) and sox (reading the corpus files, the codecs).
"""
import json
import os
import subprocess
import sys
import wave

import numpy as np
from scipy import signal

RATE = 8000
FRAME = 80  # 10 ms at 8 kHz

# ---- talkers -------------------------------------------------------------------------------------
#
# A talker is one voice: its files under the corpus, or one speaker's turns in a conversation
# ("rttm:" the pyannote call's RTTM, "manifest:" the speaker_segments of the pyAudioAnalysis
# example). The P.862 originals name no talker; three pairs of files are one voice each (as in
# tests/dsp/mkmix.py), so each pair is one talker here.
TALKERS = {
    # Allison Smith, the voice of the Asterisk core sounds: the corpus's real IVR prompts. Her
    # recordings are split by file between the two sets (ALLISON_FILES below).
    "allison": None,
    "librivox": ["speech/ps_librivox_0870.wav", "speech/ps_librivox_0880.wav",
                 "speech/ps_librivox_0890.wav"],
    "cards": ["speech/ps_cards_001.wav", "speech/ps_cards_002.wav", "speech/ps_cards_003.wav"],
    "goforward": ["speech/ps_goforward.wav"],
    "alsa": ["speech/alsa_front_left.wav", "speech/alsa_front_center.wav"],
    "hts1a": ["speech/codec2_hts1a.wav"],
    "vk5qi": ["speech/codec2_vk5qi.wav"],
    "af1": ["quality/p862_u_af1s01.wav", "quality/p862_u_af1s03.wav"],
    "am1": ["quality/p862_u_am1s01.wav", "quality/p862_u_am1s02.wav"],
    "p239": ["quality/warpq_p239_021_ref.wav"],
    "pesq_ref": ["quality/pesq_speech_ref.wav"],
    "paa_count": ["vad/paa_count.wav"],
    "pyannote90": ["rttm:speaker90"],
    "pyannote91": ["rttm:speaker91"],
}
for _n in ("105", "129", "137", "155", "161", "170", "179", "221"):
    TALKERS["or" + _n] = ["quality/p862_or%s.wav" % _n]
for _a, _b in (("109", "114"), ("134", "154"), ("166", "229")):
    TALKERS["or%s+%s" % (_a, _b)] = ["quality/p862_or%s.wav" % _a, "quality/p862_or%s.wav" % _b]
for _s in "ABCDEF":
    TALKERS["paa_" + _s] = ["manifest:speaker" + _s]

# The four fixed cells. A voice is either a recording played by a machine (IVR prompts, queue
# announcements, answering-machine greetings) or a live person, never both; and the dev set
# (tuned on) and the held set (looked at last) share no talker, but for Allison, whose prompt
# recordings are divided between them by file (no recording is in both).
PROMPT_TALKERS = {
    "dev": ["allison", "librivox", "cards", "alsa", "or105", "or129", "paa_A", "paa_B"],
    "held": ["allison", "goforward", "hts1a", "or137", "or155", "paa_C", "paa_D"],
}
LIVE_TALKERS = {
    "dev": ["pyannote90", "am1", "p239", "vk5qi", "or161", "or170", "or179", "paa_E"],
    "held": ["pyannote91", "af1", "pesq_ref", "paa_count", "or221", "or109+114", "or134+154",
             "or166+229", "paa_F"],
}

# Allison's prompts: IVR menus and messages, and the announcements a queue plays over its hold
# music; the answering-machine greetings add her voicemail intro in the held set.
ALLISON_FILES = {
    "dev": {
        "ivr": ["ivr_prompts/ast_en_basic_pbx_ivr_main.wav", "ivr_prompts/ast_en_agent_user.wav",
                "ivr_prompts/ast_en_hello_world.wav", "ivr_prompts/ast_en_all_circuits_busy_now.wav"],
        "announce": ["ivr_prompts/ast_en_queue_periodic_announce.wav",
                     "ivr_prompts/ast_en_queue_thankyou.wav",
                     "ivr_prompts/ast_en_pls_hold_while_try.wav"],
    },
    "held": {
        "ivr": ["ivr_prompts/ast_en_dir_intro.wav", "ivr_prompts/ast_en_demo_congrats.wav",
                "ivr_prompts/ast_en_cannot_complete_as_dialed.wav",
                "ivr_prompts/ast_en_ss_noservice.wav", "ivr_prompts/ast_en_vm_intro.wav"],
        "announce": ["ivr_prompts/ast_en_queue_youarenext.wav",
                     "ivr_prompts/ast_en_queue_callswaiting.gsm",
                     "ivr_prompts/ast_es_queue_periodic_announce.wav"],
    },
}

# Hold music (the corpus's three opsound tracks), divided between the sets.
MUSIC_FILES = {
    "dev": ["hold_music/moh_macroform_cold_day.wav"],
    "held": ["hold_music/moh_macroform_robot_dity.gsm", "hold_music/moh_manolo_camp_morning_coffee.wav"],
}

RINGBACK_FILE = "tones/baresip_ringback_us.wav"  # two US rings, on 0.28-2.29 s and 6.31-8.32 s
RINGBACK_PERIOD = (0.0, 6.03)  # one ring and its silence, cut from the recording (s)
RINGBACK_ON = (0.28, 2.29)  # the ring inside that period, as the manifest measured it (s)
BEEP_FILE = "ivr_prompts/ast_en_beep.wav"  # the Asterisk voicemail beep (0.425 s)


def check_sets():
    """The sets are what the docs say: the four cells disjoint but for Allison (split by file),
    every talker defined. Raises AssertionError otherwise."""
    cells = {("prompt", s): PROMPT_TALKERS[s] for s in PROMPT_TALKERS}
    cells.update({("live", s): LIVE_TALKERS[s] for s in LIVE_TALKERS})
    for a in cells:
        for t in cells[a]:
            assert t in TALKERS, "%s: not a talker" % t
        for b in cells:
            if a < b:
                common = set(cells[a]) & set(cells[b])
                if common == {"allison"} and a[0] == b[0] == "prompt":
                    continue
                assert not common, "talkers %s in both %s and %s" % (sorted(common), a, b)
    d, h = ALLISON_FILES["dev"], ALLISON_FILES["held"]
    assert not (set(d["ivr"] + d["announce"]) & set(h["ivr"] + h["announce"]))
    assert not set(MUSIC_FILES["dev"]) & set(MUSIC_FILES["held"])


# ---- audio ---------------------------------------------------------------------------------------

def read8k(path):
    """A corpus file (WAV, raw .gsm) as 8 kHz mono float samples in [-1, 1), through sox."""
    args = ["sox", "-R"]
    if path.endswith(".gsm"):
        args += ["-t", "gsm", "-r", "8000", "-c", "1"]
    args += [path, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(RATE), "-"]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float64) / 32768.0


def write_wav(path, x, codec):
    """x as 16-bit 8 kHz mono WAV after one pass through `codec` ("ulaw": G.711 u-law, "gsm":
    GSM 06.10 full rate in WAV49), encoded and decoded again by sox; "pcm": as it is."""
    pcm = (np.clip(x, -1, 32767 / 32768) * 32768).astype("<i2").tobytes()
    if codec == "pcm":
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm)
        return
    tmp = path + ".codec.wav"
    enc = ["-e", "u-law"] if codec == "ulaw" else ["-e", "gsm-full-rate"]
    subprocess.run(["sox", "-R", "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r",
                    str(RATE), "-"] + enc + [tmp], input=pcm, check=True, stderr=subprocess.PIPE)
    dec = subprocess.run(["sox", "-R", tmp, "-t", "raw", "-e", "signed", "-b", "16", "-"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
    os.unlink(tmp)
    # GSM in WAV49 pads to whole 40 ms blocks: keep the labelled length
    y = np.frombuffer(dec, dtype="<i2")[:len(x)]
    y = np.pad(y, (0, len(x) - len(y)))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(y.astype("<i2").tobytes())


def frame_power(x):
    """Mean power of each whole 10 ms frame."""
    n = len(x) // FRAME
    return np.mean(x[:n * FRAME].reshape(n, FRAME) ** 2, axis=1) if n else np.zeros(0)


def frame_db(x):
    """frame_power in dB (-200 dB for a silent frame)."""
    return 10 * np.log10(frame_power(x) + 1e-20)


def active_db(x):
    """Active level in dBFS (full-scale sine = -3 dBFS RMS): the RMS of the 10 ms frames within
    30 dB of the loudest frame and above -70 dBFS. A simple stand-in for ITU-T P.56 that treats
    speech, music and tones alike."""
    p = frame_power(x)
    if not len(p) or p.max() <= 0:
        return -200.0
    db = 10 * np.log10(p + 1e-20)
    act = p[(db >= db.max() - 30) & (db > -70)]
    return float(10 * np.log10(np.mean(act) + 1e-20)) if len(act) else -200.0


def set_level(x, target_db):
    """x scaled to target_db active level, or lower if its peak would pass 0.98 of full scale.
    Returns (scaled copy, level reached)."""
    lv = active_db(x)
    g = 10 ** ((target_db - lv) / 20)
    peak = np.max(np.abs(x)) if len(x) else 0
    if peak * g > 0.98:
        g = 0.98 / peak
    return x * g, lv + 20 * np.log10(g)


def telephone_band(x):
    """The 300-3400 Hz channel every sequence goes through as a whole (4th-order Butterworth),
    so that no part's own bandwidth tells it from another."""
    sos = signal.butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")
    return signal.sosfilt(sos, x)


def line_noise(rng, n, db):
    """n samples of band-limited white noise at db dBFS RMS: the idle line."""
    w = rng.standard_normal(n)
    sos = signal.butter(2, [200, 3600], btype="bandpass", fs=RATE, output="sos")
    w = signal.sosfilt(sos, w)
    return w * 10 ** (db / 20) / (np.sqrt(np.mean(w ** 2)) + 1e-20)


def onset(x, level_db, below_db=25.0, run=5):
    """The first word's energy onset of a placed part, in samples from the part's start, or None:
    the first 10 ms frame of the part's own clean signal (before line noise and codec) whose power
    is at most `below_db` dB under the part's active level and that starts a run of `run` frames
    (50 ms) all as loud. The soft start of a word (a breathy /h/) can precede it by a few tens of
    ms; the onset is what an energy detector with perfect knowledge of the level would see."""
    db = frame_db(x)
    loud = db >= level_db - below_db
    for i in range(len(loud) - run + 1):
        if loud[i:i + run].all():
            return i * FRAME
    return None


# ---- utterances ----------------------------------------------------------------------------------

def utterances(x, bridge_s=0.3, min_s=0.3, max_s=None):
    """The utterances of x: runs of 10 ms frames within 35 dB of the loudest, pauses shorter than
    bridge_s bridged, min_s or longer (and at most max_s, if given), 50 ms kept either side."""
    db = frame_db(x)
    if not len(db):
        return []
    on = db >= db.max() - 35
    out, i, n = [], 0, len(on)
    br = int(round(bridge_s * 100))
    while i < n:
        if not on[i]:
            i += 1
            continue
        s, e, gap = i, i + 1, 0
        j = i + 1
        while j < n and gap < br:
            if on[j]:
                e, gap = j + 1, 0
            else:
                gap += 1
            j += 1
        d = (e - s) / 100.0
        if d >= min_s and (max_s is None or d <= max_s):
            a, b = max(0, (s - 5) * FRAME), min(len(x), (e + 5) * FRAME)
            out.append(x[a:b].copy())
        i = e + 1
    return out


def _conversation_turns(corpus, spec):
    """One speaker's turns, as (start, end) s, with the other speakers' overlapping stretches cut."""
    if spec.startswith("rttm:"):
        segs = {}
        for line in open(os.path.join(corpus, "conversations/pyannote_sample.rttm")):
            f = line.split()
            if f and f[0] == "SPEAKER":
                segs.setdefault(f[7], []).append((float(f[3]), float(f[3]) + float(f[4])))
        name, wav = spec[5:], "conversations/pyannote_sample.wav"
    else:
        man = json.load(open(os.path.join(corpus, "manifest.json")))
        segs = {}
        for row in man["files_list"]:
            for s, e, who in (row.get("labels") or {}).get("speaker_segments", []):
                segs.setdefault(who, []).append((s, e))
        name, wav = spec[9:], "conversations/paa_diarizationexample2.wav"
    others = [s for k, v in segs.items() if k != name for s in v]
    turns = []
    for s, e in segs[name]:
        cuts = [(s, e)]
        for os_, oe in others:
            nxt = []
            for a, b in cuts:
                if oe <= a or os_ >= b:
                    nxt.append((a, b))
                    continue
                if os_ > a:
                    nxt.append((a, os_))
                if oe < b:
                    nxt.append((oe, b))
            cuts = nxt
        turns += [(a, b) for a, b in cuts if b - a >= 0.3]
    return wav, turns


_cache = {}


def talker_recordings(corpus, talker):
    """The talker's recordings (whole files, or conversation turns) as 8 kHz float arrays."""
    key = (corpus, talker)
    if key not in _cache:
        recs = []
        for f in TALKERS[talker]:
            if f.startswith(("rttm:", "manifest:")):
                wav, turns = _conversation_turns(corpus, f)
                x = read8k(os.path.join(corpus, wav))
                recs += [x[int(a * RATE):int(b * RATE)] for a, b in turns]
            else:
                recs.append(read8k(os.path.join(corpus, f)))
        _cache[key] = recs
    return _cache[key]


def phrases(corpus, talker, bridge_s=0.3, min_s=0.3, max_s=None):
    """The talker's utterances (see utterances()) over all its recordings."""
    out = []
    for r in talker_recordings(corpus, talker):
        out += utterances(r, bridge_s, min_s, max_s)
    return out


# ---- DTMF ----------------------------------------------------------------------------------------

# ITU-T Q.23: the low group (rows) and high group (columns) of the 4x4 keypad, Hz.
DTMF_LOW = (697, 770, 852, 941)
DTMF_HIGH = (1209, 1336, 1477, 1633)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")


def dtmf(key, dur_s, low_dbm0, twist_db, rng):
    """One DTMF key: its two Q.23 frequencies (each within +-0.5 % here, Q.24 allows 1.5 %), the
    low-group tone at low_dbm0 and the high group twist_db over it, 5 ms raised-cosine edges.
    0 dBm0 is a sine 3.17 dB under the G.711 u-law full-scale sine (G.711 Table 6)."""
    r = [k for k, row in enumerate(DTMF_KEYS) if key in row][0]
    c = DTMF_KEYS[r].index(key)
    n = int(round(dur_s * RATE))
    t = np.arange(n) / RATE
    a_lo = 10 ** ((low_dbm0 - 3.17) / 20)
    a_hi = 10 ** ((low_dbm0 + twist_db - 3.17) / 20)
    f_lo = DTMF_LOW[r] * (1 + rng.uniform(-0.005, 0.005))
    f_hi = DTMF_HIGH[c] * (1 + rng.uniform(-0.005, 0.005))
    x = a_lo * np.sin(2 * np.pi * f_lo * t + rng.uniform(0, 2 * np.pi)) + \
        a_hi * np.sin(2 * np.pi * f_hi * t + rng.uniform(0, 2 * np.pi))
    k = min(40, n // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
    x[:k] *= ramp
    x[n - k:] *= ramp[::-1]
    return x


# ---- labels --------------------------------------------------------------------------------------

def check_labels(lab):
    """Problems with one sequence's labels (a list of strings, empty when consistent): parts in
    time order, inside the file, not overlapping; talkers from the right cell of the right set;
    for a hold-slayer sequence, first_word inside the human part."""
    errs = []
    parts, dur, st = lab["parts"], lab["duration"], lab["set"]
    last = 0.0
    for p in parts:
        if not (0 <= p["start"] < p["end"] <= dur + 1e-6):
            errs.append("%s part %.3f-%.3f outside 0-%.3f" % (p["kind"], p["start"], p["end"], dur))
        if p["start"] < last - 1e-6:
            errs.append("%s part at %.3f overlaps the one before (ends %.3f)" % (p["kind"], p["start"], last))
        last = max(last, p["end"])
        t = p.get("talker")
        if t:
            live = p["kind"] in ("human", "human_again")
            cell = (LIVE_TALKERS if live else PROMPT_TALKERS)[st]
            if t not in cell:
                errs.append("%s talker %s is not in the %s %s set" % (p["kind"], t, st, "live" if live else "prompt"))
    if lab["kind"] == "hold":
        hp = [p for p in parts if p["kind"] == "human"]
        if len(hp) != 1:
            errs.append("%d human parts" % len(hp))
        elif not (hp[0]["start"] <= lab["first_word"] < hp[0]["end"]):
            errs.append("first_word %.3f outside the human part %.3f-%.3f" % (lab["first_word"], hp[0]["start"], hp[0]["end"]))
    else:
        g = lab["greeting"]
        if not (0 <= g["start"] < g["end"] <= dur):
            errs.append("greeting %.3f-%.3f" % (g["start"], g["end"]))
        if lab.get("beep") is not None and not (g["end"] <= lab["beep"] < dur):
            errs.append("beep at %.3f" % lab["beep"])
        if lab["class"] == "human" and lab.get("beep") is not None:
            errs.append("a person with a beep")
    return errs


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)
