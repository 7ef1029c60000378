"""Support judges: does a passage back a sentence?

The evaluation metrics (citation precision/recall, faithfulness) ask this for every answer
sentence, and so will citation verification. A judge returns a support score in [0, 1] and a
verdict at its threshold.

:class:`LexicalJudge` is the offline default: no NLI or cross-encoder model ships inside a PyPI
wheel that we could find (see evals/README.md). It is strict about what news readers check first:

1. find the window of one or two consecutive passage sentences that covers most of the sentence's
   content words (folded, crudely stemmed; number words as digits);
2. the score is that coverage, but it drops to 0 when the window fails a guard: a detail of the
   sentence that the window does not state, or a negation on one side only ("agreed" vs "did
   not agree", judged on the window sentences that share words with the sentence, so a "not"
   in a neighbouring sentence does not count). The details are:

   * figures, with their scale and unit: ``5%`` is not ``5``, ``$1.2bn`` is not ``1.2 million``,
     and ``1,200``, ``1200`` and ``one thousand two hundred`` agree;
   * ordinals (``fourth`` = ``4th``, not ``third``);
   * months (``May``, ``Oct. 25``) and weekdays, wherever they stand in the sentence;
   * names: capitalised words inside the sentence, and a capitalised first word that the window
     does not use at all ("Biden met Takaichi" against "Trump met Takaichi"), unless it is a
     connective ("However,", "Separately").

So a paraphrase with the same facts passes, and a sentence that shares every word but one figure
does not. It cannot see synonyms the passage does not use ("rare metals" for "rare earths"), so it
under-credits free paraphrase by an LLM: scores from it are a lower bound on support.

>>> judge = LexicalJudge()
>>> judge.supports("Exports rose 5% in May, the ministry said.", "Exports rose 5% in May.")
True
>>> judge.supports("Exports rose 5% in May, the ministry said.", "Exports rose 7% in May.")
False
>>> judge.supports("Exports rose 5% in May, the ministry said.", "Exports rose 5% in June.")
False
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Protocol

from assistant.chunking import sentence_spans
from assistant.nlp import month_of, weekday_of
from assistant.text import (
    STOPWORDS,
    fold,
    names,
    negated,
    normalize,
    strip_markers,
    terms,
)


class SupportJudge(Protocol):
    name: str
    threshold: float

    def scores(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Support of each ``(premise, hypothesis)`` pair, in [0, 1]."""
        ...


def supports(judge: SupportJudge, premise: str, hypothesis: str) -> bool:
    return judge.scores([(premise, hypothesis)])[0] >= judge.threshold



class LexicalJudge:
    """Content-word coverage with number, name and negation guards (see the module docstring)."""

    name = "lexical-v2"  # v2: scaled figures, ordinals, months, openers, local negation

    def __init__(self, threshold: float = 0.7):
        self.threshold = threshold

    def scores(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [self.score(premise, hypothesis) for premise, hypothesis in pairs]

    def supports(self, premise: str, hypothesis: str) -> bool:
        return self.score(premise, hypothesis) >= self.threshold

    def score(self, premise: str, hypothesis: str) -> float:
        hypothesis = strip_markers(hypothesis)
        claim = _details(hypothesis)
        if not claim.terms or not premise.strip():
            return 0.0
        best = 0.0
        for window in _windows(premise):
            coverage = len(claim.terms & window.terms) / len(claim.terms)
            if coverage > best and _guards_hold(window, claim):
                best = coverage
        return round(best, 4)


@dataclass(frozen=True)
class _Details:
    """What a sentence (or a window of passage sentences) commits to."""

    terms: frozenset[str]
    figures: frozenset[str]  # "5%", "1200", "1200000000"
    ordinals: frozenset[int]
    dates: frozenset[str]  # "month:5", "day:mon"
    names: frozenset[str]  # folded, stemmed like terms
    opener: str | None  # a capitalised first word that may be a name ("Biden met ...")
    negated: bool


@dataclass(frozen=True)
class _Window:
    terms: frozenset[str]
    sentences: tuple[_Details, ...]


def _guards_hold(window: _Window, claim: _Details) -> bool:
    # Details and negation are read on the window sentences that carry the claim's words, so a
    # neighbour's "June 2019" or "not" neither excuses nor spoils the sentence that matters.
    core = {t for t in claim.terms if not _calendar_term(t)}
    carrying = [s for s in window.sentences if s.terms & core] or list(window.sentences)
    # a name may hide inside a token ("US$12" holds "US"): the window's own names count too
    terms = frozenset().union(*(s.terms | s.names for s in carrying))
    if not (claim.figures <= frozenset().union(*(s.figures for s in carrying))
            and claim.ordinals <= frozenset().union(*(s.ordinals for s in carrying))
            and claim.dates <= frozenset().union(*(s.dates for s in carrying))
            and claim.names <= terms and (not claim.opener or claim.opener in terms)):
        return False
    return claim.negated == any(s.negated for s in carrying)


@lru_cache(maxsize=512)  # a passage is judged against every sentence of an answer
def _windows(premise: str) -> tuple[_Window, ...]:
    sentences = [premise[s:e] for s, e in sentence_spans(premise)] or [premise]
    details = [_details(s) for s in sentences]
    groups = [(d,) for d in details] + list(pairwise(details))
    return tuple(_Window(frozenset().union(*(d.terms for d in g)), g) for g in groups)


@lru_cache(maxsize=4096)
def _details(sentence: str) -> _Details:
    return _Details(
        terms=frozenset(t for t in terms(sentence) if not _numeric(t)), figures=figures(sentence),
        ordinals=ordinals(sentence), dates=dates(sentence),
        names=frozenset(next(iter(terms(n)), n) for n in names(sentence)),
        opener=_opener(sentence), negated=negated(sentence),
    )


def _numeric(term: str) -> bool:
    """Figures and ordinals are compared by their own guards, not as words ("$1.2m" = "$1.2
    million", "4th" = "fourth")."""
    # "4th" is read as the terms "4" and "th"
    return bool(re.fullmatch(r"\d[\d.]*(?:m|k|bn|mn|tn)?|st|nd|rd|th", term)) or (
        term in _SCALE or term in _ORDINAL_WORDS
    )


# --- the details ---------------------------------------------------------------------------------

_SCALE = {
    "thousand": 10**3, "k": 10**3, "million": 10**6, "mn": 10**6, "m": 10**6,
    "billion": 10**9, "bn": 10**9, "trillion": 10**12, "tn": 10**12,
}
# "$5m" is five million dollars, but "100m" alone is more often metres: bare "m" needs a currency.
_FIGURE = re.compile(
    r"(?<![\w.])(?P<cur>[$€£])?(?P<num>\d+(?:\.\d+)?)"
    r"(?:\s*(?P<pct>%)|\s*(?P<scale>thousand|million|billion|trillion|bn|mn|tn)\b"
    r"|(?P<m>m|k)\b)?(?![\w%])"
)


def figures(text: str) -> frozenset[str]:
    """The figures a text states, scaled, with ``%`` kept as part of the figure.

    >>> sorted(figures("Exports rose five per cent to $1.2bn, up 1,200 tonnes."))
    ['1200', '1200000000', '5%']
    """
    # A lone "one" is mostly a pronoun ("one of the deals"), not a figure.
    # "four-nation", "5-year": the figure stands apart from its noun
    text = fold(text).replace("-", " ")
    text = re.sub(r"(?<!ty )\bone\b(?!\s+(?:hundred|thousand|million|billion|trillion))", " ", text)
    # "5 thousand" before number words are turned into digits (which would read "5 1000")
    text = re.sub(r"(\d)\s+thousand\b", r"\1k", text)
    out = set()
    for m in _FIGURE.finditer(normalize(text)):
        value = float(m["num"])
        if m["pct"]:
            out.add(_plain(value) + "%")
            continue
        scale = m["scale"] or (m["m"] if m["m"] == "k" or m["cur"] else None)
        out.add(_plain(value * _SCALE[scale]) if scale else _plain(value))
    return frozenset(out)


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.6f}".rstrip("0").rstrip(".")


