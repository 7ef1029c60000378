"""Finding the chunks that may answer a question.

Dense (Chroma) and lexical (BM25) candidates are fused by reciprocal rank, rescored by a
reranker, and near-duplicates (the same wire story in several outlets) are folded together.

>>> retriever = HybridRetriever(store, embedder)
>>> [c.title for c in retriever.retrieve("What does the minerals framework cover?", k=3)]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Protocol

from assistant.chunking import sentence_spans
from assistant.embeddings import Embedder
from assistant.lexical import Lexical
from assistant.nlp import asks_latest
from assistant.store import ChromaStore
from assistant.text import CORRECTION_WORDS, correction_label, tokens
from assistant.types import RetrievedChunk

# the correction label's words as BM25 terms ("correction", "clarification"), in a fixed order
_CORRECTION_TERMS = sorted({term for word in CORRECTION_WORDS for term in tokens(word)})


class Retriever(Protocol):
    def retrieve(self, question: str, k: int, where: dict | None = None) -> list[RetrievedChunk]: ...


def date_where(since: str | None = None, until: str | None = None) -> dict | None:
    """A Chroma ``where`` clause for a publication-date range (inclusive, ISO dates).

    Undated articles are left out of a filtered search: nothing says they fall in the range.
    """
    conds = []
    for op, value in (("$gte", since), ("$lte", until)):
        if value:
            try:
                day = dt.date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None
            conds.append({"date_int": {op: int(day.strftime("%Y%m%d"))}})
    if since and until and since > until:
        raise ValueError(f"the date range is empty: since {since} is after until {until}")
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


def _bounds(where: dict | None) -> tuple[int | None, int | None]:
    """The date range of a :func:`date_where` clause, as YYYYMMDD ints."""
    since = until = None
    for cond in (where or {}).get("$and", [where] if where else []):
        for op, value in cond.get("date_int", {}).items():
            if op == "$gte":
                since = value
            elif op == "$lte":
                until = value
    return since, until

# A phrase the question quotes ("Who said “We are not in crisis …”?"): straight or curly quotes.
_QUOTED = re.compile(r'["“”]([^"“”]+)["“”]')
_QUOTE_MIN_WORDS = 4  # shorter quoted bits ("the 'golden era'") are terms, not a quotation


def quoted_phrases(question: str) -> list[str]:
    """The quotations a question holds, trimmed of the punctuation a quote ends with."""
    out = []
    for raw in _QUOTED.findall(question):
        phrase = raw.strip().rstrip(",.;:?!").strip()
        if len(phrase.split()) >= _QUOTE_MIN_WORDS:
            out.append(phrase)
    return out


class TermReranker:
    """Cosine similarity plus the IDF-weighted share of question terms a passage holds.

    No cross-encoder reranker ships inside a PyPI wheel that we could find; this one adds back
    what a bi-encoder blurs: rare names and numbers that the question and passage share.
    For "latest" questions newer candidates get up to ``recency_weight`` more.
    """

    def __init__(self, term_weight: float = 0.5, recency_weight: float = 0.1):
        self.term_weight = term_weight
        self.recency_weight = recency_weight

    def rerank(
        self, question: str, candidates: list[RetrievedChunk], index: Lexical | None,
        prior: list[float] | None = None,
    ) -> list[RetrievedChunk]:
        """``prior``: the candidates' fused scores scaled to [0, 1], used instead of cosine."""
        wanted = set(tokens(question))
        weights = {t: (index.idf(t) if index is not None and len(index) else 1.0) for t in wanted}
        total = sum(weights.values()) or 1.0
        recency = self._recency(question, candidates)

        def score(i: int, c: RetrievedChunk) -> float:
            held = _terms_of(c, index) | set(tokens(c.title))
            coverage = sum(w for t, w in weights.items() if t in held) / total
            base = prior[i] if prior is not None else c.score
            return base + self.term_weight * coverage + recency[i]

        scored = sorted(enumerate(candidates), key=lambda ic: -score(*ic))
        return [c for _, c in scored]

    def _recency(self, question: str, candidates: list[RetrievedChunk]) -> list[float]:
        if not self.recency_weight or not asks_latest(question):
            return [0.0] * len(candidates)
        dates = sorted({c.date for c in candidates if c.date})
        if len(dates) < 2:
            return [0.0] * len(candidates)
        rank = {d: i / (len(dates) - 1) for i, d in enumerate(dates)}
        return [self.recency_weight * rank.get(c.date, 0.0) for c in candidates]


