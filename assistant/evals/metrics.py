"""Metrics, all computable offline without an LLM judge.

Retrieval (over the ranked passages a system retrieved for a case):
  * ``recall@k`` — share of the case's gold items found in the top k passages. Gold items are its
    ``gold_quotes`` when it has any (a passage holds a quote when it contains it, or half of it,
    for quotes that straddle a chunk boundary), else its ``gold_articles``.
  * ``article_recall@k`` — share of ``gold_articles`` among the top k passages' articles.
  * ``mrr`` — 1 / rank of the first passage that holds a gold item.
  * ``ndcg@10`` — binary gain, each gold item credited once, at the first passage holding it.

Answers:
  * ``correct`` — every expected fact is stated (normalised match, see :func:`fact_present`)
    and the system did not abstain; ``fact_recall`` is the share of facts stated.
  * ``first_correct`` — every expected fact is stated in the answer's *first sentence* (after
    the "As of <date>" frame): the reader got the fact without reading on.
  * ``first_sentence_ceiling`` — share of answerable cases for which one sentence of the
    archive states every expected fact: what ``first_correct`` can reach for an answer that
    leads with a sentence of the archive (a question for two facts that no sentence holds
    together cannot be answered in one).
  * ``words`` — words in a given answer (markers and frame left out), summarised as the median
    and 90th percentile: how much the reader has to read.
  * abstention: right when an unanswerable case is declined; a false abstention when an
    answerable one is.

Citations, as in ALCE (Gao et al., 2023), with a :class:`~assistant.support.SupportJudge`:
  * ``citation_recall`` — share of answer sentences that the passages they cite, taken
    together, support (a sentence without a citation is unsupported);
  * ``citation_precision`` — share of citations that are not irrelevant; a citation is
    irrelevant when the sentence is supported by its citations jointly, the citation alone does
    not support it, and the other citations still do; when the citations jointly fail, none of
    them counts as precise;
  * ``faithfulness`` — share of answer sentences that some retrieved passage supports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from assistant.chunking import sentence_spans
from assistant.support import SupportJudge
from assistant.text import (
    AS_OF_FRAME,
    EARLIER_FRAME,
    MARKER,
    WEEKDAY_FRAME,
    marker_numbers,
    normalize,
    strip_markers,
)
from assistant.types import Answer, RetrievedChunk

# --- answers ---------------------------------------------------------------------------------


def fact_present(fact: str | list[str], answer: str) -> bool:
    """Is the fact (or one of its alternatives) stated in the answer?

    Both sides are normalised (case, accents, punctuation, spacing; number words = digits;
    ``1,200`` = ``1200``; ``4.50`` = ``4.5``; ``per cent`` = ``%``) and matched on word
    boundaries.
    """
    text = normalize(MARKER.sub(" ", answer))
    alternatives = [fact] if isinstance(fact, str) else fact
    return any(_stated(normalize(alt), text) for alt in alternatives if normalize(alt))


def _stated(fact: str, text: str) -> bool:
    """``fact`` in ``text`` as whole words; a figure may carry a currency sign or a percent
    ("12 billion" is stated by "US$12 billion", "4.5" by "4.5%")."""
    before = r"(?<![\w.])" if fact[0].isalnum() else r"(?<![\w.$€£])"
    return re.search(before + re.escape(fact) + r"(?![\w])", text.replace("$", " $")) is not None



def one_sentence_holds(expected: Sequence[str | list[str]], sentences: Sequence[str]) -> bool:
    """Does one of ``sentences`` (already :func:`normalize`-d) state every expected fact? If
    none does, no answer that leads with a sentence of the archive can be first-correct."""
    facts = [[normalize(a) for a in ([f] if isinstance(f, str) else f) if normalize(a)]
             for f in expected]
    return bool(facts) and any(
        all(any(a in s and _stated(a, s) for a in alts) for alts in facts) for s in sentences)


def first_sentence(text: str) -> str:
    """The answer's first sentence with its markers (the "As of" frame skipped)."""
    body = AS_OF_FRAME.sub("", text).strip()
    spans = sentence_spans(body)
    if not spans:
        return body
    end = spans[0][1]
    trailing = MARKER.match(body[end:])  # "... Japan. [1]" keeps its marker
    return body[: end + (trailing.end() if trailing else 0)]


def answer_words(text: str) -> int:
    return len(strip_markers(AS_OF_FRAME.sub("", text)).split())


def answer_metrics(expected: Sequence[str | list[str]], answerable: bool, answer: Answer) -> dict:
    words = None if answer.abstained else answer_words(answer.text)
    if not answerable:
        return {"abstained": answer.abstained, "abstention_correct": answer.abstained,
                "words": words}
    found = [fact_present(f, answer.text) for f in expected] if not answer.abstained else [
        False for _ in expected
    ]
    first = first_sentence(answer.text)
    in_first = [fact_present(f, first) for f in expected] if not answer.abstained else []
    return {
        "abstained": answer.abstained,
        "false_abstention": answer.abstained,
        "correct": (not answer.abstained) and all(found),
        "first_correct": (not answer.abstained) and bool(expected) and all(in_first),
        "fact_recall": (sum(found) / len(found)) if found else None,
        "facts_found": found,
        "words": words,
    }


