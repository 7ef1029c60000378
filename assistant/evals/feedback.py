"""Turn the web chat's thumbs up/down (JSONL, see ``assistant.ui.FeedbackLog``) into a suite.

A liked answer becomes a regression case: the same question (and history, and date filters)
must keep finding the articles and quotes it cited; a liked abstention becomes an
``unanswerable`` case. A disliked answer says something is wrong but not what is right, so it
cannot become a case by itself: it goes to ``OUT.review.jsonl`` for a person to label (add
``expected`` facts or mark it unanswerable) and append to the suite.

>>> from assistant.evals.feedback import feedback_to_suite
>>> feedback_to_suite("data/feedback.jsonl", "evals/suites/feedback.jsonl")
FeedbackConversion(cases=12, review=3, skipped=0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.evals.suite import Case, Filters
from assistant.types import Turn, digest


@dataclass
class FeedbackConversion:
    cases: int  # written to the suite
    review: int  # disliked answers written for review
    skipped: int  # unreadable lines and repeated questions (the latest vote wins)


def feedback_to_suite(feedback_path: str | Path, out_path: str | Path) -> FeedbackConversion:
    """Write one suite case per liked answer to ``out_path`` and the disliked ones to
    ``<out_path stem>.review.jsonl`` beside it. The last vote on a question counts."""
    latest: dict[str, dict] = {}
    skipped = 0
    for line in Path(feedback_path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = _case_id(row)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            skipped += 1
            continue
        if key in latest:
            skipped += 1
        latest[key] = row
    cases, review = [], []
    for key, row in latest.items():
        if row.get("liked"):
            cases.append(_case(key, row))
        else:
            review.append({"id": key, **{k: row.get(k) for k in (
                "question", "history", "filters", "answer", "abstained", "citations", "ts")}})
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(c.model_dump_json(exclude_defaults=True) + "\n" for c in cases),
                   encoding="utf-8")
    review_path = out.with_name(out.stem + ".review.jsonl")
    if review:
        review_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in review),
                               encoding="utf-8")
    return FeedbackConversion(cases=len(cases), review=len(review), skipped=skipped)


def _case_id(row: dict) -> str:
    history = [(t["role"], t["content"]) for t in row.get("history") or []]
    filters = row.get("filters") or {}
    return "fb-" + digest(row["question"].strip(), json.dumps(history),
                          str(filters.get("since")), str(filters.get("until")), length=12)


def _case(key: str, row: dict) -> Case:
    filters = {k: v for k, v in (row.get("filters") or {}).items() if v}
    common = {
        "id": key, "question": row["question"], "split": "dev",
        "history": [Turn.model_validate(t) for t in row.get("history") or []],
        "filters": Filters(**filters) if filters else None,
        "kind": "follow-up" if row.get("history") else ("time-sensitive" if filters else "fact"),
        "notes": f"from web chat feedback {row.get('ts', '')}".strip(),
    }
    citations = row.get("citations") or []
    if row.get("abstained") or not citations:
        return Case(answerable=False, **{**common, "kind": "unanswerable"})
    return Case(
        answerable=True,
        gold_articles=sorted({c["article_id"] for c in citations}),
        # a citation quotes several sentences joined by " … ": each is a quote of its own
        gold_quotes=list(dict.fromkeys(
            q for c in citations for q in (c.get("quote") or "").split(" … ") if q.strip())),
        **common,
    )
