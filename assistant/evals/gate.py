"""The quality gate: minimum (and maximum) figures a suite must reach, recorded in the repo.

``evals/thresholds.json`` maps a suite name to ``{"split": "all", "min": {metric: value},
"max": {metric: value}}``. Thresholds sit one case below the figures measured when they were
recorded, so a single flipped case on a borderline question is tolerated and a real drop is not.
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.evals.runner import EvalResult


def load_thresholds(path: str | Path, suite: str) -> dict:
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    if suite not in spec:
        raise KeyError(f"{path} has no thresholds for suite {suite!r}")
    return spec[suite]


def check_gate(result: EvalResult, thresholds: dict) -> list[str]:
    """The ways ``result`` falls short of ``thresholds``; empty when it passes."""
    group = thresholds.get("split", "all")
    figures = result.figures("all" if group == "all" else f"split:{group}")
    problems = []
    for metric, floor in thresholds.get("min", {}).items():
        value = figures.get(metric)
        if value is None or value < floor:
            problems.append(f"{metric} = {value} is below the recorded minimum {floor}")
    for metric, ceiling in thresholds.get("max", {}).items():
        value = figures.get(metric)
        if value is None or value > ceiling:
            problems.append(f"{metric} = {value} is above the recorded maximum {ceiling}")
    return problems