def collapse_duplicates(
    chunks: list[RetrievedChunk], threshold: float, k: int | None = None,
    index: Lexical | None = None, per_article: int = 0,
) -> list[RetrievedChunk]:
    """Fold a passage into a better-ranked one from another article when their terms overlap
    above ``threshold`` (Jaccard): the same wire story must not fill the context. The kept
    passage lists the other outlets in ``also_in``. Stops once ``k`` passages are kept.

    With ``per_article``, at most that many of the ``k`` come from one article while others
    are left: three passages of one story can push out the one other story that answers. The
    rest of that article's passages fill the ``k`` only when too few articles are found; rank
    order is kept."""
    kept: list[tuple[RetrievedChunk, set[str]]] = []
    over: list[int] = []  # positions in ``kept`` past their article's cap
    per: dict[str, int] = {}
    for chunk in chunks:
        if k is not None and len(kept) - len(over) >= k:
            break
        terms = _terms_of(chunk, index)
        for i, (other, other_terms) in enumerate(kept):
            union = terms | other_terms
            if (
                other.article_id != chunk.article_id and union
                and len(terms & other_terms) / len(union) >= threshold
            ):
                label = f"{chunk.title} ({chunk.date or 'undated'}) — {chunk.source}"
                kept[i] = (dataclasses.replace(other, also_in=(*other.also_in, label)), other_terms)
                break
        else:
            if per_article and per.get(chunk.article_id, 0) >= per_article:
                over.append(len(kept))
            else:
                per[chunk.article_id] = per.get(chunk.article_id, 0) + 1
            kept.append((chunk, terms))
    if k is None or not over:
        return [c for c, _ in kept]
    skipped = set(over)
    chosen = [i for i in range(len(kept)) if i not in skipped]
    return [kept[i][0] for i in sorted(chosen + over[: k - len(chosen)])]


def _terms_of(chunk: RetrievedChunk, index: Lexical | None) -> set[str]:
    """A chunk's BM25 terms: from the index when it holds them (tokenising costs)."""
    stored = index.terms(chunk.chunk_id) if index is not None else None
    return stored if stored is not None else set(tokens(chunk.text))


class HybridRetriever:
    """Dense and BM25 candidates, fused by reciprocal rank, reranked, near-duplicates folded."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        *,
        mode: str = "hybrid",
        pool: int = 30,
        rrf_k: int = 60,
        dense_weight: float = 1.0,
        lexical_weight: float = 1.0,
        reranker: TermReranker | None = None,
        dedupe_threshold: float = 0.7,
        per_article: int = 0,
    ):
        self.store, self.embedder = store, embedder
        self.mode, self.pool, self.rrf_k = mode, pool, rrf_k
        self.dense_weight, self.lexical_weight = dense_weight, lexical_weight
        self.reranker = reranker
        self.dedupe_threshold = dedupe_threshold
        self.per_article = per_article

    def retrieve(self, question: str, k: int, where: dict | None = None) -> list[RetrievedChunk]:
        vector = self.embedder.embed_query(question)
        pool = max(self.pool, k)
        dense = self.store.query(vector, pool, where) if self.mode != "lexical" else []
        index = self.store.sync_lexical()
        lexical = index.search(question, pool, *_bounds(where)) if self.mode != "dense" else []
        fused: dict[str, float] = {}
        for weight, ids in ((self.dense_weight, [c.chunk_id for c in dense]),
                            (self.lexical_weight, [cid for cid, _ in lexical])):
            for rank, cid in enumerate(ids, start=1):
                fused[cid] = fused.get(cid, 0.0) + weight / (self.rrf_k + rank)
        order = sorted(fused, key=lambda cid: -fused[cid])
        known = {c.chunk_id: c for c in dense}
        missing = [cid for cid in order if cid not in known]
        known.update({c.chunk_id: c for c in self.store.get(missing, vector)})
        candidates = [known[cid] for cid in order if cid in known]
        if self.reranker is not None:
            top = max(fused.values(), default=1.0) or 1.0
            prior = [fused[c.chunk_id] / top for c in candidates]
            candidates = self.reranker.rerank(question, candidates, index, prior)
        # "Who said '…'?": the passage that holds the quotation word for word leads, however
        # little it resembles the question as a whole (its article is about something else)
        quoting = self.store.get(self.store.containing(quoted_phrases(question), k, where), vector)
        if quoting:
            held = {c.chunk_id for c in quoting}
            candidates = [dataclasses.replace(c, score=1.0) for c in quoting] + [
                c for c in candidates if c.chunk_id not in held]
        return collapse_duplicates(candidates, self.dedupe_threshold, k, index, self.per_article)

    def corrections(self, question: str, chunks: list[RetrievedChunk]) -> list[RetrievedChunk]:
        """The passages of these chunks' articles that hold a wire correction note, when not
        among them: the note closes a later report and retracts a figure an earlier one gave
        ("An earlier report ... said about 1,200 workers ... The correct figure is 2,100.")."""
        # (the mirror knows which chunks of an article hold the word: Chroma's full-text
        # search took 0.3-3 s at 100k chunks)
        index = self.store.sync_lexical()
        articles = {c.article_id for c in chunks}
        have = {c.chunk_id for c in chunks}
        ids = list(dict.fromkeys(cid for term in _CORRECTION_TERMS
                                 for cid in index.holding(term, articles) if cid not in have))
        found = self.store.get(ids, self.embedder.embed_query(question)) if ids else []
        # (a chunk may use the word otherwise: "a market correction")
        return [c for c in found if any(correction_label(c.text[a:b])
                                        for a, b in sentence_spans(c.text))]
