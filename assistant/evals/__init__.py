"""Evaluation suites: run them, score them, report and compare runs (see evals/README.md)."""

from assistant.evals.runner import (
    AssistantSystem,
    CaseResult,
    EvalResult,
    System,
    SystemOutput,
    evaluate,
)
from assistant.evals.suite import Case, Suite, SuiteError, load_beir, load_suite

__all__ = [
    "AssistantSystem", "Case", "CaseResult", "EvalResult", "Suite", "SuiteError", "System",
    "SystemOutput", "evaluate", "load_beir", "load_suite",
]