# --- retrieval -------------------------------------------------------------------------------


def _norm_passage(text: str) -> str:
    return " ".join(text.lower().split())


def holds_quote(passage: str, quote: str) -> bool:
    """The passage contains the quote, or its first or second half (a quote cut by a boundary)."""
    text, quote = _norm_passage(passage), _norm_passage(quote)
    if quote in text:
        return True
    words = quote.split()
    if len(words) < 8:
        return False
    half = len(words) // 2
    return " ".join(words[:half]) in text or " ".join(words[half:]) in text


def article_matches(chunk: RetrievedChunk, gold: str) -> bool:
    """A gold article is named by file name, path suffix, URL or article id."""
    source = chunk.source.replace("\\", "/")
    return gold in (chunk.article_id, chunk.url, source) or source.endswith("/" + gold) or (
        source.rsplit("/", 1)[-1] == gold
    )


def retrieval_metrics(
    ranked: Sequence[RetrievedChunk], gold_articles: Sequence[str], gold_quotes: Sequence[str],
    ks: Sequence[int] = (1, 5, 10),
) -> dict:
    if gold_quotes:
        items = list(gold_quotes)
        hits = [{i for i, q in enumerate(items) if holds_quote(c.text, q)} for c in ranked]
    elif gold_articles:
        items = list(gold_articles)
        hits = [{i for i, g in enumerate(items) if article_matches(c, g)} for c in ranked]
    else:
        return {}
    out: dict = {}
    for k in ks:
        found = set().union(*hits[:k]) if hits[:k] else set()
        out[f"recall@{k}"] = len(found) / len(items)
        if gold_articles:
            arts = {i for i, g in enumerate(gold_articles) for c in ranked[:k] if article_matches(c, g)}
            out[f"article_recall@{k}"] = len(arts) / len(gold_articles)
    first = next((rank for rank, h in enumerate(hits, start=1) if h), None)
    out["mrr"] = 1.0 / first if first else 0.0
    credited: set[int] = set()
    dcg = 0.0
    for rank, h in enumerate(hits[:10], start=1):
        new = h - credited
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            credited |= new
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(items), 10) + 1))
    out["ndcg@10"] = dcg / ideal
    return out


# --- citations -------------------------------------------------------------------------------


def answer_sentences(answer: Answer) -> list[tuple[str, list[int]]]:
    """The answer's sentences with the citation numbers each carries.

    A marker block standing alone after a sentence's full stop belongs to that sentence.
    """
    # the date frames are metadata (a publication date, a weekday counted from it), not claims
    text = WEEKDAY_FRAME.sub("", AS_OF_FRAME.sub("", answer.text))
    out: list[tuple[str, list[int]]] = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        numbers = marker_numbers(sentence)
        claim = EARLIER_FRAME.sub("", strip_markers(sentence))
        if not re.search(r"\w", claim):
            if out and numbers:
                out[-1] = (out[-1][0], out[-1][1] + numbers)
            continue
        out.append((claim, numbers))
    return out


def citation_metrics(
    answer: Answer, judge: SupportJudge, context: Sequence[RetrievedChunk] | None = None
) -> dict:
    if answer.abstained:
        return {}
    passages = {c.n: c.chunk_text for c in answer.citations}
    sentences = answer_sentences(answer)
    if not sentences:
        return {}
    pairs: dict[tuple[str, str], float] = {}

    def ask(premise: str, hypothesis: str) -> None:
        pairs.setdefault((premise, hypothesis), 0.0)

    plans = []
    for claim, cited in sentences:
        cited = [n for n in dict.fromkeys(cited) if n in passages]
        joint = "\n".join(passages[n] for n in cited)
        singles = [passages[n] for n in cited]
        others = ["\n".join(passages[m] for m in cited if m != n) for n in cited]
        plans.append((claim, cited, joint, singles, others))
        if cited:
            ask(joint, claim)
            if len(cited) > 1:
                for premise in singles + others:
                    ask(premise, claim)
        for chunk in context or []:
            ask(chunk.text, claim)
    keys = list(pairs)
    for key, score in zip(keys, judge.scores(keys), strict=True):
        pairs[key] = score
    ok = lambda premise, claim: pairs[(premise, claim)] >= judge.threshold  # noqa: E731

    supported = precise = total_citations = faithful = 0
    per_sentence = []
    for claim, cited, joint, singles, others in plans:
        joint_ok = bool(cited) and ok(joint, claim)
        supported += joint_ok
        total_citations += len(cited)
        if joint_ok and len(cited) > 1:
            for single, rest in zip(singles, others, strict=True):
                irrelevant = not ok(single, claim) and ok(rest, claim)
                precise += not irrelevant
        elif joint_ok:
            precise += 1
        in_context = any(ok(chunk.text, claim) for chunk in context or [])
        faithful += in_context
        per_sentence.append({
            "sentence": claim, "citations": cited, "supported": joint_ok,
            "support": pairs[(joint, claim)] if cited else 0.0, "in_context": in_context,
        })
    return {
        "citation_recall": supported / len(plans),
        "citation_precision": (precise / total_citations) if total_citations else 0.0,
        "faithfulness": (faithful / len(plans)) if context is not None else None,
        "sentences": per_sentence,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
