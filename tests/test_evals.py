"""The evaluation runner: suite format, metrics, support judge, run folders, compare, BEIR."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from typer.testing import CliRunner

from assistant import Assistant
from assistant.cli import app
from assistant.evals import Case, Suite, SuiteError, evaluate, load_suite
from assistant.evals.metrics import fact_present, retrieval_metrics
from assistant.evals.suite import load_beir
from assistant.types import RetrievedChunk
from conftest import CANONICAL, REPO, SEED

SUITES = REPO / "evals" / "suites"
runner = CliRunner()


def _chunk(text: str, source: str = "a.txt", score: float = 0.5) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=text[:8], article_id=source, title=source, date=None, source=f"/x/{source}",
        text=text, start=0, end=len(text), score=score,
    )


# --- answer matching -------------------------------------------------------------------------


@pytest.mark.parametrize(("fact", "answer", "found"), [
    ("rare earths", "It covers Rare-Earths, and more [1].", True),
    ("three agreements", "They signed 3 agreements.", True),
    ("2,100", "The toll rose to 2100 [2].", True),
    ("5 per cent", "Prices rose 5% in May.", True),
    (["Donald Trump", "Trump"], "President Trump arrived.", True),
    ("4", "It fell by 40 points.", False),  # word boundaries: 4 is not 40
    ("stockpiling", "It covers trade measures.", False),
    ("1", "Marker [1] is not content.", False),
])
def test_expected_facts_match_after_normalisation_only(fact, answer, found):
    assert fact_present(fact, answer) is found


# --- retrieval metrics -----------------------------------------------------------------------


def test_retrieval_metrics_credit_each_gold_item_once_at_its_first_rank():
    ranked = [_chunk("unrelated text"), _chunk("the quick brown fox jumps"),
              _chunk("again the quick brown fox jumps"), _chunk("lazy dog sleeps all day long")]
    m = retrieval_metrics(ranked, [], ["quick brown fox", "lazy dog sleeps"])
    assert m["recall@1"] == 0 and m["recall@5"] == 1.0
    assert m["mrr"] == 0.5
    # gains at ranks 2 and 4 (rank 3 repeats an item already credited); ideal at ranks 1 and 2
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert m["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))


def test_gold_articles_match_by_file_name_and_quote_straddling_a_chunk_boundary_counts():
    ranked = [_chunk("other", "b.md"), _chunk("first half of a long quoted sentence here", "a.txt")]
    m = retrieval_metrics(ranked, ["a.txt"], [])
    assert m["recall@1"] == 0 and m["recall@5"] == 1.0 and m["mrr"] == 0.5
    quote = "first half of a long quoted sentence here and the rest continues in the next chunk"
    assert retrieval_metrics(ranked, ["a.txt"], [quote])["recall@5"] == 1.0


# --- suites ----------------------------------------------------------------------------------


def test_a_malformed_suite_is_refused_with_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "a", "question": "q?", "answerable": true, "expected": ["x"]}\n'
        '// a comment line\n'
        '{"id": "a", "question": "again?", "expected": ["y"]}\n'
        '{"id": "b", "question": "q?", "answerable": false, "expected": ["x"]}\n'
        '{"id": "c", "question": "q?", "kind": "gossip", "expected": ["x"]}\n'
        'not json\n'
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    print(message)
    for line in (3, 4, 5, 6):
        assert f"bad.jsonl:{line}:" in message
    assert "duplicate id 'a'" in message and "unanswerable" in message and "kind" in message


@pytest.mark.parametrize("name", ["seed", "newsroom"])
def test_shipped_suites_are_valid_and_their_gold_quotes_exist(name):
    from assistant.corpus import load_paths

    suite = load_suite(SUITES / f"{name}.jsonl")
    corpus = REPO / ("corpus" if name == "seed" else "evals/corpora/newsroom")
    articles, errors = load_paths([corpus])
    assert not errors
    by_file = {Path(a.source).name: " ".join(a.text.split()) for a in articles}
    kinds = {c.kind for c in suite.cases}
    print(f"{name}: {len(suite.cases)} cases, {len(articles)} articles, kinds {sorted(kinds)}")
    assert {"dev", "test"} <= {c.split for c in suite.cases}
    assert sum(not c.answerable for c in suite.cases) >= 6
    for case in suite.cases:
        for gold in case.gold_articles:
            assert gold in by_file, f"{case.id}: no article {gold}"
        for quote in case.gold_quotes:
            assert any(" ".join(quote.split()) in by_file[g] for g in case.gold_articles), (
                f"{case.id}: quote not in its gold articles: {quote}")


# --- evaluate() ------------------------------------------------------------------------------


def test_evaluate_scores_a_wrongly_cited_llm_answer_below_a_correctly_cited_one(
    seeded, settings, embedder
):
    """A fake LLM draft that cites a passage for a claim it does not make loses precision."""
    suite = Suite("t", [Case(id="q", question=CANONICAL, expected=["stockpiling"],
                             gold_articles=[SEED.name])])
    context = seeded.search(CANONICAL)
    holder = next(i for i, c in enumerate(context, 1) if "stockpiling" in c.text)
    other = next(i for i, c in enumerate(context, 1) if "stockpiling" not in c.text)

    def llm_bot(draft: str, verify: bool = False) -> Assistant:  # same store, a scripted LLM
        return Assistant.from_settings(settings.model_copy(update={"verify_citations": verify}),
                                       embedder=embedder, llm=FakeListChatModel(responses=[draft]))

    good = evaluate(llm_bot(
        f"The framework covers financial support mechanisms, trade measures and stockpiling "
        f"[{holder}]."), suite)
    bad_draft = (f"The framework covers financial support mechanisms, trade measures and "
                 f"stockpiling [{holder}][{other}]. It was signed by 40 nations [{other}].")
    bad = evaluate(llm_bot(bad_draft), suite)
    verified = evaluate(llm_bot(bad_draft, verify=True), suite).figures()
    g, b = good.figures(), bad.figures()
    print("good:", {k: g[k] for k in ("correctness", "citation_precision", "citation_recall")})
    print("bad: ", {k: b[k] for k in ("correctness", "citation_precision", "citation_recall")})
    assert g["correctness"] == b["correctness"] == 1.0
    assert g["citation_precision"] == g["citation_recall"] == g["faithfulness"] == 1.0
    # sentence 1: [other] is irrelevant (holder alone supports); sentence 2: unsupported
    assert b["citation_precision"] == pytest.approx(1 / 3, abs=1e-3)
    assert b["citation_recall"] == pytest.approx(1 / 2, abs=1e-3)
    assert b["faithfulness"] == pytest.approx(1 / 2, abs=1e-3)
    # with verification on (the default) the same draft loses its false sentence and bad marker
    assert verified["citation_precision"] == verified["citation_recall"] == 1.0


def test_llm_judge_grades_only_when_asked_and_is_reported_separately(seeded):
    suite = Suite("t", [
        Case(id="q1", question=CANONICAL, expected=["rare earths"]),
        Case(id="q2", question="Who won the 2022 football World Cup?", answerable=False,
             kind="unanswerable"),
    ])
    judge = FakeListChatModel(responses=["INCORRECT. It misses a key fact."])
    result = evaluate(seeded, suite, llm_judge=judge, prompts_dir=seeded.settings.prompts_dir)
    fig = result.figures()
    assert fig["correctness"] == 1.0 and fig["llm_correctness"] == 0.0
    assert fig["abstention_accuracy"] == 1.0
    assert result.cases[0].llm_judge["reply"].startswith("INCORRECT")
    assert result.cases[1].llm_judge is None  # nothing to grade on an abstention
    assert "llm_correctness" not in evaluate(seeded, suite).figures()


def test_first_sentence_ceiling_counts_questions_one_sentence_of_the_archive_can_answer(seeded):
    """Two facts no sentence states together cannot both lead an answer: the report shows how
    much of first-sentence correctness is within reach of a verbatim lead."""
    from assistant.corpus import load_paths

    suite = Suite("t", [
        Case(id="one", question=CANONICAL, expected=["trade measures", "stockpiling"]),
        Case(id="two", question="How many nations is Trump visiting, and what era did "
             "Takaichi promise?", expected=["three-nation", "golden era"]),
        Case(id="trap", question="Who won the 2022 football World Cup?", answerable=False,
             kind="unanswerable"),
    ])
    articles, _ = load_paths([SEED])
    result = evaluate(seeded, suite, archive=[a.text for a in articles])
    reach = {c.id: c.metrics.get("first_reachable") for c in result.cases}
    assert reach == {"one": True, "two": False, "trap": None}
    assert result.figures()["first_sentence_ceiling"] == 0.5
    assert evaluate(seeded, suite).figures()["first_sentence_ceiling"] is None  # no archive


# --- the CLI: run folders, compare, BEIR -----------------------------------------------------


def _write_suite(path: Path, cases: list[dict]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def test_eval_cli_writes_a_run_folder_and_compare_reports_flips(tmp_path, seed_copy):
    cases = [
        {"id": "frame", "question": CANONICAL, "expected": ["rare earths"],
         "gold_articles": [SEED.name], "kind": "list", "split": "dev"},
        {"id": "cup", "question": "Who won the 2022 football World Cup?", "answerable": False,
         "kind": "unanswerable", "split": "test"},
    ]
    suite = _write_suite(tmp_path / "mini.jsonl", cases)
    runs = tmp_path / "runs"
    first = runner.invoke(app, ["eval", str(suite), "--corpus", str(seed_copy.parent),
                                "--out", str(runs)])
    print(first.output)
    assert first.exit_code == 0, first.output
    assert "correctness" in first.output and "report.html" in first.output
    (run_a,) = runs.iterdir()
    summary = json.loads((run_a / "summary.json").read_text())
    assert summary["summary"]["all"]["cases"] == 2
    assert summary["summary"]["all"]["correctness"] == 1.0
    q = json.loads((run_a / "questions" / "frame.json").read_text())
    assert q["answer"] and q["citations"] and q["retrieved"][0]["chunk_id"]
    assert {"recall@5", "mrr", "ndcg@10", "correct", "citation_precision"} <= set(q["metrics"])
    html = (run_a / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "Worst questions" in html

    # the same suite with a harder expectation: "frame" flips from right to wrong
    cases[0]["expected"] = ["stockpiling", "uranium"]
    _write_suite(suite, cases)
    second = runner.invoke(app, ["eval", str(suite), "--corpus", str(seed_copy.parent),
                                 "--out", str(runs), "--split", "all"])
    assert second.exit_code == 0, second.output
    assert "against the last run of this suite" in second.output and "frame" in second.output
    run_b = next(p for p in runs.iterdir() if p != run_a)
    cmp = runner.invoke(app, ["eval", "compare", str(run_a), str(run_b), "--json"])
    print(cmp.output)
    data = json.loads(cmp.output)
    assert {"id": "frame", "what": "correct", "a": True, "b": False} in [
        {k: f[k] for k in ("id", "what", "a", "b")} for f in data["flips"]]
    moved = {m["metric"]: m for m in data["moved"] if m["group"] == "all"}
    assert moved["correctness"]["delta"] == -1.0 and moved["correctness"]["better"] is False
    readable = runner.invoke(app, ["eval", "compare", str(run_a), str(run_b)])
    assert "frame" in readable.output and "correctness" in readable.output


def test_eval_cli_refuses_an_empty_archive_and_a_bad_suite(tmp_path):
    suite = _write_suite(tmp_path / "s.jsonl", [{"id": "a", "question": "q?", "expected": ["x"]}])
    empty = runner.invoke(app, ["eval", str(suite)])
    assert empty.exit_code == 2 and "archive is empty" in empty.output
    bad = _write_suite(tmp_path / "b.jsonl", [{"id": "a"}])
    res = runner.invoke(app, ["eval", str(bad)])
    assert res.exit_code == 2 and "b.jsonl:1" in res.output


def test_beir_format_scores_retrieval_on_a_standard_layout(tmp_path):
    root = tmp_path / "tiny-beir"
    (root / "qrels").mkdir(parents=True)
    docs = {
        "d1": ("Port strike", "Dock workers in Port Elvan walked out over pay on Monday."),
        "d2": ("Rate decision", "The central bank held its main interest rate at 4.5 percent."),
        "d3": ("Wildfire", "Firefighters contained the blaze north of the valley after a week."),
    }
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in docs.items()))
    (root / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "Why did dock workers strike?"}) + "\n"
        + json.dumps({"_id": "q2", "text": "What interest rate did the bank set?"}) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    suite = load_beir(root)
    assert [c.gold_articles for c in suite.cases] == [["beir:d1"], ["beir:d2"]]
    res = runner.invoke(app, ["eval", "--format", "beir", str(root), "--out", str(tmp_path / "r")])
    print(res.output)
    assert res.exit_code == 0, res.output
    (run,) = (tmp_path / "r").iterdir()
    fig = json.loads((run / "summary.json").read_text())["summary"]["all"]
    assert fig["recall@1"] == 1.0 and fig["mrr"] == 1.0 and fig["ndcg@10"] == 1.0


def test_eval_cli_says_which_baseline_names_exist(tmp_path, seed_copy):
    suite = _write_suite(tmp_path / "s.jsonl", [{"id": "a", "question": "q?", "expected": ["x"]}])
    res = runner.invoke(app, ["eval", str(suite), "--corpus", str(seed_copy.parent),
                              "--baseline", "nope"])
    assert res.exit_code == 2 and re.search(r"unknown baseline 'nope'.*langchain-default",
                                            res.output.replace("\n", " "))
