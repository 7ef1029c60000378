"""Evaluation suites: the JSONL case format (see evals/README.md) and BEIR-format sets."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from assistant.types import Article, Turn, digest

Kind = Literal[
    "fact", "list", "number", "date", "paraphrase", "follow-up", "multi-article",
    "time-sensitive", "unanswerable", "who-said-what", "retrieval",
]
Fact = str | list[str]  # one phrase, or alternatives of which any one will do


class Filters(BaseModel, extra="forbid"):
    since: str | None = None
    until: str | None = None


class Case(BaseModel, extra="forbid"):
    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    history: list[Turn] = []
    answerable: bool = True
    expected: list[Fact] = []
    gold_articles: list[str] = []
    gold_quotes: list[str] = []
    kind: Kind = "fact"
    split: Literal["dev", "test"] = "test"
    filters: Filters | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if self.answerable and not (self.expected or self.gold_articles or self.gold_quotes):
            raise ValueError("an answerable case needs 'expected', 'gold_articles' or 'gold_quotes'")
        if not self.answerable and self.expected:
            raise ValueError("an unanswerable case cannot have 'expected' facts")
        for fact in self.expected:
            if isinstance(fact, list) and not fact:
                raise ValueError("an 'expected' fact given as alternatives needs at least one")
        return self


@dataclass
class Suite:
    name: str
    cases: list[Case]
    path: str = ""
    articles: list[Article] = field(default_factory=list)  # BEIR sets bring their own corpus

    def split(self, name: str | None) -> Suite:
        if not name or name == "all":
            return self
        return Suite(self.name, [c for c in self.cases if c.split == name], self.path,
                     self.articles)


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and line."""


def load_suite(path: str | Path) -> Suite:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SuiteError(f"{path}: cannot read the suite ({err})") from None
    cases: list[Case] = []
    problems: list[str] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            case = Case.model_validate_json(line)
        except ValidationError as err:
            detail = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'case'}: {e['msg']}" for e in err.errors()
            )
            problems.append(f"{path}:{lineno}: {detail}")
            continue
        if case.id in seen:
            problems.append(f"{path}:{lineno}: duplicate id {case.id!r}")
            continue
        seen.add(case.id)
        cases.append(case)
    if problems:
        raise SuiteError("\n".join(problems))
    if not cases:
        raise SuiteError(f"{path}: the suite has no cases")
    return Suite(path.stem, cases, str(path))


def load_beir(root: str | Path, split: str = "test") -> Suite:
    """A BEIR-format set (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) as a suite.

    Each BEIR document becomes an article whose URL is ``beir:<doc id>``; each query with
    relevance judgements becomes a retrieval case whose gold articles are its relevant docs.
    """
    root = Path(root)
    needed = [root / "corpus.jsonl", root / "queries.jsonl", root / "qrels" / f"{split}.tsv"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise SuiteError(f"not a BEIR folder, missing: {', '.join(missing)}")
    articles = []
    for lineno, row in _jsonl(needed[0]):
        try:
            doc_id, text = str(row["_id"]), str(row["text"])
        except KeyError as err:
            raise SuiteError(f"{needed[0]}:{lineno}: missing field {err}") from None
        if text.strip():
            url = f"beir:{doc_id}"
            articles.append(Article(
                id=digest("article", url), title=str(row.get("title") or doc_id).strip(),
                text=text.strip(), source=url, url=url,
            ))
    queries = {str(row["_id"]): str(row["text"]) for _, row in _jsonl(needed[1])}
    qrels: dict[str, list[str]] = defaultdict(list)
    with needed[2].open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or row[0] in ("query-id", "query_id"):
                continue
            if float(row[2]) > 0:
                qrels[row[0]].append(f"beir:{row[1]}")
    cases = [
        Case(id=qid, question=queries[qid], gold_articles=docs, kind="retrieval", split="test")
        for qid, docs in qrels.items() if qid in queries
    ]
    if not cases:
        raise SuiteError(f"{root}: no query has relevance judgements in qrels/{split}.tsv")
    return Suite(root.name, cases, str(root), articles)


def _jsonl(path: Path):
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as err:
                    raise SuiteError(f"{path}:{lineno}: invalid JSON ({err.msg})") from None
