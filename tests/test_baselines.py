"""The peer baselines answer on the seed article and run through the eval runner."""

from __future__ import annotations

import pytest

from assistant.evals import Case, Suite, evaluate
from assistant.evals.baselines import BASELINES, expand, load_articles, make_baseline
from assistant.evals.suite import Filters
from conftest import CANONICAL, SEED

NAMES = expand(["langchain-default", "newsrag"])


@pytest.fixture(scope="module")
def articles():
    return load_articles([SEED])


def test_names():
    assert NAMES == ["langchain-default", "newsrag-lexical", "newsrag-embed"]
    assert set(NAMES) == set(BASELINES)
    with pytest.raises(ValueError, match="unknown baseline"):
        expand(["nope"])
    with pytest.raises(ValueError, match="several baselines"):
        make_baseline("newsrag", [], None, None)


def test_load_articles_reads_each_article_once(articles, seed_copy):
    assert len(articles) == 1 and articles[0].date == "2025-10-28"
    twice = load_articles([seed_copy, seed_copy.parent])  # named, and inside a named folder
    assert len(twice) == 1 and twice[0].text == articles[0].text


@pytest.mark.parametrize("name", NAMES)
def test_answers_canonical_question(name, articles, settings, embedder):
    system = make_baseline(name, articles, settings, embedder)
    assert system.name == name
    config = system.describe()
    assert config["ingest_seconds"] >= 0 and config["chunks"] >= 2

    out = system.run(Case(id="canonical", question=CANONICAL, gold_articles=[SEED.name]), depth=5)
    article = articles[0]
    assert not out.answer.abstained
    assert "minerals" in out.answer.text.lower()
    assert out.answer.citations and out.answer.citations[0].article_id == article.id
    assert out.ranked and out.context
    for chunk in out.ranked:
        assert chunk.article_id == article.id and chunk.source == article.source
        assert article.text[chunk.start:chunk.end] == chunk.text  # offsets point into the article


@pytest.mark.parametrize("name", NAMES)
def test_date_filters(name, articles, settings, embedder):
    system = make_baseline(name, articles, settings, embedder)
    later = Case(id="later", question=CANONICAL, answerable=False,
                 filters=Filters(since="2025-10-29"))
    out = system.run(later, depth=5)
    assert out.answer.abstained and out.ranked == []
    same_day = Case(id="day", question=CANONICAL, gold_articles=[SEED.name],
                    filters=Filters(since="2025-10-28", until="2025-10-28"))
    assert system.run(same_day, depth=5).ranked


@pytest.mark.parametrize("name", NAMES)
def test_evaluate(name, articles, settings, embedder):
    system = make_baseline(name, articles, settings, embedder)
    suite = Suite("tiny", [
        Case(id="minerals", question=CANONICAL, gold_articles=[SEED.name], expected=["minerals"]),
        Case(id="world-cup", question="Who won the 2022 football World Cup?", answerable=False,
             kind="unanswerable"),
    ])
    result = evaluate(system, suite)
    assert result.system == name
    assert result.config["ingest_seconds"] >= 0
    figures = result.figures()
    assert figures["errors"] == 0 and figures["cases"] == 2
    assert figures["recall@5"] == 1.0
    assert figures["abstention_accuracy"] is not None
