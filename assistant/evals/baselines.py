"""Peer systems the runner scores beside the assistant, on the same articles.

* ``langchain-default`` — what a LangChain user writes by default:
  ``RecursiveCharacterTextSplitter`` (1000/200 characters), ``HuggingFaceEmbeddings`` on the same
  bundled model, ``langchain_chroma`` and k=4, answered by the assistant's own extractive
  answerer and citation step, so the two differ in chunking and retrieval only.
* ``newsrag-lexical`` / ``newsrag-embed`` — the ``newsrag`` package (``NewsroomRAG``) with its
  defaults, without and with our embedder. It has no offline generator, so its answer is its top
  evidence passage, cited once.

Every peer reads the articles through the product's loader (:func:`load_articles`), so parsing
never explains a difference.

>>> articles = load_articles(["corpus/"])
>>> names = expand(["langchain-default", "newsrag"])  # newsrag: lexical and embed
>>> peers = [make_baseline(n, articles, settings, embedder) for n in names]
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.chain import build_chain
from assistant.chunking import sentence_spans, tiktoken_counter
from assistant.config import Settings
from assistant.corpus import SUPPORTED_SUFFIXES, iter_files, load_file
from assistant.embeddings import Embedder, resolve_model_path
from assistant.evals.runner import System, SystemOutput
from assistant.evals.suite import Case
from assistant.generation import ExtractiveAnswerer
from assistant.retrieval import date_where
from assistant.types import Answer, Article, Citation, LoadError, RetrievedChunk, digest

if TYPE_CHECKING:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from newsrag import Evidence

log = logging.getLogger(__name__)

# LangChain's own defaults, written out so describe() can report them.
LC_CHUNK_SIZE = 1000
LC_CHUNK_OVERLAP = 200
LC_K = 4  # VectorStore.similarity_search's default k
# The answerer sees all k passages (no token budget trims them) and every question is answered
# (LangChain has no relevance gate; the answerer's own sentence floor still applies).
LC_CONTEXT_TOKENS = 100_000
LC_MIN_RELEVANCE = -1.0

NEWSRAG_ANSWER_K = 5  # NewsroomRAG.ask's default top_k


# --- articles --------------------------------------------------------------------------------


def load_articles(paths: Iterable[str | Path], *, max_bytes: int = 20_000_000) -> list[Article]:
    """The articles of files and folders, read as ``Assistant.ingest`` reads them.

    Same selection (folders: supported suffixes only; a file named explicitly is always tried),
    same loader, same de-duplication (the first article of an identity wins). Files that fail
    are logged and skipped, as ingest reports and skips them.
    """
    named = [Path(p) for p in paths]
    files: dict[Path, Path] = {}
    for item in iter_files(named):
        if isinstance(item, LoadError):
            log.warning("skipped: %s", item)
        elif item.suffix.lower() in SUPPORTED_SUFFIXES or item in named:
            files.setdefault(item.resolve(), item)
    articles: dict[str, Article] = {}
    for path in files.values():
        found, errors = load_file(path, max_bytes=max_bytes)
        for err in errors:
            log.warning("skipped: %s", err)
        for article in found:
            if article.id in articles:
                log.warning("skipped: %s: same article identity as %s",
                            article.source, articles[article.id].source)
                continue
            articles[article.id] = article
    return list(articles.values())


def _extractive_answerer(settings: Settings, embedder: Embedder) -> ExtractiveAnswerer:
    # Exactly the assistant's extractive answerer (see Assistant.__init__).
    return ExtractiveAnswerer.from_settings(settings, embedder)


def _filters(case: Case) -> tuple[str | None, str | None]:
    return (case.filters.since, case.filters.until) if case.filters else (None, None)


# --- LangChain, as written by default ------------------------------------------------------------


@lru_cache(maxsize=2)
def _hf_embeddings(model_folder: str) -> HuggingFaceEmbeddings:
    # Loading the model is not ingest; share it between instances (it is stateless).
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=model_folder)


class _ChromaRetriever:
    """The assistant's ``Retriever`` protocol over a LangChain Chroma vector store."""

    def __init__(self, store: Chroma):
        self.store = store

    def count(self) -> int:
        return self.store._collection.count()  # langchain_chroma exposes no public count

    def retrieve(self, question: str, k: int, where: dict | None = None) -> list[RetrievedChunk]:
        n = min(k, self.count())
        if n < 1:
            return []
        pairs = self.store.similarity_search_with_score(question, k=n, filter=where)
        return [self._chunk(doc, distance) for doc, distance in pairs]

    @staticmethod
    def _chunk(doc: Document, distance: float) -> RetrievedChunk:
        m = doc.metadata
        return RetrievedChunk(
            chunk_id=doc.id or m["chunk_id"], article_id=m["article_id"], title=m["title"],
            date=m.get("date"), source=m["source"], text=doc.page_content,
            start=m["start_index"], end=m["start_index"] + len(doc.page_content),
            score=1.0 - distance,  # cosine space: distance = 1 - cosine similarity
            url=m.get("url"),
        )


