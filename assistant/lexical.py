"""The lexical (BM25) index beside Chroma: names and numbers that dense embeddings blur.

Chroma is the source of truth; this index is a cache derived from it, kept in step by the
store on every write and delete and persisted as a snapshot. Other processes sharing a
``chroma run`` server learn of each other's writes from a change log kept in Chroma (see
``assistant.store``): a process applies only the chunks the new log records name, so a write
elsewhere is seen within one query, not after a rebuild.

BM25 (Lucene's variant, as ``bm25s`` computes it: k1 1.5, b 0.75) is scored at query time from
per-term postings, so a change costs only the changed chunks: no scores are precomputed,
nothing is rebuilt after a write (a rebuild of ``bm25s`` took ~12 s at 100k chunks). The chunks
read from the snapshot (or rebuilt) form a *base* of flat arrays, by chunk and by term; chunks
written since are a small *delta* of per-chunk and per-term arrays, folded into the base when
tombstones are compacted. (Per-chunk arrays for all 100k chunks held ~60 MB more, most of it
allocator overhead around 200k small objects.) Deleted chunks leave tombstones, compacted once
they outnumber the live ones.

The snapshot holds the base's arrays by chunk and by term, each aligned in the file, and a
loaded base maps them read-only instead of reading them (~80 MB at 100k chunks). A search reads
the postings of its terms from the file (``pread``: a fault through the mapping would make the
whole page-cache folio around each read resident); the mapping serves saves and compactions,
which read it all. The base is never changed in place: a compaction builds new arrays. Chunk
ids and versions are columns too, not objects per chunk.

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

import io
import json
import math
import mmap
import os
import struct
import sys
import threading
import zipfile
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


# the base's arrays, mapped from the snapshot rather than read (by chunk, then by term)
_MAPPED = ("doc_ptr", "terms", "tfs", "tptr", "tslots", "ttfs")
_ATTR = dict(zip(_MAPPED, ("_bptr", "_bterms", "_btfs", "_tptr", "_tslots", "_ttfs")))


def _by_term(ptr: np.ndarray, terms: np.ndarray, tfs: np.ndarray,
             n_words: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR chunks (``ptr``: offsets into ``terms``/``tfs``) indexed by term: offsets by term
    id, slots and counts."""
    order = np.argsort(terms, kind="stable")
    slots = np.repeat(np.arange(len(ptr) - 1, dtype=np.int32), np.diff(ptr))[order]
    tptr = np.searchsorted(terms[order], np.arange(n_words + 1)).astype(np.int64)
    return tptr, slots, tfs[order]


def _write_npz(fh, cols: dict[str, np.ndarray]) -> None:
    """What ``np.savez`` writes (any numpy reads it), but with each member's data 64-byte
    aligned in the file, so that :func:`_read_npz` can map it: the local header's extra field
    is padded, as Android's zipalign does."""
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in cols.items():
            arr = np.ascontiguousarray(arr)
            head = io.BytesIO()
            np.lib.format.write_array_header_2_0(
                head, np.lib.format.header_data_from_array_1_0(arr))  # padded to 64 bytes
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.file_size = head.tell() + arr.nbytes
            start = zf.start_dir + 30 + len(info.filename) + 4  # 30: the local header
            info.extra = struct.pack("<HH", 0xD935, -start % 64) + bytes(-start % 64)
            with zf.open(info, "w") as out:
                out.write(head.getvalue())
                out.write(arr.data.cast("B") if arr.nbytes else b"")


class _Mapped:
    """A snapshot the base's arrays are mapped from: the mapping, and the file kept open, to
    read parts of it without the mapping (``at``: an array's offset and dtype)."""

    def __init__(self, fh):
        self.file = open(os.dup(fh.fileno()), "rb", buffering=0)  # the very file parsed
        self.view = mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ)
        self.at: dict[str, tuple[int, np.dtype]] = {}


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], _Mapped | None]:
    """An ``.npz``'s arrays, and the mapping of the file: those of ``_MAPPED`` stored
    uncompressed and aligned are mapped read-only (an older snapshot's are read: np.savez
    aligns none)."""
    cols: dict[str, np.ndarray] = {}
    mapped = None
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if name in _MAPPED and info.compress_type == zipfile.ZIP_STORED:
                fh.seek(info.header_offset + 26)
                name_len, extra_len = struct.unpack("<HH", fh.read(4))
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh)
                offset = fh.tell()
                if len(shape) == 1 and not dtype.hasobject and offset % dtype.alignment == 0:
                    mapped = mapped or _Mapped(fh)
                    cols[name] = np.frombuffer(mapped.view, dtype=dtype, count=shape[0],
                                               offset=offset)
                    mapped.at[name] = (offset, dtype)
                    continue
            with zf.open(info) as member:
                cols[name] = np.lib.format.read_array(member, allow_pickle=False)
    return cols, mapped


