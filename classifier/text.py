"""Sentences with the section heading they sit under: the unit of evidence for every tag."""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
ABBREVIATION = re.compile(r"(?i)\b(?:e\.g|i\.e|etc|vs|approx|incl|dr|st|no|min|max|inc|ltd|co"
                          r"|jr|sr|u\.s)\.$")
BULLET = re.compile(r"^\s*(?:[-*\u2022\u25cf\u25aa\u2013]|\d+[.)])\s+")
MAX_HEADING_WORDS = 8


@dataclass(frozen=True)
class Sentence:
    """One sentence (or bullet) of a posting and the heading of its section ("" if none)."""

    text: str
    heading: str


HEADING_WORDS = re.compile(
    r"(?i)requir|qualif|responsib|duties|about|benefit|what you|who you|skills|experience"
    r"|education|essential|desirable|preferred|nice to have|summary|overview|the role"
    r"|position|compensation|salary|schedule|why join|perks|apply|person spec|criteria")


def is_heading(line: str) -> bool:
    """Whether a line starts a section: "Preferred Qualifications", "Essential:", "About us".

    A short line ending in a colon, in Title Case, or made of heading words. A short plain
    sentence ("CPC required", "Master's degree preferred") is content, not a heading.
    """
    stripped = line.strip()
    if not stripped or BULLET.match(stripped):
        return False
    words = stripped.rstrip(":").split()
    if len(words) > MAX_HEADING_WORDS or re.search(r"[.!?;]\s", stripped):
        return False
    if stripped.endswith(":"):
        return True
    if re.search(r"[.!?,;)]$", stripped) or not stripped[0].isupper():
        return False
    long_words = [w for w in words if len(w) > 3]
    title_case = bool(long_words) and \
        sum(w[0].isupper() for w in long_words) / len(long_words) >= 0.75
    if title_case and not re.search(r"\b[A-Z]{2,}\b", stripped):
        return True
    return len(words) <= 5 and bool(HEADING_WORDS.search(stripped)) and \
        not re.search(r"(?i)\b(?:required|preferred|a plus|must)\s*$", stripped) or \
        bool(re.fullmatch(r"(?i)(?:preferred|required|essential|desirable)"
                          r"(?: qualifications| skills| requirements)?", stripped))


def _introduces_list(line: str) -> bool:
    """A short line right before a bullet list heads it ("You'll need", "We'd love it if")."""
    return (not BULLET.match(line) and len(line.split()) <= MAX_HEADING_WORDS
            and not re.search(r"[.!?;,]$|[.!?;]\s", line))


def sentences(text: str) -> list[Sentence]:
    """Split posting text into sentences, remembering the current section heading.

    A line like "Preferred Qualifications" or "Essential:" sets the heading for the lines
    after it; "Requirements: CPC required." is both a heading and a sentence.
    """
    out: list[Sentence] = []
    heading = ""
    lines = [raw.strip() for raw in text.splitlines() if raw.strip()]
    for index, line in enumerate(lines):
        follows = lines[index + 1] if index + 1 < len(lines) else ""
        if is_heading(line) or (BULLET.match(follows) and _introduces_list(line)):
            heading = line.rstrip(":").strip()
            continue
        label = re.match(r"^([A-Z][A-Za-z /&'-]{2,40}):\s+(\S.*)$", line)
        if label and len(label.group(1).split()) <= 4:
            heading = label.group(1)
        body = BULLET.sub("", line)
        pending = ""
        for part in SENTENCE_END.split(body):
            part = (pending + " " + part).strip() if pending else part.strip()
            if ABBREVIATION.search(part):  # "e.g. NMC" does not end a sentence
                pending = part
                continue
            pending = ""
            if part:
                out.append(Sentence(part, heading))
        if pending:
            out.append(Sentence(pending, heading))
    return out