class LangChainDefault:
    """Split → embed → Chroma → top 4, then the assistant's answerer and citation step."""

    name = "langchain-default"

    def __init__(self, articles: Sequence[Article], settings: Settings, embedder: Embedder):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.settings = settings
        _, folder = resolve_model_path(settings.embedding_model)
        self.model_folder = str(folder)
        t0 = time.perf_counter()
        self.embeddings = _hf_embeddings(self.model_folder)
        self.model_load_seconds = time.perf_counter() - t0

        t0 = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=LC_CHUNK_SIZE, chunk_overlap=LC_CHUNK_OVERLAP, add_start_index=True
        )
        docs: list[Document] = []
        for article in articles:
            meta: dict[str, Any] = {
                "article_id": article.id, "title": article.title, "source": article.source,
            }
            if article.date:  # Chroma metadata holds no None; filters compare numbers
                meta["date"] = article.date
                meta["date_int"] = int(article.date.replace("-", ""))
            if article.url:
                meta["url"] = article.url
            docs.extend(splitter.create_documents([article.text], metadatas=[meta]))
        for doc in docs:
            doc.id = digest(self.name, doc.metadata["article_id"],
                            str(doc.metadata["start_index"]), str(len(doc.page_content)))
            doc.metadata["chunk_id"] = doc.id
        # A private folder per instance: Chroma shares one in-process system per path (and one
        # for all ephemeral clients), so two baselines must never meet in one.
        folder = tempfile.mkdtemp(prefix="langchain-default-")
        client = chromadb.PersistentClient(
            path=folder, settings=ChromaSettings(anonymized_telemetry=False)
        )
        self._finalizer = weakref.finalize(self, _release_chroma, client, folder)
        self.store = Chroma(
            collection_name="langchain",
            embedding_function=self.embeddings,  # always ours: Chroma's default would download
            client=client,
            # Chroma's default space is l2. This model ends in a Normalize layer, so l2 and
            # cosine rank identically; cosine makes 1 - distance the exact cosine similarity.
            collection_metadata={"hnsw:space": "cosine"},
        )
        if docs:
            self.store.add_documents(docs, ids=[d.id for d in docs])
        self.chunks = len(docs)
        self.ingest_seconds = time.perf_counter() - t0

        self.retriever = _ChromaRetriever(self.store)
        self.chain = build_chain(
            self.retriever, _extractive_answerer(settings, embedder).as_runnable(),
            backend=self.name, top_k=LC_K, context_tokens=LC_CONTEXT_TOKENS,
            min_relevance=LC_MIN_RELEVANCE,
            count_tokens=tiktoken_counter(settings.tiktoken_encoding),
            prompts_dir=settings.prompts_dir, story_similarity=settings.story_similarity,
        )

    def run(self, case: Case, depth: int) -> SystemOutput:
        question = case.question.strip()
        where = date_where(*_filters(case))
        t0 = time.perf_counter()
        ranked = self.retriever.retrieve(question, depth, where)
        t1 = time.perf_counter()
        answer: Answer = self.chain.invoke({
            "question": question, "history": list(case.history), "where": where,
            "store_empty": self.retriever.count() == 0,
        })
        t2 = time.perf_counter()
        return SystemOutput(answer, ranked, answer.retrieved, t2 - t1, t1 - t0)

    def describe(self) -> dict[str, Any]:
        return {
            "pipeline": "RecursiveCharacterTextSplitter → HuggingFaceEmbeddings → Chroma → "
                        "assistant's extractive answerer",
            "splitter": "RecursiveCharacterTextSplitter",
            "chunk_size_chars": LC_CHUNK_SIZE,
            "chunk_overlap_chars": LC_CHUNK_OVERLAP,
            "embedding_model": self.settings.embedding_model,
            "embeddings": "HuggingFaceEmbeddings(model_name=<bundled folder>), defaults otherwise",
            "vector_store": "langchain_chroma.Chroma, PersistentClient in a temp dir, no telemetry",
            "search": "similarity_search_with_score",
            "distance": "cosine (score = 1 - distance)",
            "top_k": LC_K,
            "context_tokens": LC_CONTEXT_TOKENS,
            "min_relevance": LC_MIN_RELEVANCE,
            "answerer": "extractive (the assistant's, same settings)",
            "chunks": self.chunks,
            "model_load_seconds": round(self.model_load_seconds, 3),
            "ingest_seconds": round(self.ingest_seconds, 3),
            "deviations": [
                ("collection space cosine instead of Chroma's l2 default: same ranking for this "
                 "unit-normalised model; scores become cosine similarities"),
                "numeric date_int metadata added so since/until filters work (Chroma where)",
                ("chunks embed their text only (LangChain default); the assistant embeds title "
                 "and date with each chunk"),
                "conversation history ignored (as by the assistant)",
            ],
        }

    def close(self) -> None:
        """Stop the Chroma client and delete its folder (also done when garbage collected)."""
        self._finalizer()


