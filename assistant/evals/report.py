"""``report.html``: one self-contained page per run, plots embedded as PNG."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

from assistant.evals.runner import HEADLINE, CaseResult, EvalResult  # noqa: E402

_COLUMNS = [*HEADLINE, "words_p90", "latency_p50_s", "latency_p95_s"]
_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
table{display:block;overflow-x:auto;border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.case{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.rel{background:#e6f4ea}.muted{color:#777}.chunk{font-size:.85rem;white-space:pre-wrap}
img{max-width:100%}
"""


def write_report(path: Path, main: EvalResult, peers: list[EvalResult]) -> Path:
    systems = [main, *peers]
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>Eval {escape(main.suite)}</title>",
        f"<style>{_CSS}</style>",
        f"<h1>Suite <code>{escape(main.suite)}</code></h1>",
        f"<p>{len(main.cases)} cases · run {escape(main.started_at)} · support judge "
        f"<code>{escape(main.judge)}</code> · system <code>{escape(main.system)}</code> "
        f"{escape(_config_text(main.config))}</p>",
    ]
    for group, label in (("split:test", "Held-out split (test)"), ("split:dev", "Dev split"),
                         ("all", "All cases")):
        if any(r.figures(group) for r in systems):
            parts += [f"<h2>{label}</h2>", _table(systems, group)]
    parts += ["<h2>Metrics by system (all cases)</h2>", _img(_bars(systems))]
    parts += ["<h2>By kind of question</h2>", _img(_kinds(main)), _kind_table(main)]
    parts += ["<h2>Latency</h2>", _img(_latency(systems))]
    errors = [c for c in main.cases if c.error]
    if errors:
        parts += ["<h2>Errors</h2>"] + [
            f"<div class='case'><b>{escape(c.id)}</b><pre>{escape(c.error or '')}</pre></div>"
            for c in errors
        ]
    parts += ["<h2>Worst questions</h2>", *(_case_html(c) for c in worst(main.cases, 12))]
    if peers:
        parts += ["<h2>Baselines</h2>"] + [
            f"<p><b>{escape(p.system)}</b>: {escape(_config_text(p.config))}</p>" for p in peers
        ]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def worst(cases: list[CaseResult], n: int) -> list[CaseResult]:
    """Wrong first (errors, wrong answers, wrong abstentions), then by weakest retrieval."""

    def badness(c: CaseResult):
        m = c.metrics
        wrong = c.error is not None or (
            not m.get("correct") if c.answerable else not m.get("abstention_correct")
        )
        return (not wrong, m.get("recall@5", 1.0) or 0.0, m.get("fact_recall", 1.0) or 0.0)

    return sorted(cases, key=badness)[:n]


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(systems: list[EvalResult], group: str) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in ["system", "cases", *_COLUMNS])
    rows = []
    for r in systems:
        f = r.figures(group)
        cells = "".join(f"<td>{_fmt(f.get(c))}</td>" for c in ["cases", *_COLUMNS])
        rows.append(f"<tr><td>{escape(r.system)}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _kind_table(r: EvalResult) -> str:
    cols = ["cases", "recall@5", "mrr", "correctness", "first_sentence_correctness",
            "abstention_accuracy", "words_p50", "citation_precision",
            "citation_recall"]
    head = "".join(f"<th>{c}</th>" for c in ["kind", *cols])
    rows = [
        f"<tr><td>{escape(g[5:])}</td>" + "".join(f"<td>{_fmt(f.get(c))}</td>" for c in cols)
        + "</tr>"
        for g, f in r.summary.items() if g.startswith("kind:")
    ]
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _case_html(c: CaseResult) -> str:
    metrics = ", ".join(
        f"{k}={_fmt(v)}" for k, v in c.metrics.items() if not isinstance(v, list)
    )
    expected = "; ".join(f if isinstance(f, str) else " / ".join(f) for f in c.expected) or "–"
    history = "".join(
        f"<div class='muted'>{escape(t['role'])}: {escape(t['content'])}</div>" for t in c.history
    )
    chunks = "".join(
        f"<tr class='{'rel' if d.get('relevant') else ''}'><td>{d['rank']}</td>"
        f"<td>{_fmt(d['score'])}</td><td>{escape(d['title'])} ({escape(d.get('date') or '')})</td>"
        f"<td class='chunk' style='text-align:left'>{escape(d['text'][:400])}</td></tr>"
        for d in c.retrieved[:5]
    )
    return (
        f"<div class='case'><b>{escape(c.id)}</b> <span class='muted'>{escape(c.kind)} · "
        f"{escape(c.split)} · {'answerable' if c.answerable else 'unanswerable'}</span>"
        f"{history}<p><b>Q:</b> {escape(c.question)}</p><p><b>Expected:</b> {escape(expected)}"
        f"</p><p><b>Answer:</b> {escape(c.answer or c.error or '')}</p>"
        f"<p class='muted'>{escape(metrics)}</p>"
        f"<table><tr><th>rank</th><th>score</th><th>article</th><th>passage "
        f"(green: holds a gold quote/article)</th></tr>{chunks}</table></div>"
    )


def _config_text(config: dict) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in config.items()) + ")" if config else ""


def _img(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"


def _bars(systems: list[EvalResult]):
    metrics = [m for m in HEADLINE if not m.startswith("words")]  # shares on one 0-1 axis
    fig, ax = plt.subplots(figsize=(11, 4))
    width = 0.8 / len(systems)
    for i, r in enumerate(systems):
        f = r.figures("all")
        values = [f.get(m) or 0.0 for m in metrics]
        ax.bar([x + i * width for x in range(len(metrics))], values, width, label=r.system)
    ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(metrics))])
    ax.set_xticklabels(metrics, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("Headline metrics (missing values drawn as 0)")
    return fig


def _kinds(r: EvalResult):
    kinds = [g for g in r.summary if g.startswith("kind:")]
    metrics = ["recall@5", "correctness", "abstention_accuracy", "citation_recall"]
    fig, ax = plt.subplots(figsize=(11, 4))
    width = 0.8 / len(metrics)
    for i, m in enumerate(metrics):
        values = [r.summary[k].get(m) or 0.0 for k in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], values, width, label=m)
    ax.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(kinds))])
    ax.set_xticklabels([k[5:] for k in kinds], rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title(f"{r.system} by kind of question")
    return fig


def _latency(systems: list[EvalResult]):
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for r in systems:
        seconds = [c.seconds * 1000 for c in r.cases if c.seconds is not None]
        if seconds:
            ax.hist(seconds, bins=20, alpha=0.5, label=r.system)
    ax.set_xlabel("time to answer (ms)")
    ax.set_ylabel("questions")
    ax.legend(fontsize=8)
    return fig
