"""The LCEL chain: rewrite a follow-up → retrieve → pack into the token budget → answer (or
abstain) → cite → verify the citations → date the answer when it is about "the latest".

Input ``{"question": str, "history": [Turn], "where": dict | None, "store_empty": bool}``;
output :class:`~assistant.types.Answer`. Every stage is a Runnable,
so the chain composes with other LangChain chains (``invoke``, ``batch``, ``stream``).
"""

from __future__ import annotations

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
from assistant.generation import NO_ANSWER, pack_context
from assistant.prompts import load_prompt
from assistant.retrieval import LATEST, Retriever
from assistant.rewrite import Rewriter, rewrite_runnable
from assistant.support import SupportJudge
from assistant.text import missing_names
from assistant.types import Answer


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
) -> Runnable:
    def rewritten(x: dict) -> str | None:
        return x["standalone"] if x["standalone"] != x["question"] else None

    def abstain(x: dict) -> Answer:
        name = "empty_store.txt" if x.get("store_empty") else "no_answer.txt"
        return Answer(
            question=x["question"], text=load_prompt(prompts_dir, name), abstained=True,
            backend=backend, retrieved=x.get("context", []), rewritten_question=rewritten(x),
        )

    def relevant(x: dict) -> bool:
        # Below this similarity the nearest passage is about something else: say so, don't guess.
        context = x["context"]
        if not context or max(c.score for c in context) < min_relevance:
            return False
        # A name the question turns on that no passage mentions: the articles cannot answer it.
        return not (abstain_on_missing_names and missing_names(
            x["question"], [c.title + " " + c.text for c in context]))

    def as_of(x: dict, answer: Answer) -> Answer:
        """Answers about the latest state of things say which publication date they stand on."""
        dated = [c for c in answer.citations if c.date]
        if not LATEST.search(x["question"]) or not dated:
            return answer
        answer = mark_earlier_reports(answer, load_prompt(prompts_dir, "earlier_report.txt").strip())
        newest = max(dated, key=lambda c: c.date)
        frame = load_prompt(prompts_dir, "as_of.txt").strip().format(date=newest.date, n=newest.n)
        return answer.model_copy(update={"text": f"{frame} {answer.text}"})

    def cite(x: dict) -> Answer:
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
        return as_of(x, answer.model_copy(update={
            "retrieved": x["context"], "rewritten_question": rewritten(x)}))

    retrieve = RunnablePassthrough.assign(
        context=RunnableLambda(
            lambda x: pack_context(retriever.retrieve(x["standalone"], top_k, x.get("where")),
                                   context_tokens, count_tokens),
            name="retrieve_and_pack",
        )
    )
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
        standalone | retrieve
        | RunnableBranch((relevant, answer), RunnableLambda(abstain, name="abstain"))
    ).with_config(run_name="newsdesk_answer")
