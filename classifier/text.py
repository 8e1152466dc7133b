"""Sentences with the section heading they sit under: the unit of evidence for every tag."""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
BULLET = re.compile(r"^\s*(?:[-*\u2022\u25cf\u25aa\u2013]|\d+[.)])\s+")
MAX_HEADING_WORDS = 8


@dataclass(frozen=True)
class Sentence:
    """One sentence (or bullet) of a posting and the heading of its section ("" if none)."""

    text: str
    heading: str


def is_heading(line: str) -> bool:
    """A short line without sentence punctuation, or ending in a colon, starts a section."""
    stripped = line.strip()
    if not stripped or BULLET.match(stripped):
        return False
    words = stripped.rstrip(":").split()
    if len(words) > MAX_HEADING_WORDS:
        return False
    if stripped.endswith(":"):
        return True
    if re.search(r"[.!?;]\s", stripped):  # "Fully remote. Apply now" is prose, not a heading
        return False
    return not re.search(r"[.!?,;]$", stripped) and stripped[0].isupper()


def sentences(text: str) -> list[Sentence]:
    """Split posting text into sentences, remembering the current section heading.

    A line like "Preferred Qualifications" or "Essential:" sets the heading for the lines
    after it; "Requirements: CPC required." is both a heading and a sentence.
    """
    out: list[Sentence] = []
    heading = ""
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if is_heading(line):
            heading = line.rstrip(":").strip()
            continue
        label = re.match(r"^([A-Z][A-Za-z /&'-]{2,40}):\s+(\S.*)$", line)
        if label and len(label.group(1).split()) <= 4:
            heading = label.group(1)
        body = BULLET.sub("", line)
        for part in SENTENCE_END.split(body):
            part = part.strip()
            if part:
                out.append(Sentence(part, heading))
    return out
