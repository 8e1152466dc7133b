"""All tags of a posting in one call: the interface `hcjobs classify` and the pipeline use."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from classifier import category
from classifier.credentials import extract_credentials
from classifier.facets import extract_facets
from classifier.linear import LinearModel, LookedUp
from classifier.prefilter import Doc
from classifier.remote import classify_remote


@dataclass
class Tagger:
    """Category model plus remote and credential extractors, stamped with one version."""

    model: LinearModel
    version: str

    @classmethod
    def load(cls) -> Tagger:
        """The tagger for the current corpus (trains and caches the model when needed)."""
        return cls(category.load_linear(), category.model_version())

    def tag(self, postings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Tags for postings given as {id, title, text, location?, hints?} (text is plain).

        Output keys follow architecture.md's `hcjobs classify` lines. Give many postings at
        once: the model scores a whole batch with a few array operations, and each posting's
        tags are the same whatever the batch (see tests).
        """
        if not postings:
            return []
        # The tags are plain trees of fresh objects: no cycles for the collector to find, but
        # tens of thousands of allocations that would trigger it again and again.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._tag(postings)
        finally:
            if collecting:
                gc.enable()

    def _tag(self, postings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        docs = []
        looked: list[LookedUp | None] = []
        for posting in postings:
            doc = Doc(str(posting.get("text") or ""), str(posting.get("title") or ""))
            docs.append(doc)
            # the model reads the start of the text: its words are the Doc's when that is all
            # of it. Looked up now, and dropped: a Doc's counts are most of its memory, which
            # the next Doc then reuses (warm in the CPU's cache) rather than fresh pages.
            counts = doc.pop_counts()
            looked.append(self.model.look_up("text", counts)
                          if len(doc.text) <= category.TEXT_CHARS else None)
            del counts
        columns = category.columns(postings)
        proba = self.model.predict_proba(columns, {"text": looked})
        classes = [str(c) for c in self.model.classes_]
        out = []
        for posting, doc, row in zip(postings, docs, proba.tolist(), strict=True):
            scores = {c: round(p, 4) for c, p in zip(classes, row, strict=True)}
            text, title = doc.text, doc.units[doc.title]
            remote = classify_remote(text, title, posting.get("hints"), posting.get("location"),
                                     doc=doc)
            creds = extract_credentials(text, title, doc=doc)
            category_name = max(scores, key=scores.__getitem__)
            facets = extract_facets(text, title, category_name, doc=doc)
            out.append({
                "id": posting.get("id"),
                "category": category_name,
                "category_scores": scores,
                "remote": remote.label,
                "remote_confidence": remote.confidence,
                "remote_evidence": remote.evidence,
                "remote_states": remote.states,
                "credentials": [
                    {"code": c.code, "requirement": c.requirement, "evidence": c.evidence,
                     **({"obtain_within": c.obtain_within} if c.obtain_within else {}),
                     **({"any_of": list(c.any_of)} if c.any_of else {})}
                    for c in creds
                ],
                "facets": [{"name": n, "evidence": e} for n, e in facets.facets.items()],
                "entry_level": facets.entry_level,
                "education": facets.education,
                "years_experience": facets.years_experience,
                "model_version": self.version,
            })
        return out
