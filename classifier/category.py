"""Category model: coding / administration / other from title and description.

A linear model over TF-IDF features, title weighted above the body, because the title is the
strongest single signal and the body settles the hard cases (billing vs coding, clinical vs
unit management). Trained with scikit-learn and saved with skops, never pickle; tagging uses
the same model exported to plain arrays (classifier.linear), which loads in milliseconds
without importing scikit-learn. So scikit-learn, pandas and skops are imported only here,
inside the functions that train or read the pipeline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier import TAGGER_REVISION
from classifier.corpus import CATEGORIES, corpus_digest, load_corpus
from classifier.linear import LinearModel

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

TEXT_CHARS = 6000  # the start of a posting says what the job is; the rest is boilerplate


def columns(postings: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """The model's input columns from posting dicts ({title, text})."""
    return {"title": [str(p.get("title") or "") for p in postings],
            "text": [str(p.get("text") or "")[:TEXT_CHARS] for p in postings]}


def frame(postings: list[dict[str, Any]]) -> pd.DataFrame:
    """The model's input columns as the scikit-learn pipeline takes them."""
    import pandas as pd

    return pd.DataFrame(columns(postings))


def build_model() -> Pipeline:
    """The untrained category model."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    features = ColumnTransformer(
        [
            ("title_words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                            lowercase=True), "title"),
            ("title_chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5),
                                            sublinear_tf=True), "title"),
            # single words of the text: its word pairs (10k more features from a few hundred
            # short postings) scored no better in cross-validation, and cost half the time
            ("text_words", TfidfVectorizer(ngram_range=(1, 1), sublinear_tf=True, min_df=2,
                                           max_features=60000, stop_words="english"), "text"),
        ],
        transformer_weights={"title_words": 1.5, "title_chars": 1.0, "text_words": 1.0},
    )
    linear = LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced")
    # Sigmoid scaling fitted on cross-validated scores makes the probabilities honest; one
    # final model (ensemble=False) keeps prediction as cheap as the plain linear model.
    classifier = CalibratedClassifierCV(linear, method="sigmoid", cv=5, ensemble=False)
    return Pipeline([("features", features), ("classifier", classifier)])


def model_version() -> str:
    """Version of the model the current corpus and scikit-learn produce."""
    return f"tagger{TAGGER_REVISION}-{corpus_digest()}-skl{metadata.version('scikit-learn')}"


def model_dir() -> Path:
    """Where trained models are cached: HCJOBS_MODEL_DIR or ~/.cache/hcjobs/models."""
    env = os.environ.get("HCJOBS_MODEL_DIR")
    base = Path(env) if env else Path.home() / ".cache" / "hcjobs" / "models"
    return base / model_version()


def train(out_dir: Path | None = None, *, cv: bool = True) -> tuple[Pipeline, dict[str, Any]]:
    """Fit the model on the project's corpus, save it (skops, and the arrays tagging reads)
    with its metrics file, return the pipeline and the metrics."""
    import numpy as np
    import sklearn
    import skops.io as sio
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = load_corpus()
    x = frame(rows)
    y = np.array([r["label"]["category"] for r in rows])
    metrics: dict[str, Any] = {"version": model_version(), "n_train": len(rows),
                               "corpus_digest": corpus_digest(),
                               "sklearn": sklearn.__version__,
                               "classes": {c: int((y == c).sum()) for c in CATEGORIES}}
    if cv:
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        predicted = cross_val_predict(build_model(), x, y, cv=folds)
        metrics["cv_accuracy"] = round(float(accuracy_score(y, predicted)), 4)
        metrics["cv_macro_f1"] = round(float(f1_score(y, predicted, average="macro")), 4)
    metrics["trained_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    model = build_model().fit(x, y)
    for _name, vectorizer, _column in model.named_steps["features"].transformers_:
        if hasattr(vectorizer, "vocabulary_"):  # plain ints: numpy ints cost skops a file each
            vectorizer.vocabulary_ = {t: int(i) for t, i in vectorizer.vocabulary_.items()}
    folder = out_dir or model_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "category.skops.tmp"
    sio.dump(model, tmp)
    tmp.replace(folder / "category.skops")  # atomic: a reader never sees half a model
    LinearModel.from_pipeline(model).save(folder / LINEAR_FILE)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return model, metrics


TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")
LINEAR_FILE = "category.npz"


def training_metrics(folder: Path | None = None) -> dict[str, Any]:
    """The metrics file saved with the model (empty when the model was trained without one)."""
    path = (folder or model_dir()) / "metrics.json"
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load(folder: Path | None = None) -> Pipeline:
    """The saved scikit-learn pipeline (trained first when this corpus has none yet)."""
    import skops.io as sio

    folder = folder or model_dir()
    path = folder / "category.skops"
    if not path.exists():
        return train(folder, cv=False)[0]
    untrusted = sio.get_untrusted_types(file=path)
    unexpected = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if unexpected:
        raise ValueError(f"{path} holds unexpected types {unexpected}; refusing to load it")
    model: Pipeline = sio.load(path, trusted=untrusted)
    return model


def load_linear(folder: Path | None = None) -> LinearModel:
    """The model as tagging uses it: the arrays exported at training (exported from the saved
    pipeline, or trained, when missing)."""
    folder = folder or model_dir()
    path = folder / LINEAR_FILE
    if not path.exists():
        LinearModel.from_pipeline(load(folder)).save(path)
    return LinearModel.load(path)
