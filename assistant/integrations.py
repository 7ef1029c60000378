"""The assistant inside other LangChain programs: a standard retriever, and tools for agents.

* :class:`NewsArchiveRetriever` — a ``BaseRetriever``: ``invoke(question)`` gives ``Document``s
  (the chunk text, with title, date, source, url, article_id, chunk_id and score as metadata),
  from the same hybrid search ``Assistant.search`` runs. Checked by ``langchain-tests``' standard
  retriever tests.
* :func:`news_tools` — ``search_news_archive`` (passages) and ``ask_news_archive`` (an answer with
  ``[n]`` markers and its sources; the :class:`~assistant.types.Answer` rides along as the tool
  message's ``artifact``), for ``langchain.agents.create_agent`` or any tool-calling model.

>>> from langchain.agents import create_agent
>>> docs = bot.as_retriever(k=3, since="2025-10-01").invoke("critical minerals")
>>> agent = create_agent(my_chat_model, tools=bot.as_tools())
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from assistant.types import Answer, RetrievedChunk


def as_document(chunk: RetrievedChunk) -> Document:
    return Document(
        id=chunk.chunk_id, page_content=chunk.text,
        metadata={"title": chunk.title, "date": chunk.date, "source": chunk.source,
                  "url": chunk.url, "article_id": chunk.article_id, "chunk_id": chunk.chunk_id,
                  "score": round(chunk.score, 4)},
    )


class NewsArchiveRetriever(BaseRetriever):
    """The ``k`` passages of the archive nearest a question, best first, as ``Document``s.

    ``since``/``until`` (ISO dates, inclusive) keep to articles published in that range;
    ``invoke(question, k=...)`` overrides ``k`` for one call.

    >>> retriever = NewsArchiveRetriever(assistant=bot, k=4)
    >>> [d.metadata["title"] for d in retriever.invoke("rare earths")]
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any  # assistant.app.Assistant (not imported here: app.py imports this module)
    k: int = Field(5, ge=1, le=50)
    since: str | None = None
    until: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        if not query.strip():
            return []
        chunks = self.assistant.search(query, k or self.k, since=self.since, until=self.until)
        return [as_document(c) for c in chunks]


class _Question(BaseModel):
    question: str = Field(description="The question, in plain words.")
    since: str | None = Field(None, description="Only articles published on or after this "
                              "ISO date (YYYY-MM-DD).")
    until: str | None = Field(None, description="Only articles published on or before this "
                              "ISO date (YYYY-MM-DD).")


def _sources(answer: Answer) -> str:
    return "\n".join(f"[{c.n}] {c.title} ({c.date or 'undated'}): {c.quote}"
                     for c in answer.citations)


def news_tools(assistant, *, k: int | None = None) -> list[BaseTool]:
    """Two tools over one assistant: ``search_news_archive`` and ``ask_news_archive``."""

    def search(question: str, since: str | None = None, until: str | None = None):
        chunks = assistant.search(question, k, since=since, until=until)
        if not chunks:
            return "No article in the archive matches.", []
        text = "\n\n".join(f"[{n}] {c.title} ({c.date or 'undated'}, {c.source})\n{c.text}"
                           for n, c in enumerate(chunks, start=1))
        return text, [as_document(c) for c in chunks]

    def ask(question: str, since: str | None = None, until: str | None = None):
        answer = assistant.ask(question, since=since, until=until)
        if answer.abstained:
            return answer.text, answer
        return f"{answer.text}\n\nSources:\n{_sources(answer)}", answer

    return [
        StructuredTool.from_function(
            search, name="search_news_archive", args_schema=_Question,
            response_format="content_and_artifact",
            description="Search the news archive: the passages of articles nearest a question, "
            "each with its title, date and source. Use it to read what the articles say.",
        ),
        StructuredTool.from_function(
            ask, name="ask_news_archive", args_schema=_Question,
            response_format="content_and_artifact",
            description="Ask the news archive a question: a short answer in which every claim "
            "carries a marker [n] for the article passage it comes from, followed by the "
            "sources; or a statement that the articles do not cover the question.",
        ),
    ]
