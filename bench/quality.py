"""Tagger quality on the labeled sets beside the project, printed, and the model card that
reports it (docs/model-card.md). The same as `hcjobs evaluate` on those sets.

    python bench/quality.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
SETS = ["dev.jsonl", "dev_us_a.jsonl+dev_us_b.jsonl"]


def main() -> int:
    from pipeline.cli import main as hcjobs

    specs = ["+".join(str(SHARED / f) for f in spec.split("+")) for spec in SETS]
    missing = [s for spec in specs for s in spec.split("+") if not Path(s).exists()]
    if missing:
        print(f"labeled sets not found: {', '.join(missing)}")
        return 1
    args = ["evaluate", "--card", str(ROOT / "docs" / "model-card.md")]
    for spec in specs:
        args += ["--data", spec]
    return hcjobs(args)


if __name__ == "__main__":
    raise SystemExit(main())
