"""All tags of a posting in one call: the interface `hcjobs classify` and the pipeline use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline

from classifier import category
from classifier.credentials import extract_credentials
from classifier.facets import extract_facets
from classifier.remote import classify_remote
from classifier.text import sentences


@dataclass
class Tagger:
    """Category model plus remote and credential extractors, stamped with one version."""

    model: Pipeline
    version: str

    @classmethod
    def load(cls) -> Tagger:
        """The tagger for the current corpus (trains and caches the model when needed)."""
        return cls(category.load(), category.model_version())

    def tag(self, postings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Tags for postings given as {id, title, text, location?, hints?} (text is plain).

        Output keys follow architecture.md's `hcjobs classify` lines.
        """
        if not postings:
            return []
        proba = self.model.predict_proba(category.frame(list(postings)))
        classes = [str(c) for c in self.model.classes_]
        out = []
        for posting, row in zip(postings, proba, strict=True):
            scores = {c: round(float(p), 4) for c, p in zip(classes, row, strict=True)}
            text = str(posting.get("text") or "")
            title = str(posting.get("title") or "")
            split = sentences(text)
            remote = classify_remote(text, title, posting.get("hints"), posting.get("location"),
                                     split)
            creds = extract_credentials(text, title, split)
            category_name = max(scores, key=lambda c: scores[c])
            facets = extract_facets(text, title, category_name, split)
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
