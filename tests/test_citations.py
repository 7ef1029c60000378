"""Verified citations: every cited sentence is checked against the passage it cites.

Drafts come from LangChain's fake chat model through the real answer prompt, over the passages
the seeded archive retrieves; passages are found by what they say, not by rank, so the tests
hold whatever the retriever's order.
"""

from __future__ import annotations

import os
import re

import pytest
from conftest import CANONICAL, REPO
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import Assistant, Settings
from assistant.citations import resolve_citations, verify_citations
from assistant.generation import llm_answerer
from assistant.support import LexicalJudge
from assistant.types import Answer, RetrievedChunk

# phrases that pick out a passage of the seed article
HOLDERS = {
    "framework": "Framework For Securing the Supply",
    "stockpiling": "stockpiling systems",
    "trip": "three-nation Asia trip",
}
TRUE = "It intends to support the supply of raw and processed critical minerals and rare earths"


@pytest.fixture(scope="module")
def archive(tmp_path_factory, embedder) -> Assistant:
    """The seed archive, ingested once for this module (the drafts only read it)."""
    with pytest.MonkeyPatch.context() as mp:  # as the autouse fixture does, but module-wide
        folder = tmp_path_factory.mktemp("citations")
        for var in [v for v in os.environ if v.startswith("ASSISTANT_")]:
            mp.delenv(var)
        mp.chdir(folder)
        bot = Assistant.from_settings(Settings(data_dir=folder / "data"), embedder=embedder)
        assert bot.ingest([REPO / "corpus"]).ok
    return bot


def _draft(archive: Assistant, template: str, question: str = CANONICAL):
    """(context, resolved draft, verified answer) for a fake LLM reply; ``{framework}`` etc. in
    the template become the context numbers of the passages holding those phrases."""
    context = archive.search(question)
    numbers = {
        key: next(i for i, c in enumerate(context, 1) if phrase in c.text)
        for key, phrase in HOLDERS.items() if "{" + key + "}" in template
    }
    llm = FakeListChatModel(responses=[template.format(**numbers)])
    draft = llm_answerer(llm, archive.settings.prompts_dir).invoke(
        {"question": question, "context": context})
    drafted = resolve_citations(question, draft, context, "llm:FakeListChatModel")
    return context, drafted, verify_citations(drafted, context, LexicalJudge())


def _assert_well_numbered(answer: Answer) -> None:
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", answer.text)]
    assert list(dict.fromkeys(markers)) == list(range(1, len(answer.citations) + 1))
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert c.quote_spans and c.quote == " … ".join(c.chunk_text[s:e] for s, e in c.quote_spans)
        assert c.support is not None and 0.0 <= c.support <= 1.0


def test_extractive_answer_keeps_every_citation_at_full_support(archive):
    answer = archive.ask(CANONICAL)
    verified = verify_citations(answer, answer.retrieved, LexicalJudge())
    print("\n" + verified.text + "\n" + str([(c.n, c.support) for c in verified.citations]))
    assert verified.text == answer.text
    assert [c.chunk_id for c in verified.citations] == [c.chunk_id for c in answer.citations]
    assert [c.quote for c in verified.citations] == [c.quote for c in answer.citations]
    assert all(c.support >= 0.99 for c in verified.citations)
    assert verified.retrieved == answer.retrieved


def test_correct_sentence_citing_the_wrong_passage_is_reattached_to_the_right_one(archive):
    context, drafted, verified = _draft(
        archive,
        "The framework's policy tools include financial support mechanisms, trade measures and "
        "critical minerals stockpiling systems [{framework}]. " + TRUE + " [{framework}].",
    )
    print("\n" + drafted.text + "\n" + verified.text)
    holder = next(c for c in context if HOLDERS["stockpiling"] in c.text)
    framework = next(c for c in context if HOLDERS["framework"] in c.text)
    assert [c.chunk_id for c in drafted.citations] == [framework.chunk_id]
    # the marker moved to the passage that says it; the sentence that was right stays cited
    assert verified.text == (
        "The framework's policy tools include financial support mechanisms, trade measures and "
        "critical minerals stockpiling systems [1]. " + TRUE + " [2]."
    )
    assert [c.chunk_id for c in verified.citations] == [holder.chunk_id, framework.chunk_id]
    assert "stockpiling" in verified.citations[0].quote
    assert verified.citations[0].support >= LexicalJudge().threshold
    _assert_well_numbered(verified)


