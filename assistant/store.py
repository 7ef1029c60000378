"""The Chroma store: chunks with their vectors and article metadata.

A persistent client under ``data_dir/chroma`` by default, or an HTTP client to a ``chroma run``
server (several processes must share a server, never a persistent folder). Chroma's default
embedding function downloads a model, so vectors always come from our :class:`Embedder`.

Chunk ids derive from content, and every chunk carries its article's content hash and chunk
count. That makes writes idempotent (re-ingesting adds nothing) and lets an article be replaced
by writing its new chunks first and deleting the stale ones after: an interrupted write is seen
as "changed" on the next run and completed then.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.lexical import LexicalIndex
from assistant.types import Article, ArticleInfo, Chunk, RetrievedChunk

SCHEMA_VERSION = 1


class EmbedderMismatchError(RuntimeError):
    """The collection was built with another embedding model than the one configured."""


@dataclass
class WriteResult:
    status: str  # "added" | "updated" | "unchanged"
    added: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass
class WritePlan:
    """What storing ``article`` as exactly ``chunks`` takes, given what is stored (``old``)."""

    article: Article
    chunks: Sequence[Chunk]
    old: dict[str, dict]  # stored chunk id -> metadata

    @property
    def new_chunks(self) -> list[Chunk]:
        return [c for c in self.chunks if c.id not in self.old]

    @property
    def stale_ids(self) -> list[str]:
        ids = {c.id for c in self.chunks}
        return [cid for cid in self.old if cid not in ids]

    @property
    def unchanged(self) -> bool:
        content_hash = self.article.content_hash
        return (
            bool(self.old)
            and not self.new_chunks
            and not self.stale_ids
            and all(m.get("content_hash") == content_hash for m in self.old.values())
        )


def make_client(settings):
    """A Chroma client for ``settings`` (telemetry off)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_mode == "http":
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class ChromaStore:
    """Article-level writes and chunk-level queries over one Chroma collection."""

    def __init__(
        self, client, collection_name: str, embedder_fingerprint: str,
        lexical_dir: Path | None = None,
    ):
        self.client, self.name = client, collection_name
        self.lexical = LexicalIndex(lexical_dir / f"{collection_name}.json.gz" if lexical_dir else None)
        self._snapshot_read = False
        self.collection = client.get_or_create_collection(
            collection_name,
            embedding_function=None,
            metadata={
                "hnsw:space": "cosine",
                "embedder": embedder_fingerprint,
                "schema": SCHEMA_VERSION,
            },
        )
        built_with = (self.collection.metadata or {}).get("embedder")
        if built_with != embedder_fingerprint:
            raise EmbedderMismatchError(
                f"collection {collection_name!r} was built with embedder {built_with!r}, but this "
                f"assistant is configured with {embedder_fingerprint!r}; its vectors cannot be "
                "compared. Set ASSISTANT_EMBEDDING_MODEL back, or re-index into a new collection "
                f"(ASSISTANT_COLLECTION=<new name>) and ingest the articles again."
            )

    def drop(self) -> None:
        """Delete the whole collection (used for throw-away evaluation collections)."""
        self.client.delete_collection(self.name)

    # --- the lexical index, kept in step --------------------------------------------------------

    def _marker(self) -> str | None:
        # fetched afresh: another process sharing the server may have written since
        return (self.client.get_collection(self.name).metadata or {}).get("lexical_marker")

    def _set_marker(self) -> str:
        marker = uuid.uuid4().hex
        meta = {k: v for k, v in (self.collection.metadata or {}).items() if not k.startswith("hnsw:")}
        self.collection.modify(metadata={**meta, "lexical_marker": marker})
        return marker

    def sync_lexical(self) -> LexicalIndex:
        """The lexical index, rebuilt from Chroma if it does not reflect the collection."""
        current = self._marker()
        if self.lexical.marker == current and (current is not None or len(self.lexical)):
            return self.lexical
        if not self._snapshot_read:
            self._snapshot_read = True
            if self.lexical.load() and self.lexical.marker == current:
                return self.lexical
        self.lexical.replace_all(self._all_documents())
        self.lexical.marker = current
        self.lexical.save()
        return self.lexical

    def save_lexical(self) -> None:
        """Persist the snapshot (after a batch of writes; a snapshot per article would cost)."""
        self.lexical.save()

    def _all_documents(self, page: int = 5000):
        offset = 0
        while True:
            got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield cid, doc, int(meta.get("date_int", 0))
            if len(got["ids"]) < page:
                return
            offset += page

    # --- writes ------------------------------------------------------------------------------

    def existing(self, article_id: str) -> dict[str, dict]:
        got = self.collection.get(where={"article_id": article_id}, include=["metadatas"])
        return dict(zip(got["ids"], got["metadatas"], strict=True))

    def plan(self, article: Article, chunks: Sequence[Chunk]) -> WritePlan:
        return WritePlan(article, chunks, self.existing(article.id))

    def write(self, plan: WritePlan, vectors: dict[str, list[float]]) -> WriteResult:
        """Carry out ``plan``; ``vectors`` holds the embeddings of its new chunks."""
        chunks = plan.chunks
        if plan.unchanged:
            return WriteResult("unchanged", unchanged=len(chunks))
        content_hash = plan.article.content_hash
        metas = {c.id: self._metadata(plan.article, c, len(chunks), content_hash) for c in chunks}
        new = plan.new_chunks
        kept = [c.id for c in chunks if c.id in plan.old]
        stale = plan.stale_ids
        # New chunks first, stale ones last: a crash in between leaves a state the next run
        # recognises as "changed" and repairs, never an article with missing text.
        self.sync_lexical()
        # A fresh marker before the data: a crash mid-write leaves a marker no snapshot has,
        # so the next open rebuilds the lexical index from Chroma.
        pre = self._set_marker()
        if new:
            self.collection.upsert(
                ids=[c.id for c in new],
                embeddings=[vectors[c.id] for c in new],
                documents=[c.text for c in new],
                metadatas=[metas[c.id] for c in new],
            )
        if kept:  # unchanged passages of a changed article keep their vectors
            self.collection.update(ids=kept, metadatas=[metas[cid] for cid in kept])
        if stale:
            self.collection.delete(ids=stale)
        self._lexical_after_write(
            pre, [(c.id, c.text, int(metas[c.id].get("date_int", 0))) for c in new], kept,
            int(metas[kept[0]].get("date_int", 0)) if kept else 0, stale,
        )
        return WriteResult(
            "updated" if plan.old else "added", added=len(new), removed=len(stale),
            unchanged=len(kept),
        )

    def delete_article(self, article_id: str) -> int:
        ids = list(self.existing(article_id))
        if ids:
            self.sync_lexical()
            pre = self._set_marker()
            self.collection.delete(ids=ids)
            self._lexical_after_write(pre, [], [], 0, ids)
            self.save_lexical()
        return len(ids)

    def _lexical_after_write(self, pre: str, added, kept, kept_date, removed) -> None:
        raced = self._marker() != pre  # another process wrote while we did
        marker = self._set_marker()
        self.lexical.upsert(added)
        self.lexical.set_date(kept, kept_date)
        self.lexical.delete(removed)
        self.lexical.marker = None if raced else marker  # raced: rebuild from Chroma next query

    @staticmethod
    def _metadata(article: Article, chunk: Chunk, n_chunks: int, content_hash: str) -> dict:
        meta = {
            "article_id": article.id,
            "title": article.title,
            "source": article.source,
            "chunk_index": chunk.index,
            "n_chunks": n_chunks,
            "start": chunk.start,
            "end": chunk.end,
            "content_hash": content_hash,
        }
        if article.date:
            meta["date"] = article.date
            meta["date_int"] = int(article.date.replace("-", ""))  # Chroma filters on numbers
        if article.url:
            meta["url"] = article.url
        return meta

    # --- reads -------------------------------------------------------------------------------

    def count(self) -> int:
        return self.collection.count()

    def articles(self) -> list[ArticleInfo]:
        got = self.collection.get(include=["metadatas"])
        found: dict[str, ArticleInfo] = {}
        for meta in got["metadatas"]:
            info = found.get(meta["article_id"])
            if info is None:
                found[meta["article_id"]] = ArticleInfo(
                    id=meta["article_id"], title=meta["title"], date=meta.get("date"),
                    source=meta["source"], chunks=1,
                )
            else:
                info.chunks += 1
        return sorted(found.values(), key=lambda a: (a.date or "", a.title), reverse=True)

    def get(self, ids: Sequence[str], vector: Sequence[float]) -> list[RetrievedChunk]:
        """Chunks by id (order kept), scored by cosine similarity to ``vector``."""
        if not ids:
            return []
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        q = np.asarray(vector, dtype=np.float32)
        by_id = {
            cid: _chunk(cid, doc, meta, float(np.dot(q, np.asarray(emb, dtype=np.float32))))
            for cid, doc, meta, emb in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        }
        return [by_id[cid] for cid in ids if cid in by_id]

    def query(self, vector: list[float], k: int, where: dict | None = None) -> list[RetrievedChunk]:
        n = min(k, self.count())
        if n == 0:
            return []
        res = self.collection.query(
            query_embeddings=[vector], n_results=n, where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            _chunk(cid, doc, meta, 1.0 - dist)
            for cid, doc, meta, dist in zip(
                res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0],
                strict=True,
            )
        ]


def _chunk(cid: str, doc: str, meta: dict, score: float) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=cid, article_id=meta["article_id"], title=meta["title"], date=meta.get("date"),
        source=meta["source"], text=doc, start=meta["start"], end=meta["end"], score=score,
        url=meta.get("url"),
    )