def _id_column(ids: list[bytes]) -> np.ndarray:
    """Chunk ids as one fixed-width bytes array (100k 16-character ids: 1.6 MB; as ``str``
    keys of a dict they held ~13 MB)."""
    return np.array(ids, dtype=bytes) if ids else np.zeros(0, dtype="S1")


def _shared(data: np.ndarray) -> list[str]:
    """The strings joined in ``data``, one interned object per distinct one (the chunks of an
    article share its id and hash), with no short-lived ``str`` per entry: 100k of them,
    freed among the ones kept, left the heap ~10 MB larger."""
    raw = data.tobytes()
    if not raw:
        return []
    unique, inverse = np.unique(_id_column(raw.split(b"\n")), return_inverse=True)
    strings = [sys.intern(u.decode()) for u in unique.tolist()]
    return [strings[i] for i in inverse.tolist()]


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
    def holding(self, term: str, article_ids: Iterable[str]) -> list[str]: ...
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
        # the base: slots below _base_n, terms below _base_v, by chunk and by term (CSR)
        self._set_base(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32),
                       np.zeros(0, dtype=np.uint16))
        self._set_ids(_id_column([]))
        # the delta: chunks added since (slot -> its term ids, counts; term -> slots, counts)
        self._terms: dict[int, array] = {}
        self._tfs: dict[int, array] = {}
        self._post_slot: dict[int, array] = {}
        self._post_tf: dict[int, array] = {}
        self._dcid: list[str | None] = []  # delta slot - _base_n -> chunk id (None: deleted)
        self._dslot: dict[str, int] = {}  # live delta chunk id -> slot
        self._live = 0
        self._len = array("i")  # slot -> tokens
        self._date = array("i")  # slot -> YYYYMMDD (0: undated)
        self._range: tuple[tuple[int, int] | None] | None = None  # (first, last) date, cached
        self._alive = bytearray()  # slot -> 1 while the chunk is held
        # slot -> its chunk's version, by field: columns, not a tuple per chunk in a dict
        # (100k chunks: ~3 MB, not ~13 MB)
        self._aid: list[str | None] = []
        self._hash: list[str | None] = []
        self._nch = array("i")
        self._written = array("q")
        # article id -> its chunks' slots (a set of a few ids was 216-728 bytes)
        self.by_article: dict[str, array] = {}
        self._total_len = 0
        self._dead = 0

    # --- persistence -------------------------------------------------------------------------

    def load(self) -> bool:
        """Read the snapshot, if there is one; True when it was read. A snapshot written before
        the base was mapped (no arrays by term) is rewritten in the mapped layout, if it can be."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            cols, mapped = _read_npz(self.path)
            meta = json.loads(bytes(cols["meta"]).decode())
            words = _unjoin(cols["words"])
            ids = cols["cids"].tobytes()
            ids = _id_column(ids.split(b"\n") if ids else [])
            aids, hashes = _shared(cols["aids"]), _shared(cols["hashes"])
            by_term = tuple(cols[k] for k in _MAPPED[3:]) if "tslots" in cols else None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, struct.error):
            return False  # a damaged snapshot is only a cache: rebuild from Chroma
        with self._lock:
            self._clear()
            self._words = words
            self._vocab = {w: i for i, w in enumerate(words)}
            self._set_base(cols["doc_ptr"].astype(np.int64, copy=False),
                           cols["terms"].astype(np.int32, copy=False),
                           cols["tfs"].astype(np.uint16, copy=False), by_term, mapped)
            self._df = array("i", np.diff(self._tptr).astype(np.int32).tobytes())
            self._len = array("i", cols["lens"].astype(np.int32).tobytes())
            self._date = array("i", cols["dates"].astype(np.int32).tobytes())
            self._alive = bytearray(b"\x01" * len(ids))
            self._set_ids(ids)
            self._live = len(ids)
            self._aid, self._hash = aids, hashes
            self._nch = array("i", cols["n_chunks"].astype(np.int32).tobytes())
            self._written = array("q", cols["written"].astype(np.int64).tobytes())
            self._link_all()
            self._total_len = int(cols["lens"].sum())
            self.marker, self.position = meta.get("marker"), int(meta.get("position", 0))
        _trim()
        if by_term is None:
            try:
                self.save()  # in the new layout, and mapped from it
            except OSError:
                pass  # a read-only store: the base stays in memory
        return True

    def save(self) -> None:
        """An ``.npz`` of flat arrays: no per-chunk objects to parse at the next start (a JSON
        snapshot of 100k chunks took ~15 s and ~400 MB of heap to read). When the index is its
        base alone (just rebuilt, compacted or loaded), the base is then mapped from the file
        written and its memory freed."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a temp name of its own: two threads (or processes) saving at once must not share one
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._lock:
            whole = self._whole_base()
            live = range(self._base_n) if whole else \
                [s for s, alive in enumerate(self._alive) if alive]
            cols = {
                "meta": _bytes(json.dumps({"marker": self.marker, "position": self.position})),
                "words": _join(self._words),
                "cids": _join([self._id(s) for s in live]),
                "aids": _join([self._aid[s] for s in live]),
                "hashes": _join([self._hash[s] for s in live]),
                "n_chunks": np.array([self._nch[s] for s in live], dtype=np.int32),
                "written": np.array([self._written[s] for s in live], dtype=np.int64),
                "lens": np.array([self._len[s] for s in live], dtype=np.int32),
                "dates": np.array([self._date[s] for s in live], dtype=np.int32),
            }
            if whole:  # the base as it is
                cols.update(zip(_MAPPED, (self._bptr, self._bterms, self._btfs,
                                          self._tptr, self._tslots, self._ttfs)))
            else:
                cols.update(zip(_MAPPED, self._live_arrays()))
        with open(tmp, "wb") as fh:
            _write_npz(fh, cols)
        # mapped from the temp file before the rename: another process may replace the
        # snapshot right after, but a mapping keeps the file it was opened on
        written, mapped = _read_npz(tmp) if whole else ({}, None)
        os.replace(tmp, self.path)  # atomic: a reader sees the old snapshot or the new one
        with self._lock:
            if mapped is not None and self._whole_base() and self._bterms is cols["terms"]:
                self._set_base(*(written[k] for k in _MAPPED[:3]),
                               tuple(written[k] for k in _MAPPED[3:]), mapped)
            elif self._mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
                # writing read every page of the mapped base: none need stay resident
                self._mapped.view.madvise(mmap.MADV_DONTNEED)
        del cols, written, mapped
        _trim()

    # --- changes -----------------------------------------------------------------------------

    def replace_all(self, items: Iterable[tuple[str, str, int, ChunkVersion]]) -> None:
        with self._lock:
            self._clear()
            for cid, text, date, version in items:  # one chunk's tokens at a time: small heap
                self._add(cid, tokens(text), date, version)
            self._rebase()
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
                slot = self._find(cid)
                if slot is not None:
                    self._date[slot] = date
                    self._range = None
                    self._set_version(slot, version)

    def delete(self, ids: Iterable[str]) -> None:
        with self._lock:
            for cid in ids:
                self._remove(cid)
            self._maybe_compact()

    def __len__(self) -> int:
        return self._live

    def chunk_ids(self) -> Iterator[str]:
        with self._lock:
            return iter([self._id(s) for s, alive in enumerate(self._alive) if alive])

    # --- queries -----------------------------------------------------------------------------

    def search(
        self, question: str, k: int, since: int | None = None, until: int | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids with BM25 scores, best first; dates as YYYYMMDD ints (undated: 0)."""
        with self._lock:
            query = [self._vocab[t] for t in tokens(question)
                     if t in self._vocab and self._df[self._vocab[t]] > 0]
            if not query or not self._live:
                return []
            lengths = np.array(self._len, dtype=np.float32)
            norm = K1 * (1 - B + B * lengths / (self._total_len / self._live))
            scores = np.zeros(len(self._alive), dtype=np.float32)
            for term in query:  # a repeated question term counts again, as in bm25s
                idf = self._idf(term)
                for slots, tf in self._postings(term):
                    slots, tf = slots.astype(np.intp), tf.astype(np.float32)  # index once
                    scores[slots] += idf * tf / (tf + norm[slots])
            if self._dead:
                scores *= np.array(self._alive, dtype=np.float32)
            if since is not None or until is not None:
                dates = np.array(self._date, dtype=np.int64)
                keep = (dates > 0) & (dates >= (since or 0)) & (dates <= (until or 99991231))
                scores = np.where(keep, scores, 0.0)
            top = np.argsort(-scores, kind="stable")[:k]
            return [(self._id(i), float(scores[i])) for i in top if scores[i] > 0]

    def committed(self, article_ids: Iterable[str]) -> dict[str, str]:
        """article id -> content hash of the version readers see, for these articles."""
        with self._lock:
            return committed_versions(
                self._version(slot) for aid in article_ids for slot in self.by_article.get(aid, ())
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
        n, df = self._live, 0
        term_id = self._vocab.get(term)
        if term_id is not None:
            df = self._df[term_id]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def terms(self, chunk_id: str) -> set[str] | None:
        """The chunk's distinct BM25 terms, or None when the index does not hold it."""
        with self._lock:
            slot = self._find(chunk_id)
            return None if slot is None else {self._words[t] for t in self._chunk_terms(slot)}

    def holding(self, term: str, article_ids: Iterable[str]) -> list[str]:
        """Ids of the chunks of these articles whose text holds a BM25 term (as
        :func:`assistant.text.tokens` makes it: "correction"); an article's few chunks are
        looked at, not the whole index."""
        with self._lock:
            term_id = self._vocab.get(term)
            if term_id is None:
                return []
            return [self._id(slot) for aid in article_ids for slot in self.by_article.get(aid, ())
                    if self._alive[slot] and term_id in self._chunk_terms(slot)]

    # --- internals ---------------------------------------------------------------------------

    def _idf(self, term_id: int) -> float:
        n, df = self._live, self._df[term_id]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _set_base(self, ptr: np.ndarray, terms: np.ndarray, tfs: np.ndarray,
                  by_term: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  mapped: _Mapped | None = None) -> None:
        """Make these chunks (``ptr``: CSR offsets into ``terms``/``tfs``) the base, indexed
        by term as well (``by_term``, when the snapshot holds it); ``mapped``: the snapshot
        they are mapped from, if they are."""
        self._base_n, self._base_v = len(ptr) - 1, len(self._words)
        self._bptr, self._bterms, self._btfs = ptr, terms, tfs
        self._tptr, self._tslots, self._ttfs = by_term or _by_term(ptr, terms, tfs, self._base_v)
        self._mapped = mapped

    def _whole_base(self) -> bool:
        """Nothing written or deleted since the base was set: the index is the base alone."""
        return len(self._alive) == self._base_n and not self._dead

    def _set_ids(self, ids: np.ndarray) -> None:
        """The base's chunk ids, by slot (and their sort order, to find one: intp, as
        ``searchsorted`` would convert any other type at every call)."""
        self._bids, self._border = ids, np.argsort(ids, kind="stable").astype(np.intp)

    def _id(self, slot: int) -> str:
        return self._bids[slot].decode() if slot < self._base_n \
            else self._dcid[slot - self._base_n]

    def _find(self, cid: str) -> int | None:
        """The slot of a live chunk, or None: the delta's, else the base's (a binary search:
        microseconds, beside the tokenising of every chunk written)."""
        slot = self._dslot.get(cid)
        if slot is None and self._base_n:
            key = cid.encode()
            if len(key) <= self._bids.itemsize:  # a longer id is in no base slot
                i = int(np.searchsorted(self._bids, key, sorter=self._border))
                if i < self._base_n:
                    slot = int(self._border[i])
                    if self._bids[slot] != key or not self._alive[slot]:
                        slot = None
        return slot

    def _part(self, name: str, a: int, b: int) -> np.ndarray:
        """Entries ``a:b`` of a base array (``_MAPPED`` names it). A mapped base's are read
        from the file, not through the mapping: a page fault maps the whole page-cache folio
        around the page (64 KB and more: ext4 caches in large folios), so the few KB a
        question reads made 4-44 MB resident at 100k chunks, depending on how the file
        entered the page cache. Reads cost what the faults did."""
        arr = getattr(self, _ATTR[name])
        at = self._mapped.at.get(name) if self._mapped is not None else None
        if at is None or at[1] != arr.dtype or not hasattr(os, "pread"):  # not mapped, Windows
            return arr[a:b]
        size = arr.dtype.itemsize
        data = os.pread(self._mapped.file.fileno(), size * (b - a), at[0] + size * a)
        if len(data) != size * (b - a):
            raise OSError(f"lexical snapshot {self.path} is cut short")
        return np.frombuffer(data, dtype=arr.dtype)

    def _chunk_terms(self, slot: int) -> np.ndarray:
        """A chunk's term ids (see :meth:`_part`: the chunks questions retrieve are
        scattered, ~250 bytes each)."""
        if slot >= self._base_n:
            return self._chunk(slot)[0]
        return self._part("terms", int(self._bptr[slot]), int(self._bptr[slot + 1]))

    def _chunk(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """A chunk's term ids and counts, from the delta or the base."""
        if slot in self._terms:
            return (np.frombuffer(self._terms[slot], dtype=np.int32),
                    np.frombuffer(self._tfs[slot], dtype=np.uint16))
        a, b = self._bptr[slot], self._bptr[slot + 1]
        return self._bterms[a:b], self._btfs[a:b]

    def _postings(self, term: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The (slots, counts) of the chunks holding a term: the base's, then the delta's."""
        if term < self._base_v:
            a, b = int(self._tptr[term]), int(self._tptr[term + 1])
            if b > a:
                yield self._part("tslots", a, b), self._part("ttfs", a, b)
        if term in self._post_slot:
            yield (np.array(self._post_slot[term], dtype=np.int64),
                   np.array(self._post_tf[term], dtype=np.uint16))

    def _live_arrays(self) -> tuple[np.ndarray, ...]:
        """The live chunks, renumbered in slot order, by chunk (offsets, term ids, counts) and
        by term (offsets, slots, counts): the base's arrays filtered, the delta's added. Sorting
        all postings by term again took a second at 100k chunks."""
        alive = np.frombuffer(bytes(self._alive), dtype=np.uint8).astype(bool)
        n = self._base_n
        sizes = np.diff(self._bptr)
        keep = np.repeat(alive[:n], sizes)
        delta = [self._chunk(s) for s in range(n, len(alive)) if alive[s]]
        lens = np.concatenate([sizes[alive[:n]], [len(t) for t, _ in delta]]).astype(np.int64)
        ptr = np.zeros(len(lens) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(lens)
        terms = np.concatenate([self._bterms[keep], *[t for t, _ in delta]]).astype(
            np.int32, copy=False)
        tfs = np.concatenate([self._btfs[keep], *[f for _, f in delta]]).astype(
            np.uint16, copy=False)
        del keep, delta
        # by term, with no sort and few temporaries (6.3M postings at 100k chunks): the base's
        # postings filtered (in term order, slots ascending), the delta's inserted after the
        # base's of their term
        renumber = (np.cumsum(alive) - 1).astype(np.int32)
        keep = alive[self._tslots]
        before = np.zeros(len(keep) + 1, dtype=np.int32)
        np.cumsum(keep, dtype=np.int32, out=before[1:])
        kept = np.empty(len(self._words) + 1, dtype=np.int64)  # base postings before a term
        kept[:self._base_v + 1] = before[self._tptr]
        kept[self._base_v + 1:] = before[-1]
        del before
        tslots, ttfs = renumber[self._tslots[keep]], self._ttfs[keep]
        del keep
        at, dslots, dtfs = [], [], []
        added = np.zeros(len(self._words) + 1, dtype=np.int64)  # delta postings before term
        for term, slots in sorted(self._post_slot.items()):  # slots ascending, as appended
            slots = np.frombuffer(slots, dtype=np.int32)
            held = alive[slots]
            count = int(held.sum())
            if count:
                at.append(np.full(count, kept[term + 1], dtype=np.int64))
                dslots.append(renumber[slots[held]])
                dtfs.append(np.frombuffer(self._post_tf[term], dtype=np.uint16)[held])
                added[term + 1] = count
        if at:
            at = np.concatenate(at)
            tslots = np.insert(tslots, at, np.concatenate(dslots))
            ttfs = np.insert(ttfs, at, np.concatenate(dtfs))
        tptr = kept + np.cumsum(added)
        return ptr, terms, tfs, tptr, tslots, ttfs

    def _rebase(self) -> None:
        """Fold the delta into a new base of the live chunks only (slots renumber)."""
        live = [s for s, alive in enumerate(self._alive) if alive]
        arrays = self._live_arrays()
        ids = _id_column([self._id(s).encode() for s in live])
        self._len = array("i", [self._len[s] for s in live])
        self._date = array("i", [self._date[s] for s in live])
        self._aid = [self._aid[s] for s in live]
        self._hash = [self._hash[s] for s in live]
        self._nch = array("i", [self._nch[s] for s in live])
        self._written = array("q", [self._written[s] for s in live])
        self._alive = bytearray(b"\x01" * len(live))
        self._dead = 0
        self._terms, self._tfs, self._post_slot, self._post_tf = {}, {}, {}, {}
        self._dcid, self._dslot = [], {}
        self._set_base(*arrays[:3], arrays[3:])
        self._set_ids(ids)
        self.by_article = {}
        self._link_all()
        self._df = array("i", np.diff(self._tptr).astype(np.int32).tobytes())

    def _version(self, slot: int) -> ChunkVersion:
        return self._aid[slot], self._hash[slot], self._nch[slot], self._written[slot]

    def _set_version(self, slot: int, version: ChunkVersion) -> None:
        aid, content_hash, n, written = version
        # one string object per article id and hash, however many chunks share them
        aid, old = sys.intern(aid), self._aid[slot]
        if old != aid:
            if old is not None:
                self._unlink(slot, old)
            self.by_article.setdefault(aid, array("i")).append(slot)
        self._aid[slot], self._hash[slot] = aid, sys.intern(content_hash)
        self._nch[slot], self._written[slot] = n, written

    def _link_all(self) -> None:
        for slot, aid in enumerate(self._aid):
            self.by_article.setdefault(aid, array("i")).append(slot)

    def _unlink(self, slot: int, article_id: str) -> None:
        slots = self.by_article.get(article_id)
        if slots is not None and slot in slots:
            slots.remove(slot)
            if not slots:
                del self.by_article[article_id]

    def _add(self, cid: str, toks: list[str], date: int, version: ChunkVersion) -> None:
        self._range = None
        slot = len(self._alive)
        counts = Counter(toks)
        term_ids, tfs = array("i"), array("H")
        for word, tf in counts.items():
            term = self._vocab.get(word)
            if term is None:
                term = self._vocab[word] = len(self._words)
                self._words.append(word)
                self._df.append(0)
            if term not in self._post_slot:
                self._post_slot[term], self._post_tf[term] = array("i"), array("H")
            tf = min(tf, 65535)
            term_ids.append(term)
            tfs.append(tf)
            self._df[term] += 1
            self._post_slot[term].append(slot)
            self._post_tf[term].append(tf)
        length = len(toks) or 1  # an empty text counts as one token, as bm25s does
        self._dcid.append(cid)
        self._len.append(length)
        self._date.append(int(date))
        self._alive.append(1)
        self._terms[slot], self._tfs[slot] = term_ids, tfs
        self._dslot[cid] = slot
        self._live += 1
        self._total_len += length
        self._aid.append(None)
        self._hash.append(None)
        self._nch.append(0)
        self._written.append(0)
        self._set_version(slot, version)

    def _remove(self, cid: str) -> None:
        self._range = None
        slot = self._find(cid)
        if slot is None:
            return
        if slot >= self._base_n:
            del self._dslot[cid]
            self._dcid[slot - self._base_n] = None
        self._live -= 1
        for term in self._chunk_terms(slot).tolist():
            self._df[term] -= 1
        self._total_len -= self._len[slot]
        self._alive[slot] = 0
        self._terms.pop(slot, None)  # its postings stay until compaction, masked by _alive
        self._tfs.pop(slot, None)
        self._unlink(slot, self._aid[slot])
        self._aid[slot] = self._hash[slot] = None
        self._dead += 1

    def _maybe_compact(self) -> None:
        """Drop tombstones once they outnumber live chunks (postings shrink, slots renumber)."""
        if self._dead <= max(1000, self._live):
            return
        self._rebase()

