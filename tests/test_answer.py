"""Answers: grounded in the articles, cited with [n] markers that resolve to the exact chunk."""

import re

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import Assistant
from conftest import CANONICAL, REPO

# What the framework covers, as the article's own sentence on it says (the seed suite's facts).
FRAMEWORK_FACTS = [
    "Critical Minerals and Rare Earths through Mining and Processing",
    "supply of raw and processed critical minerals and rare earths",
]


class RecordingFakeLLM(FakeListChatModel):
    """LangChain's fake chat model, keeping the prompts it was sent."""

    seen: list = []

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)


def _llm_bot(settings, embedder, *responses):
    llm = RecordingFakeLLM(responses=list(responses), seen=[])
    bot = Assistant.from_settings(settings, embedder=embedder, llm=llm)
    assert bot.ingest([REPO / "corpus"]).ok
    return bot, llm


def test_canonical_question_is_answered_from_the_framework_passage(seeded):
    answer = seeded.ask(CANONICAL)
    print("\n" + answer.text + "\n" + answer.sources_text())
    assert not answer.abstained and answer.backend == "extractive"
    # every sentence carries a marker, and every marker resolves to a citation
    sentences = [s for s in re.split(r"(?<=\.)\s+", answer.text) if s]
    for fact in FRAMEWORK_FACTS:  # the answer comes first, short
        assert fact in sentences[0], fact
    assert len(re.sub(r"\[\d+\]", "", answer.text).split()) <= 60
    assert all(re.search(r"\[\d+\]", s) for s in sentences)
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations} and min(markers) == 1
    framework = [c for c in answer.citations if "Framework For Securing the Supply" in c.chunk_text]
    assert framework, "no citation points at the chunk describing the framework"
    for c in answer.citations:
        assert c.title == "Japan US summit agrees critical minerals framework"
        assert c.date == "2025-10-28"
        assert c.source.endswith(".txt")
        for start, end in c.quote_spans:
            assert c.chunk_text[start:end] in answer.text.replace(f" [{c.n}]", "")


def test_citation_offsets_point_into_the_article(seeded):
    answer = seeded.ask(CANONICAL)
    from assistant.corpus import load_file

    [article], _ = load_file(REPO / "corpus" / f"{answer.citations[0].source.split('/')[-1]}")
    for c in answer.citations:
        assert article.text[c.article_start:c.article_end] == c.chunk_text


def test_unrelated_question_says_the_articles_do_not_cover_it(seeded):
    answer = seeded.ask("Who won the 2018 World Cup?")
    assert answer.abstained
    assert "do not cover" in answer.text
    assert answer.citations == []


def test_empty_archive_says_so(bot):
    answer = bot.ask(CANONICAL)
    assert answer.abstained and "archive is empty" in answer.text


def test_llm_markers_are_renumbered_and_dangling_ones_dropped(settings, embedder):
    # verification off: this is about numbering alone (tests/test_citations.py checks support)
    bot, llm = _llm_bot(
        settings.model_copy(update={"verify_citations": False}), embedder,
        "The framework supports the supply of critical minerals and rare earths [2]. "
        "It uses financial support mechanisms and stockpiling [2][9]. "
        "Companies upstream and downstream will talk [1].",
    )
    answer = bot.ask(CANONICAL)
    assert answer.backend == "llm:RecordingFakeLLM"
    assert "[9]" not in answer.text and "[3]" not in answer.text
    assert re.findall(r"\[(\d)\]", answer.text) == ["1", "1", "2"]
    assert [c.n for c in answer.citations] == [1, 2]
    # the quote is the chunk sentence that backs the claim
    assert "stockpiling" in answer.citations[0].quote or "rare earths" in answer.citations[0].quote


def test_llm_gets_the_prompt_files_and_delimited_numbered_context(settings, embedder):
    bot, llm = _llm_bot(settings, embedder, "It covers minerals [1].")
    bot.ask(CANONICAL)
    system, human = llm.seen[-1]
    assert (REPO / "prompts" / "answer.system.md").read_text().strip() == system.content
    assert '<article n="1" title="Japan US summit agrees critical minerals framework" ' \
           'date="2025-10-28">' in human.content
    assert human.content.rstrip().endswith(f"Question: {CANONICAL}")


def test_llm_no_answer_becomes_an_abstention(settings, embedder):
    bot, _ = _llm_bot(settings, embedder, "NO_ANSWER")
    answer = bot.ask("What did the framework say about fishing quotas?")
    assert answer.abstained and "do not cover" in answer.text and not answer.citations


def test_llm_answer_without_any_valid_citation_is_not_passed_off_as_grounded(settings, embedder):
    bot, _ = _llm_bot(settings, embedder, "The framework covers everything [7].")
    answer = bot.ask(CANONICAL)
    assert answer.abstained and not answer.citations


def test_irrelevant_question_never_reaches_the_llm(settings, embedder):
    bot, llm = _llm_bot(settings, embedder, "Brazil won [1].")
    answer = bot.ask("Who won the 2018 World Cup?")
    assert answer.abstained and llm.seen == []


def test_the_answerer_encodes_at_most_the_limit_of_sentences_and_still_answers(
        settings, embedder, monkeypatch):
    # encoding candidate sentences is most of an answer's time on a CPU without bf16
    batches: list[int] = []
    real = type(embedder).embed_documents

    def counting(self, texts):
        batches.append(len(texts))
        return real(self, texts)

    bot = Assistant.from_settings(settings.model_copy(update={"answer_encode_limit": 5}),
                                  embedder=embedder)
    assert bot.ingest([REPO / "corpus"]).ok
    monkeypatch.setattr(type(embedder), "embed_documents", counting)
    answer = bot.ask(CANONICAL)
    print(batches, answer.text)
    sentence_batch = max(batches)  # the other batches are single words of the attribute check
    assert sentence_batch == 5
    assert not answer.abstained and "[1]" in answer.text