_ORDINAL_WORDS = {
    w: i for i, w in enumerate([
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
        "seventeenth", "eighteenth", "nineteenth", "twentieth",
    ], start=1)
}


def ordinals(text: str) -> frozenset[int]:
    """``fourth`` and ``4th`` → 4 (``twenty-first`` → 21)."""
    folded = fold(text)
    out = {int(n) for n in re.findall(r"\b(\d+)(?:st|nd|rd|th)\b", folded)}
    tens = {"twenty": 20, "thirty": 30}
    for m in re.finditer(rf"\b(?:(twenty|thirty)[\s-])?({'|'.join(_ORDINAL_WORDS)})\b", folded):
        out.add(tens.get(m[1] or "", 0) + _ORDINAL_WORDS[m[2]])
    return frozenset(out)


_CAPITALISED = re.compile(r"\b([A-Z][a-z]{2,8})(\.)?(?=(\s+\d{1,2}\b)?)")
_DAY_FIRST = re.compile(r"\b\d{1,2}\s+([A-Z][a-z]{2,8})\b")


def dates(text: str) -> frozenset[str]:
    """Months and weekdays a text names: ``month:5`` for "May" or "May 3", ``day:mon``.

    Names are read with dateutil's calendar (:func:`assistant.nlp.month_of`). Capitalised full
    month names count anywhere but a sentence-initial "May" (the verb); abbreviations ("Oct. 25",
    "25 Oct") only next to a day number, since "Jan" is also a name.
    """
    out = set()
    text = text.strip()
    for m in _CAPITALISED.finditer(text):
        word, month, weekday = m[1], month_of(m[1]), weekday_of(m[1])
        full = month is not None and len(word) > 3 and calendar.month_name[month] == word
        if weekday is not None and calendar.day_name[weekday] == word:
            out.add(f"day:{word[:3].lower()}")
        elif full or (month is not None and (m[3] or word == calendar.month_name[month])):
            if word == "May" and re.match(r"[\"'“‘(]*$", text[: m.start()]):
                continue
            out.add(f"month:{month}")
    for m in _DAY_FIRST.finditer(text):
        if (month := month_of(m[1])) is not None:
            out.add(f"month:{month}")
    return frozenset(out)


def _calendar_term(term: str) -> bool:
    """A folded term naming a month or weekday in full ("march", "tuesday")."""
    name = term.capitalize()
    return name in calendar.month_name[1:] or name in calendar.day_name[:]


# Sentence-initial words that open a sentence without naming anyone.
_CONNECTIVES = frozenset(
    ["however", "meanwhile", "overall", "earlier", "later", "instead", "still", "yet", "here", "now", "today", "separately", "finally", "first", "second", "third", "nevertheless", "nonetheless", "furthermore", "moreover", "additionally", "together"]
)


def _opener(sentence: str) -> str | None:
    """The capitalised first word, as a term, when it may be a name that :func:`names` skips."""
    m = re.match(r"[\"'“‘(]*([A-Z][a-zA-Z]+)\b(,)?", sentence.strip())
    if not m or m[2]:
        return None  # "Separately, ..." opens a clause, it names nobody
    word = m[1].lower()
    if word in STOPWORDS or word in _CONNECTIVES or word.endswith("ly") or _calendar_term(word):
        return None
    term = next(iter(terms(word)), None)
    return None if term is None or _numeric(term) else term  # "Six months after ..." names no one
