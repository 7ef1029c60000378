"""Finding the chunks that may answer a question.

>>> retriever = DenseRetriever(store, embedder)
>>> [c.title for c in retriever.retrieve("What does the minerals framework cover?", k=3)]
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from assistant.embeddings import Embedder
from assistant.store import ChromaStore
from assistant.types import RetrievedChunk


class Retriever(Protocol):
    def retrieve(self, question: str, k: int, where: dict | None = None) -> list[RetrievedChunk]: ...


def date_where(since: str | None = None, until: str | None = None) -> dict | None:
    """A Chroma ``where`` clause for a publication-date range (inclusive, ISO dates).

    Undated articles are left out of a filtered search: nothing says they fall in the range.
    """
    conds = []
    for op, value in (("$gte", since), ("$lte", until)):
        if value:
            try:
                day = dt.date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None
            conds.append({"date_int": {op: int(day.strftime("%Y%m%d"))}})
    if since and until and since > until:
        raise ValueError(f"the date range is empty: since {since} is after until {until}")
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


class DenseRetriever:
    """Nearest chunks by cosine similarity of normalised embeddings (Chroma HNSW)."""

    def __init__(self, store: ChromaStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def retrieve(self, question: str, k: int, where: dict | None = None) -> list[RetrievedChunk]:
        return self.store.query(self.embedder.embed_query(question), k, where=where)