@pytest.mark.parametrize("altered", [
    ("The framework was signed by 40 nations and intends to support the supply of raw and "
     "processed critical minerals and rare earths [{framework}]."),  # a number added
    ("The US President arrived in Tokyo on a two-day official working visit to Japan, the second "
     "leg of his four-nation Asia trip [{trip}]."),  # three-nation
    "This is Trump's fifth visit to Japan as President and first since June 2019 [{trip}].",
    "This is Trump's fourth visit to Japan as President and first since May 2019 [{trip}].",
    "This is Trump's fourth visit to Japan as President and first since June 2018 [{trip}].",
    "Biden arrived in Tokyo Monday afternoon on a two-day official working visit to Japan [{trip}].",
])
def test_sentence_whose_figures_dates_or_names_differ_from_its_passage_is_removed(
    archive, altered
):
    _, drafted, verified = _draft(archive, TRUE + " [{framework}]. " + altered)
    print("\n" + verified.text)
    assert len(re.findall(r"\[\d\]", drafted.text)) == 2
    assert verified.text == TRUE + " [1]."
    assert "[2]" not in verified.text and len(verified.citations) == 1
    _assert_well_numbered(verified)


@pytest.mark.parametrize("flipped", [
    ("It mentioned that both countries will not intensify efforts to promote dialogue amongst "
     "upstream and downstream companies [{stockpiling}]."),
    ("The US President did not arrive in Tokyo on Monday afternoon on a two-day official working "
     "visit to Japan [{trip}]."),
])
def test_sentence_with_a_flipped_negation_is_removed(archive, flipped):
    _, _, verified = _draft(archive, flipped + " " + TRUE + " [{framework}].")
    print("\n" + verified.text)
    assert verified.text == TRUE + " [1]."
    assert len(verified.citations) == 1 and HOLDERS["framework"] in verified.citations[0].chunk_text
    _assert_well_numbered(verified)


def test_draft_with_no_supported_sentence_abstains(archive):
    _, drafted, verified = _draft(
        archive, "The framework covers fishing quotas [{framework}]. "
                "It was signed by 40 nations [{stockpiling}].")
    assert len(drafted.citations) == 2
    assert verified.abstained and verified.citations == [] and verified.text == ""


def test_support_is_the_lowest_score_over_the_sentences_citing_a_passage(archive):
    verbatim = ("It mentioned that both countries will intensify efforts to promote dialogue "
                "amongst upstream and downstream companies to facilitate the diversification of "
                "supply chains")
    paraphrase = "Both countries will promote dialogue among upstream and downstream companies"
    context, _, verified = _draft(
        archive, f"{verbatim} [{{stockpiling}}]. {paraphrase} [{{stockpiling}}].")
    holder = next(c for c in context if HOLDERS["stockpiling"] in c.text)
    judge = LexicalJudge()
    expected = min(judge.score(holder.text, verbatim), judge.score(holder.text, paraphrase))
    [citation] = verified.citations
    assert citation.support == pytest.approx(expected, abs=1e-4)
    assert judge.threshold <= citation.support < 1.0
    assert verified.text == f"{verbatim} [1]. {paraphrase} [1]."


# --- the verification rules, on hand-made passages and a scripted judge ----------------------


def _chunk(text: str, n: int) -> RetrievedChunk:
    return RetrievedChunk(chunk_id=f"c{n}", article_id="a", title="T", date="2025-01-02",
                          source="/x/a.txt", text=text, start=0, end=len(text), score=0.5)


class ScriptedJudge:
    """Supports a claim only by premises that contain every one of its listed keys."""

    name = "scripted"
    threshold = 0.5

    def __init__(self, needs: dict[str, list[str]]):
        self.needs = needs

    def scores(self, pairs):
        return [float(all(k in premise for k in self.needs.get(claim.rstrip("."), ["\0"])))
                for premise, claim in pairs]


def test_sentence_two_passages_support_only_together_keeps_both_markers():
    context = [_chunk("Exports rose 5%.", 1), _chunk("Imports fell 2%.", 2)]
    judge = ScriptedJudge({"Exports rose 5% and imports fell 2%": ["Exports", "Imports"]})
    answer = resolve_citations("q", "Exports rose 5% and imports fell 2% [1][2].", context, "llm")
    verified = verify_citations(answer, context, judge)
    assert verified.text == "Exports rose 5% and imports fell 2% [1] [2]."
    assert [(c.chunk_id, c.support) for c in verified.citations] == [("c1", 1.0), ("c2", 1.0)]


