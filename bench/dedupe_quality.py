"""Pair precision and recall of near-duplicate detection on the labeled pair set, printed.

    python bench/dedupe_quality.py [PAIRS.jsonl]

The set (tests/data/dedupe_pairs.jsonl, written by tests/data/make_dedupe_pairs.py) holds
invented postings paired the ways duplicates and look-alikes arise: reposts, agency and
aggregator copies, the same title at two hospitals, one job in two cities, and more.
Targets: precision >= 0.98, recall >= 0.95.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAIRS = ROOT / "tests" / "data" / "dedupe_pairs.jsonl"


def main(argv: list[str]) -> int:
    from pipeline.dedupe import evaluate_pairs

    path = Path(argv[1]) if len(argv) > 1 else PAIRS
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    start = time.perf_counter()
    report = evaluate_pairs(rows)
    elapsed = time.perf_counter() - start
    print(f"dedupe pairs ({path.name}): {report['pairs']} pairs, {report['duplicates']} "
          f"duplicates: precision {report['precision']:.3f} (target 0.98), recall "
          f"{report['recall']:.3f} (target 0.95); tp {report['tp']} fp {report['fp']} "
          f"fn {report['fn']} tn {report['tn']}; {elapsed:.1f} s")
    for case, n in sorted(report["cases"].items()):
        print(f"  {case:<26} {n['right']:>3}/{n['pairs']:<3} right")
    for err in report["errors"]:
        print(f"  wrong: {err}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
