"""Tagger quality on labeled data, printed: the held-out sets beside the project when present,
and cross-validated accuracy on the project's own corpus.

    python bench/quality.py [LABELED.jsonl ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def main(argv: list[str]) -> int:
    from classifier.category import train
    from classifier.corpus import read_labeled
    from classifier.evaluate import evaluate
    from classifier.tagger import Tagger

    _, metrics = train()
    print(f"corpus: {metrics['n_train']} postings, 5-fold CV category accuracy "
          f"{metrics['cv_accuracy']:.3f}, macro F1 {metrics['cv_macro_f1']:.3f}")
    sets = [[Path(p)] for p in argv[1:]] or [
        [SHARED / "dev.jsonl"], [SHARED / "dev_us_a.jsonl", SHARED / "dev_us_b.jsonl"]]
    tagger = Tagger.load()
    for paths in sets:
        if not all(p.exists() for p in paths):
            print(f"skipped {', '.join(map(str, paths))}: not found")
            continue
        rows = [r for p in paths for r in read_labeled(p)]
        report = evaluate(tagger, rows)
        report.pop("errors")
        name = " + ".join(p.name for p in paths)
        print(f"{name}: n={report['n']} category {report['category_accuracy']:.3f} "
              f"remote {report['remote_accuracy']:.3f} credentials (code+requirement) "
              f"P {report['credentials_with_requirement']['precision']:.3f} "
              f"R {report['credentials_with_requirement']['recall']:.3f} "
              f"F1 {report['credentials_with_requirement']['f1']:.3f}")
        print("  category confusion " + json.dumps(report["category_confusion"]))
        print("  remote confusion " + json.dumps(report["remote_confusion"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
