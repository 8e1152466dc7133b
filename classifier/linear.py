"""The trained category model's arithmetic in numpy: TF-IDF features, the linear scores and the
sigmoid calibration, read from plain arrays exported from the fitted scikit-learn pipeline.

Why: scikit-learn's transform counts features in a Python loop that raises and catches a
KeyError for every n-gram outside the vocabulary (~400 µs for a 3 KB posting), and importing it
(with skops and pandas) takes seconds. Here the n-grams are looked up with C-level map/filter,
a whole batch is scored with a few numpy operations, and the arrays load in milliseconds with
`allow_pickle=False` (no code is unpickled). Training and the skops file stay scikit-learn's:
this is only the exported inference path, checked against the pipeline by the tests.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, filterfalse, repeat
from pathlib import Path
from typing import Any

import numpy as np

from classifier.prefilter import WORD

DEFAULT_TOKENS = r"(?u)\b\w\w+\b"  # scikit-learn's token_pattern; WORD finds the same tokens
FORMAT = 1
SHORT_DOC = 200  # characters: a title, whose n-grams are worth remembering (see counted())


@dataclass
class _Block:
    """One TF-IDF vectorizer of the pipeline: the column it reads, how it makes n-grams, and
    its vocabulary (term -> column + 1, so that a miss is falsy) and idf weights."""

    name: str
    column: str
    analyzer: str  # word | char_wb
    ngram: tuple[int, int]
    lowercase: bool
    stop_words: frozenset[str]
    token_pattern: str
    sublinear_tf: bool
    norm: str | None
    weight: float
    terms: np.ndarray
    idf: np.ndarray
    offset: int = 0  # where the block's columns start in the coefficient matrix

    def __post_init__(self) -> None:
        # A word n-gram is looked up as a tuple of its words: zip() makes those for free,
        # where joining them into strings would cost more than the look-up.
        terms: list[str] = self.terms.tolist()
        keys: list[Any] = terms if self.analyzer != "word" else \
            [tuple(t.split(" ")) if " " in t else t for t in terms]
        self.vocab: dict[Any, int] = dict(zip(keys, range(1, len(terms) + 1), strict=True))
        # the idf weights, and a 0 for the column that stands for a word outside the
        # vocabulary (see looked_up)
        self.idf_padded = np.append(np.asarray(self.idf, dtype=np.float64), 0.0)
        self.tokenize = WORD.findall if self.token_pattern == DEFAULT_TOKENS \
            else re.compile(self.token_pattern).findall
        self._words: dict[str, tuple[int, ...]] = {}  # char_wb: word -> its n-grams' columns
        self._short: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}  # see counted()
        # A block of single words, lowercased, split as WORD does, can count a document's words
        # given already counted: its vocabulary holds no stop word and no single character.
        self.takes_counts = (self.analyzer == "word" and self.ngram == (1, 1) and self.lowercase
                             and self.token_pattern == DEFAULT_TOKENS
                             and not any(len(t) < 2 or t in self.stop_words for t in terms))

    def looked_up(self, counted: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary columns (+1) of a document's counted words and their counts: each
        distinct word looked up once (a block that takes counts). A word outside the
        vocabulary stays, as the column after the block's last (+1), whose idf is 0: it adds
        exactly nothing to the scores, and numpy fills both arrays straight from the
        iterators, faster than picking the known words out in Python."""
        size = len(counted)
        return (np.fromiter(map(self.vocab.get, counted, repeat(len(self.terms) + 1)),
                            np.int64, size),
                np.fromiter(counted.values(), np.int64, size))

    def counted(self, doc: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The document's distinct vocabulary columns (+1) and how often each occurs.
        Remembered for a short document: titles recur across a crawl's postings."""
        found = self._short.get(doc)
        if found is None:
            ids = Counter(self.ids(doc))
            found = tuple(ids), tuple(ids.values())
            if len(doc) <= SHORT_DOC:
                if len(self._short) > 100_000:
                    self._short.clear()  # a bound on memory over a long crawl
                self._short[doc] = found
        return found

    def ids(self, doc: str) -> Iterable[int]:
        """The vocabulary columns (+1) of the document's n-grams, one per occurrence, as
        scikit-learn's analyzer would count them."""
        if self.analyzer == "char_wb":
            return self._char_wb_ids(doc.lower() if self.lowercase else doc)
        tokens = self.tokenize(doc.lower() if self.lowercase else doc)
        if self.stop_words:
            tokens = list(filterfalse(self.stop_words.__contains__, tokens))
        low, high = self.ngram
        grams: list[Iterable[Any]] = [tokens] if low == 1 else []
        for n in range(max(low, 2), high + 1):
            grams.append(zip(*(tokens[i:] for i in range(n)), strict=False))
        return filter(None, map(self.vocab.get, chain.from_iterable(grams)))

    def _char_wb_ids(self, doc: str) -> Iterable[int]:
        """scikit-learn's char_wb n-grams: each word padded with a space either side."""
        words = self._words
        if len(words) > 100_000:
            words.clear()  # a bound on memory over a long crawl
        out: list[int] = []
        for word in doc.split():
            found = words.get(word)
            if found is None:
                found = words[word] = tuple(filter(None, map(self.vocab.get,
                                                             self._char_wb_word(word))))
            out.extend(found)
        return out

    def _char_wb_word(self, word: str) -> list[str]:
        low, high = self.ngram
        padded = " " + word + " "
        size = len(padded)
        grams: list[str] = []
        for n in range(low, high + 1):
            if size <= n:  # a short word counts once, whole (scikit-learn's rule)
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(size - n + 1))
        return grams


