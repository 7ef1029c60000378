"""Two processes on one store: a write through one is in the other's search at its next query,
applied from the change log (no rebuild of its lexical mirror); a write killed part-way is
taken as it stands once its grace is over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from assistant import Assistant, Settings
from test_backends import BIN, chroma_server  # noqa: F401  (fixture)
from test_reliability import assert_consistent, write_articles

# The other process (BM25 only: the mirror is what is tested) answers "search TOKEN" lines with
# the titles of the passages found holding TOKEN, the rebuilds of its lexical mirror since it
# opened, and when (time.time()) it answered.
READER = r"""
import json, sys, time
from assistant import Assistant
bot = Assistant.from_settings(retrieval_mode="lexical")
counts = {"rebuilds": 0}
real = bot.store._rebuild
bot.store._rebuild = lambda: counts.__setitem__("rebuilds", counts["rebuilds"] + 1) or real()
print(json.dumps({"ready": len(bot.store.sync_lexical())}), flush=True)  # opening: a rebuild
counts["rebuilds"] = 0
for line in sys.stdin:
    token = line.split(" ", 1)[1].strip()
    hits = bot.search(token, 3)
    print(json.dumps({"titles": [c.title for c in hits if token in c.text],
                      "answered_at": time.time(), **counts}), flush=True)
"""


def _reader(tmp_path, port):
    env = {**os.environ, "ASSISTANT_CHROMA_MODE": "http", "ASSISTANT_CHROMA_PORT": str(port),
           "ASSISTANT_DATA_DIR": str(tmp_path / "reader")}
    proc = subprocess.Popen([sys.executable, "-c", READER], env=env, cwd=tmp_path, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert "ready" in json.loads(proc.stdout.readline())
    return proc


def _ask(proc, token: str) -> dict:
    proc.stdin.write(f"search {token}\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def test_a_write_in_one_process_is_in_the_others_search_at_its_next_query(
    tmp_path, embedder, chroma_server  # noqa: F811
):
    settings = Settings(data_dir=tmp_path / "writer", chroma_mode="http", chroma_port=chroma_server)
    writer = Assistant.from_settings(settings, embedder=embedder)
    tokens = write_articles(tmp_path / "first", 6)
    writer.ingest([tmp_path / "first"])
    reader = _reader(tmp_path, chroma_server)
    try:
        first = next(iter(tokens.values()))
        assert _ask(reader, first)["titles"]  # it opened on the archive as it was
        more = write_articles(tmp_path / "more", 9)  # 3 new articles (names 006-008)
        for name in list(more)[:6]:
            (tmp_path / "more" / name).unlink()
        new_name, new_token = list(more.items())[6]
        writer.ingest([tmp_path / "more"])
        written = time.time()
        seen = _ask(reader, new_token)
        print(f"\nnew article seen by the other process {1000 * (seen['answered_at'] - written):.0f}"
              " ms after the ingest returned")
        assert seen["titles"] == [f"{new_name[4:-4].title()} plan 6 advances"]
        assert seen["rebuilds"] == 0  # applied from the change log

        article = next(a.id for a in writer.articles() if a.title.endswith("plan 6 advances"))
        writer.delete(article)
        gone = _ask(reader, new_token)
        assert gone["titles"] == [] and gone["rebuilds"] == 0

        edited = tmp_path / "more" / new_name  # back, edited: only the new version is found
        edited.write_text(edited.read_text().replace("officials said", "officials said on Friday"))
        writer.ingest([edited])
        back = _ask(reader, new_token)
        assert back["titles"] == [f"{new_name[4:-4].title()} plan 6 advances"] * len(
            back["titles"]) and back["titles"] and back["rebuilds"] == 0
        assert _ask(reader, first)["titles"]  # the older articles are still there
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert_consistent(writer.store)


def test_a_write_killed_part_way_is_taken_as_it_stands_by_the_other_process_after_the_grace(
    bot, tmp_path, embedder, monkeypatch
):
    import contextlib

    from assistant.store import ChromaStore, version_of
    from assistant.types import committed_versions
    from test_reliability import _CrashAt, chunk_groups

    folder = tmp_path / "corpus"
    write_articles(folder, 3)
    bot.ingest([folder])
    other = ChromaStore(bot.store.client, bot.store.name, embedder.fingerprint, writer_grace_s=0.5)
    assert set(other.sync_lexical().chunk_ids()) == {m["id"] for ms in chunk_groups(
        bot.store.collection).values() for m in ms}
    path = min(folder.glob("001_*.txt"))
    path.write_text(path.read_text() + "\n\nA late paragraph about Quibbleton was added.")
    # killed after the new passages landed, before the commit: no repair, no done record
    monkeypatch.setattr(bot.store, "_cut_short", lambda ids: contextlib.nullcontext())
    real, bot.store.collection = bot.store.collection, _CrashAt(bot.store.collection, "update")
    with pytest.raises(KeyboardInterrupt):
        bot.ingest([path])
    bot.store.collection = real
    stored = {m["id"] for ms in chunk_groups(real).values() for m in ms}
    shown_before = {a.id: a.chunks for a in bot.articles()}

    in_flight = set(other.sync_lexical().chunk_ids())
    assert in_flight < stored  # a write in flight: its passages are not taken yet
    time.sleep(0.6)
    assert set(other.sync_lexical().chunk_ids()) == stored  # past the grace: taken as they are
    truth = committed_versions(map(version_of, real.get(include=["metadatas"])["metadatas"]))
    assert other.lexical.committed(shown_before) == truth  # the whole version readers see

    bot.ingest([folder])  # the rerun completes the write; the other process follows
    assert set(other.sync_lexical().chunk_ids()) == {
        m["id"] for ms in chunk_groups(real).values() for m in ms}
