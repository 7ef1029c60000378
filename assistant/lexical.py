"""The lexical (BM25) index beside Chroma: names and numbers that dense embeddings blur.

Chroma is the source of truth; this index is a cache derived from it, kept in step by the
store on every write and delete and persisted as a snapshot. Other processes sharing a
``chroma run`` server learn of each other's writes from a change log kept in Chroma (see
``assistant.store``): a process applies only the chunks the new log records name, so a write
elsewhere is seen within one query, not after a rebuild.

BM25 (Lucene's variant, as ``bm25s`` computes it: k1 1.5, b 0.75) is scored at query time from
per-term postings held in compact arrays, so a change costs only the changed chunks: no
scores are precomputed, nothing is rebuilt after a write (a rebuild of ``bm25s`` took ~12 s at
100k chunks). Deleted chunks leave tombstones, compacted once they outnumber the live ones.

Each entry also keeps its chunk's version (article id, content hash, chunk count, write stamp),
so that which version of an article readers may see (``committed``, see ``assistant.store``)
is answered from memory, with no metadata query per read.

:class:`Lexical` is the interface the store and retrieval use; a Chroma-native sparse index
(distributed Chroma indexes BM25 vectors itself) can replace :class:`LexicalIndex` behind it.

>>> index = LexicalIndex(None)
>>> index.upsert([("c1", "Dock workers at Port Elvan walked out.", 20260304, ("a1", "h1", 1, 0))])
>>> index.search("Port Elvan strike", k=5)
[('c1', ...)]
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.text import tokens
from assistant.types import ChunkVersion, committed_versions

K1, B = 1.5, 0.75


def _join(strings: list[str]) -> np.ndarray:
    return _bytes("\n".join(strings))


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


def _unjoin(data: np.ndarray) -> list[str]:
    text = data.tobytes().decode()
    return text.split("\n") if text else []


def _trim() -> None:
    """Give the heap that building the index used back to the system (glibc keeps it)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Lexical(Protocol):
    """What the store and the retriever need of a lexical index."""

    marker: str | None  # the change-log record this index reflects (see ChromaStore)
    position: int  # newest change-log stamp applied (ns)

    def __len__(self) -> int: ...
    def search(self, question: str, k: int, since: int | None = None,
               until: int | None = None) -> list[tuple[str, float]]: ...
    def committed(self, article_ids: Iterable[str]) -> dict[str, str]: ...
    def idf(self, term: str) -> float: ...
    def terms(self, chunk_id: str) -> set[str] | None: ...
    def chunk_ids(self) -> Iterator[str]: ...
    def upsert(self, items: Iterable[tuple[str, str, int, ChunkVersion]]) -> None: ...
    def restamp(self, items: Iterable[tuple[str, int, ChunkVersion]]) -> None: ...
    def delete(self, ids: Iterable[str]) -> None: ...
    def replace_all(self, items: Iterable[tuple[str, str, int, ChunkVersion]]) -> None: ...
    def load(self) -> bool: ...
    def save(self) -> None: ...


