"""The fast path every rule family shares: which sentences a pattern may match, found once
per posting, and (?i) patterns run as lowercase twins.

Python's `re` spends most of its time failing to match, and a (?i) pattern fails slowly: it
folds case at every step and gets no literal-prefix search. So:

- each pattern (a `Rule`) names its triggers, words that every match holds (or starts with);
- a posting (`Doc`) is split into sentences and its words found and counted once, line by
  line; each word tells which triggers it serves (remembered across postings), which gives at
  once the sentences that hold each trigger; a rule then runs only on those (`Doc.of`);
- a (?i) pattern runs as its lowercase twin, case-sensitive, on the sentence lowercased once.

FAST = False turns all of it off (every pattern, as written, on every sentence): the tests
compare both ways over the corpus, and check every rule's triggers against its matches.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from operator import itemgetter

from classifier.text import Sentence, _sentences

WORD = re.compile(r"\w\w+")
"""Words of two or more characters: the category model's tokens and the prefilter's words.
(The same tokens as scikit-learn's default token_pattern, found faster without the \\b.)"""

FAST = True
"""False runs every pattern as written on every sentence: slow, for the tests that prove the
fast path (triggers, lowercase twins) never changes a tag."""

_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux-]+[:)]|\\N")
_GROUP_NAME = re.compile(r"\(\?P(?:<\w+>|=\w+\))")  # kept as written in a twin


