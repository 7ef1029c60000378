"""The Chroma store: chunks with their vectors and article metadata.

A persistent client under ``data_dir/chroma`` by default, or an HTTP client to a ``chroma run``
server (several processes must share a server, never a persistent folder). Chroma's default
embedding function downloads a model, so vectors always come from our :class:`Embedder`.

Chunk ids derive from content, and every chunk carries its article's content hash and chunk
count. That makes writes idempotent (re-ingesting adds nothing) and lets an article be replaced
by writing its new chunks first and deleting the stale ones after: an interrupted write is seen
as "changed" on the next run and completed then.

**What readers see: committed versions only.** A version of an article is the group of its
chunks that share one ``content_hash``; it is *committed* when the group is complete (as many
chunks as their ``n_chunks`` says). Every write stamps its chunks with ``written`` (ns), and
readers (``query``, ``get``, ``articles``) show, per article, only the newest complete group.
Writes take a batch of articles at a time (one ``upsert`` of all their new passages, then one
``update``, then one ``delete``; a call is split only past Chroma's maximum batch size, which is
safe because a partial group is never shown). Per article, that order makes each step a commit
point or invisible:

* a new article is complete once its passages are upserted, and unseen before;
* an edited article: ``upsert`` of its new passages (the new group is still incomplete, the old
  one complete: readers keep the old version) → ``update`` of the kept passages to the new hash
  (the new group is complete and newest: the commit; the old group lost them and is incomplete)
  → ``delete`` of the stale passages (garbage collection). With no kept passage the upsert
  itself is the commit (both groups complete; the newer ``written`` wins);
* a delete is one ``delete`` call.

(Re-chunking an unchanged text, after a chunk-size change, puts both chunkings under one hash:
the article is hidden, never mixed, between the upsert and the delete.) Readers answer "which
version" from the lexical mirror (``assistant.lexical``), which holds each chunk's version and
follows the collection's marker, so a read costs no extra metadata query.

So a crash (kill -9) or a concurrent reader never sees half an article, and no separate manifest
has to be kept in step. Left-over chunks of an interrupted write are invisible, stay in the
lexical cache (which mirrors Chroma's ids, filtered on read like the dense side) and are
repaired by the next ingest of that article (its plan sees them and rewrites).

**Other processes' writes: the change log.** Every write also adds two records to a small
collection ``<name>-changes`` (an *intent* naming the chunk ids it will touch, before its data;
a *done* record after) and sets the collection's ``lexical_marker`` to the record's id. A
process whose marker differs reads the records newer than the last it applied and re-reads
from Chroma only the chunks they name (present: upsert into the mirror; absent: delete), so
applying a change costs the changed chunks, not the collection (a rebuild was ~26 s at 100k
chunks). Applying is by current state, hence idempotent and order-free: two writers may
interleave. An intent without its done record is a write in flight (its chunks are invisible
until it commits, so the mirror waits for it) or a crashed one: past ``writer_grace_s`` its
chunks are re-read anyway. The log keeps ``log_retention_s``; a process further behind, a
marker no record explains (a re-index, a damaged log) or a fresh open during another's write
rebuilds the mirror from Chroma as before.

**Re-indexing** (another embedder, see :meth:`ChromaStore.swap_in`) builds ``<name>-reindex``
beside the live collection, then renames live → ``<name>-old``, new → ``<name>``, and deletes
the old. Opening the store finishes a swap a crash interrupted.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.lexical import Lexical, LexicalIndex
from assistant.types import (
    Article,
    ArticleInfo,
    Chunk,
    ChunkVersion,
    RetrievedChunk,
    committed_versions,
)

SCHEMA_VERSION = 1
LOG_SUFFIX = "-changes"
_SKEW_NS = 10 * 10**9  # log records are re-read this far behind the newest applied (clocks)


class EmbedderMismatchError(RuntimeError):
    """The collection was built with another embedding model than the one configured.

    Fix: ``assistant reindex`` (or ``Assistant.reindex()``) re-embeds every stored article.
    """


@dataclass
class WriteResult:
    status: str  # "added" | "updated" | "unchanged"
    added: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass
class WritePlan:
    """What storing ``article`` as exactly ``chunks`` takes, given what is stored (``old``).

    ``chunking`` names the chunker that made ``chunks``; it is stamped on every chunk, so that
    a later ingest of the same text by the same chunker can skip chunking altogether.
    """

    article: Article
    chunks: Sequence[Chunk]
    old: dict[str, dict]  # stored chunk id -> metadata
    chunking: str

    @property
    def new_chunks(self) -> list[Chunk]:
        return [c for c in self.chunks if c.id not in self.old]

    @property
    def stale_ids(self) -> list[str]:
        ids = {c.id for c in self.chunks}
        return [cid for cid in self.old if cid not in ids]

    @property
    def same_content(self) -> bool:
        """Stored already as exactly these chunks of this text (perhaps under an older stamp)."""
        content_hash = self.article.content_hash
        return (
            bool(self.old)
            and not self.new_chunks
            and not self.stale_ids
            and all(m.get("content_hash") == content_hash for m in self.old.values())
        )


def stored_unchanged(article: Article, old: dict[str, dict], chunking: str) -> bool:
    """Is ``article`` stored whole, with this text, by this chunker? Then there is nothing to
    chunk or embed: a re-ingest of an unchanged archive costs one metadata read per batch."""
    return bool(old) and all(
        m.get("content_hash") == article.content_hash
        and m.get("chunking") == chunking
        and int(m.get("n_chunks", -1)) == len(old)
        for m in old.values()
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
        lexical_dir: Path | None = None, *, strict: bool = True,
        log_retention_s: float = 3600.0, writer_grace_s: float = 60.0,
    ):
        """``strict=False`` opens a collection built with another embedder (for re-indexing
        only: its vectors cannot be compared with this embedder's); ``built_with`` says which."""
        self.client, self.name = client, collection_name
        self.lexical_dir = lexical_dir
        self.lexical: Lexical = LexicalIndex(
            lexical_dir / f"{collection_name}.lexical.npz" if lexical_dir else None)
        self.log_retention_s, self.writer_grace_s = log_retention_s, writer_grace_s
        self._snapshot_read = False
        self._log_collection = None
        self._seen: dict[str, int] = {}  # change-log record id -> stamp, recent ones
        self._open: dict[str, tuple[int, list[str]]] = {}  # intents without done: stamp, ids
        self._sync_lock = threading.RLock()
        _finish_swap(client, collection_name)
        self.collection = client.get_or_create_collection(
            collection_name,
            embedding_function=None,
            metadata={
                "hnsw:space": "cosine",
                "embedder": embedder_fingerprint,
                "schema": SCHEMA_VERSION,
            },
        )
        self.built_with = (self.collection.metadata or {}).get("embedder")
        if self.built_with != embedder_fingerprint and strict:
            raise EmbedderMismatchError(
                f"collection {collection_name!r} was built with embedder {self.built_with!r}, but "
                f"this assistant is configured with {embedder_fingerprint!r}; its vectors cannot "
                "be compared. Run `assistant reindex` to re-index every stored article with the "
                "configured embedder (nothing is lost; the articles are rebuilt from the store), "
                "or set ASSISTANT_EMBEDDING_MODEL back."
            )

    def drop(self) -> None:
        """Delete the whole collection (used for throw-away evaluation collections)."""
        self.client.delete_collection(self.name)
        delete_collection_if_exists(self.client, self.name + LOG_SUFFIX)

    # --- the lexical index, kept in step --------------------------------------------------------

    def _marker(self) -> str | None:
        # fetched afresh: another process sharing the server may have written since
        return (self.client.get_collection(self.name).metadata or {}).get("lexical_marker")

    def _log(self):
        if self._log_collection is None:
            self._log_collection = self.client.get_or_create_collection(
                self.name + LOG_SUFFIX, embedding_function=None,
                metadata={"change_log_of": self.name})
        return self._log_collection

    def _record(self, kind: str, ids: list[str], intent: str | None = None) -> str:
        """Add a change-log record naming ``ids`` and make it the collection's marker."""
        record, stamp = uuid.uuid4().hex, time.time_ns()
        meta = {"stamp": stamp, "kind": kind, **({"intent": intent} if intent else {})}
        self._log().add(ids=[record], embeddings=[[1.0]], documents=[json.dumps(ids)],
                        metadatas=[meta])
        _add_metadata(self.collection, lexical_marker=record)
        if kind == "done":  # the writer keeps the log short
            self._log().delete(where={"stamp": {"$lt": stamp - int(self.log_retention_s * 1e9)}})
        return record

    def sync_lexical(self) -> Lexical:
        """The lexical index, brought up to date with the collection: the changes other
        processes logged since it was last in step, or (see the module docstring) a rebuild."""
        with self._sync_lock:
            current = self._marker()
            lex = self.lexical
            if lex.marker == current and (current is not None or len(lex)) \
                    and not self._overdue():
                return lex
            fresh_open = not self._snapshot_read
            if fresh_open:
                self._snapshot_read = True
                if lex.load() and lex.marker == current:
                    return lex
            horizon = time.time_ns() - int(self.log_retention_s * 1e9) + _SKEW_NS
            if current is not None and lex.position > horizon:
                self._catch_up(whole_log=fresh_open)
                if current in self._seen and not (fresh_open and self._open):
                    lex.marker = current
                    return lex
            self._rebuild()
            return lex

    def _overdue(self) -> bool:
        deadline = time.time_ns() - int(self.writer_grace_s * 1e9)
        return any(stamp < deadline for stamp, _ in self._open.values())

    def _read_log(self, after: int) -> list[tuple[str, dict, list[str]]]:
        got = self._log().get(where={"stamp": {"$gt": after}}, include=["metadatas", "documents"])
        records = [(rid, meta, json.loads(doc)) for rid, meta, doc in
                   zip(got["ids"], got["metadatas"], got["documents"], strict=True)]
        return sorted(records, key=lambda r: r[1]["stamp"])

    def _catch_up(self, whole_log: bool = False) -> None:
        """Apply the log records not yet applied: re-read the chunks they name. With
        ``whole_log`` (a fresh open), older records are read too, only to find writes still
        in flight (or cut short) when the snapshot was taken."""
        lex = self.lexical
        applied_until = lex.position - _SKEW_NS
        touched: set[str] = set()
        for rid, meta, ids in self._read_log(0 if whole_log else applied_until):
            if rid in self._seen:
                continue
            self._seen[rid] = meta["stamp"]
            if meta["kind"] == "intent":
                self._open[rid] = (meta["stamp"], ids)
            else:
                self._open.pop(meta.get("intent", ""), None)
                if meta["stamp"] > applied_until:  # older ones: in the snapshot already
                    touched.update(ids)
            lex.position = max(lex.position, meta["stamp"])
        deadline = time.time_ns() - int(self.writer_grace_s * 1e9)
        for rid, (stamp, ids) in list(self._open.items()):
            if stamp < deadline:  # no done record in time: the writer died; take what is there
                touched.update(ids)
                del self._open[rid]
        floor = lex.position - 2 * _SKEW_NS
        self._seen = {rid: st for rid, st in self._seen.items() if st > floor}
        self._apply(sorted(touched))

    def _apply(self, ids: list[str]) -> None:
        """Make the mirror hold exactly what Chroma holds for these chunk ids."""
        step = int(self.client.get_max_batch_size())
        for i in range(0, len(ids), step):
            part = ids[i:i + step]
            got = self.collection.get(ids=part, include=["documents", "metadatas"])
            present = set(got["ids"])
            self.lexical.upsert(
                (cid, doc, int(meta.get("date_int", 0)), version_of(meta))
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"],
                                          strict=True))
            self.lexical.delete(cid for cid in part if cid not in present)

    def _rebuild(self) -> None:
        """The whole mirror from Chroma. The log is read first: a write during the rebuild is
        applied again afterwards (harmless: applying is idempotent)."""
        lex = self.lexical
        records = self._read_log(0)
        current = self._marker()
        self._seen = {rid: meta["stamp"] for rid, meta, _ in records}
        done = {meta.get("intent") for _, meta, _ in records if meta["kind"] == "done"}
        self._open = {rid: (meta["stamp"], ids) for rid, meta, ids in records
                      if meta["kind"] == "intent" and rid not in done}
        lex.replace_all(self._all_documents())
        lex.position = max((meta["stamp"] for _, meta, _ in records), default=time.time_ns())
        lex.marker = current
        lex.save()

    def is_empty(self) -> bool:
        """No chunk stored (from the mirror, which holds every id: no Chroma count per question)."""
        return len(self.sync_lexical()) == 0

    def save_lexical(self) -> None:
        """Persist the snapshot (after a batch of writes; a snapshot per article would cost)."""
        self.lexical.save()

    def _all_documents(self, page: int = 5000):
        offset = 0
        while True:
            got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield cid, doc, int(meta.get("date_int", 0)), version_of(meta)
            if len(got["ids"]) < page:
                return
            offset += page

    # --- writes ------------------------------------------------------------------------------

    def existing(
        self, article_ids: Sequence[str], page: int = 500
    ) -> dict[str, dict[str, dict]]:
        """article id -> {stored chunk id -> metadata}, for these articles (a Chroma call per
        ``page`` articles: a batch of very short articles would otherwise make one huge $in)."""
        ids = list(article_ids)
        found: dict[str, dict[str, dict]] = {aid: {} for aid in ids}
        for i in range(0, len(ids), page):
            got = self.collection.get(
                where={"article_id": {"$in": ids[i:i + page]}}, include=["metadatas"]
            )
            for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                found.setdefault(meta["article_id"], {})[cid] = meta
        return found

    def write(
        self, plans: Sequence[WritePlan], vectors: dict[str, list[float]]
    ) -> list[WriteResult]:
        """Carry out ``plans``; ``vectors`` holds the embeddings of their new chunks.

        Several articles share each step (one upsert, one update, one delete, one marker and
        lexical update): per-article calls were a fifth of the ingest time.
        """
        results: list[WriteResult] = []
        new: list[Chunk] = []
        kept: list[str] = []
        stale: list[str] = []
        metas: dict[str, dict] = {}
        written = time.time_ns()  # the newest complete version of an article is the one shown
        for plan in plans:
            chunks = plan.chunks
            if stored_unchanged(plan.article, plan.old, plan.chunking):
                results.append(WriteResult("unchanged", unchanged=len(chunks)))
                continue
            content_hash = plan.article.content_hash
            for c in chunks:
                metas[c.id] = {
                    **self._metadata(plan.article, c, len(chunks), content_hash),
                    "chunking": plan.chunking, "written": written,
                }
            plan_new = plan.new_chunks
            plan_kept = [c.id for c in chunks if c.id in plan.old]
            plan_stale = plan.stale_ids
            new += plan_new
            kept += plan_kept
            stale += plan_stale
            status = "unchanged" if plan.same_content else "updated" if plan.old else "added"
            results.append(WriteResult(
                status, added=len(plan_new), removed=len(plan_stale), unchanged=len(plan_kept)
            ))
        if not (new or kept or stale):
            return results
        # New chunks first (invisible: their version is incomplete), then the kept ones (this
        # completes the new version: the commit), stale ones last. See the module docstring.
        self.sync_lexical()
        # The intent before the data: other processes learn which chunks are in flux, and a
        # crash mid-write leaves an intent that no done record closes (see the docstring).
        touched = [c.id for c in new] + kept + stale
        pre = self._record("intent", touched)
        step = int(self.client.get_max_batch_size())
        with self._cut_short(touched):
            for i in range(0, len(new), step):  # a split upsert is safe: partial groups unseen
                part = new[i:i + step]
                self.collection.upsert(
                    ids=[c.id for c in part],
                    embeddings=[vectors[c.id] for c in part],
                    documents=[c.text for c in part],
                    metadatas=[metas[c.id] for c in part],
                )
            for i in range(0, len(kept), step):  # unchanged passages of a changed article
                self.collection.update(  # keep their vectors
                    ids=kept[i:i + step], metadatas=[metas[cid] for cid in kept[i:i + step]]
                )
            for i in range(0, len(stale), step):
                self.collection.delete(ids=stale[i:i + step])
        self._lexical_after_write(
            pre, touched,
            [(c.id, c.text, int(metas[c.id].get("date_int", 0)), version_of(metas[c.id]))
             for c in new],
            [(cid, int(metas[cid].get("date_int", 0)), version_of(metas[cid])) for cid in kept],
            stale,
        )
        return results

    @contextmanager
    def _cut_short(self, touched: list[str]) -> Iterator[None]:
        """A write of this process stopped part-way (an error, Ctrl-C): its mirror takes the
        touched chunks as Chroma now holds them (or, if Chroma cannot say, rebuilds)."""
        try:
            yield
        except BaseException:
            try:
                self._apply(touched)
            except Exception:  # noqa: BLE001  (the original error is the one to raise)
                self.lexical.marker = None
            raise

    def delete_article(self, article_id: str) -> int:
        ids = list(self.existing([article_id])[article_id])
        if ids:
            self.sync_lexical()
            pre = self._record("intent", ids)
            with self._cut_short(ids):
                self.collection.delete(ids=ids)
            self._lexical_after_write(pre, ids, [], [], ids)
            self.save_lexical()
        return len(ids)

    def _lexical_after_write(self, pre: str, touched: list[str], added, kept, removed) -> None:
        with self._sync_lock:
            raced = self._marker() != pre  # another process wrote while we did
            marker = self._record("done", touched, intent=pre)
            self.lexical.upsert(added)
            self.lexical.restamp(kept)
            self.lexical.delete(removed)
            # kept chunks the mirror lacks (left by a write cut short elsewhere): read them
            self._apply([cid for cid, _, _ in kept if self.lexical.terms(cid) is None])
            self._seen[pre] = self._seen[marker] = time.time_ns()
            self._open.pop(pre, None)
            if not raced:  # raced: the other writer's records are applied at the next query
                self.lexical.marker = marker

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

    def date_range(self) -> tuple[str, str] | None:
        """(first, last) publication date of the stored articles, ISO; None when none is dated.
        From the in-memory lexical mirror, which follows the collection marker."""
        return self.sync_lexical().date_range()

    def articles(self) -> list[ArticleInfo]:
        """The committed articles (see the module docstring), newest first."""
        got = self.collection.get(include=["metadatas"])
        shown = committed_versions(map(version_of, got["metadatas"]))
        found: dict[str, ArticleInfo] = {}
        for meta in got["metadatas"]:
            if shown.get(meta["article_id"]) != meta.get("content_hash"):
                continue
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
        shown = self._committed({m["article_id"] for m in got["metadatas"]})
        q = np.asarray(vector, dtype=np.float32)
        by_id = {
            cid: _chunk(cid, doc, meta, float(np.dot(q, np.asarray(emb, dtype=np.float32))))
            for cid, doc, meta, emb in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
            if shown.get(meta["article_id"]) == meta.get("content_hash")
        }
        return [by_id[cid] for cid in ids if cid in by_id]

    def containing(self, phrases: Sequence[str], k: int, where: dict | None = None) -> list[str]:
        """Ids of up to ``k`` chunks whose text holds any of ``phrases`` word for word (Chroma's
        full-text ``$contains``; case as written)."""
        ids: list[str] = []
        # as typed, and with a capital first letter: a quotation mostly opens a sentence
        variants = dict.fromkeys(v for p in phrases for v in (p, p[:1].upper() + p[1:]))
        for phrase in variants:
            got = self.collection.get(where_document={"$contains": phrase}, where=where,
                                      limit=k, include=[])
            ids += [cid for cid in got["ids"] if cid not in ids]
        return ids[:k]

    def query(self, vector: list[float], k: int, where: dict | None = None) -> list[RetrievedChunk]:
        """The ``k`` committed chunks nearest to ``vector``."""
        total = len(self.sync_lexical())  # the mirror holds every id; a count costs ~7 ms at 100k
        n = min(k, total)
        while n > 0:
            res = self.collection.query(
                query_embeddings=[vector], n_results=n, where=where,
                include=["documents", "metadatas", "distances"],
            )
            metas = res["metadatas"][0]
            shown = self._committed({m["article_id"] for m in metas})
            found = [
                _chunk(cid, doc, meta, 1.0 - dist)
                for cid, doc, meta, dist in zip(
                    res["ids"][0], res["documents"][0], metas, res["distances"][0], strict=True,
                )
                if shown.get(meta["article_id"]) == meta.get("content_hash")
            ]
            if len(found) == len(metas) or len(found) >= k or n >= total:
                return found[:k]
            n = min(2 * n, total)  # uncommitted chunks took places: look further
        return []

    def _committed(self, article_ids: set[str]) -> dict[str, str]:
        """article id -> the content hash of its committed version, for these articles: from
        the in-memory mirror kept in step with the collection (see ``assistant.lexical``), so a
        read costs no metadata query (one per read was ~40 ms at 100k chunks)."""
        return self.sync_lexical().committed(article_ids) if article_ids else {}

    # --- re-indexing ---------------------------------------------------------------------------

    def stored_articles(self) -> Iterator[Article]:
        """Every committed article, rebuilt from its chunks (offsets into the article text;
        overlaps agree). Text between two chunks that no chunk covers (whitespace the chunker
        dropped) comes back as spaces, so offsets hold; the stored content hash is kept, so
        re-ingesting the unchanged source file still finds the article unchanged."""
        got = self.collection.get(include=["documents", "metadatas"])
        shown = committed_versions(map(version_of, got["metadatas"]))
        parts: dict[str, list[tuple[dict, str]]] = {}
        for doc, meta in zip(got["documents"], got["metadatas"], strict=True):
            if shown.get(meta["article_id"]) == meta.get("content_hash"):
                parts.setdefault(meta["article_id"], []).append((meta, doc))
        for article_id, chunks in parts.items():
            chunks.sort(key=lambda md: md[0]["chunk_index"])
            buffer = [" "] * max(int(m["end"]) for m, _ in chunks)
            for meta, doc in chunks:
                buffer[int(meta["start"]):int(meta["end"])] = doc
            meta = chunks[0][0]
            article = Article(
                id=article_id, title=meta["title"], text="".join(buffer), source=meta["source"],
                date=meta.get("date"), url=meta.get("url"),
            )
            article.__dict__["content_hash"] = meta["content_hash"]  # cached_property, see above
            yield article

    def swap_in(self, staged: ChromaStore) -> None:
        """Make the (verified) collection ``staged`` this store's collection, under this name.

        Chroma renames but cannot swap: live → ``<name>-old``, staged → ``<name>``, then the old
        is deleted. ``staged`` is marked complete first, so that a crash between the renames is
        finished on the next open (``_finish_swap``) instead of leaving no collection.
        """
        _add_metadata(staged.collection, reindex_complete=True)
        old = f"{self.name}-old"
        delete_collection_if_exists(self.client, old)
        self.collection.modify(name=old)
        staged.collection.modify(name=self.name)
        self.client.delete_collection(old)
        # Both logs name chunks of collections that are gone: every mirror rebuilds.
        delete_collection_if_exists(self.client, self.name + LOG_SUFFIX)
        delete_collection_if_exists(self.client, staged.name + LOG_SUFFIX)


