"""The HTTP API (FastAPI): an OpenAI-compatible chat endpoint plus the archive's own routes.

    assistant api --port 8080          # or: uvicorn --factory assistant.api:create_app

>>> from openai import OpenAI
>>> client = OpenAI(base_url="http://127.0.0.1:8080/v1", api_key="unused-or-your-key")
>>> reply = client.chat.completions.create(
...     model="newsdesk", messages=[{"role": "user", "content": "What does the framework cover?"}])
>>> reply.choices[0].message.content       # the answer, with [n] markers
>>> reply.model_extra["citations"]         # [{"n": 1, "title": ..., "date": ..., "quote": ...}]

Routes: ``POST /v1/chat/completions`` (``stream: true`` sends server-sent events in OpenAI's
chunk format, ending with ``data: [DONE]``), ``GET /v1/models``, ``POST /v1/ask``,
``POST /v1/search``, ``GET|POST /v1/articles``, ``DELETE /v1/articles/{id}``, ``GET /healthz``,
``GET /readyz``; OpenAPI docs at ``/docs``. See docs/api.md.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, HTTPException, Request, Security, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.app import Assistant
from assistant.config import Settings
from assistant.types import Answer, ArticleInfo, Turn

log = logging.getLogger(__name__)

MODEL_NAME = "newsdesk-assistant"
# Module-level: FastAPI resolves the (string) annotations that name them in this module's scope.
_BEARER = HTTPBearer(auto_error=False, description="The API key as a Bearer token.")
_KEY_HEADER = APIKeyHeader(name="x-api-key", auto_error=False, description="The API key.")


# --- request and response bodies ---------------------------------------------------------------


class CitationOut(BaseModel):
    """What a marker ``[n]`` in the answer points to."""

    n: int
    title: str
    date: str | None
    source: str
    quote: str = Field(description="The exact sentences of the passage that back the claim.")
    score: float = Field(description="Retrieval similarity of the passage to the question.")
    support: float | None = Field(
        None, description="How well the quote supports the citing sentence (0-1), when verified."
    )
    chunk_id: str
    article_id: str
    url: str | None = None


class AskRequest(BaseModel):
    question: str
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    since: str | None = Field(None, description="Only articles published on/after (YYYY-MM-DD).")
    until: str | None = Field(None, description="Only articles published on/before (YYYY-MM-DD).")


class AskResponse(BaseModel):
    question: str
    answer: str = Field(description="The answer text with [n] markers.")
    citations: list[CitationOut]
    abstained: bool = Field(description="True when the articles do not hold the answer.")
    rewritten_question: str | None = Field(
        None, description="The stand-alone question actually searched (follow-ups), if rewritten."
    )
    backend: str


class SearchRequest(BaseModel):
    question: str
    k: int | None = Field(None, ge=1, le=50)
    since: str | None = None
    until: str | None = None


class ChunkOut(BaseModel):
    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str
    score: float
    text: str
    url: str | None = None


class ChatMessage(BaseModel, extra="allow"):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel, extra="allow"):
    """OpenAI's chat-completions request. Sampling options are accepted and ignored; ``since``
    and ``until`` (extra fields: ``extra_body=`` in the openai client) filter by date."""

    model: str = MODEL_NAME
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    since: str | None = None
    until: str | None = None


class IngestFailure(BaseModel):
    file: str
    reason: str
    line: int | None = None


class IngestResult(BaseModel):
    ok: bool
    articles_added: int
    articles_updated: int
    articles_unchanged: int
    chunks_added: int
    chunks_removed: int
    chunks_unchanged: int
    failures: list[IngestFailure]


def citations_of(answer: Answer) -> list[CitationOut]:
    """The structured citations of an answer as the API returns them."""
    return [
        CitationOut(
            n=c.n, title=c.title, date=c.date, source=c.source, quote=c.quote, score=c.score,
            support=getattr(c, "support", None), chunk_id=c.chunk_id, article_id=c.article_id,
            url=getattr(c, "url", None),
        )
        for c in answer.citations
    ]


# --- the app -----------------------------------------------------------------------------------


def create_app(bot: Assistant | None = None, settings: Settings | None = None) -> FastAPI:
    """The API for ``bot``; without one, an Assistant is built from settings at start-up
    (so ``uvicorn --factory assistant.api:create_app --workers N`` works)."""
    settings = settings or (bot.settings if bot is not None else Settings())
    state: dict[str, Any] = {"bot": bot}
    write_lock = threading.Lock()  # ingest and delete are not safe to run concurrently

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if state["bot"] is None:
            state["bot"] = await run_in_threadpool(Assistant.from_settings, settings)
        yield

    def assistant() -> Assistant:
        if state["bot"] is None:
            raise HTTPException(503, "the assistant is starting")
        return state["bot"]

    def require_key(
        token: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
        key: Annotated[str | None, Security(_KEY_HEADER)],
    ) -> None:
        if settings.api_key is None:
            return
        expected = settings.api_key.get_secret_value().encode()
        given = (token.credentials if token else key or "").encode()
        if not secrets.compare_digest(given, expected):  # constant time; the key is never logged
            raise HTTPException(
                401, "missing or wrong API key: send 'Authorization: Bearer <key>' or "
                "'x-api-key: <key>'", headers={"WWW-Authenticate": "Bearer"},
            )

    protected = [Depends(require_key)]
    keyed = settings.api_key is not None
    app = FastAPI(
        title="newsdesk assistant",
        version="1",
        description="Cited answers over a news archive. `/v1/chat/completions` speaks OpenAI's "
        "protocol; answers carry `[n]` markers and a structured `citations` list.",
        lifespan=lifespan,
        # with a key, the docs are guarded like every route but /healthz (served below)
        docs_url=None if keyed else "/docs", openapi_url=None if keyed else "/openapi.json",
    )
    if keyed:
        @app.get("/openapi.json", dependencies=protected, include_in_schema=False)
        def openapi_schema() -> JSONResponse:
            return JSONResponse(app.openapi())

        @app.get("/docs", dependencies=protected, include_in_schema=False)
        def swagger() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="newsdesk assistant")
    app.add_middleware(_BodyLimit, max_bytes=settings.max_request_bytes)

    # Errors carry FastAPI's "detail" and OpenAI's "error" object, so that both kinds of client
    # show the message (the openai client raises e.g. UnprocessableEntityError with it).
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors())
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in errors)
        return JSONResponse({"detail": errors, "error": {
            "message": message, "type": "invalid_request_error", "code": 422}}, status_code=422)

    def check_question(question: str) -> str:
        question = question.strip()
        if not question:
            raise HTTPException(422, "the question is empty")
        if len(question) > settings.max_question_chars:
            raise HTTPException(
                422, f"the question is {len(question)} characters long; the limit is "
                f"{settings.max_question_chars} (ASSISTANT_MAX_QUESTION_CHARS)",
            )
        return question

    # --- health ------------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """The process is up (no key needed)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], dependencies=protected)
    def readyz() -> JSONResponse:
        """The store answers: ready to serve questions."""
        bot = state["bot"]
        if bot is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            chunks = bot.store.count()
        except Exception as exc:  # noqa: BLE001  (a Chroma server that went away, whatever the error)
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "chunks": chunks, "backend": bot.backend})

    # --- questions ---------------------------------------------------------------------------

    @app.post("/v1/ask", tags=["questions"], dependencies=protected)
    def ask(body: AskRequest) -> AskResponse:
        """A cited answer (or an explicit abstention) for a question."""
        question = check_question(body.question)
        answer = _answer(assistant(), question, body.history, body.since, body.until)
        return AskResponse(
            question=question, answer=answer.text, citations=citations_of(answer),
            abstained=answer.abstained, backend=answer.backend,
            rewritten_question=getattr(answer, "rewritten_question", None),
        )

    @app.post("/v1/search", tags=["questions"], dependencies=protected)
    def search(body: SearchRequest) -> list[ChunkOut]:
        """The passages nearest to the question, best first (what answers draw from)."""
        question = check_question(body.question)
        try:
            found = assistant().search(question, body.k, since=body.since, until=body.until)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return [ChunkOut(chunk_id=c.chunk_id, article_id=c.article_id, title=c.title,
                         date=c.date, source=c.source, score=c.score, text=c.text, url=c.url)
                for c in found]

    @app.get("/v1/models", tags=["openai"], dependencies=protected)
    def models() -> dict:
        """The one "model" this server offers (OpenAI clients list models to check a server)."""
        return {"object": "list", "data": [
            {"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "newsdesk"}]}

    @app.post("/v1/chat/completions", tags=["openai"], dependencies=protected,
              response_model=None)
    def chat_completions(body: ChatRequest) -> JSONResponse | StreamingResponse:
        """OpenAI-compatible. The last user message is the question; earlier user/assistant
        messages are the history; system messages are ignored. The response carries an extra
        top-level ``citations`` list (in the last chunk when streaming)."""
        turns = [(m.role, _text(m.content)) for m in body.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1][0] != "user":
            raise HTTPException(422, "the last message must come from the user: it is the question")
        question = check_question(turns[-1][1])
        history = [Turn(role=role, content=content) for role, content in turns[:-1]]
        bot = assistant()
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            answer = _answer(bot, question, history, body.since, body.until)
            return JSONResponse({
                "id": completion_id, "object": "chat.completion", "created": created,
                "model": body.model,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": answer.text}}],
                "usage": _usage(bot, [c for _, c in turns], answer.text),
                **_extras(answer),
            })
        # Check the dates before the stream starts: after that, only a 200 can be sent.
        _dates(body.since, body.until)

        def events() -> Iterator[str]:
            def chunk(delta: dict, finish: str | None = None, **extra) -> str:
                return "data: " + json.dumps({
                    "id": completion_id, "object": "chat.completion.chunk", "created": created,
                    "model": body.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                 "logprobs": None}],
                    **extra,
                }) + "\n\n"

            yield chunk({"role": "assistant", "content": ""})
            try:
                for piece in bot.stream(question, history=history, since=body.since,
                                        until=body.until):
                    if isinstance(piece, str):
                        yield chunk({"content": piece})
                    else:
                        yield chunk({}, "stop", **_extras(piece))
            except Exception as exc:  # headers are gone: report in-band, as OpenAI does
                log.exception("streaming answer failed")
                yield "data: " + json.dumps({"error": {"message": str(exc),
                                                       "type": "server_error"}}) + "\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    # --- the archive -------------------------------------------------------------------------

    @app.get("/v1/articles", tags=["articles"], dependencies=protected)
    def list_articles() -> list[ArticleInfo]:
        """Every article in the archive, newest first."""
        return assistant().articles()

    @app.post("/v1/articles", tags=["articles"], dependencies=protected,
              responses={422: {"model": IngestResult, "description": "no file could be ingested"}})
    def upload_articles(files: Annotated[list[UploadFile], File()]) -> JSONResponse:
        """Upload one or more article files (.txt, .md, .html, .jsonl); validated as by
        ``assistant ingest``. Failures are listed per file (and line); 422 when none landed."""
        bot = assistant()
        with write_lock:
            report = bot.ingest_uploads((f.filename or "", f.file) for f in files)
        failures = [IngestFailure(file=f.path, reason=f.reason, line=f.line)
                    for f in report.failures]
        counts = {k: getattr(report, k, 0) for k in (
            "articles_added", "articles_updated", "articles_unchanged", "chunks_added",
            "chunks_removed", "chunks_unchanged")}
        result = IngestResult(ok=not failures, failures=failures, **counts)
        landed = counts["articles_added"] + counts["articles_updated"] + counts["articles_unchanged"]
        return JSONResponse(result.model_dump(), status_code=200 if landed or not failures else 422)

    @app.delete("/v1/articles/{article_id}", tags=["articles"], dependencies=protected)
    def delete_article(article_id: str) -> dict:
        """Remove an article and all its chunks."""
        with write_lock:
            removed = assistant().delete(article_id)
        if not removed:
            raise HTTPException(404, f"no article with id {article_id!r}")
        return {"deleted": article_id, "chunks": removed}

    return app


def serve(bot: Assistant | None, host: str, port: int, settings: Settings | None = None) -> None:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(bot, settings), host=host, port=port, log_level="info")


