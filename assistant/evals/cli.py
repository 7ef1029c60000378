"""``assistant eval``: run a suite (``assistant eval SUITE``) or compare two runs.

    assistant eval evals/suites/seed.jsonl --corpus corpus/
    assistant eval evals/suites/newsroom.jsonl --corpus evals/corpora/newsroom --baseline newsrag
    assistant eval --format beir path/to/scifact
    assistant eval compare evals/runs/A evals/runs/B
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
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
from typer.core import TyperGroup

from assistant.config import Settings
from assistant.evals.runner import HEADLINE, EvalResult

out = Console()
err = Console(stderr=True)


class _RunByDefault(TyperGroup):
    """``assistant eval SUITE ...`` means ``assistant eval run SUITE ...``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_RunByDefault, no_args_is_help=True, add_completion=False,
    help="Run an evaluation suite (assistant eval SUITE) or compare two runs.",
)


def _fail(message: str, code: int = 2):
    err.print(f"error: {message}", style="red", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.fields[label]}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.description}"), console=err,
    )


@eval_app.command("run")
def run(
    suite_path: Annotated[Path, typer.Argument(
        metavar="SUITE", help="A suite .jsonl, or a BEIR folder with --format beir.")],
    corpus: Annotated[list[Path] | None, typer.Option(
        "--corpus", help="Ingest these articles into a fresh, separate collection first "
        "(default: evaluate against the configured archive).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (our suites) or beir.")] = "jsonl",
    baseline: Annotated[list[str] | None, typer.Option(
        "--baseline", help="Also run a peer pipeline: langchain-default, newsrag "
        "(= newsrag-lexical + newsrag-embed). Repeatable.")] = None,
    backend: Annotated[list[str] | None, typer.Option(
        "--backend", help="Also run the assistant with this answer backend (extractive, "
        "llamacpp, openai, chat_model) on the same articles: a row beside the configured one. "
        "Repeatable.")] = None,
    split: Annotated[str, typer.Option(help="all, dev or test.")] = "all",
    out_dir: Annotated[Path, typer.Option("--out", help="Where run folders go.")] = Path(
        "evals/runs"),
    depth: Annotated[int, typer.Option(help="Passages ranked for retrieval metrics.")] = 10,
    llm_judge: Annotated[bool, typer.Option(
        "--llm-judge", help="Also grade correctness with the configured LLM backend.")] = False,
    gate: Annotated[Path | None, typer.Option(
        help="Thresholds file (e.g. evals/thresholds.json): exit 1 when the suite falls "
        "below them.")] = None,
) -> None:
    """Run a suite: progress bar, summary table, and a run folder with report.html."""
    from assistant.app import Assistant
    from assistant.evals.suite import SuiteError, load_beir, load_suite
    from assistant.store import EmbedderMismatchError

    if fmt not in ("jsonl", "beir"):
        _fail(f"unknown --format {fmt!r} (jsonl or beir)")
    if split not in ("all", "dev", "test"):
        _fail(f"unknown --split {split!r} (all, dev or test)")
    try:
        suite = load_beir(suite_path) if fmt == "beir" else load_suite(suite_path)
    except SuiteError as exc:
        _fail(str(exc))
    suite = suite.split(split)
    if not suite.cases:
        _fail(f"no {split} cases in {suite_path}")
    try:
        settings = Settings()
    except ValueError as exc:
        _fail(f"invalid settings: {exc}")
    names = _baseline_names(baseline or [])
    if names and not (corpus or suite.articles):
        _fail("baselines need the suite's articles: pass --corpus DIR")
    if llm_judge and settings.answer_backend == "extractive":
        _fail("--llm-judge needs an LLM backend (set ASSISTANT_ANSWER_BACKEND)")

    with contextlib.ExitStack() as stack:
        fresh = bool(corpus or suite.articles)
        if fresh:  # a separate store that nothing else writes to, gone after the run
            tmp = stack.enter_context(tempfile.TemporaryDirectory(
                prefix="assistant-eval-", ignore_cleanup_errors=True))
            stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
            settings = settings.model_copy(update={
                "data_dir": Path(tmp), "collection": f"eval-{suite.name[:40]}-{stamp}",
            })
        try:
            bot = Assistant.from_settings(settings)
        except EmbedderMismatchError as exc:
            _fail(str(exc))
        if fresh and settings.chroma_mode == "http":  # a server outlives us: clean up after
            stack.callback(bot.store.drop)
        if corpus:
            with _bar() as bar:
                task = bar.add_task("", total=None, label="ingest")
                report = bot.ingest(corpus, progress=lambda d, t, item: bar.update(
                    task, completed=d, total=t, description=Path(item).name[:40]))
            for failure in report.failures:
                err.print(f"failed: {failure}", style="red", markup=False, soft_wrap=True)
        if suite.articles:
            bot.ingest_articles(suite.articles)
        if bot.store.count() == 0:
            _fail("the archive is empty: ingest articles first or pass --corpus DIR")

        # the suite's own articles: which of its questions one sentence can answer
        archive = [a.text for a in bot.store.stored_articles()] if fresh else None
        main = _evaluate(bot, suite, depth, settings, llm_judge, label=bot.backend,
                         archive=archive)
        peers = [_evaluate(other, suite, depth, settings, False, label=other.name,
                           archive=archive)
                 for other in _other_backends(bot, backend or [], settings)]
        if names:
            from assistant.evals.baselines import load_articles, make_baseline

            articles = suite.articles or load_articles(corpus)
            for name in names:
                system = make_baseline(name, articles, settings, bot.embedder)
                peers.append(_evaluate(system, suite, depth, settings, False, label=name,
                                       archive=archive))

    from assistant.evals.runs import load_run, new_run_dir, save_run

    previous = _last_run(out_dir, main.suite)
    run_dir = save_run(new_run_dir(out_dir), main, peers)
    _print_summary([main, *peers], split)
    out.print(f"run folder: {run_dir}\nreport:     {run_dir / 'report.html'}")
    if previous is not None:
        from assistant.evals.compare import compare

        out.print(f"\nagainst the last run of this suite, {previous.name}:")
        _print_comparison(compare(load_run(previous), main, groups=("all",)),
                          previous.name, run_dir.name)
    if gate:
        from assistant.evals.gate import check_gate, load_thresholds

        try:
            problems = check_gate(main, load_thresholds(gate, suite.name))
        except (OSError, KeyError, ValueError) as exc:
            _fail(f"cannot read the gate: {exc}")
        for problem in problems:
            err.print(f"gate: {problem}", style="red", markup=False)
        if problems:
            raise typer.Exit(1)
        out.print(f"gate passed ({gate})")


