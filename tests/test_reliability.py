"""Nothing lost, nothing duplicated: idempotent ingest, kill -9 part-way, a half-written edit,
re-indexing after a model change. Real Chroma, the real embedder; each test prints its figures."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import chromadb
import httpx
import pytest
from chromadb.config import Settings as ChromaSettings
from typer.testing import CliRunner

from assistant import Assistant, Settings
from assistant.cli import app as cli_app
from assistant.corpus import load_file
from assistant.embeddings import Embedder
from assistant.store import EmbedderMismatchError
from conftest import SEED
from test_backends import chroma_server  # noqa: F401  (fixture)

BIN = Path(sys.executable).parent
_WORDS = ["council", "harbour", "budget", "ferry", "school", "bridge", "rail", "water", "grid",
          "tariff", "union", "court", "hospital", "election", "farm", "museum", "port", "river",
          "market", "storm"]


def write_articles(folder: Path, n: int, seed: int = 7) -> dict[str, str]:
    """``n`` distinct generated articles as .txt files; returns file name -> unique token.

    Each carries a made-up name (``Zorvexa<i>q``) found nowhere else, so a search for it finds
    that article only; 7-11 paragraphs make 2-4 chunks."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tokens = {}
    for i in range(n):
        token = f"Zorvexa{i}q"
        topic = rng.choice(_WORDS)
        paragraphs = [(
            f"The {topic} board led by {token} met on Monday in Velmar, officials said. "
            f"{token} said the {topic} plan would cost {rng.randint(2, 90)} million crowns."
        )]
        for _ in range(rng.randint(6, 10)):
            words = rng.sample(_WORDS, 6)
            paragraphs.append(
                f"The {words[0]} and {words[1]} committees reviewed the {words[2]} report. "
                f"Residents near the {words[3]} raised concerns about the {words[4]} and the "
                f"{words[5]}, and a vote is expected within {rng.randint(2, 30)} days."
            )
        name = f"{i:03d}_{topic}.txt"
        (folder / name).write_text(f"{topic.title()} plan {i} advances\n\n" + "\n\n".join(paragraphs))
        tokens[name] = token
    return tokens


def chunk_groups(collection) -> dict[str, list[dict]]:
    """article id -> metadatas of every chunk physically in Chroma (committed or not)."""
    got = collection.get(include=["metadatas"])
    groups: dict[str, list[dict]] = defaultdict(list)
    for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
        groups[meta["article_id"]].append({**meta, "id": cid})
    return groups


def assert_consistent(store) -> dict[str, list[dict]]:
    """Every article whole (one version, all n_chunks chunks, indexes 0..n-1), no orphan, and
    the lexical index (after sync) holds exactly Chroma's chunk ids."""
    groups = chunk_groups(store.collection)
    for article_id, metas in groups.items():
        hashes = {m["content_hash"] for m in metas}
        assert len(hashes) == 1, f"{article_id}: {len(hashes)} versions mixed"
        n = metas[0]["n_chunks"]
        assert sorted(m["chunk_index"] for m in metas) == list(range(n)), f"{article_id} partial"
    ids = {m["id"] for metas in groups.values() for m in metas}
    assert set(store.sync_lexical().chunk_ids()) == ids
    assert {a.id: a.chunks for a in store.articles()} == {a: len(m) for a, m in groups.items()}
    return groups


# --- 1. idempotence --------------------------------------------------------------------------


def test_ingesting_three_times_changes_nothing_and_an_edit_or_delete_touches_one_article(
    bot, tmp_path
):
    folder = tmp_path / "corpus"
    tokens = write_articles(folder, 12)
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    figures = []
    for _ in range(3):
        bot.ingest([folder])
        figures.append((bot.store.count(), len(bot.store.sync_lexical()), len(bot.articles())))
    print(f"\nidempotence: (chunks, lexical, articles) over three ingests: {figures}")
    assert figures[0] == figures[1] == figures[2] and figures[0][0] == figures[0][1] > 13
    before = chunk_groups(bot.store.collection)

    victim = min(folder.glob("004_*.txt"))
    victim.write_text(victim.read_text().replace("officials said", "officials confirmed late"))
    report = bot.ingest([folder])
    after = chunk_groups(bot.store.collection)
    [victim_id] = [a for a in before if {m["id"] for m in before[a]} != {m["id"] for m in after[a]}]
    for article_id in before.keys() - {victim_id}:  # every other article: same chunk ids
        assert {m["id"] for m in before[article_id]} == {m["id"] for m in after[article_id]}
    print(f"edit: 1 article updated, {report.chunks_added} chunk(s) added, "
          f"{report.chunks_removed} removed, {report.chunks_unchanged} kept; "
          f"{len(before) - 1} other articles untouched")
    assert report.articles_updated == 1 and report.articles_unchanged == len(before) - 1
    assert_consistent(bot.store)

    token = tokens[victim.name]
    assert bot.store.sync_lexical().search(token, 5)
    removed = bot.delete(victim_id)
    hits = bot.store.sync_lexical().search(token, 5)
    left = bot.store.collection.get(where={"article_id": victim_id})["ids"]
    print(f"delete: {removed} chunks removed; left in Chroma {len(left)}, lexical hits {len(hits)}")
    assert removed > 0 and not left and not hits
    assert not any(token in c.text for c in bot.search(f"{token} board", k=10))
    assert_consistent(bot.store)


