"""The Python faces: Assistant.stream, Assistant.as_runnable, and the fake_assistant test double."""

import asyncio

from langchain_core.runnables import RunnableLambda

from assistant.testing import fake_assistant
from assistant.types import Answer
from conftest import CANONICAL, REPO

PACT = {"title": "Minerals pact signed", "date": "2025-10-28",
        "text": "Japan and the United States signed a framework on critical minerals. "
                "The framework covers rare earths, stockpiles and processing."}


def test_fake_assistant_answers_with_the_canned_reply_and_real_citations(tmp_path):
    bot = fake_assistant(tmp_path, responses=["It covers rare earths and stockpiles [1]."],
                         articles=[PACT])
    answer = bot.ask("What does the minerals framework cover?")
    assert answer.text == "It covers rare earths and stockpiles [1]."
    assert answer.backend == "llm:FakeListChatModel"
    assert answer.citations[0].title == "Minerals pact signed"
    assert answer.citations[0].date == "2025-10-28"
    assert bot.settings.data_dir.is_relative_to(tmp_path)


def test_fake_assistant_without_responses_uses_the_extractive_answerer(tmp_path):
    bot = fake_assistant(tmp_path, articles=[REPO / "corpus"], top_k=3)
    assert bot.backend == "extractive" and bot.settings.top_k == 3
    assert "[1]" in bot.ask(CANONICAL).text
    assert [a.date for a in bot.articles()] == ["2025-10-28"]


def test_fake_assistant_refuses_a_broken_fixture(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="empty file"):
        (tmp_path / "empty.md").write_text("")
        fake_assistant(tmp_path, articles=[tmp_path / "empty.md"])


def test_stream_yields_pieces_that_join_to_the_answer_then_the_answer(seeded):
    items = list(seeded.stream(CANONICAL))
    *pieces, answer = items
    assert isinstance(answer, Answer) and all(isinstance(p, str) for p in pieces)
    assert len(pieces) > 5 and "".join(pieces) == answer.text
    assert answer.citations and answer.text == seeded.ask(CANONICAL).text


def test_as_runnable_invokes_batches_streams_and_composes(seeded):
    qa = seeded.as_runnable()
    answer = qa.invoke({"question": CANONICAL, "history": [{"role": "user", "content": "Hi"}]})
    assert isinstance(answer, Answer) and "[1]" in answer.text
    assert qa.invoke(CANONICAL).text == answer.text  # a plain string works too
    first, late = qa.batch([{"question": CANONICAL},
                            {"question": CANONICAL, "since": "2026-01-01"}])
    assert first.text == answer.text and late.abstained
    assert [a.text for a in qa.stream({"question": CANONICAL})] == [answer.text]
    chain = qa | RunnableLambda(lambda a: [c.date for c in a.citations])
    assert set(chain.invoke(CANONICAL)) == {"2025-10-28"}
    assert asyncio.run(qa.ainvoke(CANONICAL)).text == answer.text
