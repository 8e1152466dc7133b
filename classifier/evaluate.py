"""Measure the tagger against labeled postings (labels as in docs/labeling-guide.md), and write
the model card that reports it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from classifier.credentials import AMBIGUOUS
from classifier.tagger import Tagger


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "support": tp + fn}


def _labels_report(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy, per-label P/R/F1, macro-F1 over the labels present in the gold, confusion."""
    gold_labels = sorted({g for g, _ in pairs})
    per = {}
    for label in sorted({g for g, _ in pairs} | {p for _, p in pairs}):
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        per[label] = _prf(tp, fp, fn)
    n = len(pairs)
    return {
        "accuracy": round(sum(g == p for g, p in pairs) / n, 4) if n else 0.0,
        "macro_f1": round(sum(per[c]["f1"] for c in gold_labels) / len(gold_labels), 4)
        if gold_labels else 0.0,
        "per_label": per,
        "confusion": {f"{g}->{p}": c for (g, p), c in sorted(Counter(pairs).items())},
    }


def evaluate(tagger: Tagger, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every figure the targets name, over labeled rows {title, text, location?, label}."""
    results = tagger.tag([{"id": r.get("id"), "title": r.get("title"), "text": r.get("text"),
                           "location": r.get("location")} for r in rows])
    category: list[tuple[str, str]] = []
    remote: list[tuple[str, str]] = []
    code = Counter[str]()
    full = Counter[str]()
    per_code: dict[str, Counter[str]] = {}
    requirement_ok = requirement_n = lookalike_fp = 0
    errors: list[dict[str, Any]] = []
    for row, res in zip(rows, results, strict=True):
        label = row["label"]
        category.append((label["category"], res["category"]))
        remote.append((label["remote"], res["remote"]))
        gold = dict(label.get("credentials") or {})
        pred = {c["code"]: c["requirement"] for c in res["credentials"]}
        for c in gold.keys() | pred.keys():
            counts = per_code.setdefault(c, Counter())
            counts["tp" if c in gold and c in pred else "fn" if c in gold else "fp"] += 1
        both = gold.keys() & pred.keys()
        code["tp"] += len(both)
        code["fp"] += len(pred.keys() - gold.keys())
        code["fn"] += len(gold.keys() - pred.keys())
        lookalike_fp += len({c for c in pred.keys() - gold.keys() if c in AMBIGUOUS})
        requirement_n += len(both)
        requirement_ok += sum(gold[c] == pred[c] for c in both)
        gold_pairs, pred_pairs = set(gold.items()), set(pred.items())
        full["tp"] += len(gold_pairs & pred_pairs)
        full["fp"] += len(pred_pairs - gold_pairs)
        full["fn"] += len(gold_pairs - pred_pairs)
        if label["category"] != res["category"] or label["remote"] != res["remote"] \
                or gold != pred:
            errors.append({"id": row.get("id"), "title": row.get("title"), "gold": label,
                           "got": {"category": res["category"], "remote": res["remote"],
                                   "remote_evidence": res["remote_evidence"],
                                   "credentials": pred}})
    cat = _labels_report(category)
    rem = _labels_report(remote)
    return {
        "n": len(rows),
        "category_accuracy": cat["accuracy"],
        "category_macro_f1": cat["macro_f1"],
        "remote_accuracy": rem["accuracy"],
        "credentials_code": _prf(code["tp"], code["fp"], code["fn"]),
        "credentials_requirement_accuracy": round(requirement_ok / requirement_n, 4)
        if requirement_n else 1.0,
        "credentials_with_requirement": _prf(full["tp"], full["fp"], full["fn"]),
        "credentials_lookalike_false_positives": lookalike_fp,
        "category": cat,
        "remote": rem,
        "credentials_per_code": {c: _prf(n["tp"], n["fp"], n["fn"])
                                 for c, n in sorted(per_code.items())},
        "category_confusion": cat["confusion"],
        "remote_confusion": rem["confusion"],
        "errors": errors,
    }


TARGETS = {"category_macro_f1": 0.95, "remote_accuracy": 0.95, "credentials_micro_f1": 0.95,
           "credentials_requirement_accuracy": 0.95}


def _headline(report: dict[str, Any]) -> dict[str, float]:
    return {"category_macro_f1": report["category_macro_f1"],
            "remote_accuracy": report["remote_accuracy"],
            "credentials_micro_f1": report["credentials_code"]["f1"],
            "credentials_requirement_accuracy": report["credentials_requirement_accuracy"]}


def model_card(version: str, training: dict[str, Any],
               reports: dict[str, dict[str, Any]]) -> str:
    """The model card in Markdown: what the model is, what it was trained on, how it scores on
    each labeled set (against the targets), and where it errs."""
    lines = [
        f"# Model card: hcjobs tagger `{version}`",
        "",
        f"Written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `hcjobs evaluate`.",
        "",
        "## What it is",
        "- **category** (coding / administration / other): TF-IDF features of the title (words, "
        "word pairs and characters) and of the words of the start of the description, "
        "logistic regression, probabilities calibrated by cross-validated sigmoid scaling. "
        "Trained with scikit-learn and saved with skops; tagging computes the same "
        "probabilities from arrays exported at training (no scikit-learn import, no pickle).",
        "- **remote** (remote / hybrid / onsite), eligible states: rules over sentences; the "
        "text wins over the board's structured hints; the evidence sentence is kept.",
        "- **credentials**: the labeling guide's closed vocabulary with aliases; required or "
        "preferred from the sentence and its section; look-alike acronyms and mentions that "
        "ask nothing of the candidate are dropped.",
        "- Each rule runs only on the sentences that hold one of its trigger words, and a "
        "case-insensitive rule runs as its lowercase twin; the tests check that this never "
        "changes a tag.",
        "",
        "## Training data",
        f"The project's own corpus (`classifier/data/*.jsonl`, written for training): "
        f"{training.get('n_train', '?')} postings, "
        + ", ".join(f"{c} {n}" for c, n in training.get("classes", {}).items()) + ". "
        f"Corpus hash `{training.get('corpus_digest', '?')}`. 5-fold cross-validated category "
        f"accuracy {training.get('cv_accuracy', '?')}, macro-F1 {training.get('cv_macro_f1', '?')}."
        " The evaluation sets below were never trained on.",
        "",
        "## Measured quality",
        "",
        "| set | n | category macro-F1 | remote accuracy | credentials micro-F1 "
        "| requirement accuracy | look-alike FPs |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rep in reports.items():
        lines.append(
            f"| {name} | {rep['n']} | {rep['category_macro_f1']:.3f} "
            f"| {rep['remote_accuracy']:.3f} | {rep['credentials_code']['f1']:.3f} "
            f"| {rep['credentials_requirement_accuracy']:.3f} "
            f"| {rep['credentials_lookalike_false_positives']} |")
    lines += ["", "Targets: " + ", ".join(f"{k.replace('_', ' ')} >= {v}"
                                          for k, v in TARGETS.items()) + "; no look-alike FP.",
              ""]
    for name, rep in reports.items():
        missed = [k for k, v in _headline(rep).items() if v < TARGETS[k]]
        lines += [f"### {name}", "",
                  "Meets every target." if not missed and
                  not rep["credentials_lookalike_false_positives"]
                  else "Below target: " + (", ".join(missed) or "look-alike FPs") + ".", "",
                  "Category per label: " + ", ".join(
                      f"{c} P {m['precision']:.2f} R {m['recall']:.2f} F1 {m['f1']:.2f}"
                      for c, m in rep["category"]["per_label"].items()) + ".",
                  "", "Category confusion (gold->predicted): " + ", ".join(
                      f"{k} {v}" for k, v in rep["category_confusion"].items()) + ".",
                  "", "Remote confusion: " + ", ".join(
                      f"{k} {v}" for k, v in rep["remote_confusion"].items()) + ".",
                  "", "Credentials per code (P/R/F1, support): " + ", ".join(
                      f"{c} {m['precision']:.2f}/{m['recall']:.2f}/{m['f1']:.2f} "
                      f"({m['support']})" for c, m in rep["credentials_per_code"].items())
                  + ".", ""]
    return "\n".join(lines) + "\n"


def write_model_card(path: Path, version: str, training: dict[str, Any],
                     reports: dict[str, dict[str, Any]]) -> Path:
    """Write the card (whole or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(model_card(version, training, reports), encoding="utf-8")
    tmp.replace(path)
    return path


def set_name(paths: Sequence[str | Path]) -> str:
    """A set's name in reports: its file names joined."""
    return " + ".join(Path(p).name for p in paths)
