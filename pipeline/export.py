"""`hcjobs export`: one summary per posting (postings.jsonl) and the store's counts (stats.json)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from pipeline.store import utcnow
from pipeline.summary import iter_summaries, store_stats


def export(engine: Engine, out: Path) -> tuple[int, Path, Path]:
    """Write both files into `out` (created); each is written whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    postings_path, stats_path = out / "postings.jsonl", out / "stats.json"
    tmp = postings_path.with_suffix(".jsonl.tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for summary in iter_summaries(engine):
            fh.write(json.dumps(summary, ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(postings_path)
    stats = {"generated_at": utcnow().isoformat(), **store_stats(engine)}
    tmp = stats_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(stats_path)
    return count, postings_path, stats_path