def _add_metadata(collection, **values) -> None:
    """Set keys in a collection's metadata, keeping the rest (``modify`` replaces it whole;
    the ``hnsw:`` keys are fixed at creation and may not be passed again)."""
    meta = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
    collection.modify(metadata={**meta, **values})


def version_of(meta: dict) -> ChunkVersion:
    """A chunk's version tuple from its Chroma metadata."""
    return (
        meta["article_id"], meta.get("content_hash", ""), int(meta.get("n_chunks", 0)),
        int(meta.get("written", 0)),
    )


def delete_collection_if_exists(client, name: str) -> None:
    """Delete collection ``name``; nothing to do when there is none."""
    from chromadb.errors import NotFoundError

    try:
        client.delete_collection(name)
    except NotFoundError:
        pass


def _finish_swap(client, name: str) -> None:
    """Complete a re-index swap that a crash interrupted (see ``ChromaStore.swap_in``)."""
    from chromadb.errors import NotFoundError

    try:
        client.get_collection(name)
    except NotFoundError:
        try:
            staged = client.get_collection(f"{name}-reindex")
        except NotFoundError:
            return
        if (staged.metadata or {}).get("reindex_complete"):
            staged.modify(name=name)
            for log in (name, f"{name}-reindex"):  # they name chunks of collections now gone
                delete_collection_if_exists(client, log + LOG_SUFFIX)
        return
    if name.endswith(("-old", "-reindex")):
        return
    delete_collection_if_exists(client, f"{name}-old")  # the swap was done; only the old one was left


def _chunk(cid: str, doc: str, meta: dict, score: float) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=cid, article_id=meta["article_id"], title=meta["title"], date=meta.get("date"),
        source=meta["source"], text=doc, start=meta["start"], end=meta["end"], score=score,
        url=meta.get("url"),
    )
