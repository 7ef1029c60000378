"""The LCEL chain: retrieve → pack into the token budget → answer (or abstain) → cite.

Input ``{"question": str, "where": dict | None, "store_empty": bool}``; output :class:`~assistant.types.Answer`. Every stage is a Runnable,
so the chain composes with other LangChain chains (``invoke``, ``batch``, ``stream``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from assistant.citations import resolve_citations
from assistant.generation import NO_ANSWER, pack_context
from assistant.prompts import load_prompt
from assistant.retrieval import Retriever
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
) -> Runnable:
    def abstain(x: dict) -> Answer:
        name = "empty_store.txt" if x.get("store_empty") else "no_answer.txt"
        return Answer(
            question=x["question"], text=load_prompt(prompts_dir, name), abstained=True,
            backend=backend, retrieved=x.get("context", []),
        )

    def relevant(x: dict) -> bool:
        # Below this similarity the nearest passage is about something else: say so, don't guess.
        return bool(x["context"]) and x["context"][0].score >= min_relevance

    def cite(x: dict) -> Answer:
        draft = x["draft"].strip()
        if not draft or draft.startswith(NO_ANSWER):
            return abstain(x)
        answer = resolve_citations(x["question"], draft, x["context"], backend)
        if not answer.citations:  # nothing in the draft points at a passage: not grounded
            return abstain(x)
        return answer.model_copy(update={"retrieved": x["context"]})

    retrieve = RunnablePassthrough.assign(
        context=RunnableLambda(
            lambda x: pack_context(retriever.retrieve(x["question"], top_k, x.get("where")),
                                   context_tokens, count_tokens),
            name="retrieve_and_pack",
        )
    )
    answer = RunnablePassthrough.assign(draft=answerer) | RunnableLambda(cite, name="cite")
    return (
        retrieve | RunnableBranch((relevant, answer), RunnableLambda(abstain, name="abstain"))
    ).with_config(run_name="newsdesk_answer")
