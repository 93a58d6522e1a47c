#!/usr/bin/env python3
"""fake_llm_report.py - tests/clients/fake_llm.py (same arguments, same answers and records) that
also keeps what each request asked, for GET /ai-analyze's tests: DIR/texts.jsonl holds one
object per request, {provider, system, user} (user: the user turns' texts, in order), so the
test can check that the report went inside the <call_report> data block."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))
import fake_llm  # noqa: E402


def keep(provider, check):
    def wrapped(h, body, args, v, info, *rest):
        system, texts, schema, roles = check(h, body, args, v, info, *rest)
        with open(os.path.join(args.log, "texts.jsonl"), "a") as f:
            f.write(json.dumps({"provider": provider, "system": system, "user": texts}) + "\n")
        return system, texts, schema, roles
    return wrapped


fake_llm.check_anthropic = keep("anthropic", fake_llm.check_anthropic)
fake_llm.check_openai = keep("openai", fake_llm.check_openai)
fake_llm.check_gemini = keep("gemini", fake_llm.check_gemini)

if __name__ == "__main__":
    sys.exit(fake_llm.main())
