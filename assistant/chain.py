"""The LCEL chain: rewrite a follow-up → retrieve → pack into the token budget → check that the
archive can answer → answer (or decline, saying why) → cite → verify the citations → date the
answer when it is about "the latest".

Input ``{"question": str, "history": [Turn], "where": dict | None, "store_empty": bool,
"since": str | None, "until": str | None, "archive_dates": () -> (first, last) | None}``;
output :class:`~assistant.types.Answer`. Every stage is a Runnable,
so the chain composes with other LangChain chains (``invoke``, ``batch``, ``stream``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from langchain_core.runnables import (
    Runnable,
    RunnableBranch,
    RunnableLambda,
    RunnablePassthrough,
)

from assistant.citations import (
    mark_earlier_reports,
    resolve_citations,
    verify_citations,
)
from assistant.generation import NO_ANSWER, Decline, pack_context
from assistant.nlp import DATE_LABELS, Annotator, asks_latest, missing_names
from assistant.prompts import load_prompt
from assistant.retrieval import Retriever, date_where
from assistant.rewrite import Rewriter, rewrite_runnable
from assistant.support import SupportJudge
from assistant.text import MARKER, marker_numbers, strip_markers
from assistant.types import Answer, Citation, RetrievedChunk


DATED_EXTRA = 2  # passages from a named period's reports added beside the top_k


def build_chain(
    retriever: Retriever,
    answerer: Runnable,
    *,
    backend: str,
    top_k: int,
    context_tokens: int,
    min_relevance: float,
    count_tokens: Callable[[list[str]], list[int]],
    prompts_dir: Path,
    abstain_on_missing_names: bool = True,
    rewriter: Rewriter | None = None,
    judge: SupportJudge | None = None,
    annotator: Annotator | None = None,
    story_similarity: float,
    corrections: Callable[[str, list[RetrievedChunk]], list[RetrievedChunk]] | None = None,
) -> Runnable:
    nlp = annotator or Annotator.shared()

    def rewritten(x: dict) -> str | None:
        return x["standalone"] if x["standalone"] != x["question"] else None

    def abstain(x: dict, reason: Decline | None = None) -> Answer:
        """A decline that says why; it points to the nearest passage when it has one."""
        reason = reason or x.get("gate")
        citations: list[Citation] = []
        if x.get("store_empty"):
            text = load_prompt(prompts_dir, "empty_store.txt").strip()
        elif isinstance(reason, Decline):
            nearest = x["context"][reason.nearest - 1] if reason.nearest else None
            if nearest is not None:
                text = load_prompt(prompts_dir, "missing_fact.txt").strip().format(
                    title=nearest.title, missing=reason.missing)
                citations = [_pointer(nearest)]
            else:
                text = reason.missing
        else:
            text = load_prompt(prompts_dir, "no_answer.txt").strip()
        return Answer(
            question=x["question"], text=text, citations=citations, abstained=True,
            backend=backend, retrieved=x.get("context", []), rewritten_question=rewritten(x),
        )

    def gate(x: dict) -> Decline | str | None:
        """Why the archive cannot answer, before any answerer runs (None: it may)."""
        frame = nlp.question(x["standalone"])
        if not frame.has_content:
            return Decline(load_prompt(prompts_dir, "not_a_question.txt").strip())
        context = x["context"]
        # A time the archive does not reach: say which dates it covers.
        if reach := _out_of_reach(frame, x, context, prompts_dir, story_similarity):
            return Decline(reach)
        if not context and (x.get("since") or x.get("until")):
            return Decline(load_prompt(prompts_dir, "empty_range.txt").strip().format(
                since=x.get("since") or "the first article", until=x.get("until") or "today"))
        # Below this similarity the nearest passage is about something else: say so, don't guess.
        if not context or max(c.score for c in context) < min_relevance:
            return "no_answer"
        # A name the question turns on that no passage mentions: the articles cannot answer it.
        if abstain_on_missing_names:
            own = nlp.question(x["question"])  # names pulled in from the history don't count
            missing = missing_names(own, [c.title + " " + c.text for c in context])
            if missing:
                return Decline(load_prompt(prompts_dir, "missing_name.txt").strip().format(
                    names=", ".join(missing)))
        return None

    def as_of(x: dict, answer: Answer) -> Answer:
        """Answers about the latest state of things say which publication date they stand on."""
        dated = [c for c in answer.citations if c.date]
        if not asks_latest(x["question"]) or not dated:
            return answer
        answer = mark_earlier_reports(answer, load_prompt(prompts_dir, "earlier_report.txt").strip())
        newest = max(dated, key=lambda c: c.date)
        frame = load_prompt(prompts_dir, "as_of.txt").strip().format(date=newest.date, n=newest.n)
        return answer.model_copy(update={"text": f"{frame} {answer.text}"})

    def date_weekday(x: dict, answer: Answer) -> Answer:
        """ "When ...?" answered by "on Sunday": say which Sunday, from the report's date."""
        numbers = marker_numbers(answer.text)
        wants = nlp.question(x["standalone"]).wants
        # (only for a date asked for: "What death toll ...?" may be answered by a date too)
        if answer.abstained or not numbers or not wants or not wants <= DATE_LABELS:
            return answer
        lead = next((c for c in answer.citations if c.n == numbers[0]), None)
        if lead is None or not lead.date:
            return answer
        first = strip_markers(MARKER.split(answer.text, maxsplit=1)[0])
        day = nlp.parse(first).weekday_date(dt.date.fromisoformat(lead.date))
        if day is None:
            return answer
        frame = load_prompt(prompts_dir, "weekday_date.txt").strip().format(
            day=f"{day:%A, %B} {day.day}, {day.year}", n=lead.n)
        return answer.model_copy(update={"text": f"{frame} {answer.text}"})

    def cite(x: dict) -> Answer:
        if isinstance(x["draft"], Decline):
            return abstain(x, x["draft"])
        draft = x["draft"].strip()
        if not draft or draft.startswith(NO_ANSWER):
            return abstain(x)
        answer = resolve_citations(x["question"], draft, x["context"], backend)
        if judge is not None:  # every sentence checked against the passages
            # A draft without markers (small local models rarely write them) is grounded the
            # same way: each sentence a passage supports gets that passage's marker, the rest go.
            answer = verify_citations(answer, x["context"], judge)
        if not answer.citations:  # nothing in the draft points at a passage: not grounded
            return abstain(x)
        return as_of(x, date_weekday(x, answer.model_copy(update={
            "retrieved": x["context"], "rewritten_question": rewritten(x)})))

    def retrieve_and_pack(x: dict) -> list[RetrievedChunk]:
        question = x["standalone"]
        found = retriever.retrieve(question, top_k, x.get("where"))
        # A question set in a period ("In March 2024, ...") also searches the articles published
        # in it (or soon after): the answering sentence rarely repeats the month, so neither
        # retriever ranks it by the date; the answerer then favours those reports.
        ids = {c.chunk_id for c in found}
        dated: list[RetrievedChunk] = []
        for period in nlp.question(question).periods[:2]:
            since = max(filter(None, [x.get("since"), period.start.isoformat()]))
            until = min(filter(None, [x.get("until"), period.reported_until.isoformat()]))
            if since > until:
                continue
            # (the period's best passages may be found already: DATED_EXTRA new ones are added)
            in_period = retriever.retrieve(question, DATED_EXTRA + top_k, date_where(since, until))
            new = [c for c in in_period if c.chunk_id not in ids][:DATED_EXTRA]
            ids.update(c.chunk_id for c in new)
            dated += new
        merged = found[:2] + dated + found[2:] if dated else found
        if corrections is not None:
            # after the passages found: a correction note tells which of their figures was wrong
            merged += corrections(question, merged)
        return pack_context(merged, context_tokens, count_tokens)

    retrieve = RunnablePassthrough.assign(
        context=RunnableLambda(retrieve_and_pack, name="retrieve_and_pack"))
    # The answerer reads the stand-alone question; the user's own words stay in x["question"]
    # for the name check (names pulled in from the history must not cause an abstention).
    standalone = RunnablePassthrough.assign(
        standalone=rewrite_runnable(rewriter) if rewriter is not None
        else RunnableLambda(lambda x: x["question"], name="no_rewrite")
    )
    answer = RunnablePassthrough.assign(
        draft=RunnableLambda(lambda x: {**x, "question": x["standalone"]}) | answerer
    ) | RunnableLambda(cite, name="cite")
    return (
        standalone | retrieve | RunnablePassthrough.assign(gate=RunnableLambda(gate, name="gate"))
        | RunnableBranch((lambda x: x["gate"] is None, answer),
                         RunnableLambda(abstain, name="abstain"))
    ).with_config(run_name="newsdesk_answer")


