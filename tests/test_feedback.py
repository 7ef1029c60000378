"""Web chat feedback (JSONL) becomes an evaluation suite the runner can load."""

import json

from assistant.evals.feedback import feedback_to_suite
from assistant.evals.suite import load_suite
from assistant.ui import FeedbackLog, _feedback_entry
from assistant.types import Turn
from conftest import CANONICAL


def test_feedback_to_suite_keeps_liked_answers_and_sends_disliked_ones_to_review(seeded, tmp_path):
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    answer = seeded.ask(CANONICAL)
    log.record(_feedback_entry(CANONICAL, [], answer, None, None), liked=True)
    nothing = seeded.ask("Who won the 1998 football world cup?")
    log.record(_feedback_entry("Who won the 1998 football world cup?", [], nothing, None, None), True)
    history = [Turn(role="user", content="Who met?"), Turn(role="assistant", content="Leaders.")]
    log.record(_feedback_entry("And what did they agree?", history, answer, "2025-10-01", None), False)
    with open(log.path, "a") as out:
        out.write("not json\n")

    result = feedback_to_suite(log.path, tmp_path / "suite.jsonl")
    assert (result.cases, result.review, result.skipped) == (2, 1, 1)
    suite = load_suite(tmp_path / "suite.jsonl")
    regression, unanswerable = suite.cases
    assert regression.question == CANONICAL and regression.answerable and regression.split == "dev"
    assert regression.gold_articles == [answer.citations[0].article_id]
    assert all(" … " not in q and q for q in regression.gold_quotes)
    assert not unanswerable.answerable and unanswerable.kind == "unanswerable"
    [review] = [json.loads(line) for line in (tmp_path / "suite.review.jsonl").read_text().splitlines()]
    assert review["question"] == "And what did they agree?"
    assert review["filters"] == {"since": "2025-10-01", "until": None}
    assert review["history"][0] == {"role": "user", "content": "Who met?"}


def test_feedback_to_suite_command_writes_a_loadable_suite(tmp_path):
    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.evals import load_suite

    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text(json.dumps({
        "question": "What does the minerals framework cover?", "answer": "Rare earths [1].",
        "liked": True, "abstained": False,
        "citations": [{"n": 1, "article_id": "abc", "title": "T", "quote": "rare earths"}],
    }) + "\n")
    res = CliRunner().invoke(app, ["eval", "feedback-to-suite", str(feedback),
                                   str(tmp_path / "s.jsonl")])
    print(res.output)
    assert res.exit_code == 0 and "1 case(s) written" in res.output
    assert load_suite(tmp_path / "s.jsonl").cases[0].question.startswith("What does")
