"""News-grade retrieval: BM25 beside Chroma, fused; near-duplicates folded; dates; abstention."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.lexical import LexicalIndex
from assistant.types import Article, digest

STORIES = {
    "strike-1": ("2026-03-04", "Harbour workers walk out",
                 "Dock workers at Port Elvan walked out on Wednesday. The union said 1,200 members "
                 "stopped work over pay. Terminal operator Elvan Terminals called the strike "
                 "unlawful."),
    "strike-2": ("2026-03-09", "Port Elvan strike enters sixth day",
                 "The Port Elvan dock strike entered its sixth day on Monday. The union said "
                 "2,100 members are now on strike. Forty ships wait at anchor."),
    "rates": ("2026-03-12", "Bank of Aldermark cuts rates",
              "The Bank of Aldermark cut its main interest rate to 4.00 per cent on Thursday, "
              "citing slowing inflation. Governor Mira Holt said further cuts were possible."),
    "wire-a": ("2026-03-10", "Wildfire forces evacuations",
               "A wildfire in the Dunmore Hills forced the evacuation of 300 homes on Tuesday, "
               "fire officials said. Strong winds pushed the flames toward the village of Carrick."),
    "wire-b": ("2026-03-10", "Fire in Dunmore Hills: homes evacuated",
               "A wildfire in the Dunmore Hills forced the evacuation of 300 homes on Tuesday, "
               "fire officials said. Strong winds pushed the flames toward the village of Carrick "
               "overnight."),
}


def _articles():
    return [
        Article(id=digest("article", key), title=title, text=text, source=f"{key}.md", date=date)
        for key, (date, title, text) in STORIES.items()
    ]


@pytest.fixture
def newsbot(bot) -> Assistant:
    assert bot.ingest_articles(_articles()).ok
    return bot


def test_lexical_index_follows_ingest_edit_and_delete(newsbot):
    store = newsbot.store
    index = store.sync_lexical()
    assert len(index) == store.count() > 0
    for _ in range(3):  # re-ingesting changes nothing in either index
        newsbot.ingest_articles(_articles())
        assert len(store.sync_lexical()) == store.count()
    victim = digest("article", "rates")
    assert any(cid.startswith("") for cid, _ in index.search("Aldermark interest rate", 5))
    newsbot.delete(victim)
    hits = store.sync_lexical().search("Aldermark interest rate Holt", 5)
    print("after delete:", hits)
    assert not hits and len(store.sync_lexical()) == store.count()


def test_lexical_snapshot_is_reused_and_a_foreign_write_is_applied_without_a_rebuild(
    newsbot, settings, embedder, monkeypatch
):
    newsbot.store.save_lexical()
    reopened = Assistant.from_settings(settings, embedder=embedder)
    rebuilt = []
    real = reopened.store._all_documents
    monkeypatch.setattr(reopened.store, "_all_documents", lambda: rebuilt.append(1) or real())
    assert reopened.store.sync_lexical().search("Port Elvan union", 3)
    assert rebuilt == []  # the snapshot matched the collection's marker: no rebuild
    gone = digest("article", "strike-1")
    newsbot.delete(gone)  # another "process" writes: the change log names its chunks
    index = reopened.store.sync_lexical()
    assert rebuilt == [] and len(index) == reopened.store.count()
    assert gone not in index.by_article
    assert all(c.article_id != gone for c in reopened.search("Port Elvan union", 5))


def test_bm25_catches_an_exact_name_and_dates_filter_both_retrievers(newsbot):
    hits = newsbot.search("What did Mira Holt say?", 3)
    assert hits[0].title == "Bank of Aldermark cuts rates"
    early = newsbot.search("How many members are on strike at Port Elvan?", 5, until="2026-03-05")
    assert {c.date for c in early} == {"2026-03-04"}
    with pytest.raises(ValueError, match="ISO date"):
        newsbot.search("strike", 3, since="March 2026")


def test_the_same_wire_story_in_two_outlets_fills_one_slot(newsbot):
    hits = newsbot.search("How many homes were evacuated in the Dunmore Hills wildfire?", 5)
    fire = [c for c in hits if "wildfire" in c.text.lower()]
    print([(c.title, c.also_in) for c in hits])
    assert len(fire) == 1 and len(fire[0].also_in) == 1
    answer = newsbot.ask("How many homes were evacuated in the Dunmore Hills wildfire?")
    cited = [c for c in answer.citations if "wildfire" in c.chunk_text.lower()]
    assert len(cited) == 1 and cited[0].also_in == list(fire[0].also_in)  # one citation, two outlets


def test_the_sources_panel_shows_the_rewritten_question_and_other_outlets(newsbot):
    from assistant.types import Turn
    from assistant.ui import sources_html

    answer = newsbot.ask("How many homes did it force out?", history=[
        Turn(role="user", content="What happened in the Dunmore Hills wildfire?"),
        Turn(role="assistant", content="A wildfire forced evacuations [1]."),
    ])
    page = sources_html(answer)
    assert answer.rewritten_question and "Dunmore" in answer.rewritten_question
    assert "Searched for:" in page and "also reported by" in page


def test_a_question_about_a_name_the_articles_never_mention_is_declined(seeded):
    answer = seeded.ask("What did South Korea's president say about the Japan-US summit?")
    assert answer.abstained
    assert not seeded.ask("What did Takaichi say about the Japan-US relationship?").abstained


def test_latest_questions_say_which_publication_date_they_stand_on(newsbot):
    answer = newsbot.ask("What is the latest number of dock workers on strike at Port Elvan?")
    print(answer.text)
    assert answer.text.startswith("As of 2026-03-09 (publication date of [1]):")
    assert answer.citations[0].date == "2026-03-09"  # the newest report leads


def test_lexical_index_alone_scores_and_filters():
    index = LexicalIndex(None)
    index.upsert([("a", "Three hundred homes evacuated", 20260310, ("x", "h", 1, 1)),
                  ("b", "The bank cut rates to 4 per cent", 20260312, ("y", "h", 1, 1))])
    assert [cid for cid, _ in index.search("300 homes", 5)] == ["a"]  # number words = digits
    assert index.search("300 homes", 5, since=20260311) == []
    index.delete(["a"])
    assert index.search("homes", 5) == []


def test_the_index_knows_which_version_of_an_article_readers_see():
    index = LexicalIndex(None)
    index.upsert([("a1", "first half", 20260310, ("art", "v1", 2, 10))])
    assert index.committed(["art"]) == {}  # one of two chunks: not shown
    index.upsert([("a2", "second half", 20260310, ("art", "v1", 2, 10))])
    assert index.committed(["art"]) == {"art": "v1"}
    index.upsert([("b1", "edited first half", 20260311, ("art", "v2", 2, 20))])
    assert index.committed(["art"]) == {"art": "v1"}  # the edit is incomplete: old version
    index.restamp([("a2", 20260311, ("art", "v2", 2, 20))])  # the kept chunk joins the edit
    assert index.committed(["art"]) == {"art": "v2"}
    index.delete(["a1"])
    assert index.committed(["art"]) == {"art": "v2"} and index.committed(["other"]) == {}


def test_when_reports_disagree_the_older_figure_is_flagged_after_the_newer(newsbot):
    from assistant.citations import mark_earlier_reports
    from assistant.types import Answer, Citation

    def cite(n, date):
        return Citation(n=n, chunk_id=str(n), article_id=str(n), title="t", date=date, source="s",
                        quote="q", quote_spans=[], chunk_text="x", article_start=0,
                        article_end=1, score=0.5)

    answer = Answer(question="q", citations=[cite(1, "2026-03-09"), cite(2, "2026-03-04")],
                    text="The union said 2,100 members are on strike [1]. The union said 1,200 "
                         "members stopped work [2]. Terminal operators called it unlawful [2].")
    text = mark_earlier_reports(answer, "An earlier report ({date}) differed:").text
    print(text)
    assert text == ("The union said 2,100 members are on strike [1]. An earlier report "
                    "(2026-03-04) differed: The union said 1,200 members stopped work [2]. "
                    "Terminal operators called it unlawful [2].")
    # said once per earlier report, not before each of its sentences
    two = answer.model_copy(update={"text": answer.text.replace(
        "Terminal operators called it unlawful [2].", "Some 300 more stayed home [2].")})
    assert mark_earlier_reports(two, "An earlier report ({date}) differed:").text.count(
        "An earlier report") == 1
    # an earlier report that also gives the newest figure agrees with it
    agrees = answer.model_copy(update={"text": "Corvane recalled 41 lots [1]. Corvane widened "
                                               "its recall to 41 lots from 14 [2]."})
    assert mark_earlier_reports(agrees, "An earlier report ({date}) differed:") == agrees
    same = answer.model_copy(update={"text": "It said 2,100 [1]. Again 2,100 [2]."})
    assert mark_earlier_reports(same, "An earlier report ({date}) differed:") == same
    # end to end, a "latest" question is answered from the newest report first
    latest = newsbot.ask("How many union members are on strike at Port Elvan now?")
    assert latest.text.startswith("As of 2026-03-09") and "2,100" in latest.text


def test_lexical_scores_equal_bm25s_after_changes_without_a_rebuild():
    import bm25s
    import numpy as np

    from assistant.text import tokens

    texts = {f"c{i}": f"Dock workers at Port Elvan {w} on day {i}; the union said {w} again."
             for i, w in enumerate(["walked out", "voted", "struck", "met mediators", "returned",
                                    "rejected the offer", "walked out again", "signed"])}
    index = LexicalIndex(None)
    index.upsert([(cid, t, 20260301, ("a", "h", 1, 1)) for cid, t in texts.items()])
    index.delete(["c2", "c5"])  # tombstones; df, lengths and N follow
    index.upsert([("c9", "A late report: dock workers walked out at Port Elvan.", 20260309,
                   ("b", "h", 1, 1))])
    live = {cid: t for cid, t in texts.items() if cid not in ("c2", "c5")}
    live["c9"] = "A late report: dock workers walked out at Port Elvan."
    reference = bm25s.BM25()
    reference.index([tokens(t) for t in live.values()], show_progress=False)
    vocabulary = {term for t in live.values() for term in tokens(t)}
    for question in ("workers walked out", "union mediators offer", "Port Elvan late report"):
        want = reference.get_scores([t for t in tokens(question) if t in vocabulary])
        got = dict(index.search(question, 20))
        assert np.allclose([got.get(cid, 0.0) for cid in live], want, atol=1e-5), question




def test_lexical_scores_equal_bm25s_across_a_snapshot_more_writes_and_a_compaction(tmp_path):
    # chunks read from the snapshot (the flat base), written after it (the delta), deleted from
    # either, and folded together again once tombstones outnumber the living
    import bm25s
    import numpy as np

    from assistant.text import tokens

    words = ["dock", "strike", "union", "pay", "ships", "port", "elvan", "offer", "vote", "talks"]
    texts = {f"c{i}": " ".join(words[(i * k) % len(words)] for k in range(1, 2 + i % 9))
             for i in range(1500)}
    first = LexicalIndex(tmp_path / "lexical.npz")
    first.upsert([(cid, t, 20260301, ("a", "h", 1, 1)) for cid, t in texts.items()])
    first.save()
    index = LexicalIndex(tmp_path / "lexical.npz")
    assert index.load()
    live = dict(texts)

    def check():
        vocabulary = {term for t in live.values() for term in tokens(t)}
        reference = bm25s.BM25()
        reference.index([tokens(t) for t in live.values()], show_progress=False)
        for question in ("dock strike pay", "union offer vote", "ships talks elvan port"):
            want = reference.get_scores([t for t in tokens(question) if t in vocabulary])
            got = dict(index.search(question, len(live)))
            assert np.allclose([got.get(cid, 0.0) for cid in live], want, atol=1e-5), question
        assert all(index.terms(cid) == set(tokens(live[cid])) for cid in list(live)[:50])

    later = {f"n{i}": f"late report {words[i % 10]} {words[(i + 3) % 10]}" for i in range(40)}
    index.upsert([(cid, t, 20260309, ("b", "h", 1, 2)) for cid, t in later.items()])
    index.delete(["c3", "n5"])
    live.update(later)
    del live["c3"], live["n5"]
    check()
    gone = [f"c{i}" for i in range(4, 1300)]  # more tombstones than live chunks: compacted
    index.delete(gone)
    for cid in gone:
        del live[cid]
    assert index._dead == 0
    check()


def test_a_snapshot_in_the_old_layout_loads_searches_the_same_and_is_rewritten_mapped(tmp_path):
    # snapshots written before the base was mapped: np.savez, no arrays by term
    import numpy as np

    path = tmp_path / "lexical.npz"
    texts = {f"c{i}": f"Port Elvan dock workers {['struck', 'voted', 'met'][i % 3]} on day {i}"
             for i in range(300)}
    first = LexicalIndex(path)
    first.upsert([(cid, t, 20260301 + i % 9, (f"a{i // 3}", "h", 3, 1))
                  for i, (cid, t) in enumerate(texts.items())])
    first.delete(["c7"])
    want = [first.search(q, 10) for q in ("workers struck", "voted day 12", "Elvan met")]
    first.save()
    with np.load(path) as data:
        old = {k: data[k] for k in data.files if k not in ("tptr", "tslots", "ttfs")}
    with open(path, "wb") as fh:
        np.savez(fh, **old)

    index = LexicalIndex(path)
    assert index.load()
    assert [index.search(q, 10) for q in ("workers struck", "voted day 12", "Elvan met")] == want
    assert index.committed(["a0", "a2"]) == {"a0": "h"}  # a2 lost c7: incomplete
    assert index._mapped is not None and not index._tslots.flags.writeable  # mapped now
    with np.load(path) as data:
        assert {"tptr", "tslots", "ttfs"} <= set(data.files)
    again = LexicalIndex(path)
    assert again.load() and again._mapped is not None
    assert [again.search(q, 10) for q in ("workers struck", "voted day 12", "Elvan met")] == want


def test_a_mapped_index_follows_writes_saves_reloads_and_compactions_like_one_in_memory(tmp_path):
    # the same random writes to an index that is saved and reloaded (its base mapped from the
    # snapshot, read-only) and to one that never leaves memory: the same hits and scores
    import random

    import numpy as np

    rnd = random.Random(7)
    words = ["dock", "strike", "union", "pay", "ships", "port", "elvan", "offer", "vote", "talks",
             "harwick", "council", "flood", "budget"]
    mapped, memory = LexicalIndex(tmp_path / "lexical.npz"), LexicalIndex(None)
    mapped.save()
    assert mapped.load() and mapped._mapped is not None
    questions = ["dock strike pay", "union offer", "flood budget council", "elvan ships vote"]
    compactions = set()
    for step in range(60):
        kind = rnd.choice(["upsert", "add", "delete", "restamp", "save", "reload"])
        base, from_file = mapped._bterms, mapped._mapped is not None
        if kind in ("upsert", "add"):  # new chunks and rewritten ones; new ones only
            items = [(f"c{rnd.randrange(3000)}" if kind == "upsert" else f"n{step}.{i}",
                      " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 12))),
                      20260301 + rnd.randrange(30), (f"a{rnd.randrange(60)}", "h", 2, step))
                     for i in range(rnd.randint(1, 1500))]
            for index in (mapped, memory):
                index.upsert(items)
        elif kind == "delete":
            ids = rnd.sample(sorted(memory.chunk_ids()), rnd.randint(0, len(memory)))
            for index in (mapped, memory):
                index.delete(ids)
        elif kind == "restamp":
            ids = rnd.sample(sorted(memory.chunk_ids()), min(len(memory), 20))
            items = [(cid, 20260401, (f"a{rnd.randrange(60)}", "h2", 2, step)) for cid in ids]
            for index in (mapped, memory):
                index.restamp(items)
        elif kind == "save":
            mapped.save()
        else:
            mapped.save()
            mapped = LexicalIndex(tmp_path / "lexical.npz")
            assert mapped.load() and mapped._mapped is not None
        if kind in ("upsert", "add", "delete") and mapped._bterms is not base:
            compactions.add(from_file)
        assert sorted(mapped.chunk_ids()) == sorted(memory.chunk_ids())
        some = sorted(memory.chunk_ids())[::50] + ["c-none"]
        assert [mapped.terms(cid) for cid in some] == [memory.terms(cid) for cid in some]
        for q in questions:
            got, want = dict(mapped.search(q, 10_000)), dict(memory.search(q, 10_000))
            assert got.keys() == want.keys(), (step, kind, q)
            assert np.allclose([got[c] for c in want], list(want.values()), atol=1e-6)
            got, want = (dict(index.search(q, 10_000, since=20260310, until=20260320))
                         for index in (mapped, memory))
            assert got.keys() == want.keys(), (step, kind, q)
        articles = [f"a{i}" for i in range(60)]
        assert mapped.committed(articles) == memory.committed(articles)
        assert mapped.date_range() == memory.date_range()
    assert compactions == {True, False}  # tombstones folded into a mapped base, a built one


def test_a_quoted_phrase_finds_the_passage_that_holds_it_word_for_word(bot):
    # in the newsroom archive the quotation sits in an article on a hosepipe ban, which as a
    # whole resembles the question too little to be retrieved (it was declined before)
    assert bot.ingest([Path(__file__).parent.parent / "evals/corpora/newsroom"]).ok
    answer = bot.ask('Who said "we are not in crisis, but we are on the road to one if we do '
                     'nothing"?')
    print(answer.text)
    assert not answer.abstained and "Bertil Hahn" in answer.text
    assert answer.citations[0].title.startswith("Carrow announces hosepipe ban")


def test_one_long_story_does_not_fill_every_passage_slot(settings, embedder):
    # six passages of one long report match the question better than the only other story
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    long_text = "\n\n".join(
        f"On {day} the Port Elvan dock strike went on, and the union and Elvan Terminals met "
        f"again to talk about pay. The union said the pay offer was too low and the terminal "
        f"said the pay rise it offered was fair. Ships waited at anchor outside Port Elvan "
        f"while the pay talks dragged on, and dock workers picketed the gates of the terminal "
        f"over pay. Talks on pay at Port Elvan were due to resume. " * 2
        for day in days)
    other = ("When the walkout began, the dockers' union asked for a 9 per cent rise, its "
             "negotiator Selma Voss said.")
    articles = [
        Article(id=digest("article", "long"), title="Port Elvan strike diary", text=long_text,
                source="long.md", date="2026-03-12"),
        Article(id=digest("article", "other"), title="Dockers walk out", text=other,
                source="other.md", date="2026-03-04"),
    ]
    question = "What pay rise did the Port Elvan dock union ask for in the strike talks?"
    found = {}
    for cap in (0, settings.per_article):
        bot = Assistant.from_settings(settings.model_copy(update={
            "per_article": cap, "collection": f"cap{cap}"}), embedder=embedder)
        assert bot.ingest_articles(articles).ok
        found[cap] = [c.source for c in bot.retriever.retrieve(question, bot.settings.top_k)]
    print(found)
    assert "other.md" in found[settings.per_article]
    assert "other.md" not in found[0]  # without the cap the long story fills every slot