def _release_chroma(client: Any, folder: str) -> None:
    client.close()
    shutil.rmtree(folder, ignore_errors=True)


# --- newsrag ------------------------------------------------------------------------------------


def _day_utc(day: str | None) -> dt.datetime | None:
    # Articles carry a publication day; newsrag wants an aware datetime. Midnight UTC on both
    # the sources and the bounds keeps before/after inclusive of whole days.
    if not day:
        return None
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.UTC)


class NewsRAG:
    """``newsrag.NewsroomRAG`` with its defaults; the answer is its top evidence passage."""

    def __init__(
        self,
        articles: Sequence[Article],
        settings: Settings,
        embedder: Embedder,
        *,
        mode: Literal["lexical", "embed"] = "lexical",
    ):
        import newsrag
        from newsrag import NewsroomRAG, Source

        self.name = f"newsrag-{mode}"
        self.mode = mode
        self.settings = settings
        self.version = newsrag.__version__
        self.articles = {a.id: a for a in articles}
        embed: Callable[[list[str]], list[list[float]]] | None = (
            embedder.embed_documents if mode == "embed" else None
        )
        t0 = time.perf_counter()
        sources = [
            Source(id=a.id, title=a.title, text=a.text, url=a.url, published_at=_day_utc(a.date))
            for a in self.articles.values()
        ]
        self.rag = NewsroomRAG(embed=embed).add(*sources)
        self.ingest_seconds = time.perf_counter() - t0
        self.chunks = len(self.rag._chunks)  # no public count
        self.chunk_size, self.overlap = self.rag.chunk_size, self.rag.overlap

    def run(self, case: Case, depth: int) -> SystemOutput:
        question = case.question.strip()
        since, until = _filters(case)
        window = {"after": _day_utc(since), "before": _day_utc(until)}
        t0 = time.perf_counter()
        ranked = (
            [self._chunk(e) for e in self.rag.search(question, top_k=depth, **window)]
            if depth >= 1 else []
        )
        t1 = time.perf_counter()
        reply = self.rag.ask(question, top_k=NEWSRAG_ANSWER_K, **window)
        context = [self._chunk(e) for e in reply.evidence]
        answer = self._answer(question, reply.text, context)
        t2 = time.perf_counter()
        return SystemOutput(answer, ranked, context, t2 - t1, t1 - t0)

    def _answer(self, question: str, abstain_text: str, context: list[RetrievedChunk]) -> Answer:
        if not context:  # newsrag abstains by returning no evidence
            return Answer(question=question, text=abstain_text, abstained=True,
                          backend=self.name, retrieved=[])
        top = context[0]
        citation = Citation(
            n=1, chunk_id=top.chunk_id, article_id=top.article_id, title=top.title,
            date=top.date, source=top.source, quote=top.text, quote_spans=[(0, len(top.text))],
            chunk_text=top.text, article_start=top.start, article_end=top.end,
            score=round(top.score, 4),
        )
        # every sentence of the passage carries the marker: the whole passage is the claim
        text = " ".join(
            f"{top.text[s:e].strip()} [1]" for s, e in sentence_spans(top.text)
        ) or f"{top.text} [1]"
        return Answer(question=question, text=text, citations=[citation],
                      backend=self.name, retrieved=context)

    def _chunk(self, ev: Evidence) -> RetrievedChunk:
        article = self.articles[ev.source_id]  # we gave newsrag Article.id as the source id
        return RetrievedChunk(
            chunk_id=digest(self.name, ev.source_id, str(ev.start), str(ev.end)),
            article_id=article.id, title=article.title, date=article.date,
            source=article.source, text=ev.excerpt, start=ev.start, end=ev.end,
            score=float(ev.score), url=article.url,
        )

    def describe(self) -> dict[str, Any]:
        scoring = (
            "BM25 (k1=1.2, b=0.75) over newsrag's tokens" if self.mode == "lexical" else
            f"{self.rag.lexical_weight}·BM25 + {1 - self.rag.lexical_weight}·max(0, cosine), "
            "each normalised to the best candidate"
        )
        return {
            "pipeline": f"newsrag {self.version} NewsroomRAG ({self.mode})",
            "mode": self.mode,
            "embedding_model": self.settings.embedding_model if self.mode == "embed" else None,
            "chunk_size_chars": self.chunk_size,
            "chunk_overlap_chars": self.overlap,
            "scoring": scoring,
            "recency_half_life_days": self.rag.recency_half_life_days,
            "lead_boost": self.rag.lead_boost,
            "answer_top_k": NEWSRAG_ANSWER_K,
            "answerer": "none: the answer is the top evidence excerpt verbatim, cited [1]",
            "chunks": self.chunks,
            "ingest_seconds": round(self.ingest_seconds, 3),
            "deviations": [
                ("newsrag generates no text offline: answer = top evidence excerpt + ' [1]' "
                 "(only the last sentence carries the marker)"),
                "abstains only when no chunk scores above 0: "
                + ("any shared query token counts, stop words included" if self.mode == "lexical"
                   else "i.e. almost never (any positive cosine counts)"),
                "scores are newsrag's own, not cosine similarities",
                ("since/until → after/before on published_at = article day 00:00 UTC "
                 "(inclusive; undated articles excluded when filtering)"),
                "conversation history ignored",
            ],
        }


