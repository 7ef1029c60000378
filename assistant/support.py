"""Support judges: does a passage back a sentence?

The evaluation metrics (citation precision/recall, faithfulness) ask this for every answer
sentence, and so will citation verification. A judge returns a support score in [0, 1] and a
verdict at its threshold.

:class:`LexicalJudge` is the offline default: no NLI or cross-encoder model ships inside a PyPI
wheel that we could find (see evals/README.md). It is strict about what news readers check first:

1. find the window of one or two consecutive passage sentences that covers most of the sentence's
   content words (folded, crudely stemmed; number words as digits);
2. the score is that coverage, but it drops to 0 when the window fails a guard: a number, or a
   name (a capitalised word inside the sentence), that the window does not state, or a negation
   on one side only ("agreed" vs "did not agree").

So a paraphrase with the same facts passes, and a sentence that shares every word but one figure
does not. It cannot see synonyms the passage does not use ("rare metals" for "rare earths"), so it
under-credits free paraphrase by an LLM: scores from it are a lower bound on support.

>>> judge = LexicalJudge()
>>> judge.supports("Exports rose 5% in May, the ministry said.", "Exports rose 5% in May.")
True
>>> judge.supports("Exports rose 5% in May, the ministry said.", "Exports rose 7% in May.")
False
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from assistant.chunking import sentence_spans
from assistant.text import names, negated, numbers, terms

_MARKER = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")


class SupportJudge(Protocol):
    name: str
    threshold: float

    def scores(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Support of each ``(premise, hypothesis)`` pair, in [0, 1]."""
        ...


def supports(judge: SupportJudge, premise: str, hypothesis: str) -> bool:
    return judge.scores([(premise, hypothesis)])[0] >= judge.threshold


def strip_markers(sentence: str) -> str:
    return _MARKER.sub("", sentence).strip()


class LexicalJudge:
    """Content-word coverage with number, name and negation guards (see the module docstring)."""

    name = "lexical-v1"

    def __init__(self, threshold: float = 0.7):
        self.threshold = threshold

    def scores(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [self.score(premise, hypothesis) for premise, hypothesis in pairs]

    def supports(self, premise: str, hypothesis: str) -> bool:
        return self.score(premise, hypothesis) >= self.threshold

    def score(self, premise: str, hypothesis: str) -> float:
        hypothesis = strip_markers(hypothesis)
        wanted = terms(hypothesis)
        if not wanted or not premise.strip():
            return 0.0
        sentences = [premise[s:e] for s, e in sentence_spans(premise)] or [premise]
        windows = sentences + [a + " " + b for a, b in zip(sentences, sentences[1:], strict=False)]
        best = 0.0
        for window in windows:
            coverage = len(wanted & terms(window)) / len(wanted)
            if coverage > best and self._guards_hold(window, hypothesis):
                best = coverage
        return round(best, 4)

    @staticmethod
    def _guards_hold(window: str, hypothesis: str) -> bool:
        if not numbers(hypothesis) <= numbers(window):
            return False
        window_terms = terms(window)
        if any(next(iter(terms(n)), n) not in window_terms for n in names(hypothesis)):
            return False
        return negated(hypothesis) == negated(window)
