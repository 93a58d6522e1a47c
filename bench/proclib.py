"""proclib.py - what the soaks read of a running process (bench/soak.py, bench/live_soak.py)."""


def rss_kb(pid):
    """The process's resident memory (VmRSS) in KiB; None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