# --- 2. crash safety ---------------------------------------------------------------------------


class _CrashAt:
    """The collection, except that calling ``method`` dies as a killed process would."""

    def __init__(self, collection, method: str):
        self._collection, self._method = collection, method

    def __getattr__(self, name):
        if name == self._method:
            def crash(*args, **kwargs):
                raise KeyboardInterrupt(f"simulated crash before {name}")
            return crash
        return getattr(self._collection, name)


@pytest.mark.parametrize("crash_before", ["update", "delete"])
def test_an_edit_cut_short_shows_one_whole_version_and_the_next_ingest_repairs_it(
    bot, tmp_path, crash_before
):
    folder = tmp_path / "corpus"
    write_articles(folder, 3)
    bot.ingest([folder])
    path = min(folder.glob("001_*.txt"))
    old_text = path.read_text()
    # an added paragraph: the last passage changes (new + stale), the earlier ones are kept
    path.write_text(old_text.rstrip(".") + ", the clerk added.\n\n"
                    "A late paragraph about Quibbleton was added to the story.")
    real = bot.store.collection
    bot.store.collection = _CrashAt(real, crash_before)
    with pytest.raises(KeyboardInterrupt):
        bot.ingest([path])
    bot.store.collection = real

    groups = chunk_groups(real)
    article_id = next(a for a, ms in groups.items() if len({m["content_hash"] for m in ms}) > 1)
    shown = {a.id: a.chunks for a in bot.articles()}
    visible = {c.chunk_id for c in bot.search("Velmar board Monday Quibbleton", k=30)
               if c.article_id == article_id}
    versions = {h: [m for m in groups[article_id] if m["content_hash"] == h]
                for h in {m["content_hash"] for m in groups[article_id]}}
    whole = [h for h, ms in versions.items() if len(ms) == ms[0]["n_chunks"]]
    print(f"\ncrash before {crash_before}: {len(groups[article_id])} chunks of the article in "
          f"Chroma over {len(versions)} versions, {len(whole)} whole; readers see "
          f"{shown[article_id]} chunks of one version")
    assert len(whole) == 1  # the write order leaves exactly one complete version
    committed = {m["id"] for m in versions[whole[0]]}
    assert shown[article_id] == len(committed) and visible <= committed
    answer_ids = {c.chunk_id for c in bot.ask("Who led the board that met in Velmar?").retrieved}
    assert not (answer_ids & ({m["id"] for m in groups[article_id]} - committed))

    report = bot.ingest([folder])  # the rerun sees the leftovers and completes the write
    assert report.articles_updated == 1 and report.articles_unchanged == 2
    assert_consistent(bot.store)
    assert any("Quibbleton" in c.text for c in bot.search("Quibbleton late paragraph", k=3))


def _expected_chunks(bot, folder: Path) -> dict[str, set[str]]:
    """What a clean ingest of ``folder`` stores: article id -> chunk ids."""
    want = {}
    for path in sorted(folder.iterdir()):
        articles, errors = load_file(path, max_bytes=10**8)
        assert not errors
        for article in articles:
            want[article.id] = {c.id for c in bot.chunker.split(article)}
    return want


