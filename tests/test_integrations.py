"""The assistant inside other LangChain programs: ``bot.as_retriever()`` passes langchain-tests'
standard retriever tests and filters by date; ``bot.as_tool()`` is called by an agent from
``langchain.agents.create_agent`` (driven by a scripted tool-calling chat model)."""

from __future__ import annotations

import pytest
from langchain.agents import create_agent
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.integrations import NewsArchiveRetriever
from assistant.types import Answer
from conftest import CANONICAL, REPO

SEED_TITLE = "Japan US summit agrees critical minerals framework"


class TestNewsArchiveRetrieverStandard(RetrieversIntegrationTests):
    """langchain-tests' shared checks: k in the constructor and per call, Documents out, async."""

    bot = None

    @pytest.fixture(autouse=True)
    def _seeded(self, seeded):
        type(self).bot = seeded

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return NewsArchiveRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"assistant": type(self).bot, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return CANONICAL


def test_retriever_documents_carry_the_chunk_and_its_article(seeded):
    docs = seeded.as_retriever(k=3).invoke(CANONICAL)
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    stored = seeded.store.collection.get(ids=[d.metadata["chunk_id"] for d in docs])
    assert sorted(stored["documents"]) == sorted(d.page_content for d in docs)
    for d in docs:
        assert d.metadata["title"] == SEED_TITLE and d.metadata["date"] == "2025-10-28"
        assert {"source", "url", "article_id", "chunk_id", "score"} <= set(d.metadata)
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True) or len(set(scores)) > 1  # best first (fused)
    assert any("critical minerals" in d.page_content for d in docs)


def test_retriever_keeps_to_its_date_range(bot):
    assert bot.ingest([REPO / "evals" / "corpora" / "newsroom"]).ok
    docs = bot.as_retriever(k=10, since="2026-03-10", until="2026-03-31").invoke("strike")
    assert docs and all("2026-03-10" <= d.metadata["date"] <= "2026-03-31" for d in docs)
    everything = bot.as_retriever(k=10).invoke("strike")
    assert {d.metadata["date"] for d in everything} - {d.metadata["date"] for d in docs}


class ToolCallingFake(GenericFakeChatModel):
    """LangChain's scripted chat model, willing to be bound to tools (the script decides the
    calls), keeping what it was sent."""

    seen: list = []

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def test_an_agent_asks_the_archive_and_gets_cited_answers(seeded):
    script = iter([
        AIMessage(content="", tool_calls=[{
            "name": "ask_news_archive", "args": {"question": CANONICAL}, "id": "call-1"}]),
        AIMessage(content="", tool_calls=[{
            "name": "search_news_archive", "args": {"question": "rare earths", "until": "2025-12-31"},
            "id": "call-2"}]),
        AIMessage(content="It covers critical minerals and rare earths [1]."),
    ])
    model = ToolCallingFake(messages=script, seen=[])
    agent = create_agent(model, tools=[seeded.as_tool(), seeded.as_tool("search")])
    result = agent.invoke({"messages": [{"role": "user", "content": CANONICAL}]})
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["ask_news_archive", "search_news_archive"]
    asked, searched = tool_messages
    assert "[1]" in asked.content and f"[1] {SEED_TITLE} (2025-10-28)" in asked.content
    assert isinstance(asked.artifact, Answer) and asked.artifact.citations
    assert SEED_TITLE in searched.content and all(
        isinstance(d, Document) for d in searched.artifact)
    # the model saw the tool results before writing its reply
    assert any("Sources:" in str(m.content) for m in model.seen[-1])
    assert result["messages"][-1].content == "It covers critical minerals and rare earths [1]."


def test_tools_describe_themselves_for_an_agent_and_decline_honestly(seeded):
    ask, search = seeded.as_tool("ask"), seeded.as_tool("search")
    assert ask.name == "ask_news_archive" and "[n]" in ask.description
    assert search.name == "search_news_archive" and "search the news archive" in (
        search.description.lower())
    assert set(ask.args) == {"question", "since", "until"}
    assert "do not cover" in ask.invoke({"question": "Who won the 2018 World Cup?"})
    with pytest.raises(ValueError, match="'ask' or 'search'"):
        seeded.as_tool("delete")
