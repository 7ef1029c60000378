"""From a draft with context-numbered markers to an :class:`Answer` with verified citations.

:func:`resolve_citations` drops markers that point nowhere (``[9]`` with five passages) and
renumbers the rest in order of first appearance, so the reader sees ``[1]``, ``[2]``, ... Each
citation quotes the exact sentences of its chunk that back the answer sentences citing it.

:func:`verify_citations` then checks every cited sentence against the passage it cites with a
:class:`~assistant.support.SupportJudge`: a marker the passage does not support is moved to the
passage that does, or dropped; a sentence that no passage supports is removed, since it states
something the articles do not back. Each citation carries its support score.
"""

from __future__ import annotations

import re

from assistant.chunking import sentence_spans
from assistant.support import SupportJudge
from assistant.text import MARKER, marker_numbers, numbers, terms
from assistant.types import Answer, Citation, RetrievedChunk


def resolve_citations(
    question: str, draft: str, context: list[RetrievedChunk], backend: str
) -> Answer:
    renumber: dict[int, int] = {}  # context number -> shown number
    backing: dict[int, list[tuple[int, int]]] = {}  # context number -> quoted spans in its chunk

    def replace(sentence: str) -> str:
        claim = MARKER.sub("", sentence).strip()

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

        return MARKER.sub(one, sentence)

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
            also_in=list(chunk.also_in),
        ))
    return Answer(question=question, text=text.strip(), citations=citations, backend=backend)


def verify_citations(
    answer: Answer,
    context: list[RetrievedChunk],
    judge: SupportJudge,
    *,
    threshold: float | None = None,
) -> Answer:
    """Keep the citations whose passage supports the citing sentence; fix or drop the rest.

    For each sentence of ``answer`` (markers stripped) and each passage it cites, the judge scores
    support. Supported markers stay. When none of a sentence's markers is supported on its own,
    the cited passages are tried together (a sentence may join facts from two), then every
    passage of ``context``: the best one at or above ``threshold`` (default: the judge's) takes
    the marker. A sentence that nothing supports is removed. Citations are renumbered ``[1]``,
    ``[2]``, ... in order of first appearance, their quotes recomputed, and ``support`` set to the
    lowest score over the sentences citing them.

    When no sentence is left the result has no citations and ``abstained=True`` with empty text:
    the caller words the abstention (the chain uses ``prompts/no_answer.txt``).

    >>> context = bot.search(question)
    >>> answer = resolve_citations(question, draft, context, backend="llm")
    >>> answer = verify_citations(answer, context, LexicalJudge())
    >>> [(c.n, c.support) for c in answer.citations]
    """
    if answer.abstained or not answer.text.strip():
        return answer
    bar = judge.threshold if threshold is None else threshold
    passages = list(context)
    number: dict[str, int] = {}  # chunk id -> context number
    for i, chunk in enumerate(passages, start=1):
        number.setdefault(chunk.chunk_id, i)
    to_context: dict[int, int] = {}  # shown number -> context number
    for c in answer.citations:
        if c.chunk_id not in number:  # cited from outside ``context``: judge it all the same
            passages.append(_as_chunk(c))
            number[c.chunk_id] = len(passages)
        to_context[c.n] = number[c.chunk_id]

    pieces = _sentences_with_markers(answer.text)
    claims = [MARKER.sub("", piece).strip() for piece in pieces]
    cited = [
        list(dict.fromkeys(to_context[n] for n in marker_numbers(piece) if n in to_context))
        for piece in pieces
    ]
    scores: dict[tuple[str, str], float] = {}

    def judge_all(pairs: list[tuple[str, str]]) -> None:
        todo = [p for p in dict.fromkeys(pairs) if p not in scores]
        if todo:  # one batch per round: a model judge scores pairs together
            scores.update(zip(todo, judge.scores(todo), strict=True))

    def joint(ns: list[int]) -> str:
        return "\n".join(passages[n - 1].text for n in ns)

    is_claim = [bool(re.search(r"\w", claim)) for claim in claims]
    judge_all([(passages[n - 1].text, claim)
               for claim, ns, ok in zip(claims, cited, is_claim, strict=True) if ok for n in ns])
    kept: list[dict[int, float]] = []  # per piece: context number -> support
    unsupported = []
    for i, (claim, ns) in enumerate(zip(claims, cited, strict=True)):
        backed = {n: scores[(passages[n - 1].text, claim)] for n in ns} if is_claim[i] else {}
        kept.append({n: s for n, s in backed.items() if s >= bar})
        if is_claim[i] and not kept[i]:
            unsupported.append(i)

    judge_all([pair for i in unsupported for pair in (
        [(joint(cited[i]), claims[i])] if len(cited[i]) > 1 else []
    ) + [(chunk.text, claims[i]) for chunk in context]])
    for i in unsupported:
        if len(cited[i]) > 1 and (s := scores[(joint(cited[i]), claims[i])]) >= bar:
            kept[i] = dict.fromkeys(cited[i], s)
            continue
        # the best-ranked passage wins a tie
        best = max(range(1, len(context) + 1), default=None,
                   key=lambda n: (scores[(context[n - 1].text, claims[i])], -n))
        if best is not None and (s := scores[(context[best - 1].text, claims[i])]) >= bar:
            kept[i] = {best: s}

    draft = "".join(
        _remark(piece, kept[i], to_context) if kept[i] else ("" if is_claim[i] else
                                                             MARKER.sub("", piece))
        for i, piece in enumerate(pieces)
    )
    if not any(kept):
        return answer.model_copy(update={"text": "", "citations": [], "abstained": True})
    support: dict[str, float] = {}  # chunk id -> lowest support over the sentences citing it
    for backed in kept:
        for n, s in backed.items():
            chunk_id = passages[n - 1].chunk_id
            support[chunk_id] = min(support.get(chunk_id, 1.0), round(s, 4))
    verified = resolve_citations(answer.question, draft, passages, answer.backend)
    return verified.model_copy(update={
        "citations": [c.model_copy(update={"support": support[c.chunk_id]})
                      for c in verified.citations],
        "retrieved": answer.retrieved,
    })


