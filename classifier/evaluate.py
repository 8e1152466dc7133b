"""Measure the tagger against labeled postings (labels as in docs/labeling-guide.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from classifier.tagger import Tagger


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def evaluate(tagger: Tagger, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy of category and remote, and credential precision/recall (code, and code +
    requirement), over labeled rows {title, text, label}."""
    results = tagger.tag([{"id": r.get("id"), "title": r.get("title"), "text": r.get("text"),
                           "location": r.get("location")} for r in rows])
    cat_ok = remote_ok = 0
    confusion: Counter[tuple[str, str]] = Counter()
    remote_confusion: Counter[tuple[str, str]] = Counter()
    code = Counter[str]()
    full = Counter[str]()
    errors: list[dict[str, Any]] = []
    for row, res in zip(rows, results, strict=True):
        label = row["label"]
        confusion[(label["category"], res["category"])] += 1
        remote_confusion[(label["remote"], res["remote"])] += 1
        cat_ok += label["category"] == res["category"]
        remote_ok += label["remote"] == res["remote"]
        gold = dict(label.get("credentials") or {})
        pred = {c["code"]: c["requirement"] for c in res["credentials"]}
        code["tp"] += len(gold.keys() & pred.keys())
        code["fp"] += len(pred.keys() - gold.keys())
        code["fn"] += len(gold.keys() - pred.keys())
        gold_pairs, pred_pairs = set(gold.items()), set(pred.items())
        full["tp"] += len(gold_pairs & pred_pairs)
        full["fp"] += len(pred_pairs - gold_pairs)
        full["fn"] += len(gold_pairs - pred_pairs)
        if label["category"] != res["category"] or label["remote"] != res["remote"] \
                or gold != pred:
            errors.append({"id": row.get("id"), "title": row.get("title"),
                           "gold": label, "got": {"category": res["category"],
                                                  "remote": res["remote"], "credentials": pred}})
    n = len(rows)
    return {
        "n": n,
        "category_accuracy": round(cat_ok / n, 4) if n else 0.0,
        "remote_accuracy": round(remote_ok / n, 4) if n else 0.0,
        "credentials_code": _prf(code["tp"], code["fp"], code["fn"]),
        "credentials_with_requirement": _prf(full["tp"], full["fp"], full["fn"]),
        "category_confusion": {f"{g}->{p}": c for (g, p), c in sorted(confusion.items())},
        "remote_confusion": {f"{g}->{p}": c for (g, p), c in sorted(remote_confusion.items())},
        "errors": errors,
    }