# --- helpers -----------------------------------------------------------------------------------


def _answer(bot: Assistant, question: str, history, since, until) -> Answer:
    try:
        return bot.ask(question, history=history, since=since, until=until)
    except ValueError as exc:  # a malformed or empty date range
        raise HTTPException(422, str(exc)) from None


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    kind = {401: "authentication_error", 404: "not_found_error", 413: "request_too_large",
            503: "service_unavailable"}.get(status, "invalid_request_error" if status < 500
                                             else "server_error")
    return JSONResponse({"detail": message, "error": {"message": message, "type": kind,
                                                      "code": status}},
                        status_code=status, headers=headers)


def _dates(since: str | None, until: str | None) -> None:
    from assistant.retrieval import date_where

    try:
        date_where(since, until)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _extras(answer: Answer) -> dict:
    """The fields this API adds to OpenAI's response (documented in docs/api.md)."""
    return {
        "citations": [c.model_dump() for c in citations_of(answer)],
        "abstained": answer.abstained,
        "rewritten_question": getattr(answer, "rewritten_question", None),
    }


def _usage(bot: Assistant, prompts: list[str], completion: str) -> dict:
    prompt_tokens = sum(bot.count_tokens(prompts)) if prompts else 0
    completion_tokens = bot.count_tokens([completion])[0] if completion else 0
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def _text(content: str | list[dict] | None) -> str:
    """Message content as text: a string, or the text parts of a content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")


class _TooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit} bytes "
                              "(ASSISTANT_MAX_REQUEST_BYTES)")


class _BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413: at once when Content-Length says so, and while
    reading when the body is sent in chunks without a length."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = _error(413, _TooLarge(self.max_bytes).detail)
            return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