def _kill_ingest_part_way(tmp_path, port: int, folder: Path, kill_after: int) -> int:
    env = {**os.environ, "ASSISTANT_CHROMA_MODE": "http", "ASSISTANT_CHROMA_PORT": str(port),
           "ASSISTANT_DATA_DIR": str(tmp_path / "ingest-data"),
           "ASSISTANT_INGEST_BATCH_CHARS": "1000"}  # a commit every few articles: a kill lands mid-way
    proc = subprocess.Popen([str(BIN / "assistant"), "ingest", str(folder)], env=env,
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # A client of the same server, so polling never shares a persistent folder with the writer.
    client = chromadb.HttpClient(host="127.0.0.1", port=port,
                                 settings=ChromaSettings(anonymized_telemetry=False))
    deadline, seen = time.monotonic() + 240, 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                seen = client.get_collection("newsdesk").count()
            except (chromadb.errors.NotFoundError, httpx.HTTPError, ValueError):
                seen = 0
            if seen >= kill_after:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    return seen


def _crash_and_rerun(tmp_path, port, embedder, n_articles: int, kill_after: int) -> None:
    folder = tmp_path / "batch"
    write_articles(folder, n_articles)
    seen = _kill_ingest_part_way(tmp_path, port, folder, kill_after)
    settings = Settings(data_dir=tmp_path / "after", chroma_mode="http", chroma_port=port)
    bot = Assistant.from_settings(settings, embedder=embedder)
    want = _expected_chunks(bot, folder)
    groups = assert_consistent(bot.store)
    for article_id, metas in groups.items():  # whole and exactly what a clean ingest stores
        assert {m["id"] for m in metas} == want[article_id]
    print(f"\nkill -9 after >= {kill_after} chunks (saw {seen}): {len(groups)} of {len(want)} "
          f"articles whole, {sum(map(len, groups.values()))} chunks, none partial or orphaned")
    assert 0 < len(groups) < len(want)

    report = bot.ingest([folder])
    groups = assert_consistent(bot.store)
    print(f"rerun: {report.articles_added} added, {report.articles_unchanged} unchanged; "
          f"{len(groups)} articles, {bot.store.count()} chunks (clean ingest: "
          f"{sum(map(len, want.values()))})")
    assert report.ok and report.articles_added + report.articles_unchanged == len(want)
    assert {a: {m["id"] for m in ms} for a, ms in groups.items()} == want


def test_kill_9_during_a_small_ingest_leaves_whole_articles_and_a_rerun_completes(
    tmp_path, embedder, chroma_server  # noqa: F811
):
    _crash_and_rerun(tmp_path, chroma_server, embedder, n_articles=40, kill_after=20)


@pytest.mark.stress
def test_kill_9_during_a_large_ingest_leaves_whole_articles_and_a_rerun_completes(
    tmp_path, embedder, chroma_server  # noqa: F811
):
    _crash_and_rerun(tmp_path, chroma_server, embedder, n_articles=150, kill_after=150)


# --- 4. model change -----------------------------------------------------------------------------


class _OtherModel(Embedder):
    @property
    def fingerprint(self):
        return "some-other-model/384/normalized"


def test_another_embedder_is_refused_with_how_to_reindex_and_reindex_loses_nothing(
    tmp_path, embedder, settings
):
    folder = tmp_path / "corpus"
    tokens = write_articles(folder, 8)
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    old = Assistant.from_settings(settings, embedder=_OtherModel(embedder.model, "other"))
    old.ingest([folder])
    before = {a.id: (a.title, a.date, a.source, a.chunks) for a in old.articles()}
    del old

    with pytest.raises(EmbedderMismatchError, match="assistant reindex") as refused:
        Assistant.from_settings(settings, embedder=embedder)
    print(f"\nrefused: {refused.value}")
    started = time.perf_counter()
    result = CliRunner().invoke(cli_app, ["reindex"], catch_exceptions=False)
    took = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    print(f"reindex: {result.output.strip()} in {took:.1f} s")

    bot = Assistant.from_settings(settings, embedder=embedder)  # opens without complaint
    assert bot.store.built_with == embedder.fingerprint
    after = {a.id: (a.title, a.date, a.source, a.chunks) for a in bot.articles()}
    assert after == before
    assert_consistent(bot.store)
    # no staged or old collection left; the change log of the live one may exist
    assert {c.name for c in bot.store.client.list_collections()} <= {"newsdesk", "newsdesk-changes"}
    for name, token in tokens.items():  # every article found again, by the new vectors too
        [(top, _)] = bot.store.sync_lexical().search(token, 1)
        assert token in bot.store.get([top], embedder.embed_query(token))[0].text, name
        assert any(token in c.text for c in bot.store.query(
            embedder.embed_query(f"The board led by {token} met in Velmar"), 20))
    answer = bot.ask("What does the minerals framework cover?")
    assert "[1]" in answer.text and answer.citations[0].date == "2025-10-28"
    again = bot.ingest([folder])  # the rebuilt articles are the ingested ones: nothing rewritten
    print(f"re-ingest after reindex: {again.articles_unchanged} unchanged, "
          f"{again.articles_updated} updated")
    assert again.articles_unchanged == len(before) and again.chunks_added == 0


def test_a_reindex_swap_cut_short_is_finished_when_the_store_opens(bot, tmp_path, embedder):
    write_articles(tmp_path / "corpus", 2)
    bot.ingest([tmp_path / "corpus"])
    client, n = bot.store.client, bot.store.count()
    staged = client.get_collection("newsdesk")  # as if: staged + marked, live renamed, then kill
    staged.modify(metadata={**{k: v for k, v in staged.metadata.items()
                               if not k.startswith("hnsw:")}, "reindex_complete": True})
    staged.modify(name="newsdesk-reindex")
    reopened = Assistant.from_settings(bot.settings, embedder=embedder)
    assert reopened.store.count() == n and len(reopened.articles()) == 2
    assert {c.name for c in client.list_collections()} <= {"newsdesk", "newsdesk-changes"}
