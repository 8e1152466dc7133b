"""Tagging speed and the keyword baseline, printed (not a timed test).

    python bench/classify.py

- Full tagging (category + remote + eligibility + credentials + facets + evidence) of 10,000
  postings of about 3 KB in one process, 1,000 per Tagger.tag() call: postings/s by CPU time
  (one core; the figure to compare) and by wall time (which other load on the machine
  inflates); model load time, in this process and in a fresh one (imports included); peak
  memory.
- The same labeled sets tagged by a keyword baseline of the kind other job tools use (title
  keywords for category, the substring "remote", bare acronym matching), for quality and speed
  side by side with hcjobs.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
N = 10_000
TARGET_BYTES = 3_000


def three_kb_postings(corpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """N postings of about 3 KB: each corpus posting followed by others' text until ~3 KB."""
    out = []
    for i in range(N):
        first = corpus[i % len(corpus)]
        text, j = first["text"], i
        while len(text) < TARGET_BYTES:
            j += 7
            text += "\n" + corpus[j % len(corpus)]["text"]
        out.append({"id": i, "title": first["title"], "text": text[:TARGET_BYTES]})
    return out


CODING_WORDS = re.compile(r"(?i)\bcod(?:er|ing)\b|\bcdi\b|\babstract")
ADMIN_WORDS = re.compile(r"(?i)\bmanager\b|\bdirector\b|\badministrator\b|\bchief\b|\bvp\b")
BARE = re.compile(r"\b(CPC-A|CPC|COC|CIC|CRC|CPMA|CPCO|CPB|CDEO|CEMC|CCA|CCS-P|CCS|RHIT|RHIA"
                  r"|CDIP|CHPS|CCDS|ACC|FACHE|CMPE|CHFP|CPHQ|CHC|MHA|MHSA|MBA|MPH|RN)\b")


def keyword_baseline(posting: dict[str, Any]) -> dict[str, Any]:
    """What a typical job tool does: title keywords, the word "remote", bare acronyms."""
    title, text = posting.get("title") or "", posting.get("text") or ""
    category = "coding" if CODING_WORDS.search(title) else \
        "administration" if ADMIN_WORDS.search(title) else "other"
    remote = "remote" if "remote" in (title + " " + text).lower() else "onsite"
    credentials = [{"code": c, "requirement": "required", "evidence": ""}
                   for c in dict.fromkeys(BARE.findall(text))]
    return {"id": posting.get("id"), "category": category, "remote": remote,
            "remote_evidence": None, "credentials": credentials}


class KeywordTagger:
    """The baseline behind the Tagger interface, so the same evaluation measures both."""

    version = "keyword-baseline"

    def tag(self, postings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [keyword_baseline(p) for p in postings]


FRESH_LOAD = ("import time; t = time.perf_counter(); "
              "from classifier.tagger import Tagger; Tagger.load(); "
              "print(time.perf_counter() - t, time.process_time())")


def fresh_load() -> tuple[float, float]:
    """Wall and CPU seconds for a new process to import the tagger and load the model."""
    out = subprocess.run([sys.executable, "-c", FRESH_LOAD], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> int:
    from classifier.category import load_linear, model_dir
    from classifier.corpus import load_corpus, read_labeled
    from classifier.evaluate import evaluate
    from classifier.tagger import Tagger

    # a trained model cached first, in a child process: when it is missing, training it
    # here would leave its memory in this process's peak (315 MB instead of 135)
    fresh_load()
    wall, cpu = time.perf_counter(), time.process_time()
    load_linear(model_dir())
    load_s, load_cpu = time.perf_counter() - wall, time.process_time() - cpu
    fresh_s, fresh_cpu = fresh_load()
    tagger = Tagger.load()
    postings = three_kb_postings(load_corpus())
    size = sum(len(p["text"]) for p in postings) / len(postings)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(postings), 1000):
        tagger.tag(postings[i:i + 1000])
    elapsed, elapsed_cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base_start = time.perf_counter()
    KeywordTagger().tag(postings)
    base_elapsed = time.perf_counter() - base_start
    n = len(postings)
    print(f"hcjobs tagger: {n} postings of {size:,.0f} chars: {n / elapsed_cpu:,.0f} postings/s "
          f"by CPU time ({elapsed_cpu:.1f} s), {n / elapsed:,.0f}/s by wall time "
          f"({elapsed:.1f} s), one core; model load {load_s:.3f} s (CPU {load_cpu:.3f} s), "
          f"{fresh_s:.2f} s in a fresh process with imports (CPU {fresh_cpu:.2f} s); "
          f"peak RSS {peak:.0f} MB")
    print(f"keyword baseline: {len(postings) / base_elapsed:,.0f} postings/s")
    for name, files in {"dev.jsonl": ["dev.jsonl"],
                        "dev_us_a+b": ["dev_us_a.jsonl", "dev_us_b.jsonl"]}.items():
        paths = [SHARED / f for f in files]
        if not all(p.exists() for p in paths):
            print(f"{name}: not found, skipped")
            continue
        rows = [r for p in paths for r in read_labeled(p)]
        for label, who in (("hcjobs", tagger), ("keyword", KeywordTagger())):
            rep = evaluate(who, rows)  # type: ignore[arg-type]
            print(f"{name} {label:>8}: category macro-F1 {rep['category_macro_f1']:.3f}, "
                  f"remote accuracy {rep['remote_accuracy']:.3f}, credentials micro-F1 "
                  f"{rep['credentials_code']['f1']:.3f}, requirement accuracy "
                  f"{rep['credentials_requirement_accuracy']:.3f}, look-alike FPs "
                  f"{rep['credentials_lookalike_false_positives']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
