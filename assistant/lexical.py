"""The lexical (BM25) index beside Chroma: names and numbers that dense embeddings blur.

Chroma is the source of truth; this index is a cache derived from it, kept in step by the
store on every write and delete, persisted as a snapshot, and checked against a marker that
every write sets in the Chroma collection's metadata. A process whose marker differs from the
collection's (another process wrote, or a crash cut a write short) rebuilds the index from
Chroma before its next query, so several processes sharing one Chroma server never answer from
a stale index for longer than one query. BM25 scoring is `bm25s` (sparse matrices), rebuilt
lazily after changes, never per query.

Each entry also keeps its chunk's version (article id, content hash, chunk count, write stamp),
so that which version of an article readers may see (``committed``, see ``assistant.store``)
is answered from memory under the same marker, with no metadata query per read.

>>> index = LexicalIndex(None)
>>> index.upsert([("c1", "Dock workers at Port Elvan walked out.", 20260304, ("a1", "h1", 1, 0))])
>>> index.search("Port Elvan strike", k=5)
[('c1', ...)]
"""

from __future__ import annotations

import gzip
import json
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from assistant.text import tokens
from assistant.types import ChunkVersion, committed_versions

Entry = tuple[str, int, ChunkVersion]  # (space-joined tokens, date int, version)


class LexicalIndex:
    def __init__(self, path: Path | None):
        self.path = path
        self.docs: dict[str, Entry] = {}  # chunk id -> entry
        self.by_article: dict[str, set[str]] = {}  # article id -> chunk ids
        self.df: Counter[str] = Counter()
        self.marker: str | None = None  # the collection marker this index reflects
        self._bm25 = None
        self._ids: list[str] = []
        self._dates: np.ndarray | None = None
        self._range: tuple[tuple[int, int] | None] | None = None  # cached; reset on change
        # The API answers in a thread pool while an upload writes: changes, searches and
        # snapshots take turns (a search is milliseconds).
        self._lock = threading.RLock()

    # --- persistence -------------------------------------------------------------------------

    def load(self) -> bool:
        """Read the snapshot, if there is one; True when it was read."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            with gzip.open(self.path, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
            docs = {
                cid: (toks, int(date), (str(v[0]), str(v[1]), int(v[2]), int(v[3])))
                for cid, (toks, date, v) in data["docs"].items()
            }
        except (OSError, ValueError, KeyError, TypeError):
            return False  # a damaged snapshot is only a cache: rebuild from Chroma
        with self._lock:
            self._set(docs)
            self.marker = data.get("marker")
        return True

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a temp name of its own: two threads (or processes) saving at once must not share one
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._lock:
            payload = json.dumps({"marker": self.marker, "docs": self.docs})
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
            fh.write(payload)
        os.replace(tmp, self.path)  # atomic: a reader sees the old snapshot or the new one

    # --- changes -----------------------------------------------------------------------------

    def replace_all(self, items: Iterable[tuple[str, str, int, ChunkVersion]]) -> None:
        docs = {cid: (" ".join(tokens(text)), date, v) for cid, text, date, v in items}
        with self._lock:
            self._set(docs)

    def upsert(self, items: Iterable[tuple[str, str, int, ChunkVersion]]) -> None:
        items = [(cid, " ".join(tokens(text)), date, v) for cid, text, date, v in items]
        with self._lock:
            for cid, toks, date, version in items:
                self._remove(cid)
                self._add(cid, (toks, date, version))
            self._bm25 = None

    def restamp(self, items: Iterable[tuple[str, int, ChunkVersion]]) -> None:
        """New date and version for kept chunks (their text, hence tokens, is unchanged)."""
        with self._lock:
            for cid, date, version in items:
                if cid in self.docs:
                    toks = self.docs[cid][0]
                    self._remove(cid)
                    self._add(cid, (toks, date, version))
            self._bm25 = None

    def delete(self, ids: Iterable[str]) -> None:
        with self._lock:
            for cid in ids:
                self._remove(cid)
            self._bm25 = None

    def __len__(self) -> int:
        return len(self.docs)

    # --- queries -----------------------------------------------------------------------------

    def search(
        self, question: str, k: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids with BM25 scores, best first; dates as YYYYMMDD ints (undated: 0)."""
        terms = tokens(question)
        with self._lock:
            query = [t for t in terms if self.df.get(t, 0) > 0]
            if not query or not self.docs:
                return []
            self._ensure_built()
            scores = self._bm25.get_scores(query)
            if since is not None or until is not None:
                dates = self._dates
                keep = (dates > 0) & (dates >= (since or 0)) & (dates <= (until or 99991231))
                scores = np.where(keep, scores, 0.0)
            top = np.argsort(-scores)[:k]
            return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def committed(self, article_ids: Iterable[str]) -> dict[str, str]:
        """article id -> content hash of the version readers see, for these articles."""
        with self._lock:
            return committed_versions(
                self.docs[cid][2] for aid in article_ids for cid in self.by_article.get(aid, ())
            )

    def date_range(self) -> tuple[str, str] | None:
        """(first, last) publication date over the entries, ISO; None when none is dated."""
        with self._lock:
            if self._range is None:
                dated = [e[1] for e in self.docs.values() if e[1]]
                self._range = ((min(dated), max(dated)),) if dated else (None,)
            found = self._range[0]
        if found is None:
            return None
        return tuple(f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in found)

    def idf(self, term: str) -> float:
        n, df = len(self.docs), self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # --- internals ---------------------------------------------------------------------------

    def _set(self, docs: dict[str, Entry]) -> None:
        self.docs, self.df, self.by_article = {}, Counter(), {}
        for cid, entry in docs.items():
            self._add(cid, entry)
        self._bm25 = None

    def _add(self, cid: str, entry: Entry) -> None:
        self._range = None
        self.docs[cid] = entry
        self.df.update(set(entry[0].split()))
        self.by_article.setdefault(entry[2][0], set()).add(cid)

    def _remove(self, cid: str) -> None:
        self._range = None
        old = self.docs.pop(cid, None)
        if old is not None:
            self.df.subtract(set(old[0].split()))
            ids = self.by_article.get(old[2][0])
            if ids is not None:
                ids.discard(cid)
                if not ids:
                    del self.by_article[old[2][0]]

    def _ensure_built(self) -> None:
        if self._bm25 is not None:
            return
        import bm25s

        self._ids = list(self.docs)
        corpus = [self.docs[cid][0].split() or ["\x00"] for cid in self._ids]
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        self._bm25 = bm25
        self._dates = np.array([self.docs[cid][1] for cid in self._ids], dtype=np.int64)