def test_two_quoted_sentences_the_splitter_joins_each_keep_their_marker():
    # the sentence splitter takes a quote that ends one sentence and a quote that opens the
    # next as one piece; the second sentence once lost its [1] and was shown uncited
    text = ('Velatek accused Brussels of "protectionism dressed up as consumer protection." '
            '"This decision punishes investment," spokesperson Aaron Pike said.')
    context = [_chunk(text, 1), _chunk("The Commission declined to comment.", 2)]
    draft = ('Velatek accused Brussels of "protectionism dressed up as consumer protection [1]." '
             '"This decision punishes investment," spokesperson Aaron Pike said [1]. '
             "The Commission declined to comment [2].")
    answer = resolve_citations("q", draft, context, "extractive")
    verified = verify_citations(answer, context, LexicalJudge())
    assert verified.text == draft
    assert [c.chunk_id for c in verified.citations] == ["c1", "c2"]


def test_uncited_sentence_gets_the_passage_that_supports_it_and_gaps_close():
    context = [_chunk("Alpha happened.", 1), _chunk("Beta happened.", 2), _chunk("Gamma.", 3)]
    judge = ScriptedJudge({"Alpha happened": ["Alpha"], "Gamma came": ["Gamma"]})
    answer = resolve_citations(
        "q", "Beta is made up [2]. Alpha happened. Gamma came [3].", context, "llm")
    verified = verify_citations(answer, context, judge)
    assert verified.text == "Alpha happened [1]. Gamma came [2]."
    assert [c.chunk_id for c in verified.citations] == ["c1", "c3"]


def test_threshold_overrides_the_judges_own():
    context = [_chunk("Exports rose 5% in May to 1,200 tonnes, the ministry said.", 1)]
    answer = resolve_citations("q", "Exports rose 5% in May [1].", context, "llm")
    judge = LexicalJudge()
    score = judge.score(context[0].text, "Exports rose 5% in May.")
    assert verify_citations(answer, context, judge, threshold=score).citations
    assert verify_citations(answer, context, judge, threshold=score + 0.01).abstained


# --- the judge: the details news readers check -----------------------------------------------

PASSAGE = (
    "The ministry said exports rose 5% in May to $1.2 billion. "
    "This is Trump's fourth visit to Japan and his first since June 2019. "
    "Talks were held in Tokyo on Monday. Tariffs were not discussed."
)


@pytest.mark.parametrize(("hypothesis", "supported"), [
    ("Exports rose 5% in May to $1.2 billion.", True),
    ("In May exports rose five per cent to $1.2bn.", True),  # other spellings of the same facts
    ("Exports rose 5% in May to $1,200 million.", True),
    # month ("May" is also a stopword), though the next sentence says "June"
    ("Exports rose 5% in June to $1.2 billion.", False),
    ("Exports rose 5% in May to $1.2 million.", False),  # scale word
    ("Exports rose 5 points in May to $1.2 billion.", False),  # 5% is not 5
    ("Exports rose 5% in May to $1.2 billion on Oct. 3.", False),  # an abbreviated month
    ("This is Trump's third visit to Japan and his first since June 2019.", False),  # ordinal
    ("This is Trump's 4th visit to Japan and his first since June 2019.", True),
    ("Talks were held in Tokyo on Tuesday.", False),  # weekday
    ("Biden held talks in Tokyo on Monday.", False),  # a name opening the sentence
    ("However, talks were held in Tokyo on Monday.", True),  # a connective is no name
    # negation flipped, though the next sentence has a "not"
    ("Talks were not held in Tokyo on Monday.", False),
    ("Talks were held in Tokyo on Monday and tariffs were not discussed.", True),
])
def test_lexical_judge_checks_months_scales_percentages_ordinals_and_names(
    hypothesis, supported
):
    judge = LexicalJudge()
    score = judge.score(PASSAGE, hypothesis)
    print(f"{score:.2f}  {hypothesis}")
    assert 0.0 <= score <= 1.0
    assert (score >= judge.threshold) is supported
