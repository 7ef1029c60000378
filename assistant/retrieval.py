"""Finding the chunks that may answer a question.

>>> retriever = DenseRetriever(store, embedder)
>>> [c.title for c in retriever.retrieve("What does the minerals framework cover?", k=3)]
"""

from __future__ import annotations

from typing import Protocol

from assistant.embeddings import Embedder
from assistant.store import ChromaStore
from assistant.types import RetrievedChunk


class Retriever(Protocol):
    def retrieve(self, question: str, k: int) -> list[RetrievedChunk]: ...


class DenseRetriever:
    """Nearest chunks by cosine similarity of normalised embeddings (Chroma HNSW)."""

    def __init__(self, store: ChromaStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def retrieve(self, question: str, k: int) -> list[RetrievedChunk]:
        return self.store.query(self.embedder.embed_query(question), k)
