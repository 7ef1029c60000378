"""A test double for code that embeds the assistant: a real ``Assistant`` on a throw-away store.

Like pydantic-ai's ``TestModel``, the double is part of the library so that *your* tests can run
the whole pipeline (real Chroma in a temp dir, the bundled embedder) with the one part that
needs a server, the LLM, replaced by LangChain's ``FakeListChatModel``::

    from assistant.testing import fake_assistant

    def test_my_tool_shows_the_sources(tmp_path):
        bot = fake_assistant(
            tmp_path,
            responses=["The framework covers rare earths [1]."],   # what the "LLM" replies
            articles=[{"title": "Minerals pact", "date": "2025-10-28",
                       "text": "The framework covers rare earths and stockpiles."}],
        )
        answer = bot.ask("What does the framework cover?")
        assert answer.citations[0].title == "Minerals pact"

``responses`` are replayed in order, one per question that reaches the answerer (a question the
articles cannot answer is refused before the LLM is called); after the last one the list starts
over. Without ``responses`` the offline extractive answerer answers, as in production.
``articles`` takes :class:`~assistant.types.Article` objects, dicts with ``text`` and optional
``title``/``date``/``url``/``source``, or paths of files and folders (ingested as the CLI does).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.app import Assistant
from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.types import Article, digest


def fake_assistant(
    tmp_path: str | Path | None = None,
    *,
    responses: Sequence[str] | None = None,
    articles: Iterable[Article | dict | str | Path] = (),
    embedder: Embedder | None = None,
    **settings,
) -> Assistant:
    """An ``Assistant`` on a fresh store under ``tmp_path`` (a new temp dir when omitted).

    ``settings`` override :class:`~assistant.config.Settings` fields (e.g. ``top_k=3``); a
    ``.env`` file is not read, so tests do not pick up the developer's setup.
    Ingest failures raise ``ValueError``: a test double should not hide a broken fixture.
    """
    root = Path(tmp_path) if tmp_path is not None else Path(tempfile.mkdtemp(prefix="assistant-"))
    settings.setdefault("data_dir", root / "assistant-data")
    config = Settings(_env_file=None, **settings)
    llm = FakeListChatModel(responses=list(responses)) if responses else None
    bot = Assistant.from_settings(config, embedder=embedder, llm=llm)
    built, paths = [], []
    for item in articles:
        if isinstance(item, Article):
            built.append(item)
        elif isinstance(item, dict):
            built.append(_article(item))
        else:
            paths.append(Path(item))
    failures = []
    if built:
        failures += bot.ingest_articles(built).failures
    if paths:
        failures += bot.ingest(paths).failures
    if failures:
        raise ValueError("fake_assistant could not ingest: " + "; ".join(map(str, failures)))
    return bot


def _article(fields: dict) -> Article:
    text = fields["text"]
    title = fields.get("title") or text.strip().split("\n", 1)[0][:80]
    source = fields.get("source") or f"test:{title}"
    return Article(
        id=digest("article", fields.get("id") or fields.get("url") or source),
        title=title, text=text, source=source, date=fields.get("date"), url=fields.get("url"),
    )
