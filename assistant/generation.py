"""Answerers: turn a question and numbered context passages into a draft with ``[n]`` markers.

Each answerer is a LangChain Runnable taking ``{"question": str, "context": [RetrievedChunk]}``
and returning the draft text, or :data:`NO_ANSWER` when the passages do not hold the answer.

* :class:`ExtractiveAnswerer` — the offline default: picks the sentences of the passages that
  answer the question (embedding similarity plus question-term overlap) and cites each one.
  No generative model ships inside a PyPI wheel that runs usefully on 2 CPU cores, and an
  extractive answer can never state what its source does not.
* :func:`llm_answerer` — any LangChain chat model (an OpenAI-compatible endpoint such as vLLM,
  Ollama or llama.cpp, or a fake chat model in tests) with the prompts in ``prompts/``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.chunking import sentence_spans
from assistant.embeddings import Embedder
from assistant.prompts import load_prompt
from assistant.retrieval import LATEST
from assistant.text import names, terms
from assistant.types import RetrievedChunk

NO_ANSWER = "NO_ANSWER"  # the reply prompts/answer.system.md asks for when articles lack the answer

# Sentences that open with these continue the previous one ("It mentioned that ..."), so they
# inherit part of its relevance: news writing states a topic once and then refers back to it.
_ANAPHORA = re.compile(
    r"^[\"'“‘(]*(it|its|they|their|this|these|those|that|such|both|the statement|the agreement|"
    r"the framework|the deal|he|she|his|her|also|additionally|moreover|furthermore|meanwhile)\b",
    re.IGNORECASE,
)


@dataclass
class _Candidate:
    n: int  # context number of the passage the sentence comes from
    article_id: str
    position: int  # sentence start offset within the article
    text: str
    score: float = 0.0
    date: str | None = None


_WHO = re.compile(r"^\W*(who|whom|whose)\b|\bwhich (person|official|minister|company|party)\b",
                  re.IGNORECASE)
# What kind of answer a question wants, and how to spot a sentence that has one: "how many"
# wants a figure, "when" wants a date. A sentence of the right kind gets answer_type_weight more.
_MONTHS = ("january february march april may june july august september october november "
           "december monday tuesday wednesday thursday friday saturday sunday").split()
_EXPECTS = [
    (re.compile(r"\bhow (many|much|large|big|long|far|high|low)\b|\bnumber of\b|\bfigures?\b|"
                r"\bper ?cent|\brate\b|\btoll\b|\blevel\b|\bcost|\bprice|\bshare\b|"
                r"\bturnout\b|\bestimate", re.IGNORECASE),
     re.compile(r"\d")),
    (re.compile(r"\bwhen\b|\b(what|which|on what) (date|day|year|month)\b", re.IGNORECASE),
     re.compile(rf"\b(?:{'|'.join(_MONTHS)})\b|\b(?:19|20)\d\d\b|\b\d{{1,2}}(?:st|nd|rd|th)\b",
                re.IGNORECASE)),
]


class ExtractiveAnswerer:
    """Select, order and cite the sentences of the context that answer the question."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_sentences: int,
        min_score: float,
        relative: float,
        carry: float,
        semantic_weight: float,
        type_weight: float = 0.0,
        recency_weight: float = 0.0,
    ):
        self.embedder = embedder
        self.type_weight = type_weight
        self.recency_weight = recency_weight
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.relative = relative
        self.carry = carry
        self.semantic_weight = semantic_weight

    def __call__(self, inputs: dict) -> str:
        question: str = inputs["question"]
        candidates = self._candidates(inputs["context"])
        if not candidates:
            return NO_ANSWER
        self._score(question, candidates)
        best = max(c.score for c in candidates)
        if best < self.min_score:
            return NO_ANSWER
        floor = max(self.min_score, self.relative * best)
        picked = sorted(
            (c for c in candidates if c.score >= floor), key=lambda c: c.score, reverse=True
        )[: self.max_sentences]
        # Read in article order: passages by rank, sentences by position within their article;
        # for "latest" questions the newest report comes first.
        rank = {}
        for c in candidates:
            rank.setdefault(c.article_id, c.n)
        if LATEST.search(question):
            picked.sort(key=lambda c: (c.date or "", -rank[c.article_id], -c.position), reverse=True)
        else:
            picked.sort(key=lambda c: (rank[c.article_id], c.position))
        return " ".join(_with_marker(c.text, c.n) for c in picked)

    def _candidates(self, context: list[RetrievedChunk]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        out = []
        for n, chunk in enumerate(context, start=1):
            for start, end in sentence_spans(chunk.text):
                key = (chunk.article_id, chunk.start + start)
                if key in seen:  # the same sentence in an overlapping chunk
                    continue
                seen.add(key)
                out.append(_Candidate(n, chunk.article_id, chunk.start + start,
                                      chunk.text[start:end], date=chunk.date))
        return out

    def _score(self, question: str, candidates: list[_Candidate]) -> None:
        vectors = np.asarray(self.embedder.embed_documents([c.text for c in candidates]))
        q = np.asarray(self.embedder.embed_query(question))
        semantic = vectors @ q
        q_terms = terms(question)
        for c, sem in zip(candidates, semantic, strict=True):
            lexical = len(q_terms & terms(c.text)) / len(q_terms) if q_terms else 0.0
            c.score = self.semantic_weight * float(sem) + (1 - self.semantic_weight) * lexical
        if self.type_weight:  # off by default: no pattern work on the hot path
            self._add_type_bonus(question, candidates)
        dates = sorted({c.date for c in candidates if c.date})
        if self.recency_weight and len(dates) > 1 and LATEST.search(question):
            pos = {d: i / (len(dates) - 1) for i, d in enumerate(dates)}
            for c in candidates:
                c.score += self.recency_weight * pos.get(c.date, 0.0)
        # A sentence that refers back ("It mentioned ...") carries on its predecessor's topic.
        ordered = sorted(candidates, key=lambda c: (c.article_id, c.position))
        for prev, cur in zip(ordered, ordered[1:]):
            if prev.article_id == cur.article_id and _ANAPHORA.match(cur.text):
                cur.score = max(cur.score, self.carry * prev.score)

    def _add_type_bonus(self, question: str, candidates: list[_Candidate]) -> None:
        for wants, has in _EXPECTS:
            if wants.search(question):
                for c in candidates:
                    c.score += self.type_weight if has.search(c.text) else 0.0
        if _WHO.search(question):  # "who" wants a name the question does not already give
            asked = names(question) | terms(question)
            for c in candidates:
                c.score += self.type_weight if names(c.text) - asked else 0.0

    def as_runnable(self) -> Runnable:
        return RunnableLambda(self, name="extractive_answerer")


def _with_marker(sentence: str, n: int) -> str:
    """Put ``[n]`` before the closing full stop ("... Japan [1].") or after other endings."""
    if re.search(r"[^.]\.$", sentence) and not sentence.endswith(("..", "…")):
        return f"{sentence[:-1]} [{n}]."
    return f"{sentence} [{n}]"


def format_context(context: list[RetrievedChunk], prompts_dir: Path) -> str:
    """Numbered, delimited passages. Angle brackets in article text are neutralised so an
    article cannot close the block it sits in and pose as instructions."""
    template = load_prompt(prompts_dir, "context_item.txt")
    return "\n\n".join(
        template.format(
            n=n, title=_defang(chunk.title).replace('"', "'"), date=chunk.date or "undated",
            text=_defang(chunk.text),
        )
        for n, chunk in enumerate(context, start=1)
    )


def _defang(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


def pack_context(
    chunks: list[RetrievedChunk], budget: int, count_tokens: Callable[[list[str]], list[int]]
) -> list[RetrievedChunk]:
    """Keep chunks in rank order while their text fits the token budget (always at least one)."""
    sizes = count_tokens([c.text for c in chunks])
    kept, used = [], 0
    for chunk, size in zip(chunks, sizes, strict=True):
        if kept and used + size + 20 > budget:  # ~20 tokens of tags and title per passage
            break
        kept.append(chunk)
        used += size + 20
    return kept


def llm_answerer(llm: BaseChatModel, prompts_dir: Path) -> Runnable:
    """prompt | chat model | text, over the numbered context."""
    prompt = ChatPromptTemplate.from_messages([
        ("system", load_prompt(prompts_dir, "answer.system.md")),
        ("human", load_prompt(prompts_dir, "answer.human.md")),
    ])
    to_prompt_input = RunnableLambda(
        lambda x: {"question": x["question"], "context": format_context(x["context"], prompts_dir)}
    )
    return (to_prompt_input | prompt | llm | StrOutputParser()).with_config(run_name="llm_answerer")


def chat_model_from_settings(settings) -> BaseChatModel:
    """The chat model the settings name (``openai`` endpoint or any LangChain class)."""
    if settings.answer_backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.llm_base_url, model=settings.llm_model,
            api_key=settings.llm_api_key, temperature=settings.llm_temperature,
            timeout=settings.llm_timeout, max_tokens=settings.llm_max_tokens, max_retries=2,
        )
    if settings.answer_backend == "chat_model":
        if not settings.chat_model_class or ":" not in settings.chat_model_class:
            raise ValueError(
                "answer_backend 'chat_model' needs ASSISTANT_CHAT_MODEL_CLASS='package.module:Class'"
            )
        module, _, name = settings.chat_model_class.partition(":")
        return getattr(importlib.import_module(module), name)(**settings.chat_model_kwargs)
    if settings.answer_backend == "llamacpp":
        from assistant.llamacpp import chat_llamacpp_from_settings

        return chat_llamacpp_from_settings(settings)
    raise ValueError(f"answer backend {settings.answer_backend!r} is not a chat model")