def _last_run(root: Path, suite: str) -> Path | None:
    """The newest earlier run of the same suite under ``root``, if any."""
    if not root.is_dir():
        return None
    for run_dir in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            if json.loads((run_dir / "summary.json").read_text())["suite"] == suite:
                return run_dir
        except (OSError, ValueError, KeyError):
            continue
    return None


def _evaluate(system, suite, depth: int, settings: Settings, llm_judge: bool, label: str,
              archive: list[str] | None = None):
    from assistant.evals.runner import evaluate
    from assistant.generation import chat_model_from_settings

    with _bar() as bar:
        task = bar.add_task("", total=len(suite.cases), label=f"eval {label}")
        return evaluate(
            system, suite, depth=depth, prompts_dir=settings.prompts_dir,
            llm_judge=chat_model_from_settings(settings) if llm_judge else None,
            progress=lambda d, t, cid: bar.update(task, completed=d, description=cid),
            archive=archive,
        )


def _other_backends(bot, names: list[str], settings: Settings):
    """The assistant with each other answer backend, sharing the bot's store and embedder."""
    from assistant.app import Assistant
    from assistant.evals.runner import AssistantSystem

    known = Settings.model_fields["answer_backend"].annotation.__args__
    systems = []
    for name in dict.fromkeys(names):
        if name not in known:
            _fail(f"unknown --backend {name!r} (one of {', '.join(known)})")
        if name == settings.answer_backend:
            continue  # that is the main row already
        try:
            other = Settings.model_validate({**settings.model_dump(), "answer_backend": name})
            systems.append(AssistantSystem(Assistant(other, bot.embedder, bot.store),
                                           name=f"assistant-{name}"))
        except (ValueError, RuntimeError) as exc:  # a bad GGUF path, a context too small, ...
            _fail(f"backend {name}: {exc}")
    return systems


