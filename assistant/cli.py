"""The ``assistant`` command: ingest, ask, serve, articles, delete, reindex, eval.

    assistant ingest corpus/
    assistant ask "What does the minerals framework cover?"
    assistant serve
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

import assistant  # noqa: F401  (sets the offline environment before libraries load)
from assistant.config import Settings
from assistant.evals.cli import eval_app
from assistant.store import EmbedderMismatchError

app = typer.Typer(
    help="Cited answers over news articles, offline. Settings come from ASSISTANT_* "
    "environment variables or a .env file.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(eval_app, name="eval")
out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError names the bad setting
        err.print(f"error: invalid settings: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _assistant():
    from assistant.app import Assistant

    try:
        return Assistant.from_settings(_settings())
    except EmbedderMismatchError as exc:
        err.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of articles.")],
) -> None:
    """Add or update articles (.txt, .md, .html, .jsonl, dated news format). Re-running is safe."""
    bot = _assistant()
    with Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=err, transient=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, item: str) -> None:
            bar.update(task, completed=done, total=total, description=Path(item).name[:40])

        report = bot.ingest(paths, progress=progress)
    table = Table(title="ingest summary", show_header=True)
    for col in ("", "added", "updated", "unchanged", "removed", "failed"):
        table.add_column(col, justify="right")
    table.add_row("articles", str(report.articles_added), str(report.articles_updated),
                  str(report.articles_unchanged), "", str(len(report.failures)))
    table.add_row("chunks", str(report.chunks_added), "", str(report.chunks_unchanged),
                  str(report.chunks_removed), "")
    out.print(table)
    if report.skipped:
        out.print(f"skipped {len(report.skipped)} file(s) of unsupported types")
    for failure in report.failures:
        # soft_wrap keeps a long path on one line; markup=False since names may hold brackets
        err.print(f"failed: {failure}", style="red", markup=False, soft_wrap=True)
    if report.failures:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    since: Annotated[str | None, typer.Option(help="Only articles published on/after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published on/before (YYYY-MM-DD).")] = None,
) -> None:
    """Answer a question with numbered sources."""
    if not question.strip():
        err.print("error: the question is empty", style="red", markup=False)
        raise typer.Exit(2)
    try:
        answer = _assistant().ask(question, since=since, until=until)
    except ValueError as exc:  # a malformed or empty date range
        err.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    out.print(answer.text, markup=False, highlight=False)
    if answer.citations:
        out.print("\nSources:", style="bold")
        out.print(answer.sources_text(), markup=False, highlight=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: settings, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings, 7860).")] = None,
) -> None:
    """Open the web chat."""
    from assistant.ui import serve as serve_ui

    bot = _assistant()
    host, port = host or bot.settings.ui_host, port or bot.settings.ui_port
    err.print(f"web chat on http://{host}:{port}  (Ctrl+C to stop)")
    serve_ui(bot, host, port, block=True)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface (default: settings, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings, 8080).")] = None,
) -> None:
    """Serve the HTTP API (OpenAI-compatible /v1/chat/completions, /v1/ask, /docs)."""
    from assistant.api import serve as serve_api

    bot = _assistant()
    host, port = host or bot.settings.api_host, port or bot.settings.api_port
    key = "API key required" if bot.settings.api_key else "no API key set"
    err.print(f"HTTP API on http://{host}:{port}  (docs: /docs; {key}; Ctrl+C to stop)")
    serve_api(bot, host, port)


@app.command()
def mcp(
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP instead of stdio.")] = False,
    host: Annotated[str | None, typer.Option(help="Interface for --http (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port for --http (default: settings, 8765).")] = None,
) -> None:
    """Serve the archive to agents over the Model Context Protocol (tools: ask, search,
    list_articles); stdio by default."""
    import contextlib
    import sys

    from assistant.mcp_server import serve as serve_mcp

    # On stdio, stdout is the protocol: anything a library prints while loading goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        bot = _assistant()
    if http:
        host, port = host or bot.settings.api_host, port or bot.settings.mcp_port
        err.print(f"MCP (streamable HTTP) on http://{host}:{port}/mcp  (Ctrl+C to stop)")
        serve_mcp(bot, "streamable-http", host=host, port=port)
    else:
        serve_mcp(bot, "stdio")


@app.command()
def articles(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List the articles in the archive."""
    found = _assistant().articles()
    if as_json:
        for a in found:
            print(a.model_dump_json())
        return
    table = Table(show_header=True)
    for col in ("id", "date", "title", "chunks", "source"):
        table.add_column(col)
    for a in found:
        table.add_row(a.id, a.date or "", a.title, str(a.chunks), a.source)
    out.print(table)
    out.print(f"{len(found)} article(s)")


@app.command()
def delete(article_id: Annotated[str, typer.Argument(help="Id shown by `assistant articles`.")]) -> None:
    """Remove an article and all of its chunks."""
    removed = _assistant().delete(article_id)
    if not removed:
        err.print(f"error: no article with id {article_id!r}", style="red", markup=False)
        raise typer.Exit(1)
    out.print(f"deleted article {article_id} ({removed} chunks)")


@app.command()
def reindex() -> None:
    """Re-embed every stored article with the configured embedder (after changing
    ASSISTANT_EMBEDDING_MODEL); articles are rebuilt from the store, none is lost."""
    from assistant.app import Assistant

    bot = Assistant.from_settings(_settings(), strict_embedder=False)
    before = bot.store.built_with
    with Progress(
        TextColumn("[bold]reindex"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=False,
    ) as bar:
        task = bar.add_task("", total=None)
        report = bot.reindex(lambda done, total, _item: bar.update(task, completed=done,
                                                                    total=total))
    out.print(f"re-indexed {report.articles_added} article(s), {report.chunks_added} chunks: "
              f"{before} -> {bot.embedder.fingerprint}", markup=False, highlight=False)


if __name__ == "__main__":
    app()