def _pointer(chunk: RetrievedChunk) -> Citation:
    """The citation a decline carries: the nearest passage, so the reader sees what there is."""
    return Citation(
        n=1, chunk_id=chunk.chunk_id, article_id=chunk.article_id, title=chunk.title,
        date=chunk.date, source=chunk.source, quote="", quote_spans=[], chunk_text=chunk.text,
        article_start=chunk.start, article_end=chunk.end, score=round(chunk.score, 4),
        also_in=list(chunk.also_in),
    )


def _out_of_reach(
    frame, x: dict, context: list[RetrievedChunk], prompts_dir: Path, story_similarity: float,
) -> str | None:
    """A decline for a period the question is framed in ("In March 2027, ...") that the search
    cannot see: after the archive's newest article or the user's ``until``, before the user's
    ``since``, or after the newest article retrieved on the story (a later report on it would
    have been retrieved)."""
    # a period the question is set in, or a month it names ("its December 2025 meeting");
    # a year alone may be a name ("the 2025 budget", written the year before)
    periods = [p for p in frame.periods if p.framing or p.within_a_month]
    # a year that names a thing ("the 2026 mayoral race") after the archive ends: only when no
    # passage mentions that year (a report on "the 2026 budget" would)
    named = [p for p in frame.periods if p not in periods
             and not any(p.text in c.text or p.text in c.title for c in context)]
    if not periods and not named:
        return None
    archive_dates = x.get("archive_dates")  # a callable: read only for a dated question
    first, last = (archive_dates() if callable(archive_dates) else archive_dates) or (None, None)
    since, until = x.get("since"), x.get("until")
    end = min(d for d in (last, until) if d) if (last or until) else None
    # the story: the passages near the best one (other stories may be newer)
    best = max((c.score for c in context), default=0.0)
    story = max((c.date for c in context if c.date and c.score >= story_similarity * best),
                default=None)

    def out_of_range(p) -> str:
        return load_prompt(prompts_dir, "out_of_range.txt").strip().format(
            period=p.text, first=since or first or "the first article", last=end or "today")

    for p in named:
        if end and p.start.isoformat() > end:
            return out_of_range(p)
    for p in periods:
        start, stop = p.start.isoformat(), p.end.isoformat()
        if (end and start > end) or (since and stop < since):
            return out_of_range(p)
        if story and start > story:
            return load_prompt(prompts_dir, "story_ends.txt").strip().format(
                period=p.text, date=story)
    return None
