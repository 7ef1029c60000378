"""The lexical (BM25) index beside Chroma: names and numbers that dense embeddings blur.

Chroma is the source of truth; this index is a cache derived from it, kept in step by the
store on every write and delete, persisted as a snapshot, and checked against a marker that
every write sets in the Chroma collection's metadata. A process whose marker differs from the
collection's (another process wrote, or a crash cut a write short) rebuilds the index from
Chroma before its next query, so several processes sharing one Chroma server never answer from
a stale index for longer than one query. BM25 scoring is `bm25s` (sparse matrices), rebuilt
lazily after changes, never per query.

>>> index = LexicalIndex(None)
>>> index.upsert([("c1", "Dock workers at Port Elvan walked out.", 20260304)])
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


class LexicalIndex:
    def __init__(self, path: Path | None):
        self.path = path
        self.docs: dict[str, tuple[str, int]] = {}  # chunk id -> (space-joined tokens, date int)
        self.df: Counter[str] = Counter()
        self.marker: str | None = None  # the collection marker this index reflects
        self._bm25 = None
        self._ids: list[str] = []
        self._dates: np.ndarray | None = None
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
            docs = {cid: (toks, int(date)) for cid, (toks, date) in data["docs"].items()}
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

    def replace_all(self, items: Iterable[tuple[str, str, int]]) -> None:
        docs = {cid: (" ".join(tokens(text)), date) for cid, text, date in items}
        with self._lock:
            self._set(docs)

    def upsert(self, items: Iterable[tuple[str, str, int]]) -> None:
        items = [(cid, " ".join(tokens(text)), date) for cid, text, date in items]
        with self._lock:
            for cid, toks, date in items:
                self._remove(cid)
                self.docs[cid] = (toks, date)
                self.df.update(set(toks.split()))
            self._bm25 = None

    def set_date(self, ids: Iterable[str], date: int) -> None:
        with self._lock:
            for cid in ids:
                if cid in self.docs:
                    self.docs[cid] = (self.docs[cid][0], date)
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

    def idf(self, term: str) -> float:
        n, df = len(self.docs), self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # --- internals ---------------------------------------------------------------------------

    def _set(self, docs: dict[str, tuple[str, int]]) -> None:
        self.docs = docs
        self.df = Counter()
        for toks, _ in docs.values():
            self.df.update(set(toks.split()))
        self._bm25 = None

    def _remove(self, cid: str) -> None:
        old = self.docs.pop(cid, None)
        if old is not None:
            self.df.subtract(set(old[0].split()))

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
