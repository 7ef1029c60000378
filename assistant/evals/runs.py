"""Run folders: ``evals/runs/<timestamp>/`` with one JSON per question, ``summary.json``,
the baselines' results and ``report.html``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from assistant.evals.runner import EvalResult


def new_run_dir(root: str | Path) -> Path:
    root = Path(root)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = root / stamp, 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def save_run(run_dir: Path, main: EvalResult, peers: list[EvalResult] = ()) -> Path:
    """Write the run; the first result is the assistant's, ``peers`` are the baselines."""
    from assistant.evals.report import write_report

    run_dir = Path(run_dir)
    questions = run_dir / "questions"
    questions.mkdir(parents=True, exist_ok=True)
    for case in main.cases:
        (questions / f"{_safe(case.id)}.json").write_text(
            case.model_dump_json(indent=2), encoding="utf-8"
        )
    if peers:
        (run_dir / "baselines").mkdir(exist_ok=True)
    for peer in peers:
        (run_dir / "baselines" / f"{_safe(peer.system)}.json").write_text(
            peer.model_dump_json(indent=2), encoding="utf-8"
        )
    summary = {
        "suite": main.suite, "suite_path": main.suite_path, "system": main.system,
        "judge": main.judge, "started_at": main.started_at, "config": main.config,
        "summary": main.summary,
        "systems": {r.system: {"config": r.config, "summary": r.summary} for r in [main, *peers]},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    write_report(run_dir / "report.html", main, list(peers))
    return run_dir


def load_run(run_dir: str | Path) -> EvalResult:
    """The assistant's result of a saved run (summary plus every question)."""
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{run_dir}: not a run folder (no summary.json)")
    meta = json.loads(summary_path.read_text(encoding="utf-8"))
    cases = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((run_dir / "questions").glob("*.json"))
    ]
    return EvalResult.model_validate({
        "system": meta["system"], "suite": meta["suite"], "suite_path": meta.get("suite_path", ""),
        "judge": meta["judge"], "started_at": meta["started_at"], "config": meta.get("config", {}),
        "summary": meta["summary"], "cases": cases,
    })


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:120] or "case"