def _remark(piece: str, keep: dict[int, float], to_context: dict[int, int]) -> str:
    """The piece with context-numbered markers for ``keep`` only; markers the piece did not
    carry (re-attached ones) go where its first marker stood, or at the end of the sentence."""
    emitted: list[int] = []

    def one(match: re.Match) -> str:
        ns = [to_context.get(int(raw)) for raw in re.split(r"\s*[,;]\s*", match.group(1))]
        # once per block, but a marker may recur in a later block: the splitter can take two
        # sentences that each cite [1] for one piece, and each keeps its marker
        ns = [n for n in dict.fromkeys(ns) if n in keep]
        emitted.extend(ns)
        return "".join(f" [{n}]" for n in ns)

    text = MARKER.sub(one, piece)
    extra = "".join(f" [{n}]" for n in keep if n not in emitted)
    if not extra:
        return text
    if first := MARKER.search(piece):
        # nothing before the first block changed, so its offset still holds
        return text[: first.start()] + extra + text[first.start():]
    body = text.rstrip()
    if re.search(r"[^.]\.$", body):
        return body[:-1] + extra + "." + text[len(body):]
    return body + extra + text[len(body):]


def _as_chunk(c: Citation) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=c.chunk_id, article_id=c.article_id, title=c.title, date=c.date, source=c.source,
        text=c.chunk_text, start=c.article_start, end=c.article_end, score=c.score,
    )


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
        if bare and (at := chunk_text.find(bare, s, e)) != -1:
            # exactly what is shown (a sentence without its dateline quotes just that part)
            stop = at + len(bare)
            return (at, e if chunk_text[stop:e].strip() in ("", ".", "!", "?") else stop)
    claim_terms = terms(claim)
    if not claim_terms:
        return None
    scored = [(len(claim_terms & terms(chunk_text[s:e])), (s, e)) for s, e in spans]
    best = max(scored, default=(0, None))
    return best[1] if best[0] > 0 else None


def mark_earlier_reports(answer: Answer, frame: str) -> Answer:
    """In an answer led by the newest report, flag sentences of older reports whose figures
    differ: ``frame`` (with ``{date}``) goes before the first of each report's, so the reader sees
    the newer figure first and that an earlier report said otherwise, both cited."""
    by_n = {c.n: c for c in answer.citations}
    dated = [c for c in answer.citations if c.date]
    if len(dated) < 2:
        return answer
    newest = max(c.date for c in dated)
    pieces = _sentences_with_markers(answer.text)

    def cited(piece: str) -> list[Citation]:
        return [by_n[n] for n in marker_numbers(piece) if n in by_n]

    latest_figures = set().union(*(
        numbers(MARKER.sub("", p)) for p in pieces
        if any(c.date == newest for c in cited(p))
    ))
    if not latest_figures:
        return answer
    out = []
    framed: set[str] = set()  # once per earlier report: its next sentences read on from it
    for piece in pieces:
        sources = cited(piece)
        figures = numbers(MARKER.sub("", piece))
        older = sources and all(c.date and c.date < newest for c in sources)
        date = max(c.date for c in sources) if older else None
        # (one that also states the newest figure agrees: "to 41 lots from 14" beside "41 lots")
        if older and figures - latest_figures and not figures & latest_figures \
                and date not in framed:
            framed.add(date)
            lead = len(piece) - len(piece.lstrip())
            piece = piece[:lead] + frame.format(date=date) + " " + piece[lead:]
        out.append(piece)
    return answer.model_copy(update={"text": "".join(out)})
