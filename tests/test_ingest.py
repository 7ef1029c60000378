"""Ingest into a real Chroma: idempotent, replaces edited articles, loses nothing on bad input."""

import pytest

from assistant import Assistant, Settings
from assistant.embeddings import Embedder
from assistant.store import EmbedderMismatchError


def _stored_ids(bot):
    return set(bot.store.collection.get()["ids"])


def test_reingest_does_not_duplicate_chunks(bot, seed_copy):
    first = bot.ingest([seed_copy.parent])
    ids = _stored_ids(bot)
    second = bot.ingest([seed_copy.parent])
    assert first.articles_added == 1 and first.chunks_added == len(ids) > 0
    assert second.articles_unchanged == 1 and second.chunks_added == 0
    assert _stored_ids(bot) == ids
    assert len(bot.articles()) == 1


def test_one_folder_given_as_a_string_ingests_that_folder_only(bot, seed_copy):
    # a string is one path, not its characters (among which "/" is the whole filesystem)
    report = bot.ingest(str(seed_copy.parent))
    assert report.articles_added == 1 and not report.failures
    assert [a.title for a in bot.articles()] == [_article(seed_copy).title]


def test_reingest_of_an_unchanged_article_neither_chunks_nor_embeds_it(bot, seed_copy, monkeypatch):
    bot.ingest([seed_copy])
    calls = []
    monkeypatch.setattr(bot.chunker, "split", lambda a: calls.append(a) or [])
    monkeypatch.setattr(bot.embedder, "embed_documents", lambda texts: calls.extend(texts) or [])
    report = bot.ingest([seed_copy])
    assert report.articles_unchanged == 1 and report.chunks_unchanged > 0
    assert calls == []


def test_a_new_chunk_size_rechunks_stored_articles_on_the_next_ingest(bot, seed_copy, settings,
                                                                     embedder):
    bot.ingest([seed_copy])
    before = _stored_ids(bot)
    smaller = Assistant.from_settings(
        settings.model_copy(update={"chunk_size": 90, "chunk_overlap": 10}), embedder=embedder
    )
    report = smaller.ingest([seed_copy])
    after = _stored_ids(smaller)
    assert report.chunks_added > 0 and len(after) > len(before)
    assert after == {c.id for c in smaller.chunker.split(_article(seed_copy))}  # none of the old
    [info] = smaller.articles()
    assert info.chunks == len(after)
    assert smaller.ingest([seed_copy]).articles_unchanged == 1  # and now it is stored as is


def _article(path):
    from assistant.corpus import load_file

    [article], _ = load_file(path, max_bytes=10**8)
    return article


def test_edited_article_replaces_its_old_chunks(bot, seed_copy):
    bot.ingest([seed_copy])
    before = _stored_ids(bot)
    text = seed_copy.read_text()
    seed_copy.write_text(text.replace("rare earths crucial", "rare earth elements crucial"))
    report = bot.ingest([seed_copy])
    after = _stored_ids(bot)
    assert report.articles_updated == 1 and report.chunks_added >= 1
    assert report.chunks_removed == report.chunks_added  # one passage changed, one replaced
    assert before - after and len(after) == len(before)
    docs = bot.store.collection.get()["documents"]
    assert any("rare earth elements crucial" in d for d in docs)
    assert not any("rare earths crucial" in d for d in docs)
    [info] = bot.articles()
    assert info.chunks == len(after)


def test_delete_removes_every_chunk_of_the_article(bot, seed_copy, tmp_path):
    other = tmp_path / "articles" / "other.txt"
    other.write_text("Harbour reopens\n\nThe harbour reopened on Friday after repairs.")
    bot.ingest([seed_copy.parent])
    seed_id = next(a.id for a in bot.articles() if a.title.startswith("Japan"))
    removed = bot.delete(seed_id)
    assert removed > 0
    assert [a.title for a in bot.articles()] == ["Harbour reopens"]
    assert bot.store.existing([seed_id]) == {seed_id: {}}


def test_bad_files_are_reported_and_the_rest_of_the_batch_lands(bot, seed_copy):
    folder = seed_copy.parent
    (folder / "empty.txt").write_text("")
    (folder / "binary.html").write_bytes(bytes(range(256)) * 4)
    (folder / "bad.jsonl").write_text('{"text": "Line one is fine. Really."}\n{oops\n')
    (folder / "photo.png").write_bytes(b"\x89PNG")
    report = bot.ingest([folder, folder / "nope.md"])
    assert report.articles_added == 2  # the seed and the good JSONL line
    failed = {(f.path.rsplit("/", 1)[-1], f.line) for f in report.failures}
    assert failed == {("empty.txt", None), ("binary.html", None), ("bad.jsonl", 2),
                      ("nope.md", None)}
    assert report.skipped == [str(folder / "photo.png")]
    assert not report.ok


def test_failed_batch_keeps_what_was_stored_before(bot, seed_copy, tmp_path):
    bot.ingest([seed_copy])
    ids = _stored_ids(bot)
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\xff\xfe\x00garbage")
    report = bot.ingest([broken])
    assert not report.ok and _stored_ids(bot) == ids


def test_store_built_with_another_embedder_refuses_to_open(bot, seed_copy, embedder, settings):
    bot.ingest([seed_copy])

    class OtherModel(Embedder):
        @property
        def fingerprint(self):
            return "some-other-model/768/normalized"

    other = OtherModel(embedder.model, "some-other-model")
    with pytest.raises(EmbedderMismatchError, match="re-index"):
        Assistant.from_settings(settings, embedder=other)


def test_everything_is_written_under_the_data_dir(tmp_path, embedder, seed_copy):
    data = tmp_path / "elsewhere"
    bot = Assistant.from_settings(Settings(data_dir=data), embedder=embedder)
    bot.ingest([seed_copy])
    assert any((data / "chroma").iterdir())


def test_same_article_twice_in_one_batch_is_stored_once(bot, seed_copy, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"url": "http://x/1", "title": "Mill closes", "text": "The mill closed on Monday."}\n'
        '{"url": "http://x/1", "title": "Mill closes", "text": "The mill shut on Tuesday."}\n'
    )
    report = bot.ingest([seed_copy.parent, seed_copy, feed])
    assert report.articles_added == 2
    assert [f.reason for f in report.failures] == ["same article identity as http://x/1; kept that one"]
    docs = bot.store.collection.get()["documents"]
    assert len(docs) == len(set(docs))
    assert not any("mill shut" in d for d in docs)