def lowercase_twin(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """The case-sensitive pattern that matches the lowercased text where a (?i) pattern
    matches the text (same spans), or None when the pattern is not (?i) throughout.

    Letters are lowercased, escapes (\\b, \\S, \\W...) kept. Valid on text that lowercases
    letter for letter (see `_twin_ok`).
    """
    if not pattern.flags & re.IGNORECASE:
        return None
    source = pattern.pattern.removeprefix("(?i)")
    if _INLINE_FLAGS.search(source):
        return None  # scoped flags, \N{...}: keep the pattern as written
    out = []
    i = 0
    while i < len(source):
        name = _GROUP_NAME.match(source, i) if source[i] == "(" else None
        if name:
            out.append(name.group())
            i = name.end()
        elif source[i] == "\\":
            out.append(source[i:i + 2])
            i += 2
        else:
            out.append(source[i].lower())
            i += 1
    return re.compile(hoist_boundaries("".join(out)), pattern.flags & ~re.IGNORECASE)


_SPACE_CHARS = r"\x20\t\n\r\f\v\x1c-\x1f"  # what a str pattern's \s matches of ASCII


def ascii_twin(twin: re.Pattern[str]) -> re.Pattern[str]:
    r"""The twin compiled for ASCII text (re.ASCII), the same matches on any ASCII string:
    `re` then tests \b and \w against a table instead of Unicode's letter and digit
    properties (a twentieth of the tagger's instructions). \s is spelled out: in a str
    pattern it also matches the separators \x1c-\x1f, which re.ASCII's does not. The twin
    itself where that cannot be spelled (\S inside a set)."""
    source = twin.pattern
    out = []
    i = 0
    in_set = False
    while i < len(source):
        char = source[i]
        if char == "\\":
            pair = source[i:i + 2]
            if pair == "\\s":
                out.append(_SPACE_CHARS if in_set else f"[{_SPACE_CHARS}]")
            elif pair == "\\S":
                if in_set:
                    return twin
                out.append(f"[^{_SPACE_CHARS}]")
            else:
                out.append(pair)
            i += 2
            continue
        if in_set:
            in_set = char != "]"
        elif char == "[":
            in_set = True
            start = i + 1 + (source[i + 1:i + 2] == "^")
            if source[start:start + 1] == "]":  # a "]" first in a set is a literal
                start += 1
            out.append(source[i:start])
            i = start
            continue
        out.append(char)
        i += 1
    return re.compile("".join(out), (twin.flags & ~re.UNICODE) | re.ASCII)


def _top_alternatives(source: str) -> list[str]:
    """The top-level alternatives of a pattern's source ("a|(b|c)|d" -> a, (b|c), d)."""
    parts = []
    depth = start = i = 0
    in_class = False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 1 + (source[i + 1:i + 2] == "^")
            i += source[i:i + 1] == "]"  # a "]" first in a class is a literal
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts


def hoist_boundaries(source: str) -> str:
    """The same pattern with each run of top-level alternatives that start with \\b written
    as \\b(?:a|b|...): the same matches in the same order of preference, but `re` tests the
    word boundary once per position instead of once per alternative (the big alternations
    run several times faster)."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) > 1:
            out.append("\\b(?:" + "|".join(run) + ")")
        else:
            out.extend("\\b" + alternative for alternative in run)
        run.clear()

    for part in _top_alternatives(source):
        if part.startswith("\\b"):
            run.append(part[2:])
        else:
            flush()
            out.append(part)
    flush()
    return "|".join(out)


def _twin_ok(text: str, low: str) -> bool:
    """Whether `low` is `text` lowercased letter for letter, so that a twin's spans are the
    pattern's: no letter grew ("İ") and none that (?i) folds differently ("ı", "ſ")."""
    return len(low) == len(text) and (low.isascii() or ("\u0131" not in low
                                                         and "\u017f" not in low))


_ODD_FOLDS = ("\u0130", "\u0131", "\u017f")  # İ ı ſ: (?i) takes them for i, i, s


def _folds_oddly(text: str) -> bool:
    """Whether the text holds a letter that a (?i) pattern matches as an ASCII letter but that
    lowercases to something else: its words then may not show a trigger a match holds, so
    the prefilter stands aside for it (rare: Turkish dotted and dotless i, the long s)."""
    return not text.isascii() and any(c in text for c in _ODD_FOLDS)


class Folded:
    """A pattern that, when it is (?i) throughout, runs as its lowercase twin on the text
    lowercased: several times faster, since `re` folds case at every step of a (?i) pattern
    and finds no literal prefix to jump to. Spans and groups are the same; the letters of a
    twin's match are the lowercase copy's, so use its spans, not its text's case."""

    __slots__ = ("pattern", "twin", "ascii")

    def __init__(self, pattern: str | re.Pattern[str], flags: int = 0) -> None:
        self.pattern = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        self.twin = lowercase_twin(self.pattern)
        self.ascii = ascii_twin(self.twin) if self.twin is not None else None
        """The twin for ASCII text (see ascii_twin)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pattern.pattern[:60]!r})"

    def _pick(self, text: str, low: str | None) -> tuple[re.Pattern[str], str]:
        if self.twin is not None and FAST:
            low = text.lower() if low is None else low
            if len(low) == len(text) and low.isascii():  # (isascii() is a flag: no scan)
                return self.ascii or self.twin, low
            if _twin_ok(text, low):
                return self.twin, low
        return self.pattern, text

    def search(self, text: str, low: str | None = None) -> re.Match[str] | None:
        """The first match (`low`: the text lowercased, when the caller has it)."""
        pattern, subject = self._pick(text, low)
        return pattern.search(subject)

    def match(self, text: str, low: str | None = None) -> re.Match[str] | None:
        """A match at the start of the text."""
        pattern, subject = self._pick(text, low)
        return pattern.match(subject)

    def finditer(self, text: str, low: str | None = None) -> Iterator[re.Match[str]]:
        """Every match, left to right."""
        pattern, subject = self._pick(text, low)
        return pattern.finditer(subject)


_START, _WHOLE, _SUB = 0, 1, 2
_STARTS: dict[str, tuple[str, ...]] = {}  # first three letters -> word-start triggers
_WORDS: set[str] = set()  # whole-word triggers
RULES: list[Rule] = []
"""Every rule made, for the tests that check each rule's triggers against its pattern."""


class _Words:
    """Which triggers each word serves, learnt once per distinct word and remembered across
    postings (most words recur): a posting's triggers then cost a few set operations.

    A new Rule, or too many words over a long crawl, replaces the whole object (see _forget),
    so that a posting being read keeps a consistent one."""

    __slots__ = ("triggers", "trigger_words", "checked")
    LIMIT = 500_000  # distinct words remembered at most

    def __init__(self) -> None:
        self.triggers: dict[str, tuple[str, ...]] = {}  # word -> its triggers (words with any)
        self.trigger_words: set[str] = set()  # the same words, for fast intersections
        self.checked: set[str] = set()  # every word learnt

    def learn(self, found: set[str]) -> _Words:
        """Learn the words not seen yet; the object to use for them (a fresh one when this
        one is full)."""
        new = found.difference(self.checked)
        if not new:
            return self
        if len(self.checked) + len(new) > self.LIMIT:
            _forget()
            return _WORDS_SEEN.learn(found)
        for word in new:
            hits = tuple(t for t in _STARTS.get(word[:3], ()) if word.startswith(t))
            if word in _WORDS and word not in hits:
                hits += (word,)
            if hits:
                self.triggers[word] = hits
                self.trigger_words.add(word)
        self.checked.update(new)
        return self


_WORDS_SEEN = _Words()


def _forget() -> None:
    global _WORDS_SEEN
    _WORDS_SEEN = _Words()


# ASCII characters that are not word characters become spaces; other bytes stay.
_NON_WORD = bytes(c if chr(c).isalnum() or c == ord("_") or c >= 128 else 32
                  for c in range(256))
_NON_WORD_LINES = bytes(10 if c == 10 else b for c, b in enumerate(_NON_WORD))  # keeps "\n"


def _line_words(low: str, lines: int) -> list[list[str]]:
    """The words of each line of `low` (lowercased lines joined by line breaks), the single
    characters among them included: words() line by line, in one pass."""
    if not lines:
        return []
    pieces = low.encode("utf-8", "surrogatepass").translate(_NON_WORD_LINES).decode(
        "utf-8", "surrogatepass").split("\n")
    if len(pieces) != lines:
        raise ValueError(f"{lines} lines expected, {len(pieces)} found")
    if low.isascii():
        return list(map(str.split, pieces))
    # only a line with non-ASCII letters is looked at word by word
    return [piece.split() if piece.isascii() else _non_ascii_words(piece) for piece in pieces]


def _non_ascii_words(piece: str) -> list[str]:
    """The words of a piece of translated text (see _NON_WORD) that holds non-ASCII
    characters: split at whitespace, and a word with non-ASCII characters as WORD splits it."""
    return [w for p in piece.split() for w in ((p,) if p.isascii() else WORD.findall(p))]


SINGLES = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
"""The one-character words that Doc.counts may hold besides WORD's (drop them to get those)."""


def words(low: str) -> list[str]:
    """WORD.findall(low) (the words of two or more characters), several times faster: bytes
    translate and split do the work in C, and only a piece with non-ASCII letters goes
    through the regex."""
    translated = low.encode("utf-8", "surrogatepass").translate(_NON_WORD).decode(
        "utf-8", "surrogatepass")
    pieces = translated.split() if low.isascii() else _non_ascii_words(translated)
    return [w for w in pieces if len(w) > 1]


_KEYED_BY_KEY: dict[str, tuple[Rule, ...]] = {}  # start or word trigger -> the rules without
# subs it serves (see Doc._units_of_rules)


class Rule(Folded):
    """A pattern and its triggers: strings that every match holds, so that a posting or a
    sentence without any of them is skipped before the pattern runs.

    - `starts`: words every match holds the start of ("remote" for "remotely"): three
      characters or more, at a word start in every match (after \\b, a space, a hyphen).
    - `words`: words every match holds whole ("rn", "vp"): two characters or more.
    - `subs`: substrings that may sit inside a word ("e/m", "year" in "5years"); each costs
      a scan of the posting, so use them only where the pattern allows no word trigger.
    - `also`: lowercase substrings that every match holds as well (" and " in "office and
      home"): a sentence holding a trigger but not all of these is skipped too.

    A lowercase trigger stands for the word in any case. One written with capitals ("RN",
    for a case-sensitive pattern) is looked for as written in a sentence (Rule.search), and in
    lowercase among a posting's words (Doc.of: a few more sentences, never fewer).
    """

    __slots__ = ("triggers", "also", "_keys", "_subs", "_low", "_cased", "_keyed")

    def __init__(self, pattern: str | re.Pattern[str], *, starts: Iterable[str] = (),
                 words: Iterable[str] = (), subs: Iterable[str] = (),
                 also: Iterable[str] = ()) -> None:
        super().__init__(pattern)
        self.also = tuple(also)
        if any(a != a.lower() or not a or "\n" in a for a in self.also):
            raise ValueError(f"also {self.also!r} must be lowercase, on one line")
        kinds = [(t, _START) for t in starts] + [(t, _WHOLE) for t in words] + \
            [(t, _SUB) for t in subs]
        if not kinds:
            raise ValueError(f"rule {self.pattern.pattern!r} has no trigger")
        for trigger, kind in kinds:
            if "\n" in trigger or (kind != _SUB and not re.fullmatch(
                    r"\w{3,}" if kind == _START else r"\w{2,}", trigger)):
                raise ValueError(f"bad trigger {trigger!r} for {self!r}")
        self.triggers: tuple[tuple[str, int], ...] = tuple(kinds)
        self._keys = frozenset(t.lower() for t, kind in kinds if kind != _SUB)
        self._subs = tuple(t for t, kind in kinds if kind == _SUB)
        self._low = tuple(t for t, _kind in kinds if t == t.lower())
        self._cased = tuple(t for t, _kind in kinds if t != t.lower())
        for trigger, kind in kinds:
            key = trigger.lower()
            if kind == _START:
                _STARTS[key[:3]] = tuple(sorted({*_STARTS.get(key[:3], ()), key}))
            elif kind == _WHOLE:
                _WORDS.add(key)
        self._keyed = not self._subs
        """Whether the units it may match are found from its keys alone (Doc._units_of_rules)."""
        for key in self._keys if self._keyed else ():
            _KEYED_BY_KEY[key] = (*_KEYED_BY_KEY.get(key, ()), self)
        _forget()
        RULES.append(self)

    def __repr__(self) -> str:
        return f"Rule({self.pattern.pattern[:60]!r}, {[t for t, _ in self.triggers]})"

    def may_match(self, text: str, low: str) -> bool:
        """Whether a sentence holds a trigger (`low`: the sentence lowercased)."""
        if not FAST or _folds_oddly(text):
            return True
        return (any(t in low for t in self._low) or any(t in text for t in self._cased)) and \
            all(a in low for a in self.also)

    def search(self, text: str, low: str | None = None) -> re.Match[str] | None:
        """The first match in one sentence (`low`: the sentence lowercased)."""
        low = text.lower() if low is None else low
        return super().search(text, low) if self.may_match(text, low) else None

    def finditer(self, text: str, low: str | None = None) -> Iterator[re.Match[str]]:
        """Every match in one sentence (`low`: the sentence lowercased)."""
        low = text.lower() if low is None else low
        return super().finditer(text, low) if self.may_match(text, low) else iter(())


class Rules:
    """Alternatives of one decision ("the sentence says on-site"): one Rule per group of
    alternatives with the same triggers, so a sentence runs only the groups it can match."""

    __slots__ = ("rules",)

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules

    def search(self, text: str, low: str | None = None) -> re.Match[str] | None:
        """The first alternative's match in one piece of text (truth is what callers use)."""
        for rule in self.rules:
            match = rule.search(text, low)
            if match:
                return match
        return None


class Doc:
    """A posting prepared once for every rule family.

    Its units are its sentences and then its title (`units[doc.title]`), each with a lowercase
    copy. Its words are found once, line by line, and counted (the model's features too); they
    tell which triggers the posting holds (`present`) and which units hold each (the units
    of a line that holds it). For a rule it answers which units may match (`of`) and runs the
    rule on one unit (`run`), as the lowercase twin when the text lowercases letter for
    letter. A text with letters that fold oddly under (?i) (see _folds_oddly) is not gated:
    every rule runs on every unit, as written.
    """

    __slots__ = ("text", "low", "sentences", "units", "lows", "title", "counts", "_present",
                 "_trigger_words", "gated", "folds", "ascii", "_seen", "_subs", "_where", "_of",
                 "_index")

    def __init__(self, text: str, title: str = "", split: list[Sentence] | None = None
                 ) -> None:
        self.text = text
        self.low = text.lower()
        given = split is not None
        if split is None:
            split, lines, firsts = _sentences(text)
        self.sentences = split
        self.units = list(map(itemgetter(0), split))  # (map: no Python call per unit)
        self.units.append(title)
        self.lows = list(map(str.lower, self.units))
        self.title = len(split)
        """The index of the title among the units (the last)."""
        self._index: dict[str, list[int]] | None = None
        if given:  # the caller's sentences: the words from the text, units indexed later
            self.counts: Counter[str] = Counter(words(self.low))
        else:  # one pass over the text's words, line by line, which also indexes the units
            line_words = _line_words("\n".join(lines).lower(), len(lines))
            self.counts = Counter(chain.from_iterable(line_words))
        """How often the text holds each word, lowercased: WORD's words (the model's tokens),
        and single characters (ASCII letters and digits: see SINGLES)."""
        title_words = words(self.lows[-1])
        counts = self.counts
        seen = _WORDS_SEEN
        checked = seen.checked
        # (the common case, every word seen before, tested without building a set of them)
        if not (checked.issuperset(counts) and checked.issuperset(title_words)):
            found = set(counts)
            found.update(title_words)
            seen = seen.learn(found)
        self._seen = seen
        triggers = seen.triggers
        trigger_words = seen.trigger_words.intersection(counts)
        trigger_words.update(seen.trigger_words.intersection(title_words))
        self._trigger_words = trigger_words
        self._present: set[str] | None = None
        if not given:
            index: dict[str, list[int]] = {}
            # line i holds units firsts[i] to firsts[i + 1] (none: a heading; one more first)
            for line_found, first, end in zip(line_words, firsts, firsts[1:], strict=False):
                if first != end:
                    for word in trigger_words.intersection(line_found):
                        for trigger in triggers[word]:
                            index.setdefault(trigger, []).extend(range(first, end))
            for word in trigger_words.intersection(title_words):
                for trigger in triggers[word]:
                    index.setdefault(trigger, []).append(self.title)
            self._index = index
        self.gated = FAST and not _folds_oddly(text) and not _folds_oddly(title)
        """Whether the prefilter applies (else every rule runs, as written, on every unit)."""
        self.folds = self.gated and _twin_ok(text, self.low) and _twin_ok(title, self.lows[-1])
        """Whether rules run as their lowercase twins."""
        self.ascii = self.folds and self.low.isascii() and self.lows[-1].isascii()
        """Whether they run as the ASCII twins (isascii() reads a flag: no scan)."""
        self._subs: dict[str, bool] = {}
        self._where: dict[str, list[int]] = {}
        self._of: dict[Rule, set[int]] = self._units_of_rules() if self.gated else {}

    def pop_counts(self) -> Counter[str]:
        """The word counts, handed over (the Doc keeps none): a caller done with them frees
        them at once (the tagger, before it prepares the next posting)."""
        counts, self.counts = self.counts, Counter()
        return counts

    @property
    def present(self) -> set[str]:
        """The start and word triggers the posting holds (text or title). Found when first
        asked: only holds() and search_lines() need it (of() goes by the word index)."""
        present = self._present
        if present is None:
            present = self._present = set(chain.from_iterable(
                map(self._seen.triggers.__getitem__, self._trigger_words)))
        return present

    def _has_sub(self, sub: str) -> bool:
        found = self._subs.get(sub)
        if found is None:
            if sub == sub.lower():
                found = sub in self.low or sub in self.lows[-1]
            else:
                found = sub in self.text or sub in self.units[-1]
            self._subs[sub] = found
        return found

    def holds(self, rule: Rule) -> bool:
        """Whether the posting (text or title) holds one of the rule's triggers."""
        if not self.gated or not self.present.isdisjoint(rule._keys):
            return True
        if rule._subs:
            return any(self._has_sub(s) for s in rule._subs)
        return False

    def _located(self, sub: str) -> list[int]:
        """The units that hold the substring (in lowercase if it is), found once: a test
        per unit, which is cheaper than searching the joined units and placing each find."""
        found = self._where.get(sub)
        if found is None:
            hay = self.lows if sub == sub.lower() else self.units
            found = self._where[sub] = [i for i, unit in enumerate(hay) if sub in unit]
        return found

    def _units_of_words(self) -> dict[str, list[int]]:
        """Start or word trigger -> the units whose words serve it, found in one pass over
        the units' words (a unit is a sentence or the title: it holds no line break)."""
        index = self._index
        if index is None:
            index = self._index = {}
            joined = "\n".join(self.lows)
            pieces = joined.encode("utf-8", "surrogatepass").translate(_NON_WORD_LINES).decode(
                "utf-8", "surrogatepass").split("\n")
            if len(pieces) != len(self.lows):  # a title with a line break: unit by unit
                pieces = [low.replace("\n", " ") for low in self.lows]
            triggering, triggers = self._seen.trigger_words, self._seen.triggers
            for unit, piece in enumerate(pieces):
                found = piece.split() if piece.isascii() else _non_ascii_words(piece)
                for word in triggering.intersection(found):
                    for trigger in triggers[word]:
                        units = index.get(trigger)
                        if units is None:
                            index[trigger] = [unit]
                        elif units[-1] != unit:
                            units.append(unit)
        return index

    def _units_of_rules(self) -> dict[Rule, set[int]]:
        """of() of every rule without subs that the posting's words serve, in one pass over
        the word index (rather than a look-up per key of each rule asked)."""
        found: dict[Rule, set[int]] = {}
        for key, units in self._units_of_words().items():
            for rule in _KEYED_BY_KEY.get(key, ()):
                known = found.get(rule)
                if known is None:
                    found[rule] = set(units)
                else:
                    known.update(units)
        lows = self.lows
        # (a rule holds a few units: testing those is cheaper than a scan of the whole text)
        for rule, held in found.items():
            for also in rule.also:
                held.intersection_update([i for i in held if also in lows[i]])
                if not held:
                    break
        return found

    def of(self, rule: Rule) -> set[int]:
        """The units that may match the rule: those that hold one of its triggers (a word
        trigger written with capitals is looked up in lowercase: a few more units)."""
        found = self._of.get(rule)
        if found is None:
            found = set()
            if not self.gated:
                found.update(range(len(self.units)))
            elif not rule._keyed:  # (the others: _units_of_rules)
                # (no holds() first: the index and the subs give the same answer)
                index = self._units_of_words()
                for key in rule._keys:
                    units = index.get(key)
                    if units:
                        found.update(units)
                for sub in rule._subs:
                    if self._subs.get(sub) or self._has_sub(sub):
                        found.update(self._located(sub))
                if rule.also:
                    lows = self.lows
                    for also in rule.also:
                        found = {i for i in found if also in lows[i]}
            self._of[rule] = found
        return found

    def live(self, rules: Rules) -> list[tuple[Rule, set[int]]]:
        """The alternatives that may match somewhere in the posting, each with its units."""
        known = self._of
        out = []
        for rule in rules.rules:
            units = known.get(rule)
            if units is None:
                if rule._keyed and self.gated:
                    continue  # none of its keys in the posting's units (_units_of_rules)
                units = self.of(rule)
            if units:
                out.append((rule, units))
        return out

    def where(self, *rules: Rule | Rules, title: bool = True) -> list[int]:
        """Indices, in order, of the units that may match one of the rules; the title (the
        last unit) only when `title`."""
        hits: set[int] = set()
        for item in rules:
            for rule in item.rules if isinstance(item, Rules) else (item,):
                hits |= self.of(rule)
        if not title:
            hits.discard(self.title)
        return sorted(hits)

    def run(self, rule: Rule, i: int) -> re.Match[str] | None:
        """The rule's first match in unit i, whether or not the unit holds a trigger (for a
        caller that has checked of()). A twin's match is over the lowercase copy: use its
        spans and groups, not its letters' case."""
        twin = rule.ascii if self.ascii else rule.twin
        if self.folds and twin is not None:
            return twin.search(self.lows[i])
        return rule.pattern.search(self.units[i])

    def run_all(self, rule: Rule, i: int) -> Iterator[re.Match[str]]:
        """Every match of the rule in unit i (see run())."""
        twin = rule.ascii if self.ascii else rule.twin
        if self.folds and twin is not None:
            return twin.finditer(self.lows[i])
        return rule.pattern.finditer(self.units[i])

    def search(self, rule: Rule, i: int) -> re.Match[str] | None:
        """The rule's first match in unit i; None, without running it, when the unit holds
        none of its triggers."""
        units = self._of.get(rule)
        if units is None:
            units = self.of(rule)
        return self.run(rule, i) if i in units else None

    def any(self, rules: Sequence[tuple[Rule, set[int]]], i: int) -> bool:
        """Whether one of the rules (as live() gives them) matches unit i."""
        folds = self.folds
        for rule, units in rules:
            if i in units:  # run(rule, i), without the call
                twin = rule.ascii if self.ascii else rule.twin
                if (twin.search(self.lows[i]) if folds and twin is not None
                        else rule.pattern.search(self.units[i])):
                    return True
        return False

    def search_lines(self, rule: Rule) -> re.Match[str] | None:
        """A match of the rule in the raw text, headings included, for a pattern that cannot
        match across a line break: only the lines around its triggers are searched."""
        if not self.gated:
            return rule.pattern.search(self.text)
        if not self.holds(rule):
            return None
        if rule._subs or not self.folds:  # no word index to go by, or no 1:1 lowercase copy
            return rule.search(self.text, self.low)
        low, text = self.low, self.text
        for trigger, _kind in rule.triggers:
            key = trigger.lower()
            if key not in self.present:
                continue
            hay = low if key == trigger else text
            pos = hay.find(trigger)
            while pos >= 0:
                start = low.rfind("\n", 0, pos) + 1
                end = low.find("\n", pos)
                end = len(low) if end < 0 else end
                match = rule.search(text[start:end], low[start:end])
                if match:
                    return match
                pos = hay.find(trigger, end)
        return None
