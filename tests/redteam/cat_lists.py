"""cat_lists.py - the QA API's lists within max_answer_mb, whatever the calls hold.

  lists: six calls, each with an imported transcript of about 0.9 MB, on a service whose
         max_answer_mb is 2: GET /api/qa/calls?limit=500 answers at most 2 MiB (and a little
         for the row kept first), says how many rows it left out (truncated.rows, max_bytes),
         and the calls it answered plus those left out are all six; paging on with offset gives
         the rest; the search and /calls stay within the bound too.
"""
import json
import os

import rtlib as rt
from rtlib import Service, check, healthy

MIB = 1 << 20


def cat_lists(root):
    svc = Service(os.path.join(root, "lists"), env={"CALLQA_MAX_ANSWER_MB": "2",
                                                     "CALLQA_MAX_TRANSCRIPT_MB": "4"})
    wav = os.path.join(rt.CORPUS, "calls", "call01_normal.wav")
    ids = ["L%d" % i for i in range(6)]
    for rid in ids:
        s, _, b = svc.upload(rid, wav)
        check("upload %s" % rid, s == 201, "%s %s" % (s, b[:200]))
    words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 60)
    for rid in ids:
        segs = [{"speaker": "agent" if i % 2 else "customer", "start": float(i),
                 "end": i + 0.9, "text": words} for i in range(200)]
        body = json.dumps({"segments": segs}).encode()
        s, _, b = svc.request("POST", "/api/qa/call/%s/transcript" % rid, body,
                              {"Content-Type": "application/json"}, timeout=60)
        check("a transcript of %.1f MB imported into %s" % (len(body) / 1e6, rid), s == 200,
              "%s %s" % (s, b[:200]))
    s, _, b = svc.request("GET", "/api/qa/calls?limit=500", timeout=60)
    o = json.loads(b) if s == 200 else {}
    got, cut = len(o.get("calls", [])), (o.get("truncated") or {})
    check("GET /api/qa/calls?limit=500: at most max_answer_mb (2 MiB) and one row (%.2f MB)"
          % (len(b) / 1e6), s == 200 and len(b) <= 2 * MIB + 1.1 * MIB, "%s %d" % (s, len(b)))
    check("  ... says what it left out (truncated.rows %s, max_bytes %s), and answered plus left "
          "out are all six" % (cut.get("rows"), cut.get("max_bytes")),
          got >= 1 and cut.get("rows", 0) >= 1 and got + cut.get("rows", 0) == 6 and
          cut.get("max_bytes") == 2 * MIB, "%d calls, %s" % (got, cut))
    seen = {c.get("recording_id") for c in o.get("calls", [])}
    offset = got
    for _ in range(10):
        if len(seen) == 6 or not got:
            break
        s, _, b = svc.request("GET", "/api/qa/calls?limit=500&offset=%d" % offset, timeout=60)
        page = json.loads(b).get("calls", []) if s == 200 else []
        got = len(page)
        offset += got
        seen |= {c.get("recording_id") for c in page}
    check("  paging on with offset gives every call", seen == set(ids), sorted(seen))
    for path in ("/calls?limit=500", "/api/qa/search?q=lorem&limit=500"):
        s, _, b = svc.request("GET", path, timeout=60)
        check("GET %s: within the bound (%.2f MB)" % (path, len(b) / 1e6),
              s == 200 and len(b) <= 2 * MIB + 1.1 * MIB, "%s %d" % (s, len(b)))
    healthy(svc, "lists")
    rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


CATEGORIES = [("lists", cat_lists)]
