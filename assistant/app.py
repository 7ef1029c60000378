"""The one object every face (CLI, web chat, HTTP API, evals, your own code) talks to.

>>> from assistant import Assistant
>>> bot = Assistant.from_settings()
>>> report = bot.ingest(["corpus/"])
>>> answer = bot.ask("What does the minerals framework cover?")
>>> print(answer.text)
>>> print(answer.sources_text())
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from assistant.chain import build_chain
from assistant.chunking import TokenChunker, embedding_text, tiktoken_counter
from assistant.config import Settings
from assistant.corpus import SUPPORTED_SUFFIXES, iter_files, load_file
from assistant.embeddings import Embedder
from assistant.generation import ExtractiveAnswerer, chat_model_from_settings, llm_answerer
from assistant.retrieval import DenseRetriever, date_where
from assistant.store import ChromaStore, WritePlan, make_client
from assistant.types import Answer, Article, ArticleInfo, IngestReport, LoadError, RetrievedChunk, Turn

ProgressCallback = Callable[[int, int, str], None]  # (done, total, current item)

_EMBED_BATCH_CHUNKS = 256  # chunks embedded per encode call across articles


@dataclass
class _Batch:
    """Articles planned but not yet embedded and written."""

    report: IngestReport
    plans: list[WritePlan] = field(default_factory=list)
    new_chunks: int = 0
    seen: dict[str, str] = field(default_factory=dict)  # article id -> source, within this run


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
        self.retriever = DenseRetriever(store, embedder)
        if llm is None and settings.answer_backend != "extractive":
            llm = chat_model_from_settings(settings)
        if llm is not None:
            answerer = llm_answerer(llm, settings.prompts_dir)
            backend = f"llm:{type(llm).__name__}"
        else:
            answerer = ExtractiveAnswerer(
                embedder, max_sentences=settings.max_answer_sentences,
                min_score=settings.answer_min_score, relative=settings.answer_relative,
                carry=settings.answer_carry, semantic_weight=settings.answer_semantic_weight,
            ).as_runnable()
            backend = "extractive"
        self.backend = backend
        self.chain: Runnable = build_chain(
            self.retriever, answerer, backend=backend, top_k=settings.top_k,
            context_tokens=settings.context_tokens, min_relevance=settings.min_relevance,
            count_tokens=self.count_tokens, prompts_dir=settings.prompts_dir,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        llm: BaseChatModel | None = None,
        **overrides,
    ) -> Assistant:
        """Build from ``Settings`` (env/.env) plus keyword overrides.

        ``embedder`` reuses an already loaded model; ``llm`` plugs in any LangChain chat model.
        """
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        embedder = embedder or Embedder.load(settings.embedding_model, settings.embedding_batch_size)
        store = ChromaStore(make_client(settings), settings.collection, embedder.fingerprint)
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
        that range. ``history`` (earlier turns, oldest first) is accepted so that callers can
        pass conversations; the default pipeline does not yet rewrite follow-ups with it.
        """
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        return self.chain.invoke({
            "question": question, "history": list(history or []),
            "where": date_where(since, until), "store_empty": self.store.count() == 0,
        })

    def search(
        self, question: str, k: int | None = None, *, since: str | None = None,
        until: str | None = None,
    ) -> list[RetrievedChunk]:
        """The ``k`` passages nearest to the question, best first (what ``ask`` draws from)."""
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        return self.retriever.retrieve(
            question, k or self.settings.top_k, date_where(since, until)
        )

    # --- the archive -------------------------------------------------------------------------

    def ingest(
        self, paths: Iterable[str | Path], progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Load, chunk, embed and store articles. Bad files are reported, never fatal."""
        report = IngestReport()
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
        return report

    def ingest_articles(self, articles: Iterable[Article]) -> IngestReport:
        """Store articles built in code (an eval set, another pipeline's documents)."""
        batch = _Batch(IngestReport())
        for article in articles:
            self._stage(article, batch)
        self._commit(batch)
        return batch.report

    def _stage(self, article: Article, batch: _Batch) -> None:
        if article.id in batch.seen:  # e.g. two JSONL rows with one url: which one is true?
            batch.report.failures.append(LoadError(
                article.source, f"same article identity as {batch.seen[article.id]}; kept that one"
            ))
            return
        batch.seen[article.id] = article.source
        try:
            plan = self.store.plan(article, self.chunker.split(article))
        except ValueError as err:
            batch.report.failures.append(LoadError(article.source, str(err)))
            return
        batch.plans.append(plan)
        batch.new_chunks += len(plan.new_chunks)
        if batch.new_chunks >= _EMBED_BATCH_CHUNKS:
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        """Embed the new chunks of several articles in one call, then write article by article."""
        plans, report = batch.plans, batch.report
        batch.plans, batch.new_chunks = [], 0
        todo = [(plan.article, c) for plan in plans for c in plan.new_chunks]
        vectors = self.embedder.embed_documents(
            [embedding_text(a.title, a.date, c.text) for a, c in todo]
        )
        by_id = {c.id: v for (_, c), v in zip(todo, vectors, strict=True)}
        for plan in plans:
            result = self.store.write(plan, by_id)
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

    def delete(self, article_id: str) -> int:
        """Remove an article and all its chunks; returns the number of chunks removed."""
        return self.store.delete_article(article_id)

