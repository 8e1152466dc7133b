"""The project's own labeled corpus (classifier/data/*.jsonl), written for training."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

CATEGORIES = ("coding", "administration", "other")
REMOTE_LABELS = ("remote", "hybrid", "onsite")


def corpus_files() -> list[Path]:
    """The training files shipped in the package, in a stable order."""
    folder = Path(str(resources.files("classifier").joinpath("data")))
    return sorted(folder.glob("*.jsonl"))


def read_labeled(path: str | Path) -> list[dict[str, Any]]:
    """Labeled postings from a JSONL file; a bad line names the file and line."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                label = row["label"]
                if label["category"] not in CATEGORIES:
                    raise ValueError(f"unknown category {label['category']!r}")
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labeled posting: {exc}") from exc
            rows.append(row)
    return rows


def load_corpus() -> list[dict[str, Any]]:
    """Every labeled posting of the shipped training corpus."""
    return [row for path in corpus_files() for row in read_labeled(path)]


def corpus_digest() -> str:
    """Short hash of the corpus files: part of the model version, so a new corpus retrains."""
    digest = hashlib.sha256()
    for path in corpus_files():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
