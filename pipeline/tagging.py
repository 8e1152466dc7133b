"""Classify new and changed postings in batches and store their tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from classifier.tagger import Tagger
from pipeline.db import session_scope
from pipeline.models import CredentialTag, FacetTag, Posting, Tag
from pipeline.store import utcnow

BATCH = 500
# Batches read again after another process tagged some of their postings first.
CONFLICT_RETRIES = 20


def tag_pending(engine: Engine, tagger: Tagger, *, retag: bool = False) -> int:
    """Tag every posting whose tag is missing, stale (content changed) or from another model.

    `retag` re-tags everything. Each batch commits on its own, so an interruption keeps the
    batches already done. Returns how many postings were tagged.

    Runs that end together tag at the same time (the scheduler runs sources side by side):
    when another process stored a tag for one of this batch's postings first, the batch
    is rolled back and read again, and the postings tagged meanwhile are no longer pending.
    """
    total = 0
    last_id = 0
    conflicts = 0
    while True:
        try:
            with session_scope(engine) as session:
                tagged, batch_last = _tag_batch(session, tagger, last_id, retag)
        except IntegrityError:
            conflicts += 1
            if conflicts > CONFLICT_RETRIES:
                raise
            continue
        if not tagged:
            return total
        total += tagged
        last_id = batch_last


def _tag_batch(session: Session, tagger: Tagger, after_id: int, retag: bool) -> tuple[int, int]:
    """Tag the next batch of pending postings after `after_id`: (how many, last id)."""
    query = (
        select(Posting)
        .outerjoin(Tag, Tag.posting_id == Posting.id)
        .where(Posting.id > after_id)
        .options(selectinload(Posting.tag).selectinload(Tag.credentials),
                 selectinload(Posting.tag).selectinload(Tag.facets))
        .order_by(Posting.id)
        .limit(BATCH)
    )
    if not retag:
        query = query.where(or_(Tag.id.is_(None),
                                Tag.content_hash != Posting.content_hash,
                                Tag.model_version != tagger.version))
    postings = list(session.scalars(query))
    if not postings:
        return 0, after_id
    results = tagger.tag([_input(p) for p in postings])
    now = utcnow()
    for posting, result in zip(postings, results, strict=True):
        _apply(posting, result, now)
    session.flush()  # a tag another process stored first fails here, inside the batch
    return len(postings), postings[-1].id


def _input(posting: Posting) -> dict[str, Any]:
    return {"id": posting.id, "title": posting.title, "text": posting.text,
            "location": posting.location, "hints": posting.hints}


def _apply(posting: Posting, result: dict[str, Any], now: Any) -> None:
    tag = posting.tag
    if tag is None:
        tag = Tag(posting_id=posting.id)
        posting.tag = tag
    tag.content_hash = posting.content_hash
    tag.category = result["category"]
    tag.category_scores = result["category_scores"]
    tag.remote = result["remote"]
    tag.remote_confidence = result["remote_confidence"]
    tag.remote_evidence = result["remote_evidence"]
    tag.remote_states = result["remote_states"]
    tag.model_version = result["model_version"]
    tag.tagged_at = now
    tag.credentials = [
        CredentialTag(code=c["code"], requirement=c["requirement"], evidence=c["evidence"])
        for c in result["credentials"]
    ]
    _set_facets(tag, result.get("facets") or [])


def _set_facets(tag: Tag, facets: list[dict[str, Any]]) -> None:
    """Make the tag's facet rows exactly `facets` ([{name, evidence}]).

    Rows of facets still shown are updated in place and only the others deleted or added:
    replacing the whole list would insert a facet again before deleting its old row (the
    unit of work inserts first), which the (tag_id, facet) unique constraint refuses.
    """
    wanted = {f["name"]: f.get("evidence") for f in facets}
    kept = []
    for row in tag.facets:
        if row.facet in wanted:
            row.evidence = wanted.pop(row.facet)
            kept.append(row)
    tag.facets = kept + [FacetTag(facet=name, evidence=evidence)
                         for name, evidence in wanted.items()]
