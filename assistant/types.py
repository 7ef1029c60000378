"""The data that flows through the pipeline, stage to stage.

files ─load─▶ Article ─chunk─▶ Chunk ─embed/store─▶ RetrievedChunk ─answer─▶ Answer(citations)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from pydantic import BaseModel


def digest(*parts: str, length: int = 16) -> str:
    """Stable short id from text parts (NUL-separated so ("ab","c") != ("a","bc"))."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:length]


# What decides which stored version of an article readers see, per chunk:
# (article id, content hash, n_chunks, written ns). See the docstring of assistant.store.
ChunkVersion = tuple[str, str, int, int]


def committed_versions(versions: Iterable[ChunkVersion]) -> dict[str, str]:
    """article id -> content hash of its newest complete version (all ``n_chunks`` chunks
    present); articles with no complete version are left out."""
    groups: dict[tuple[str, str], list] = {}  # (article, hash) -> [count, n_chunks, written]
    for article_id, content_hash, n_chunks, written in versions:
        group = groups.setdefault((article_id, content_hash), [0, n_chunks, 0])
        group[0] += 1
        group[2] = max(group[2], written)
    best: dict[str, tuple[int, str]] = {}
    for (article_id, content_hash), (count, n_chunks, written) in groups.items():
        if count == n_chunks and (article_id not in best or written > best[article_id][0]):
            best[article_id] = (written, content_hash)
    return {article_id: content_hash for article_id, (_, content_hash) in best.items()}


@dataclass(frozen=True)
class Article:
    """One cleaned article. ``text`` is what chunk offsets and citation quotes refer to."""

    id: str
    title: str
    text: str
    source: str
    date: str | None = None  # ISO YYYY-MM-DD publication date, when known
    url: str | None = None

    @cached_property  # asked for several times per write; the article is immutable
    def content_hash(self) -> str:
        return digest(self.title, self.date or "", self.url or "", self.text)


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: ``article.text[start:end] == text``."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class RetrievedChunk:
    """A stored chunk returned for a question, with the article fields a citation needs."""

    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str
    text: str
    start: int
    end: int
    score: float  # cosine similarity of the question to the chunk; 1.0: it holds a quoted phrase
    url: str | None = None
    also_in: tuple[str, ...] = ()  # near-duplicate passages of other outlets folded into this one


class Turn(BaseModel):
    """One earlier turn of a conversation."""

    role: Literal["user", "assistant"]
    content: str


class Citation(BaseModel):
    """What an inline marker ``[n]`` points to."""

    n: int
    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str
    quote: str  # the exact sentences of the chunk that back the citing sentences (" … " joined)
    quote_spans: list[tuple[int, int]]  # where those sentences sit within ``chunk_text``
    chunk_text: str
    article_start: int  # offsets of the chunk within the article text
    article_end: int
    score: float  # retrieval similarity of the chunk to the question
    also_in: list[str] = []  # other outlets' near-identical passages, folded into this one
    # how well the chunk backs the sentences citing it, in [0, 1] (the lowest over those
    # sentences); None when the citations were not verified
    support: float | None = None


class Answer(BaseModel):
    """A cited answer. ``text`` carries markers ``[n]`` that index ``citations``."""

    question: str
    text: str
    citations: list[Citation] = []
    abstained: bool = False  # True when the articles do not hold the answer
    backend: str = ""
    retrieved: list[RetrievedChunk] = []  # the passages the answer was drawn from, best first
    rewritten_question: str | None = None  # the stand-alone form of a follow-up, when rewritten

    def sources_text(self) -> str:
        """Numbered source list, one line per citation."""
        return "\n".join(
            f"[{c.n}] {c.title} ({c.date or 'undated'}) — {c.source}" for c in self.citations
        )


class ArticleInfo(BaseModel):
    id: str
    title: str
    date: str | None
    source: str
    chunks: int


@dataclass
class LoadError(Exception):
    """A file (or one line of it) that could not be ingested, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class IngestReport:
    """What one ingest run did."""

    articles_added: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    failures: list[LoadError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files of unsupported types in folders

    @property
    def ok(self) -> bool:
        return not self.failures