class LexicalIndex:
    """BM25 over chunk texts, with each chunk's version, in compact arrays."""

    def __init__(self, path: Path | None):
        self.path = path
        self.marker: str | None = None
        self.position: int = 0
        # The API answers in a thread pool while an upload writes: changes, searches and
        # snapshots take turns (a search is milliseconds).
        self._lock = threading.RLock()
        self._clear()

    def _clear(self) -> None:
        self._vocab: dict[str, int] = {}
        self._words: list[str] = []
        self._df = array("i")  # live chunks holding each term
        self._post_slot: list[array] = []  # per term: slots of the chunks holding it
        self._post_tf: list[array] = []  # per term: how often
        self._slot: dict[str, int] = {}  # live chunk id -> slot
        self._cid: list[str | None] = []  # slot -> chunk id (None: deleted)
        self._len = array("i")  # slot -> tokens
        self._date = array("i")  # slot -> YYYYMMDD (0: undated)
        self._range: tuple[tuple[int, int] | None] | None = None  # (first, last) date, cached
        self._alive = bytearray()  # slot -> 1 while the chunk is held
        self._terms: list[array | None] = []  # slot -> its term ids (None: deleted)
        self._tfs: list[array | None] = []
        self._version: dict[str, ChunkVersion] = {}
        self.by_article: dict[str, set[str]] = {}
        self._total_len = 0
        self._dead = 0

    # --- persistence -------------------------------------------------------------------------

    def load(self) -> bool:
        """Read the snapshot, if there is one; True when it was read."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            with np.load(self.path, allow_pickle=False) as data:
                cols = {k: data[k] for k in data.files}
            meta = json.loads(bytes(cols["meta"]).decode())
            words = _unjoin(cols["words"])
            cids, aids, hashes = (_unjoin(cols[k]) for k in ("cids", "aids", "hashes"))
        except (OSError, ValueError, KeyError, TypeError):
            return False  # a damaged snapshot is only a cache: rebuild from Chroma
        ptr, terms, tfs = cols["doc_ptr"], cols["terms"], cols["tfs"]
        with self._lock:
            self._clear()
            self._words = words
            self._vocab = {w: i for i, w in enumerate(words)}
            slots = np.repeat(np.arange(len(cids), dtype=np.int32), np.diff(ptr))
            order = np.argsort(terms, kind="stable")
            bounds = np.searchsorted(terms[order], np.arange(len(words) + 1))
            by_term_slots, by_term_tfs = slots[order], tfs[order]
            for t in range(len(words)):
                a, b = bounds[t], bounds[t + 1]
                self._post_slot.append(array("i", by_term_slots[a:b].tobytes()))
                self._post_tf.append(array("H", by_term_tfs[a:b].tobytes()))
            self._df = array("i", (bounds[1:] - bounds[:-1]).astype(np.int32).tobytes())
            self._len = array("i", cols["lens"].astype(np.int32).tobytes())
            self._date = array("i", cols["dates"].astype(np.int32).tobytes())
            self._range = None
            self._alive = bytearray(b"\x01" * len(cids))
            self._cid = cids
            n_chunks, written = cols["n_chunks"].tolist(), cols["written"].tolist()
            for slot, cid in enumerate(cids):
                a, b = ptr[slot], ptr[slot + 1]
                self._terms.append(array("i", terms[a:b].tobytes()))
                self._tfs.append(array("H", tfs[a:b].tobytes()))
                self._slot[cid] = slot
                self._set_version(cid, (aids[slot], hashes[slot], n_chunks[slot], written[slot]))
            self._total_len = int(cols["lens"].sum())
            self.marker, self.position = meta.get("marker"), int(meta.get("position", 0))
        _trim()
        return True

    def save(self) -> None:
        """An ``.npz`` of flat arrays: no per-chunk objects to parse at the next start (a JSON
        snapshot of 100k chunks took ~15 s and ~400 MB of heap to read)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a temp name of its own: two threads (or processes) saving at once must not share one
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._lock:
            live = [(cid, slot) for cid, slot in self._slot.items()]
            versions = [self._version[cid] for cid, _ in live]
            cols = {
                "meta": _bytes(json.dumps({"marker": self.marker, "position": self.position})),
                "words": _join(self._words),
                "cids": _join([cid for cid, _ in live]),
                "aids": _join([v[0] for v in versions]),
                "hashes": _join([v[1] for v in versions]),
                "n_chunks": np.array([v[2] for v in versions], dtype=np.int32),
                "written": np.array([v[3] for v in versions], dtype=np.int64),
                "lens": np.array([self._len[s] for _, s in live], dtype=np.int32),
                "dates": np.array([self._date[s] for _, s in live], dtype=np.int32),
                "doc_ptr": np.concatenate([[0], np.cumsum(
                    [len(self._terms[s]) for _, s in live], dtype=np.int64)]).astype(np.int64),
                "terms": np.frombuffer(b"".join(self._terms[s].tobytes() for _, s in live),
                                       dtype=np.int32),
                "tfs": np.frombuffer(b"".join(self._tfs[s].tobytes() for _, s in live),
                                     dtype=np.uint16),
            }
        with open(tmp, "wb") as fh:
            np.savez(fh, **cols)
        os.replace(tmp, self.path)  # atomic: a reader sees the old snapshot or the new one

    # --- changes -----------------------------------------------------------------------------

    def replace_all(self, items: Iterable[tuple[str, str, int, ChunkVersion]]) -> None:
        with self._lock:
            self._clear()
            for cid, text, date, version in items:  # one chunk's tokens at a time: small heap
                self._add(cid, tokens(text), date, version)
        _trim()

    def upsert(self, items: Iterable[tuple[str, str, int, ChunkVersion]]) -> None:
        items = [(cid, tokens(text), date, v) for cid, text, date, v in items]
        with self._lock:
            for cid, toks, date, version in items:
                self._remove(cid)
                self._add(cid, toks, date, version)
            self._maybe_compact()

    def restamp(self, items: Iterable[tuple[str, int, ChunkVersion]]) -> None:
        """New date and version for kept chunks (their text, hence tokens, is unchanged)."""
        with self._lock:
            for cid, date, version in items:
                slot = self._slot.get(cid)
                if slot is not None:
                    self._date[slot] = date
                    self._range = None
                    self._set_version(cid, version)

    def delete(self, ids: Iterable[str]) -> None:
        with self._lock:
            for cid in ids:
                self._remove(cid)
            self._maybe_compact()

    def __len__(self) -> int:
        return len(self._slot)

    def chunk_ids(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._slot))

    # --- queries -----------------------------------------------------------------------------

    def search(
        self, question: str, k: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids with BM25 scores, best first; dates as YYYYMMDD ints (undated: 0)."""
        with self._lock:
            query = [self._vocab[t] for t in tokens(question)
                     if t in self._vocab and self._df[self._vocab[t]] > 0]
            if not query or not self._slot:
                return []
            lengths = np.array(self._len, dtype=np.float32)
            norm = K1 * (1 - B + B * lengths / (self._total_len / len(self._slot)))
            scores = np.zeros(len(self._cid), dtype=np.float32)
            for term in query:  # a repeated question term counts again, as in bm25s
                slots = np.array(self._post_slot[term], dtype=np.int64)
                tf = np.array(self._post_tf[term], dtype=np.float32)
                scores[slots] += self._idf(term) * tf / (tf + norm[slots])
            if self._dead:
                scores *= np.array(self._alive, dtype=np.float32)
            if since is not None or until is not None:
                dates = np.array(self._date, dtype=np.int64)
                keep = (dates > 0) & (dates >= (since or 0)) & (dates <= (until or 99991231))
                scores = np.where(keep, scores, 0.0)
            top = np.argsort(-scores, kind="stable")[:k]
            return [(self._cid[i], float(scores[i])) for i in top if scores[i] > 0]

    def committed(self, article_ids: Iterable[str]) -> dict[str, str]:
        """article id -> content hash of the version readers see, for these articles."""
        with self._lock:
            return committed_versions(
                self._version[cid] for aid in article_ids for cid in self.by_article.get(aid, ())
            )

    def date_range(self) -> tuple[str, str] | None:
        """(first, last) publication date over the entries, ISO; None when none is dated."""
        with self._lock:
            if self._range is None:  # reset by every change
                dates = np.frombuffer(self._date, dtype=np.int32) if len(self._date) else None
                alive = np.frombuffer(bytes(self._alive), dtype=np.uint8) if dates is not None \
                    else None
                dated = dates[(alive == 1) & (dates > 0)] if dates is not None else ()
                self._range = ((int(dated.min()), int(dated.max())),) if len(dated) else (None,)
            found = self._range[0]
        if found is None:
            return None
        return tuple(f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in found)

    def idf(self, term: str) -> float:
        n, df = len(self._slot), 0
        term_id = self._vocab.get(term)
        if term_id is not None:
            df = self._df[term_id]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def terms(self, chunk_id: str) -> set[str] | None:
        """The chunk's distinct BM25 terms, or None when the index does not hold it."""
        with self._lock:
            slot = self._slot.get(chunk_id)
            return None if slot is None else {self._words[t] for t in self._terms[slot]}

    # --- internals ---------------------------------------------------------------------------

    def _idf(self, term_id: int) -> float:
        n, df = len(self._slot), self._df[term_id]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _set_version(self, cid: str, version: ChunkVersion) -> None:
        old = self._version.get(cid)
        if old is not None and old[0] != version[0]:
            self._unlink(cid, old[0])
        # one string object per article id and hash, however many chunks share them
        aid, content_hash, n, written = version
        self._version[cid] = (sys.intern(aid), sys.intern(content_hash), n, written)
        self.by_article.setdefault(self._version[cid][0], set()).add(cid)

    def _unlink(self, cid: str, article_id: str) -> None:
        ids = self.by_article.get(article_id)
        if ids is not None:
            ids.discard(cid)
            if not ids:
                del self.by_article[article_id]

    def _add(self, cid: str, toks: list[str], date: int, version: ChunkVersion) -> None:
        self._range = None
        slot = len(self._cid)
        counts = Counter(toks)
        term_ids, tfs = array("i"), array("H")
        for word, tf in counts.items():
            term = self._vocab.get(word)
            if term is None:
                term = self._vocab[word] = len(self._words)
                self._words.append(word)
                self._df.append(0)
                self._post_slot.append(array("i"))
                self._post_tf.append(array("H"))
            tf = min(tf, 65535)
            term_ids.append(term)
            tfs.append(tf)
            self._df[term] += 1
            self._post_slot[term].append(slot)
            self._post_tf[term].append(tf)
        length = len(toks) or 1  # an empty text counts as one token, as bm25s does
        self._cid.append(cid)
        self._len.append(length)
        self._date.append(int(date))
        self._alive.append(1)
        self._terms.append(term_ids)
        self._tfs.append(tfs)
        self._slot[cid] = slot
        self._total_len += length
        self._set_version(cid, version)

    def _remove(self, cid: str) -> None:
        self._range = None
        slot = self._slot.pop(cid, None)
        if slot is None:
            return
        for term in self._terms[slot]:
            self._df[term] -= 1
        self._total_len -= self._len[slot]
        self._cid[slot] = None
        self._alive[slot] = 0
        self._terms[slot] = self._tfs[slot] = None
        self._unlink(cid, self._version.pop(cid)[0])
        self._dead += 1

    def _maybe_compact(self) -> None:
        """Drop tombstones once they outnumber live chunks (postings shrink, slots renumber)."""
        if self._dead <= max(1000, len(self._slot)):
            return
        live = [s for s, cid in enumerate(self._cid) if cid is not None]
        remap = np.full(len(self._cid), -1, dtype=np.int64)
        remap[live] = np.arange(len(live))
        for term in range(len(self._words)):
            slots = np.array(self._post_slot[term], dtype=np.int64)
            if not len(slots):
                continue
            keep = remap[slots] >= 0
            self._post_slot[term] = array("i", remap[slots[keep]].astype(np.int32).tobytes())
            tf = np.array(self._post_tf[term], dtype=np.uint16)[keep]
            self._post_tf[term] = array("H", tf.tobytes())
        self._cid = [self._cid[s] for s in live]
        self._len = array("i", [self._len[s] for s in live])
        self._date = array("i", [self._date[s] for s in live])
        self._alive = bytearray(b"\x01" * len(live))
        self._terms = [self._terms[s] for s in live]
        self._tfs = [self._tfs[s] for s in live]
        self._slot = {cid: i for i, cid in enumerate(self._cid)}
        self._dead = 0
