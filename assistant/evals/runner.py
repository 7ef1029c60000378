"""Run a suite through a system and score every case.

>>> from assistant import Assistant
>>> from assistant.evals import evaluate, load_suite
>>> result = evaluate(Assistant.from_settings(), load_suite("evals/suites/seed.jsonl"))
>>> result.summary["all"]["correctness"]
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel

from assistant.chunking import sentence_spans
from assistant.evals.metrics import (
    answer_metrics,
    article_matches,
    citation_metrics,
    holds_quote,
    one_sentence_holds,
    percentile,
    retrieval_metrics,
)
from assistant.evals.suite import Case, Suite
from assistant.prompts import load_prompt
from assistant.support import LexicalJudge, SupportJudge
from assistant.text import normalize
from assistant.types import Answer, RetrievedChunk

# Metrics averaged in summaries, in the order reports show them.
RETRIEVAL_METRICS = ["recall@1", "recall@5", "recall@10", "article_recall@5", "mrr", "ndcg@10"]
ANSWER_METRICS = [
    "correctness", "first_sentence_correctness", "first_sentence_ceiling", "fact_recall",
    "abstention_accuracy", "false_abstention_rate", "words_p50", "words_p90",
]
CITATION_METRICS = ["citation_precision", "citation_recall", "faithfulness"]
# "abstention_accuracy" is the trap abstention: the share of unanswerable cases declined;
# "false_abstention_rate" the share of answerable ones declined.
HEADLINE = [
    "recall@5", "mrr", "ndcg@10", "correctness", "first_sentence_correctness",
    "first_sentence_ceiling", "abstention_accuracy", "false_abstention_rate", "words_p50",
    "citation_precision", "citation_recall", "faithfulness",
]
# Higher is better for every metric but these.
LOWER_IS_BETTER = {"false_abstention_rate", "latency_p50_s", "latency_p95_s", "words_p50",
                   "words_p90"}


@dataclass
class SystemOutput:
    answer: Answer
    ranked: list[RetrievedChunk]  # the retrieval ranking scored by the retrieval metrics
    context: list[RetrievedChunk]  # the passages the answer was drawn from
    seconds: float  # time to the answer
    retrieval_seconds: float


class System(Protocol):
    """What the runner evaluates: the assistant, or a baseline pipeline beside it."""

    name: str

    def run(self, case: Case, depth: int) -> SystemOutput: ...

    def describe(self) -> dict[str, Any]: ...


class AssistantSystem:
    """The assistant as configured: ``search`` for the ranking, ``ask`` for the answer."""

    def __init__(self, assistant, name: str = "assistant"):
        self.assistant = assistant
        self.name = name

    def run(self, case: Case, depth: int) -> SystemOutput:
        filters = case.filters.model_dump() if case.filters else {}
        t0 = time.perf_counter()
        ranked = self.assistant.search(case.question, depth, history=case.history, **filters)
        t1 = time.perf_counter()
        answer = self.assistant.ask(case.question, history=case.history, **filters)
        t2 = time.perf_counter()
        return SystemOutput(answer, ranked, answer.retrieved, t2 - t1, t1 - t0)

    def describe(self) -> dict[str, Any]:
        s = self.assistant.settings
        return {
            "backend": self.assistant.backend,
            "embedding_model": s.embedding_model,
            "chunk_size": s.chunk_size,
            "chunk_overlap": s.chunk_overlap,
            "top_k": s.top_k,
            "min_relevance": s.min_relevance,
            "context_tokens": s.context_tokens,
        }


class CaseResult(BaseModel):
    id: str
    kind: str
    split: str
    question: str
    history: list[dict] = []
    answerable: bool
    expected: list = []
    gold_articles: list[str] = []
    gold_quotes: list[str] = []
    answer: str = ""
    abstained: bool = False
    citations: list[dict] = []
    retrieved: list[dict] = []
    metrics: dict[str, Any] = {}
    sentences: list[dict] = []
    llm_judge: dict | None = None
    seconds: float | None = None
    retrieval_seconds: float | None = None
    error: str | None = None


class EvalResult(BaseModel):
    system: str
    suite: str
    suite_path: str = ""
    judge: str
    started_at: str
    config: dict[str, Any] = {}
    cases: list[CaseResult]
    summary: dict[str, dict[str, Any]] = {}  # group ("all", "split:dev", "kind:list") -> figures

    def figures(self, group: str = "all") -> dict[str, Any]:
        return self.summary.get(group, {})


def evaluate(
    system,
    suite: Suite,
    *,
    judge: SupportJudge | None = None,
    depth: int = 10,
    llm_judge: BaseChatModel | None = None,
    prompts_dir: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    archive: Sequence[str] | None = None,
) -> EvalResult:
    """Score every case of ``suite``; ``system`` is an :class:`Assistant` or a :class:`System`.
    ``archive``: the texts of the articles answered from, for ``first_sentence_ceiling``."""
    if not hasattr(system, "run"):
        system = AssistantSystem(system)
    judge = judge or LexicalJudge()
    grader = _llm_grader(llm_judge, prompts_dir) if llm_judge is not None else None
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    results = []
    for done, case in enumerate(suite.cases, start=1):
        results.append(_score_case(system, case, judge, depth, grader))
        if progress:
            progress(done, len(suite.cases), case.id)
    if archive is not None:
        sentences = [normalize(text[a:b]) for text in archive for a, b in sentence_spans(text)]
        for r in results:
            if r.answerable and r.expected and r.error is None:
                r.metrics["first_reachable"] = one_sentence_holds(r.expected, sentences)
    result = EvalResult(
        system=system.name, suite=suite.name, suite_path=suite.path, judge=judge.name,
        started_at=started, config=system.describe(), cases=results,
    )
    result.summary = summarize(results)
    return result


def _score_case(system, case: Case, judge: SupportJudge, depth: int, grader) -> CaseResult:
    base = CaseResult(
        id=case.id, kind=case.kind, split=case.split, question=case.question,
        history=[t.model_dump() for t in case.history], answerable=case.answerable,
        expected=list(case.expected), gold_articles=case.gold_articles,
        gold_quotes=case.gold_quotes,
    )
    try:
        out = system.run(case, depth)
    except Exception as err:  # one broken case must not sink the run: record it and go on
        base.error = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
        return base
    answer = out.answer
    metrics: dict[str, Any] = {}
    if case.answerable:
        metrics.update(retrieval_metrics(out.ranked, case.gold_articles, case.gold_quotes))
    am = answer_metrics(case.expected, case.answerable, answer)
    base.metrics = metrics
    metrics.update({k: v for k, v in am.items() if k != "facts_found"})
    if am.get("facts_found") is not None:
        metrics["facts_found"] = am["facts_found"]
    cm = citation_metrics(answer, judge, out.context)
    base.sentences = cm.pop("sentences", [])
    metrics.update(cm)
    if grader is not None and case.answerable and not answer.abstained:
        base.llm_judge = grader(case, answer.text)
        metrics["llm_correct"] = base.llm_judge["correct"]
    base.answer = answer.text
    base.abstained = answer.abstained
    base.citations = [
        {"n": c.n, "chunk_id": c.chunk_id, "article_id": c.article_id, "title": c.title,
         "date": c.date, "source": c.source, "quote": c.quote, "score": c.score}
        for c in answer.citations
    ]
    base.retrieved = [
        {"rank": rank, "chunk_id": c.chunk_id, "article_id": c.article_id, "title": c.title,
         "date": c.date, "source": c.source, "score": round(c.score, 4),
         "relevant": _relevant(c, case), "text": c.text}
        for rank, c in enumerate(out.ranked, start=1)
    ]
    base.seconds = round(out.seconds, 4)
    base.retrieval_seconds = round(out.retrieval_seconds, 4)
    return base


def _relevant(chunk: RetrievedChunk, case: Case) -> bool:
    if case.gold_quotes:
        return any(holds_quote(chunk.text, q) for q in case.gold_quotes)
    return any(article_matches(chunk, g) for g in case.gold_articles)


def _llm_grader(llm: BaseChatModel, prompts_dir: Path | None):
    from assistant.config import Settings

    prompts_dir = prompts_dir or Settings().prompts_dir
    prompt = ChatPromptTemplate.from_messages([
        ("system", load_prompt(prompts_dir, "judge.system.md")),
        ("human", load_prompt(prompts_dir, "judge.human.md")),
    ])
    chain = prompt | llm | StrOutputParser()

    def grade(case: Case, answer: str) -> dict:
        facts = "\n".join(
            "- " + (f if isinstance(f, str) else " / ".join(f)) for f in case.expected
        ) or "- (none listed: judge whether the answer responds to the question)"
        reply = chain.invoke({"question": case.question, "expected": facts, "answer": answer})
        verdict = reply.strip().split(maxsplit=1)[0].strip(".:*").upper() if reply.strip() else ""
        return {"correct": verdict == "CORRECT", "reply": reply.strip()[:500]}

    return grade


# --- summaries -------------------------------------------------------------------------------


def summarize(results: list[CaseResult]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        groups["all"].append(r)
        groups[f"split:{r.split}"].append(r)
        groups[f"kind:{r.kind}"].append(r)
    return {name: _figures(rs) for name, rs in sorted(groups.items(), key=_group_order)}


def _group_order(item):
    name = item[0]
    return (0 if name == "all" else 1 if name.startswith("split:") else 2, name)


def _figures(results: list[CaseResult]) -> dict[str, Any]:
    ok = [r for r in results if r.error is None]
    answerable = [r for r in ok if r.answerable]
    answered = [r for r in ok if not r.abstained]

    def mean(rs, key, transform=lambda v: v):
        values = [transform(r.metrics[key]) for r in rs if r.metrics.get(key) is not None]
        return round(sum(values) / len(values), 4) if values else None

    fig: dict[str, Any] = {
        "cases": len(results),
        "errors": len(results) - len(ok),
        "answerable": len(answerable),
        "unanswerable": len(ok) - len(answerable),
    }
    for key in RETRIEVAL_METRICS:
        fig[key] = mean(answerable, key)
    fig["correctness"] = mean(answerable, "correct", float)
    fig["first_sentence_correctness"] = mean(answerable, "first_correct", float)
    fig["first_sentence_ceiling"] = mean(answerable, "first_reachable", float)
    words = [r.metrics["words"] for r in answered if r.metrics.get("words") is not None]
    fig["words_p50"] = float(statistics.median(words)) if words else None
    fig["words_p90"] = percentile(words, 90)
    fig["fact_recall"] = mean(answerable, "fact_recall")
    fig["abstention_accuracy"] = mean([r for r in ok if not r.answerable],
                                      "abstention_correct", float)
    fig["false_abstention_rate"] = mean(answerable, "false_abstention", float)
    for key in CITATION_METRICS:
        fig[key] = mean(answered, key)
    llm = [r for r in answerable if r.metrics.get("llm_correct") is not None]
    if llm:
        fig["llm_correctness"] = mean(llm, "llm_correct", float)
    seconds = [r.seconds for r in ok if r.seconds is not None]
    fig["latency_p50_s"] = _round(percentile(seconds, 50))
    fig["latency_p95_s"] = _round(percentile(seconds, 95))
    retrieval = [r.retrieval_seconds for r in ok if r.retrieval_seconds is not None]
    fig["retrieval_p50_s"] = _round(percentile(retrieval, 50))
    return fig


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
