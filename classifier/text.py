"""Sentences with the section heading they sit under: the unit of evidence for every tag.

(The rules that run over them, and the prefilter they share, are in classifier.prefilter.)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

# The split point between two sentences: after . ! ? and before a capital, digit or quote.
# (Written with the punctuation in the match, not in a lookbehind, so that `re` can jump
# straight to the punctuation instead of trying the pattern at every position; captured, so
# that re.split keeps it.)
SENTENCE_BREAK = re.compile(r"([.!?])\s+(?=[A-Z0-9(\"'])")
ABBREVIATION = re.compile(r"(?i)\b(?:e\.g|i\.e|etc|vs|approx|incl|dr|st|no|min|max|inc|ltd|co"
                          r"|jr|sr|u\.s)\.$")
_ABBREVIATION_CHARS = 8  # the longest abbreviation above ("approx.") and one more
_ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "approx", "incl", "dr", "st", "no", "min", "max",
                  "inc", "ltd", "co", "jr", "sr", "u.s")  # what a part must end in to be one
_BULLET_MARKS = "-*\u2022\u25cf\u25aa\u2013"
BULLET = re.compile(rf"^\s*(?:[{re.escape(_BULLET_MARKS)}]|\d+[.)])\s+")
LABEL = re.compile(r"^([A-Z][A-Za-z /&'-]{2,40}):\s+(\S.*)$")
MAX_HEADING_WORDS = 8


class Sentence(NamedTuple):
    """One sentence (or bullet) of a posting and the heading of its section ("" if none).
    (A named tuple: a posting makes dozens, and a frozen dataclass is slow to build.)"""

    text: str
    heading: str


HEADING_WORDS = re.compile(
    r"(?i)requir|qualif|responsib|duties|about|benefit|what you|who you|skills|experience"
    r"|education|essential|desirable|preferred|nice to have|summary|overview|the role"
    r"|position|compensation|salary|schedule|why join|perks|apply|person spec|criteria")
_INNER_STOP = re.compile(r"[.!?;]\s")
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")
_ASK_AT_END = re.compile(r"(?i)\b(?:required|preferred|a plus|must)\s*$")
_ASK_ONLY = re.compile(r"(?i)(?:preferred|required|essential|desirable)"
                       r"(?: qualifications| skills| requirements)?")


def is_heading(line: str) -> bool:
    """Whether a line starts a section: "Preferred Qualifications", "Essential:", "About us".

    A short line ending in a colon, in Title Case, or made of heading words. A short plain
    sentence ("CPC required", "Master's degree preferred") is content, not a heading.
    """
    stripped = line.strip()
    return bool(stripped) and _is_heading(stripped, BULLET.match(stripped) is not None)


def _is_heading(stripped: str, bullet: bool) -> bool:
    """is_heading() of a stripped, non-empty line whose bullet match is already known."""
    if bullet or stripped[-1] in ".!?,;)":  # (the cheap test first: no split for a sentence)
        return False
    words = stripped.rstrip(":").split(None, MAX_HEADING_WORDS)  # enough to know "too long"
    if len(words) > MAX_HEADING_WORDS or _INNER_STOP.search(stripped):
        return False
    if stripped.endswith(":"):
        return True
    if not stripped[0].isupper():
        return False
    firsts = [w[0] for w in words if len(w) > 3]  # of the long words
    title_case = bool(firsts) and sum(map(str.isupper, firsts)) * 4 >= len(firsts) * 3
    if title_case and not _ACRONYM.search(stripped):
        return True
    return len(words) <= 5 and bool(HEADING_WORDS.search(stripped)) and \
        not _ASK_AT_END.search(stripped) or bool(_ASK_ONLY.fullmatch(stripped))


_SHORT_LINE = 60  # characters: a section heading is shorter


@lru_cache(maxsize=1 << 16)
def _short_heading(stripped: str) -> bool:
    """_is_heading() of a short line that is no bullet, remembered: the same headings
    ("Requirements", "About Us", "Benefits") recur across nearly every posting."""
    return _is_heading(stripped, False)


def _introduces_list(line: str, bullet: bool) -> bool:
    """A short line right before a bullet list heads it ("You'll need", "We'd love it if")."""
    return (not bullet and line[-1] not in ".!?;,"
            and len(line.split(None, MAX_HEADING_WORDS)) <= MAX_HEADING_WORDS
            and not _INNER_STOP.search(line))


def _split(body: str) -> list[str]:
    """The sentences of one line, as re.split(r"(?<=[.!?])\\s+(?=[A-Z0-9(\"'])") gives them:
    split in C at SENTENCE_BREAK, each part given back its punctuation."""
    pieces = SENTENCE_BREAK.split(body)
    if len(pieces) == 1:
        return pieces
    parts = [part + stop for part, stop in zip(pieces[0::2], pieces[1::2], strict=False)]
    parts.append(pieces[-1])
    return parts


def sentences(text: str) -> list[Sentence]:
    """Split posting text into sentences, remembering the current section heading.

    A line like "Preferred Qualifications" or "Essential:" sets the heading for the lines
    after it; "Requirements: CPC required." is both a heading and a sentence.
    """
    return _sentences(text)[0]


def _sentences(text: str) -> tuple[list[Sentence], list[str], list[int]]:
    """sentences(), the text's non-empty lines (stripped), and where each line's sentences
    start in the list (one more entry: the number of sentences), so that line i holds
    sentences firsts[i] to firsts[i + 1]. (Written for speed: the common cases, a bullet or a
    long line that is one sentence, are decided without a call.)"""
    out: list[Sentence] = []
    firsts: list[int] = []
    heading = ""
    lines = list(filter(None, map(str.strip, text.splitlines())))
    # (a stripped line is a bullet only if it starts with a mark or a digit: \d is isdecimal())
    bullets = [BULLET.match(line) if line[0] in _BULLET_MARKS or line[0].isdecimal() else None
               for line in lines]
    bullets.append(None)
    new = tuple.__new__  # Sentence(text, heading) without the named tuple's Python __new__
    for index, line in enumerate(lines):
        firsts.append(len(out))
        bullet = bullets[index]
        if bullet is None and ((_short_heading(line) if len(line) <= _SHORT_LINE
                                else _is_heading(line, False)) or (
                bullets[index + 1] is not None and _introduces_list(line, False))):
            heading = line.rstrip(":").strip()
            continue
        if ":" in line:
            label = LABEL.match(line)
            if label and len(label.group(1).split()) <= 4:
                heading = label.group(1)
        body = line[bullet.end():] if bullet else line
        # a break needs its punctuation before the last character
        if body.find(".", 0, -1) < 0 and body.find("!", 0, -1) < 0 and \
                body.find("?", 0, -1) < 0:
            # one sentence, already stripped (BULLET takes the spaces after the bullet)
            out.append(new(Sentence, (body, heading)))
            continue
        parts = _split(body)
        pending = ""
        for part in parts:
            part = (pending + " " + part).strip() if pending else part.strip()
            # "e.g. NMC" does not end a sentence; only the end of the part can be one
            if part.endswith(".") and part[-_ABBREVIATION_CHARS:-1].lower().endswith(
                    _ABBREVIATIONS) and ABBREVIATION.search(
                    part, max(0, len(part) - _ABBREVIATION_CHARS)):
                pending = part
                continue
            pending = ""
            if part:
                out.append(new(Sentence, (part, heading)))
        if pending:
            out.append(new(Sentence, (pending, heading)))
    firsts.append(len(out))
    return out, lines, firsts
