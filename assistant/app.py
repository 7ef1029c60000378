"""The one object every face (CLI, web chat, HTTP API, evals, your own code) talks to.

>>> from assistant import Assistant
>>> bot = Assistant.from_settings()
>>> report = bot.ingest(["corpus/"])
>>> answer = bot.ask("What does the minerals framework cover?")
>>> print(answer.text)
>>> print(answer.sources_text())
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.chain import build_chain
from assistant.chunking import TokenChunker, embedding_text, tiktoken_counter
from assistant.config import Settings
from assistant.corpus import SUPPORTED_SUFFIXES, iter_files, load_file
from assistant.embeddings import Embedder
from assistant.generation import (
    ExtractiveAnswerer,
    chat_model_from_settings,
    llm_answerer,
)
from assistant.llamacpp import fit_to_context
from assistant.malloc import tune_malloc
from assistant.retrieval import HybridRetriever, TermReranker, date_where
from assistant.rewrite import make_rewriter
from assistant.store import (
    LOG_SUFFIX,
    ChromaStore,
    WritePlan,
    delete_collection_if_exists,
    make_client,
    stored_unchanged,
)
from assistant.support import LexicalJudge
from assistant.types import (
    Answer,
    Article,
    ArticleInfo,
    IngestReport,
    LoadError,
    RetrievedChunk,
    Turn,
    digest,
)

ProgressCallback = Callable[[int, int, str], None]  # (done, total, current item)

@dataclass
class _Batch:
    """Articles read but not yet chunked, embedded and written."""

    report: IngestReport
    articles: list[Article] = field(default_factory=list)
    chars: int = 0
    seen: dict[str, str] = field(default_factory=dict)  # article id -> source, within this run
    store: ChromaStore | None = None  # where to write; the assistant's own store when None


class Assistant:
    """Question answering with citations over the articles in one Chroma collection."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: ChromaStore,
        llm: BaseChatModel | None = None,
    ):
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.count_tokens = tiktoken_counter(settings.tiktoken_encoding)
        self.chunker = TokenChunker(
            self.count_tokens, embedder.count_tokens_batch, embedder.content_limit,
            size=settings.chunk_size, overlap=settings.chunk_overlap,
        )
        self.retriever = HybridRetriever(
            store, embedder, mode=settings.retrieval_mode, pool=settings.candidate_pool,
            rrf_k=settings.rrf_k, dense_weight=settings.dense_weight,
            lexical_weight=settings.lexical_weight,
            reranker=TermReranker(settings.rerank_term_weight, settings.recency_weight)
            if settings.rerank == "terms" else None,
            dedupe_threshold=settings.dedupe_threshold, per_article=settings.per_article,
        )
        if llm is None and settings.answer_backend != "extractive":
            llm = chat_model_from_settings(settings)
        if llm is not None:
            # fewer passages when a local model's context overflows (only ChatLlamaCpp says so)
            answerer = fit_to_context(llm_answerer(llm, settings.prompts_dir))
            backend = f"llm:{type(llm).__name__}"
        else:
            answerer = ExtractiveAnswerer.from_settings(settings, embedder).as_runnable()
            backend = "extractive"
        self.backend = backend
        self.rewriter = make_rewriter(llm, settings.prompts_dir) if settings.rewrite_followups \
            else None
        self.chain: Runnable = build_chain(
            self.retriever, answerer, backend=backend, top_k=settings.top_k,
            context_tokens=settings.context_tokens, min_relevance=settings.min_relevance,
            count_tokens=self.count_tokens, prompts_dir=settings.prompts_dir,
            abstain_on_missing_names=settings.abstain_on_missing_names,
            story_similarity=settings.story_similarity, rewriter=self.rewriter,
            corrections=self.retriever.corrections if settings.retrieve_corrections else None,
            judge=LexicalJudge(settings.support_threshold) if settings.verify_citations else None,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        llm: BaseChatModel | None = None,
        strict_embedder: bool = True,
        **overrides,
    ) -> Assistant:
        """Build from ``Settings`` (env/.env) plus keyword overrides.

        ``embedder`` reuses an already loaded model; ``llm`` plugs in any LangChain chat model.
        ``strict_embedder=False`` opens a store built with another embedder, to ``reindex`` it.
        """
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tune_malloc(settings.malloc_arena_max, settings.malloc_mmap_threshold_kb)
        embedder = embedder or Embedder.load(
            settings.embedding_model, settings.embedding_batch_size, dtype=settings.embedding_dtype,
            query_threads=settings.query_threads, ingest_threads=settings.ingest_threads,
            ingest_workers=settings.ingest_workers,
            sentence_cache=settings.sentence_cache, runtime=settings.embedding_runtime,
            onednn_cache=settings.onednn_cache,
        )
        store = ChromaStore(
            make_client(settings), settings.collection, embedder.fingerprint,
            lexical_dir=settings.data_dir / "lexical", strict=strict_embedder,
            log_retention_s=settings.change_log_retention_s,
            writer_grace_s=settings.writer_grace_s,
        )
        return cls(settings, embedder, store, llm=llm)

    # --- asking ------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Answer:
        """A cited answer, or an explicit abstention when the articles do not hold one.

        ``since``/``until`` (ISO dates, inclusive) restrict the search to articles published in
        that range. ``history`` (earlier turns, oldest first) turns a follow-up ("When did she
        say that?") into a stand-alone question (``Answer.rewritten_question``).
        """
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        with self.embedder.question_time():
            return self.chain.invoke({
                "question": question, "history": list(history or []),
                "where": date_where(since, until), "since": since, "until": until,
                "store_empty": self.store.is_empty(), "archive_dates": self.store.date_range,
            })

    def search(
        self, question: str, k: int | None = None, *, history: Sequence[Turn] | None = None,
        since: str | None = None, until: str | None = None,
    ) -> list[RetrievedChunk]:
        """The ``k`` passages nearest to the question, best first (what ``ask`` draws from).

        With ``history``, a follow-up is first rewritten into a stand-alone question.
        """
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        with self.embedder.question_time():
            if history and self.rewriter is not None:
                question = self.rewriter.rewrite(question, history)
            return self.retriever.retrieve(
                question, k or self.settings.top_k, date_where(since, until)
            )

    # --- the archive -------------------------------------------------------------------------

    def ingest(
        self, paths: str | Path | Iterable[str | Path], progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Load, chunk, embed and store articles. Bad files are reported, never fatal.
        ``paths`` is a list of files and folders, or one of them."""
        report = IngestReport()
        if isinstance(paths, (str, Path)):  # one path: never its characters ("/" among them)
            paths = [paths]
        named = [Path(p) for p in paths]
        files: dict[Path, Path] = {}  # resolved -> as given; a file named twice is read once
        for item in iter_files(named):
            if isinstance(item, LoadError):
                report.failures.append(item)
            elif item.suffix.lower() in SUPPORTED_SUFFIXES or item in named:
                files.setdefault(item.resolve(), item)  # named explicitly: unsupported is an error
            else:
                report.skipped.append(str(item))
        max_bytes = self.settings.max_file_mb * 1_000_000
        batch = _Batch(report)
        for done, path in enumerate(files.values(), start=1):
            articles, errors = load_file(path, max_bytes=max_bytes)
            report.failures.extend(errors)
            for article in articles:
                self._stage(article, batch)
            if progress:
                progress(done, len(files), str(path))
        self._commit(batch)
        self.store.save_lexical()
        return report

    def ingest_articles(self, articles: Iterable[Article]) -> IngestReport:
        """Store articles built in code (an eval set, another pipeline's documents)."""
        batch = _Batch(IngestReport())
        for article in articles:
            self._stage(article, batch)
        self._commit(batch)
        self.store.save_lexical()
        return batch.report

    def _stage(self, article: Article, batch: _Batch) -> None:
        if article.id in batch.seen:  # e.g. two JSONL rows with one url: which one is true?
            batch.report.failures.append(LoadError(
                article.source, f"same article identity as {batch.seen[article.id]}; kept that one"
            ))
            return
        batch.seen[article.id] = article.source
        batch.articles.append(article)
        batch.chars += len(article.text)
        if batch.chars >= self.settings.ingest_batch_chars:
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        """Chunk the staged articles that changed, embed all their new chunks in one call, and
        write them in one store write. Articles stored unchanged are not even chunked."""
        store, report = batch.store or self.store, batch.report
        articles, batch.articles, batch.chars = batch.articles, [], 0
        stored = store.existing([a.id for a in articles])
        chunking = self.chunker.fingerprint
        plans: list[WritePlan] = []
        for article in articles:
            old = stored.get(article.id, {})
            if stored_unchanged(article, old, chunking):
                report.articles_unchanged += 1
                report.chunks_unchanged += len(old)
                continue
            try:
                plans.append(WritePlan(article, self.chunker.split(article), old, chunking))
            except ValueError as err:
                report.failures.append(LoadError(article.source, str(err)))
        todo = [(plan.article, c) for plan in plans for c in plan.new_chunks]
        vectors = self.embedder.embed_documents(
            [embedding_text(a.title, a.date, c.text) for a, c in todo]
        )
        by_id = {c.id: v for (_, c), v in zip(todo, vectors, strict=True)}
        for result in store.write(plans, by_id):
            if result.status == "added":
                report.articles_added += 1
            elif result.status == "updated":
                report.articles_updated += 1
            else:
                report.articles_unchanged += 1
            report.chunks_added += result.added
            report.chunks_removed += result.removed
            report.chunks_unchanged += result.unchanged

    def articles(self) -> list[ArticleInfo]:
        return self.store.articles()

    def reindex(self, progress: ProgressCallback | None = None) -> IngestReport:
        """Re-chunk and re-embed every stored article with this assistant's embedder (after
        ``EmbedderMismatchError``: open with ``strict_embedder=False``), losing none.

        Articles are rebuilt from their chunks (``ChromaStore.stored_articles``), written into
        ``<collection>-reindex``, checked (same articles, each complete), then swapped in under
        the collection's name (``ChromaStore.swap_in``); the lexical index is rebuilt from it.
        A crash before the swap leaves the old collection untouched (the next run starts over).
        Stop other processes sharing the collection first: they hold the old one open.

        >>> bot = Assistant.from_settings(strict_embedder=False)
        >>> bot.reindex().articles_added
        """
        old = self.store
        articles = list(old.stored_articles())
        staged_name = f"{old.name}-reindex"
        delete_collection_if_exists(old.client, staged_name)  # a run cut short before its swap
        delete_collection_if_exists(old.client, staged_name + LOG_SUFFIX)
        staged = ChromaStore(old.client, staged_name, self.embedder.fingerprint)
        batch = _Batch(IngestReport(), store=staged)
        for done, article in enumerate(articles, start=1):
            self._stage(article, batch)
            if progress:
                progress(done, len(articles), article.title)
        self._commit(batch)
        want = {a.id for a in articles}
        got = {a.id: a.chunks for a in staged.articles()}
        missing = want - set(got)
        if missing or batch.report.failures:
            raise RuntimeError(
                f"re-index left {len(missing)} article(s) out ({batch.report.failures or ''}); "
                f"the collection {old.name!r} is unchanged, {staged_name!r} holds the attempt"
            )
        old.swap_in(staged)
        self._use_store(ChromaStore(old.client, old.name, self.embedder.fingerprint,
                                    lexical_dir=old.lexical_dir,
                                    log_retention_s=old.log_retention_s,
                                    writer_grace_s=old.writer_grace_s))
        self.store.sync_lexical()
        self.store.save_lexical()
        return batch.report

    def _use_store(self, store: ChromaStore) -> None:
        self.store = store
        self.retriever.store = store

    def delete(self, article_id: str) -> int:
        """Remove an article and all its chunks; returns the number of chunks removed."""
        return self.store.delete_article(article_id)

    def ingest_uploads(self, files: Iterable[tuple[str, bytes | BinaryIO]]) -> IngestReport:
        """Ingest uploaded files, given as ``(file name, content)``, as ``ingest`` would ingest
        them from disk (same formats, same checks); failures name the uploaded file.

        An upload is identified by its file name, not by where the server saved it: uploading
        ``notes.md`` again updates that article instead of adding a copy, from any process
        sharing the store. Its ``source`` is ``upload:notes.md`` (JSONL rows: the url, or
        ``upload:feed.jsonl:LINE``).

        >>> bot.ingest_uploads([("bridge.md", b"# Bridge reopens\n\nThe bridge reopened.")])
        """
        loaded: list[Article] = []
        failures: list[LoadError] = []
        max_bytes = self.settings.max_file_mb * 1_000_000
        with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
            for i, (given, content) in enumerate(files):
                name = Path(given or "").name  # never a path chosen by the client
                if name in ("", ".", ".."):
                    failures.append(LoadError(given or "(unnamed)", "no file name"))
                    continue
                path = Path(tmp) / str(i) / name  # own folder: two uploads may share a name
                path.parent.mkdir()
                with open(path, "wb") as out:
                    if isinstance(content, bytes):
                        out.write(content)
                    else:
                        shutil.copyfileobj(content, out)
                articles, errors = load_file(path, max_bytes=max_bytes)
                for error in errors:
                    error.path = name
                failures.extend(errors)
                loaded.extend(_as_upload(article, path, name) for article in articles)
        report = self.ingest_articles(loaded)
        report.failures[:0] = failures
        return report

    # --- streaming and composition -------------------------------------------------------------

    def stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer text in pieces (words with their trailing space), then the ``Answer``.

        The pieces joined equal ``answer.text``; the last item is always the ``Answer`` itself
        (citations, abstention). Pieces are released once the citations are verified, so a
        marker ``[n]`` never changes after a client has shown it.

        >>> for piece in bot.stream("What does the minerals framework cover?"):
        ...     if isinstance(piece, str):
        ...         print(piece, end="", flush=True)
        ...     else:
        ...         answer = piece
        """
        answer = self.ask(question, history=history, since=since, until=until)
        yield from _STREAM_PIECE.findall(answer.text)
        yield answer

    def as_runnable(self) -> Runnable:
        """This assistant as a LangChain Runnable: ``{"question", "history", "since", "until"}``
        (or a plain question string) in, :class:`Answer` out; ``invoke``, ``batch``, ``stream``
        and their async forms all work, and it composes with ``|``.

        >>> qa = bot.as_runnable()
        >>> qa.invoke({"question": "What does the minerals framework cover?"}).text
        >>> (qa | (lambda a: a.text)).batch(["Who met?", "When?"])
        """

        def run(inputs: str | dict) -> Answer:
            if isinstance(inputs, str):
                inputs = {"question": inputs}
            history = [t if isinstance(t, Turn) else Turn.model_validate(t)
                       for t in inputs.get("history") or []]
            return self.ask(inputs["question"], history=history, since=inputs.get("since"),
                            until=inputs.get("until"))

        return RunnableLambda(run, name="newsdesk_assistant")

    def as_retriever(
        self, k: int | None = None, *, since: str | None = None, until: str | None = None
    ):
        """A LangChain ``BaseRetriever`` over the archive: ``invoke(question)`` gives Documents
        (chunk text; title, date, source, url, article_id, chunk_id, score as metadata).

        >>> docs = bot.as_retriever(k=3, since="2025-10-01").invoke("critical minerals")
        """
        from assistant.integrations import NewsArchiveRetriever

        return NewsArchiveRetriever(assistant=self, k=k or self.settings.top_k, since=since,
                                    until=until)

    def as_tool(self, kind: str = "ask"):
        """One LangChain tool for agents: ``"ask"`` (a cited answer) or ``"search"`` (passages).

        >>> from langchain.agents import create_agent
        >>> agent = create_agent(chat_model, tools=[bot.as_tool(), bot.as_tool("search")])
        """
        tools = {t.name.split("_")[0]: t for t in self.as_tools()}
        if kind not in tools:
            raise ValueError(f"unknown tool {kind!r}: 'ask' or 'search'")
        return tools[kind]

    def as_tools(self) -> list:
        """Both tools: ``search_news_archive`` and ``ask_news_archive``."""
        from assistant.integrations import news_tools

        return news_tools(self)


def _as_upload(article: Article, path: Path, name: str) -> Article:
    """``article`` loaded from ``path`` (a temp copy), re-identified by the upload's name."""
    if article.url:  # a JSONL row with a url: the url is its identity already
        return article
    prefix = f"{path}:"
    if article.source.startswith(prefix):  # a JSONL row: identified by title within the file
        line = article.source[len(prefix):]
        return dataclasses.replace(article, id=digest("article", f"upload:{name}#{article.title}"),
                                   source=f"upload:{name}:{line}")
    return dataclasses.replace(article, id=digest("article", f"upload:{name}"),
                               source=f"upload:{name}")


_STREAM_PIECE = re.compile(r"\s*\S+\s*|\s+")  # a word with the whitespace around it