# --- registry ---------------------------------------------------------------------------------

BaselineFactory = Callable[[Sequence[Article], Settings, Embedder], System]

BASELINES: dict[str, BaselineFactory] = {
    "langchain-default": LangChainDefault,
    "newsrag-lexical": lambda a, s, e: NewsRAG(a, s, e, mode="lexical"),
    "newsrag-embed": lambda a, s, e: NewsRAG(a, s, e, mode="embed"),
}
GROUPS: dict[str, list[str]] = {"newsrag": ["newsrag-lexical", "newsrag-embed"]}


def expand(names: Iterable[str]) -> list[str]:
    """Baseline names with groups ("newsrag") spelled out; order kept, duplicates dropped."""
    out: list[str] = []
    for name in names:
        name = name.strip()
        members = GROUPS.get(name, [name])
        for member in members:
            if member not in BASELINES:
                raise ValueError(f"unknown baseline {name!r}; known: "
                                 f"{', '.join([*BASELINES, *GROUPS])}")
            if member not in out:
                out.append(member)
    return out


def make_baseline(
    name: str, articles: Sequence[Article], settings: Settings, embedder: Embedder
) -> System:
    """Build (and ingest) one baseline by name; a group name must go through :func:`expand`."""
    if name in GROUPS:
        raise ValueError(f"{name!r} names several baselines ({', '.join(GROUPS[name])}); "
                         "pass each, or expand() the list first")
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join([*BASELINES, *GROUPS])}")
    return BASELINES[name](articles, settings, embedder)