class LookedUp:
    """A document's counted words already looked up in the model's blocks (see
    LinearModel.look_up): one entry per block, None for a block that does not take them."""

    __slots__ = ("by_block",)

    def __init__(self, by_block: tuple[tuple[np.ndarray, np.ndarray] | None, ...]) -> None:
        self.by_block = by_block


class LinearModel:
    """Calibrated probabilities of the category classes, computed like the fitted pipeline
    (ColumnTransformer of TF-IDF blocks -> logistic regression -> sigmoid calibration)."""

    def __init__(self, blocks: list[_Block], classes: list[str], coef: np.ndarray,
                 intercept: np.ndarray, calib_a: np.ndarray, calib_b: np.ndarray) -> None:
        self.blocks = blocks
        self.classes_ = classes
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)
        # one more column, of zeros: the column after the last block's, which stands for a
        # word outside its vocabulary (another block's stands on the next block's first
        # column, with a weight of 0.0 in the data: see idf_padded)
        self.coef_padded = np.ascontiguousarray(
            np.hstack((self.coef, np.zeros((self.coef.shape[0], 1)))))
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.calib_a = np.asarray(calib_a, dtype=np.float64)
        self.calib_b = np.asarray(calib_b, dtype=np.float64)
        offset = 0
        for block in blocks:
            block.offset = offset
            offset += len(block.terms)
        if offset != self.coef.shape[1]:
            raise ValueError(f"{offset} features in the blocks, {self.coef.shape[1]} weights")

    def look_up(self, column: str, counted: Mapping[str, int]) -> LookedUp:
        """A document's counted words (as decision_function's `words` takes them) looked up
        now rather than when the batch is scored, with the same scores: the caller can then
        drop the counts while they are still in the CPU's cache (see Tagger)."""
        return LookedUp(tuple(block.looked_up(counted) if block.column == column
                              and block.takes_counts else None for block in self.blocks))

    def decision_function(self, columns: Mapping[str, Sequence[str]],
                          words: Mapping[str, Sequence[Mapping[str, int] | LookedUp | None]]
                          | None = None) -> np.ndarray:
        """The linear scores, one row per document. `columns`: column name -> one string per
        document; `words`: column -> each document's lowercased words with their counts, when
        known (None where not; as Doc.counts: WORD's words, single characters allowed), or
        those looked up already (look_up), which saves finding them again for a block of
        single words."""
        n = len(next(iter(columns.values()))) if columns else 0
        coef = self.coef_padded
        scores = np.tile(self.intercept, (n, 1))
        for index, block in enumerate(self.blocks):
            docs = columns[block.column]
            known = (words or {}).get(block.column) if block.takes_counts else None
            sizes = array("q")
            if known is None:
                # C arrays filled from the counters (no Python int objects for numpy to convert)
                keys = array("q")
                counts = array("q")
                for doc in docs:
                    ids_found, counts_found = block.counted(doc)
                    keys.extend(ids_found)
                    counts.extend(counts_found)
                    sizes.append(len(ids_found))
                if not keys:
                    continue
                cols = np.frombuffer(keys, dtype=np.int64) - 1
                data = np.frombuffer(counts, dtype=np.int64).astype(np.float64)
                rows = np.repeat(np.arange(n), np.frombuffer(sizes, dtype=np.int64))
            else:  # single words, each distinct word looked up once: int64 arrays per row
                key_parts: list[np.ndarray] = []
                count_parts: list[np.ndarray] = []
                for row, doc in enumerate(docs):
                    counted = known[row]
                    if counted is None:
                        ids, tally = block.counted(doc)
                        found = np.array(ids, dtype=np.int64), np.array(tally, dtype=np.int64)
                    elif isinstance(counted, LookedUp):
                        found_block = counted.by_block[index]
                        if found_block is None:
                            raise ValueError(f"words looked up for another column than "
                                             f"{block.column!r}")
                        found = found_block
                    else:
                        found = block.looked_up(counted)
                    key_parts.append(found[0])
                    count_parts.append(found[1])
                    sizes.append(len(found[0]))
                if not key_parts:
                    continue
                cols = np.concatenate(key_parts) - 1
                data = np.concatenate(count_parts).astype(np.float64)
                rows = np.repeat(np.arange(n), np.frombuffer(sizes, dtype=np.int64))
            if block.sublinear_tf:
                data = np.log(data) + 1.0
            # (idf_padded: a word outside the vocabulary weighs 0.0, so that it adds +-0.0 to
            # each sum below, which leaves every sum as it was without it)
            data *= block.idf_padded.take(cols)
            if block.norm == "l2":
                norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n))
                norms[norms == 0.0] = 1.0
                data /= norms.take(rows)
            elif block.norm is not None:
                raise ValueError(f"norm {block.norm!r} is not supported")
            data *= block.weight
            cols += block.offset
            for k in range(len(self.classes_)):  # take() per class row: the fastest gather
                scores[:, k] += np.bincount(rows, weights=data * coef[k].take(cols),
                                            minlength=n)
        return scores

    def predict_proba(self, columns: Mapping[str, Sequence[str]],
                      words: Mapping[str, Sequence[Mapping[str, int] | LookedUp | None]]
                      | None = None) -> np.ndarray:
        """Calibrated class probabilities (rows sum to 1), as CalibratedClassifierCV gives."""
        scores = self.decision_function(columns, words)
        proba = 1.0 / (1.0 + np.exp(self.calib_a * scores + self.calib_b))
        total = proba.sum(axis=1, keepdims=True)
        proba = np.divide(proba, total, out=np.full_like(proba, 1.0 / proba.shape[1]),
                          where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    # --- export from scikit-learn, save, load --------------------------------------------

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> LinearModel:
        """The arithmetic of a fitted Pipeline([ColumnTransformer of TfidfVectorizers],
        CalibratedClassifierCV(LogisticRegression, sigmoid, ensemble=False)). Anything else
        raises, rather than scoring differently."""
        features, calibrated = pipeline.named_steps["features"], pipeline.named_steps[
            "classifier"]
        weights = features.transformer_weights or {}
        blocks = []
        for name, vectorizer, column in features.transformers_:
            if name == "remainder":
                if vectorizer != "drop":
                    raise ValueError("the remainder columns must be dropped")
                continue
            params = vectorizer.get_params()
            unsupported = {k: params[k] for k in ("preprocessor", "tokenizer", "strip_accents",
                                                  "vocabulary")
                           if params[k] is not None}
            if unsupported or params["binary"] or not params["use_idf"] or \
                    params["analyzer"] not in ("word", "char_wb") or params["input"] != "content":
                raise ValueError(f"block {name}: unsupported settings {unsupported or params}")
            terms = np.empty(len(vectorizer.vocabulary_), dtype=object)
            for term, index in vectorizer.vocabulary_.items():
                terms[index] = term
            blocks.append(_Block(
                name=name, column=str(column), analyzer=params["analyzer"],
                ngram=tuple(params["ngram_range"]), lowercase=bool(params["lowercase"]),
                stop_words=frozenset(vectorizer.get_stop_words() or ()),
                token_pattern=params["token_pattern"], sublinear_tf=bool(params["sublinear_tf"]),
                norm=params["norm"], weight=float(weights.get(name, 1.0)),
                terms=terms.astype(str), idf=np.asarray(vectorizer.idf_, dtype=np.float64)))
        if calibrated.method != "sigmoid" or len(calibrated.calibrated_classifiers_) != 1:
            raise ValueError("expected one sigmoid-calibrated classifier (ensemble=False)")
        (fitted,) = calibrated.calibrated_classifiers_
        classes = [str(c) for c in calibrated.classes_]
        if [str(c) for c in fitted.estimator.classes_] != classes or len(classes) < 3:
            raise ValueError("expected a multiclass estimator over the calibrated classes")
        return cls(blocks, classes, fitted.estimator.coef_, fitted.estimator.intercept_,
                   np.array([c.a_ for c in fitted.calibrators], dtype=np.float64),
                   np.array([c.b_ for c in fitted.calibrators], dtype=np.float64))

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything the model is, as plain arrays (strings, floats) for np.savez."""
        meta = {"format": FORMAT, "classes": self.classes_, "blocks": [
            {"name": b.name, "column": b.column, "analyzer": b.analyzer, "ngram": b.ngram,
             "lowercase": b.lowercase, "stop_words": sorted(b.stop_words),
             "token_pattern": b.token_pattern, "sublinear_tf": b.sublinear_tf, "norm": b.norm,
             "weight": b.weight} for b in self.blocks]}
        out = {"meta": np.array(json.dumps(meta)), "coef": self.coef,
               "intercept": self.intercept, "calib_a": self.calib_a, "calib_b": self.calib_b}
        for i, block in enumerate(self.blocks):
            out[f"terms{i}"] = block.terms
            out[f"idf{i}"] = block.idf
        return out

    def save(self, path: Path) -> Path:
        """Write the arrays (uncompressed .npz: loads fastest) whole or not at all."""
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **self.arrays())  # type: ignore[arg-type]
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        """The model saved by save(): numbers and strings only, no pickle."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path}: model format {meta.get('format')}, not {FORMAT}")
            blocks = [_Block(
                name=b["name"], column=b["column"], analyzer=b["analyzer"],
                ngram=tuple(b["ngram"]), lowercase=b["lowercase"],
                stop_words=frozenset(b["stop_words"]), token_pattern=b["token_pattern"],
                sublinear_tf=b["sublinear_tf"], norm=b["norm"], weight=b["weight"],
                terms=data[f"terms{i}"], idf=data[f"idf{i}"])
                for i, b in enumerate(meta["blocks"])]
            return cls(blocks, meta["classes"], data["coef"], data["intercept"],
                       data["calib_a"], data["calib_b"])
