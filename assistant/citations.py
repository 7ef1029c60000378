"""From a draft with context-numbered markers to an :class:`Answer` with resolved citations.

Markers that point nowhere (``[9]`` with five passages) are dropped; the rest are renumbered in
order of first appearance, so the reader sees ``[1]``, ``[2]``, ... Each citation quotes the exact
sentences of its chunk that back the answer sentences citing it.
"""

from __future__ import annotations

import re

from assistant.chunking import sentence_spans
from assistant.text import terms
from assistant.types import Answer, Citation, RetrievedChunk

_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def resolve_citations(
    question: str, draft: str, context: list[RetrievedChunk], backend: str
) -> Answer:
    renumber: dict[int, int] = {}  # context number -> shown number
    backing: dict[int, list[tuple[int, int]]] = {}  # context number -> quoted spans in its chunk

    def replace(sentence: str) -> str:
        claim = _MARKER.sub("", sentence).strip()

        def one(match: re.Match) -> str:
            shown = []
            for raw in re.split(r"\s*[,;]\s*", match.group(1)):
                n = int(raw)
                if not 1 <= n <= len(context):
                    continue  # a marker that points nowhere
                shown.append(renumber.setdefault(n, len(renumber) + 1))
                span = _best_span(claim, context[n - 1].text)
                if span and span not in backing.setdefault(n, []):
                    backing[n].append(span)
            return "".join(f" [{s}]" for s in dict.fromkeys(shown))

        return _MARKER.sub(one, sentence)

    text = "".join(replace(part) for part in _sentences_with_markers(draft))
    citations = []
    for n, shown in sorted(renumber.items(), key=lambda kv: kv[1]):
        chunk = context[n - 1]
        spans = sorted(backing.get(n, [])) or [(0, len(chunk.text))]
        citations.append(Citation(
            n=shown, chunk_id=chunk.chunk_id, article_id=chunk.article_id, title=chunk.title,
            date=chunk.date, source=chunk.source,
            quote=" … ".join(chunk.text[s:e] for s, e in spans),
            quote_spans=spans, chunk_text=chunk.text,
            article_start=chunk.start, article_end=chunk.end, score=round(chunk.score, 4),
        ))
    return Answer(question=question, text=text.strip(), citations=citations, backend=backend)


def _sentences_with_markers(draft: str) -> list[str]:
    """Split the draft into pieces that each end after a sentence's markers."""
    pieces, last = [], 0
    for _, end in sentence_spans(draft):
        # pull trailing markers (and the space before them) into this sentence
        match = re.match(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+[.!?]?", draft[end:])
        if match:
            end += match.end()
        if end > last:
            pieces.append(draft[last:end])
            last = end
    pieces.append(draft[last:])
    return pieces


def _best_span(claim: str, chunk_text: str) -> tuple[int, int] | None:
    """The chunk sentence that best backs ``claim``: verbatim if present, else most overlap."""
    bare = claim.rstrip(".!? ")
    spans = sentence_spans(chunk_text)
    for s, e in spans:
        if bare and bare in chunk_text[s:e]:
            return (s, e)
    claim_terms = terms(claim)
    if not claim_terms:
        return None
    scored = [(len(claim_terms & terms(chunk_text[s:e])), (s, e)) for s, e in spans]
    best = max(scored, default=(0, None))
    return best[1] if best[0] > 0 else None