def _baseline_names(requested: list[str]) -> list[str]:
    if not requested:
        return []
    from assistant.evals.baselines import expand

    try:
        return expand(requested)
    except ValueError as exc:  # names the unknown baseline and the known ones
        _fail(str(exc))


def _print_summary(results: list[EvalResult], split: str) -> None:
    """Metrics down the side, so the table fits a terminal whatever the number of systems."""
    metrics = [*HEADLINE, "words_p90", "latency_p50_s", "latency_p95_s"]
    groups = ["all"] if split != "all" else ["all", "split:dev", "split:test"]
    if len(results) == 1:
        tables = [(f"{results[0].suite} · {results[0].system}", [(g, results[0], g) for g in groups])]
    else:  # one table per group, a column per system
        tables = [(f"{results[0].suite} · {g}", [(r.system, r, g) for r in results])
                  for g in groups]
    for title, columns in tables:
        table = Table(title=f"{title} · support judge {results[0].judge}")
        table.add_column("metric")
        for name, _, _ in columns:
            table.add_column(name.replace("split:", ""), justify="right")
        table.add_row("cases", *(str(r.figures(g).get("cases", "–")) for _, r, g in columns))
        for m in metrics:
            table.add_row(m, *(_fmt(r.figures(g).get(m)) for _, r, g in columns))
        out.print(table)
    errors = sum(r.figures("all").get("errors", 0) for r in results)
    if errors:
        err.print(f"{errors} case(s) raised errors: see the run folder", style="red")


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


@eval_app.command("compare")
def compare_runs(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder.")],
    run_b: Annotated[Path, typer.Argument(help="The later run folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Which metrics moved between two runs, and which questions flipped."""
    from assistant.evals.compare import compare
    from assistant.evals.runs import load_run

    try:
        a, b = load_run(run_a), load_run(run_b)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if a.suite != b.suite:
        err.print(f"note: comparing different suites ({a.suite} vs {b.suite})", style="yellow")
    cmp = compare(a, b)
    if as_json:
        print(json.dumps({
            "moved": [{"group": m.group, "metric": m.metric, "a": m.a, "b": m.b,
                       "delta": m.delta, "better": m.better} for m in cmp.moved],
            "flips": [vars(f) for f in cmp.flips],
            "only_a": cmp.only_a, "only_b": cmp.only_b,
        }, indent=2))
        return
    _print_comparison(cmp, run_a.name, run_b.name)
    if cmp.only_a or cmp.only_b:
        out.print(f"only in A: {len(cmp.only_a)} case(s); only in B: {len(cmp.only_b)} case(s)")


def _print_comparison(cmp, name_a: str, name_b: str) -> None:
    table = Table(title=f"metrics that moved ({name_a} → {name_b})")
    for col in ("group", "metric", "A", "B", "Δ"):
        table.add_column(col, justify="right" if col in "ABΔ" else "left")
    for m in cmp.moved:
        style = "green" if m.better else "red"
        delta = "–" if m.delta is None else f"{m.delta:+.3f}"
        table.add_row(m.group, m.metric, _fmt(m.a), _fmt(m.b), f"[{style}]{delta}[/]")
    out.print(table if cmp.moved else "no metric moved")
    if cmp.flips:
        flips = Table(title="questions that flipped")
        for col in ("id", "what", "A", "B", "question"):
            flips.add_column(col)
        for f in cmp.flips:
            style = "green" if f.improved else "red"
            flips.add_row(f.id, f.what, str(f.a), f"[{style}]{f.b}[/]", f.question[:70])
        out.print(flips)
    else:
        out.print("no question flipped")


@eval_app.command("feedback-to-suite")
def feedback_command(
    feedback: Annotated[Path, typer.Argument(help="The web chat's feedback JSONL.")],
    out_file: Annotated[Path, typer.Argument(help="The suite to write (.jsonl).")],
) -> None:
    """Turn thumbs-up answers into suite cases (thumbs-down ones go to OUT.review.jsonl)."""
    from assistant.evals.feedback import feedback_to_suite

    if not feedback.is_file():
        _fail(f"no feedback file at {feedback}")
    result = feedback_to_suite(feedback, out_file)
    out.print(f"{result.cases} case(s) written to {out_file}; {result.review} disliked answer(s) "
              f"to review beside it; {result.skipped} line(s) skipped", markup=False)
