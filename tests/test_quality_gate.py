"""The quality gate: the seed suite, embedded default backend, against evals/thresholds.json."""

from assistant.evals import evaluate, load_suite
from assistant.evals.gate import check_gate, load_thresholds
from assistant.evals.runner import HEADLINE
from conftest import REPO


def test_seed_suite_stays_above_the_recorded_thresholds(seeded):
    result = evaluate(seeded, load_suite(REPO / "evals" / "suites" / "seed.jsonl"))
    thresholds = load_thresholds(REPO / "evals" / "thresholds.json", "seed")
    print(f"\nseed suite, {len(result.cases)} cases, judge {result.judge}, backend {seeded.backend}")
    for group in ("all", "split:dev", "split:test"):
        fig = result.figures(group)
        print(f"  {group:<10} " + "  ".join(
            f"{m}={fig[m]:.3f}" for m in [*HEADLINE, "false_abstention_rate"] if fig.get(m) is not None
        ) + f"  p50={fig['latency_p50_s'] * 1000:.0f}ms p95={fig['latency_p95_s'] * 1000:.0f}ms")
    assert result.figures()["errors"] == 0
    problems = check_gate(result, thresholds)
    assert not problems, "quality gate failed:\n" + "\n".join(problems)


def test_the_gate_fails_a_result_below_a_threshold(seeded):
    from assistant.evals import Case, Suite

    suite = Suite("t", [Case(id="q", question="Who won the 2022 football World Cup?",
                             answerable=False, kind="unanswerable")])
    result = evaluate(seeded, suite)
    assert check_gate(result, {"min": {"abstention_accuracy": 1.0}}) == []
    problems = check_gate(result, {"min": {"correctness": 0.5}, "max": {"latency_p50_s": 0.0}})
    assert len(problems) == 2 and "correctness = None" in problems[0]
