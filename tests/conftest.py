"""Real parts in the middle (Chroma in a temp dir, the bundled embedder), fakes only at the LLM edge.

The embedder loads once per session; every test gets its own data directory so tests never touch
real state.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

import assistant  # noqa: F401  (offline environment first)
from assistant import Assistant, Settings
from assistant.embeddings import Embedder

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus" / "2025-10-28_Japan_US_summit_agrees_critical_minerals_framework.txt"
CANONICAL = "What does the minerals framework cover?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app, what: str = "the server", **config):
    """Run an ASGI app with uvicorn in a thread on a free loopback port; yield its base URL.
    ``config`` goes to ``uvicorn.Config`` (default: warnings only)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), **{"log_level": "warning", **config}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder.load("bundled:all-MiniLM-L6-v2")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, embedder):
    """Each test writes under its own temp data dir and reuses the session's embedder."""
    for var in list(os.environ):
        if var.startswith("ASSISTANT_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    monkeypatch.setattr(Embedder, "load", classmethod(lambda cls, *a, **k: embedder))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def bot(settings, embedder) -> Assistant:
    return Assistant.from_settings(settings, embedder=embedder)


@pytest.fixture
def seeded(bot) -> Assistant:
    report = bot.ingest([REPO / "corpus"])
    assert report.ok, report.failures
    return bot


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    return Path(shutil.copy(SEED, folder / SEED.name))
