"""What a reader meets: the fact first and short, dated questions and aliases answered, and a
decline that says what is missing when the archive does not hold the answer."""

import re

import pytest

from assistant import Assistant
from assistant.nlp import Annotator, missing_names
from assistant.text import strip_markers


def _ingest(bot, folder, articles: dict[str, str]) -> None:
    """Ingest a folder of Markdown articles (name → front matter and text)."""
    folder.mkdir()
    for name, text in articles.items():
        (folder / f"{name}.md").write_text(text)
    assert bot.ingest([folder]).ok


def _passage(n: int, text: str, *, title: str, date: str, article: str | None = None,
             start: int = 0, score: float = 0.6):
    """Passage ``n`` of a context built in code: an article of its own unless ``article``."""
    from assistant.types import RetrievedChunk

    return RetrievedChunk(chunk_id=f"c{n}", article_id=article or f"a{n}", title=title, date=date,
                          source=f"{n}.md", text=text, start=start, end=start + len(text),
                          score=score)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text.strip())[0]


def test_answer_leads_with_the_asked_for_figure(seeded):
    answer = seeded.ask("How many nations is Trump visiting on his Asia trip?")
    print(answer.text)
    assert not answer.abstained
    assert "three-nation Asia trip" in _first_sentence(answer.text)
    assert len(strip_markers(answer.text).split()) <= seeded.settings.answer_max_words


def test_a_dateline_is_not_shown_but_the_quote_is_exactly_what_is_shown(seeded):
    answer = seeded.ask("What kind of era of partnership did Takaichi pledge to build with Trump?")
    print(answer.text)
    assert not answer.abstained and "golden era" in answer.text
    assert "Tokyo, Oct 28:" not in answer.text
    lead = answer.citations[0]
    assert lead.quote.startswith("Emphasising")
    assert lead.quote in lead.chunk_text and lead.quote.rstrip(".") in answer.text


@pytest.mark.parametrize("question", [
    "In October 2025, what did the U.S. and Japan agree on critical minerals?",
    "As of Oct. 28, 2025, what does the minerals framework cover?",
    "what did america and japan sign at the summit",
])
def test_dated_and_aliased_questions_are_answered(seeded, question):
    answer = seeded.ask(question)
    print(question, "->", answer.text)
    assert not answer.abstained and answer.citations


def test_aliases_count_as_the_same_name():
    nlp = Annotator.shared()
    passage = ["Japan and the United States signed a framework; the UK was not there."]
    for alias in ("U.S.", "US", "America", "the United States"):
        assert not missing_names(nlp.question(f"What did {alias} sign with Japan?"), passage)
    assert missing_names(nlp.question("What did Germany sign with Japan?"), passage) == ["Germany"]
    assert not missing_names(nlp.question("What did Britain say?"), passage)
    assert not missing_names(nlp.question("What post did he hold at the AU?"),
                             ["Kufuor, chairman of the African Union, flew to Nairobi."])
    # an alias leading a longer name, and the party's nickname
    senate = ["The U.S. Senate passed the bill, which Senate Republicans had opposed."]
    assert not missing_names(nlp.question("What did the US Senate do on the bailout?"), senate)
    assert not missing_names(nlp.question("What did the GOP say about the bill?"), senate)
    assert missing_names(nlp.question("What did the Kenyan Senate do?"), senate)


def test_months_and_weekdays_are_not_names_the_question_turns_on():
    nlp = Annotator.shared()
    passage = ["Japan and the United States signed a framework on Monday."]
    for question in ("In March 2024, what did Japan sign?", "What did Japan sign on Tuesday?",
                     "What did Japan sign in Aug 2025?", "On what date in March did Japan sign?"):
        assert not missing_names(nlp.question(question), passage), question


def test_an_attribute_the_articles_never_give_is_declined_pointing_at_the_nearest(seeded):
    answer = seeded.ask("How much is the minerals deal worth?")
    print(answer.text)
    assert answer.abstained
    assert "do not give" in answer.text and "[1]" in answer.text
    assert answer.citations[0].title == "Japan US summit agrees critical minerals framework"


def test_a_person_the_story_does_not_name_is_declined_naming_them(seeded):
    answer = seeded.ask("What did Joe Biden say about the minerals framework?")
    print(answer.text)
    assert answer.abstained and "Biden" in answer.text


def test_who_holds_a_post_is_answered_by_the_name_in_it_or_declined_saying_which_post(seeded):
    now = seeded.ask("who is japan's prime minister")
    print(now.text)
    assert not now.abstained and "Prime Minister Sanae Takaichi" in _first_sentence(now.text)
    before = seeded.ask("Who was Japan's prime minister before Sanae Takaichi?")
    print(before.text)
    assert before.abstained and "Japan's prime minister before Sanae Takaichi" in before.text


def test_a_period_after_the_newest_article_is_declined_with_the_dates_covered(seeded):
    answer = seeded.ask("In March 2027, what did Japan and the US agree on minerals?")
    print(answer.text)
    assert answer.abstained
    assert "2025-10-28" in answer.text and "March 2027" in answer.text


def test_a_period_outside_the_users_date_range_is_declined(seeded):
    answer = seeded.ask("In October 2025, what does the minerals framework cover?",
                        until="2025-06-30")
    print(answer.text)
    assert answer.abstained and "2025-06-30" in answer.text


@pytest.mark.parametrize("question", [
    "?", "...", "¿?", "October 2025", "Was deckt das Rohstoffabkommen ab?",
    "框架包括什么？", "minerals " * 250 + "framework?",
])
def test_odd_questions_get_a_clear_answer_or_a_clear_decline(seeded, question):
    answer = seeded.ask(question[:2000])
    print(repr(question[:40]), "->", answer.text[:120])
    assert answer.text.strip()
    assert answer.abstained or answer.citations


def test_a_question_with_no_words_asks_for_a_question(seeded):
    answer = seeded.ask("?")
    assert answer.abstained and "ask a question" in answer.text.lower()


def test_an_article_without_a_parsable_sentence_does_not_break_answers(bot, tmp_path):
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "symbols.md").write_text("---\ntitle: Symbols\ndate: 2026-01-01\n---\n\n"
                                    "••• ### +++ ≈≈≈ 12 34 56 ~~~ ### •••\n")
    (odd / "list.md").write_text("---\ntitle: Fixtures\ndate: 2026-01-02\n---\n\n"
                                 "Arsenal 2 Chelsea 1\nSpurs 0 Everton 0\n")
    assert bot.ingest([odd]).ok
    for question in ("What did the symbols say?", "How many goals did Arsenal score?",
                     "When was it published?"):
        answer = bot.ask(question)
        print(question, "->", answer.text)
        assert answer.text.strip()


@pytest.mark.parametrize("story_budget", [True, False])
def test_an_earlier_report_with_a_different_figure_is_heard_beside_the_lead(
        settings, embedder, tmp_path, story_budget):
    bot = Assistant.from_settings(settings.model_copy(update={
        "answer_story_budget": story_budget}), embedder=embedder)
    _ingest(bot, tmp_path / "storm", {
        "first": (
            "---\ntitle: Storm Kavi kills 19 in Port Amberly\ndate: 2024-09-25\n---\n\n"
            "The number of people killed by Storm Kavi in the coastal province rose to 19 on "
            "Wednesday, the provincial health department said, as search teams reached flooded "
            "fishing villages that had been cut off from the main road since the storm came ashore "
            "on Monday night.\n"),
        "second": (
            "---\ntitle: Storm Kavi death toll rises to 34\ndate: 2024-09-28\n---\n\n"
            "The number of people killed by Storm Kavi rose to 34 on Saturday, officials said, "
            "as heat and humidity threatened residents still without power.\n"),
    })
    question = "How many people did Storm Kavi kill?"
    answer = bot.ask(question)
    print(answer.text)
    assert not answer.abstained
    words = len(strip_markers(answer.text).split())
    if not story_budget:  # the second report does not fit the budget of one answer
        assert len(answer.citations) == 1 and words <= bot.settings.answer_max_words
        return
    assert "19" in answer.text and "34" in answer.text  # both reports, each cited
    assert len(answer.citations) == 2
    assert bot.settings.answer_max_words < words <= bot.settings.answer_max_words_list


def test_a_figure_that_counts_something_else_does_not_answer_how_many(bot, tmp_path):
    _ingest(bot, tmp_path / "dairy", {
        "deal": (
            "---\ntitle: Halvorsen offers to sell plants to win dairy deal approval\n"
            "date: 2025-03-05\n---\n\n"
            "Halvorsen Foods and Brightmeadow Dairy have offered to sell 11 milk processing plants "
            "to Tallgrass Creamery in an effort to win antitrust approval for their merger, the "
            "companies said on Wednesday.\n"),
    })
    counted = bot.ask("How many plants will Halvorsen and Brightmeadow sell?")
    print(counted.text)
    assert not counted.abstained and "11" in counted.text
    absent = bot.ask("How many employees does Brightmeadow Dairy have?")
    print(absent.text)
    assert absent.abstained and "do not give" in absent.text  # 11 plants are no employees


def test_a_figure_reported_before_the_month_asked_about_does_not_answer(bot, tmp_path):
    _ingest(bot, tmp_path / "vote", {
        "march": (
            "---\ntitle: Zimbabwe prepares for run-off\ndate: 2008-03-28\n---\n\n"
            "Mugabe's Zanu-PF took 43.2% of the first-round vote and the MDC 47.9%, so a run-off "
            "between Mugabe and Tsvangirai will be held in June, the electoral commission said.\n"),
        "june": (
            "---\ntitle: Mugabe claims victory in Zimbabwe run-off\ndate: 2008-06-29\n---\n\n"
            "Mugabe claimed a sweeping victory in the run-off, which Tsvangirai had boycotted, and "
            "was sworn in for a sixth term on Sunday.\n"),
    })
    first = bot.ask("What share of the first-round vote did the MDC get in March 2008?")
    print(first.text)
    assert not first.abstained and "47.9%" in first.text
    runoff = bot.ask("What percentage of the vote did Mugabe get in the June 2008 run-off?")
    print(runoff.text)
    assert runoff.abstained  # 43.2% is the March first round, not June's run-off


def test_mid_month_leads_with_the_report_of_the_middle_of_that_month(bot, tmp_path):
    _ingest(bot, tmp_path / "kenya", {
        "new-year": (
            "---\ntitle: Kenya post-election clashes\ndate: 2008-01-01\n---\n\n"
            "At least 250 people have died in Kenya in post-election clashes across the nation, "
            "police said.\n"),
        "appeal": (
            "---\ntitle: UN appeals for Kenya aid\ndate: 2008-01-17\n---\n\n"
            "More than 600 people are believed to have been killed in post-election violence in "
            "Kenya, the United Nations said as it appealed for aid.\n"),
    })
    # both reports are of January 2008; only the second is of its middle
    answer = bot.ask("What was the Kenya post-election death toll as of mid-January 2008?")
    print(answer.text)
    assert "600" in _first_sentence(answer.text)
    early = bot.ask("What was the Kenya post-election death toll in early January 2008?")
    print(early.text)
    assert "250" in _first_sentence(early.text)


def test_a_share_written_per_cent_answers_a_percentage_question(bot, tmp_path):
    _ingest(bot, tmp_path / "election", {
        "result": (
            "---\ntitle: Tesswick votes\ndate: 2025-11-17\n---\n\n"
            "The campaign cost the Progress Party 4.5 million crowns, its treasurer said. "
            "The Progress Party took 32.6 per cent of the vote in Sunday's regional election.\n"),
    })
    answer = bot.ask("What percentage of the vote did the Progress Party take?")
    print(answer.text)
    assert "32.6 per cent" in _first_sentence(answer.text)
    assert "4.5 million" not in answer.text


def test_a_later_report_less_alike_than_the_best_still_counts_for_its_month(bot, tmp_path):
    _ingest(bot, tmp_path / "zimbabwe", {
        "march": (
            "---\ntitle: Zimbabwe prepares for election\ndate: 2008-03-28\n---\n\n"
            "Zimbabwe's MDC and ZANU-PF prepared for Saturday's election, with the MDC promising "
            "a government of national unity and ZANU-PF promising cabinet posts for its allies.\n"),
        "september": (
            "---\ntitle: Zimbabwean rivals sign power sharing deal\ndate: 2008-09-15\n---\n\n"
            "Under the power-sharing deal signed in Harare on Monday, Tsvangirai's MDC gets 16 "
            "ministries and Mugabe's ZANU-PF 15.\n"),
    })
    question = ("How were the cabinet seats split between the MDC and ZANU-PF in the "
                "Sept. 2008 unity deal?")
    # the September report scores ~0.82 of the March one: on the story all the same
    answer = bot.ask(question)
    print(answer.text)
    assert not answer.abstained and "16 ministries" in answer.text


def test_a_year_after_the_archive_that_names_a_thing_is_declined_unless_reported(
        bot, tmp_path):
    _ingest(bot, tmp_path / "city", {
        "race": ("---\ntitle: Delgado-Finch wins Carverton mayoral race\ndate: 2024-11-07\n---"
                 "\n\nRosa Delgado-Finch won Carverton's 2024 mayoral race by 312 votes.\n"),
        "budget": ("---\ntitle: Carverton council passes budget\ndate: 2025-10-02\n---\n\n"
                   "The council passed the 2026 budget of $412 million on Thursday.\n"),
    })
    later = bot.ask("who won the 2027 carverton mayoral race")
    print(later.text)
    assert later.abstained and "2027" in later.text and "2025-10-02" in later.text
    # a year after the newest article, but reported ahead, as budgets are
    budget = bot.ask("How big is Carverton's 2026 budget?")
    print(budget.text)
    assert not budget.abstained and "$412 million" in budget.text


_MERIDIAN = {
    "recall": (
        "---\ntitle: Meridian recalls 27,400 Sable SUVs over coolant leak\ndate: 2025-08-14\n---\n\n"
        "DETROIT (AP) — Meridian Motors is recalling 27,400 Sable electric SUVs because a coolant "
        "leak can short-circuit part of the battery pack, according to a regulatory filing "
        "published on Thursday. Owners will be notified by letter in October. A loose hose clamp "
        "in the battery cooling system is to blame, the filing said. Dealers will replace the part "
        "free of charge. The company said it knew of no crashes or injuries linked to the problem.\n"),
    "sales": (
        "---\ntitle: Meridian Sable sales slide after recall\ndate: 2025-10-02\n---\n\n"
        "DETROIT — Sales of the Meridian Sable fell 18% in September, the company said on "
        "Wednesday. Meridian recalled more than 31,000 Sables in August after reports that a "
        "coolant leak could cause the SUVs to lose drive power. Dealers said buyers were waiting "
        "for the fix.\n"),
    "verdict": (
        "---\ntitle: Saddam sentenced to death over Dujail killings\ndate: 2006-11-05\n---\n\n"
        "BAGHDAD — Saddam Hussein was sentenced to death by hanging on Sunday for the killing of "
        "148 people from the town of Dujail. Saddam's half-brother Barzan al-Tikriti and the "
        "former judge Awad al-Bandar were also sentenced to death. Former vice-president Taha "
        "Yassin Ramadan was sentenced to life in prison. Prosecutors had asked for the death "
        "penalty for Saddam and his co-defendants. Saddam shouted as the verdict was read.\n"),
}


def test_a_sentence_that_names_its_story_only_in_the_title_still_answers(bot, tmp_path):
    # "A loose hose clamp ... is to blame" never says Meridian or Sable: read under its
    # article's title (as chunks are embedded) it answers; alone, a later article's recap won
    _ingest(bot, tmp_path / "recall", _MERIDIAN)
    answer = bot.ask("What component did Meridian blame for the Sable coolant leak?")
    print(answer.text)
    assert not answer.abstained and "hose clamp" in answer.text
    assert len(strip_markers(answer.text).split()) <= bot.settings.answer_max_words
    verdict = bot.ask("Which of Saddam's co-defendants got life in prison rather than the death "
                      "penalty?")
    print(verdict.text)
    assert "Ramadan" in verdict.text and "life in prison" in verdict.text


def test_the_latest_figure_leads_and_a_retracted_one_is_never_given(bot, tmp_path):
    _ingest(bot, tmp_path / "storm", {
        "september": (
            "---\ntitle: Odalys death toll rises to 19\ndate: 2024-09-25\n---\n\n"
            "The death toll from Hurricane Odalys rose to 19 on Wednesday, the state health "
            "department said.\n"),
        "october": (
            "---\ntitle: Odalys death toll rises to 41\ndate: 2024-10-04\n---\n\n"
            "The death toll from Hurricane Odalys rose to 41 on Friday after Louisiana health "
            "officials confirmed seven more deaths.\n\n"
            "Correction: An earlier version of this story said the death toll had risen to 47. "
            "The correct figure is 41.\n"),
        "march": (
            "---\ntitle: Six months after Odalys, thousands still displaced\ndate: 2025-03-20\n"
            "---\n\nSix months after Hurricane Odalys came ashore, about 9,800 people in "
            "Louisiana and Mississippi are still living in temporary housing, schools in three "
            "parishes remain closed, insurers have paid out $2.3 billion in claims, and the final "
            "death toll stands at 44 after officials added three deaths.\n"),
    })
    answer = bot.ask("latest odalys death toll")
    print(answer.text)
    assert not answer.abstained
    assert answer.text.startswith("As of 2025-03-20")
    assert "44" in _first_sentence(answer.text.split(": ", 1)[1])  # after the "As of" frame
    assert "47" not in answer.text  # the figure the correction retracts
    october = bot.ask("What was the Odalys death toll on Oct. 4, 2024?")
    print(october.text)
    assert "41" in october.text and "47" not in october.text


def test_a_latest_question_leads_with_the_newest_report_however_alike_the_older_one(embedder):
    from assistant import Settings
    from assistant.generation import ExtractiveAnswerer

    def chunk(n, date, text):
        return _passage(n, text, title="Hurricane Odalys", date=date, start=500)

    context = [
        chunk(1, "2024-10-04", "The death toll from Hurricane Odalys rose to 41 on Friday."),
        chunk(2, "2025-03-20", "Six months on, officials count 44 dead from the storm, after "
                               "adding three deaths linked to its aftermath."),
    ]
    # recency weighting off: the newest report leads on its date alone, not by a score bonus
    settings = Settings().model_copy(update={"answer_recency_weight": 0.0})
    answerer = ExtractiveAnswerer.from_settings(settings, embedder)
    draft = answerer({"question": "what is the latest odalys death toll", "context": context})
    print(draft)
    assert draft.startswith("Six months on")


def test_a_report_of_the_period_asked_about_is_read_among_many_likelier_sentences(embedder):
    from assistant import Settings
    from assistant.generation import ExtractiveAnswerer
    from assistant.types import RetrievedChunk

    july = [
        "Policymakers held the benchmark range at 5.25% to 5.50% on Wednesday.",
        "The committee next meets on Sept. 17-18.", "Inflation was running at 2.5% in June.",
        "Stocks rose after the announcement.", "Treasury yields fell to a five-month low.",
        "Markets now expect a first cut within weeks.", "The vote was unanimous.",
        "Officials said the labour market had cooled.", "Job growth slowed in the spring.",
        "Mortgage rates edged lower.", "The dollar weakened against the yen.",
        "Economists had expected no change.", "The statement dropped a reference to high risks.",
    ]
    context = [
        RetrievedChunk(chunk_id="c1", article_id="a1", title="Fed holds rates", date="2024-07-31",
                       source="1.md", text=" ".join(july), start=500, end=900, score=0.62),
        RetrievedChunk(chunk_id="c2", article_id="a2", title="Fed cuts rates", date="2024-09-18",
                       source="2.md", text="The Federal Reserve cut interest rates by half a "
                       "percentage point on Wednesday.", start=500, end=580, score=0.55),
    ]
    # more sentences than are encoded: the September report's is read all the same
    answerer = ExtractiveAnswerer.from_settings(Settings(), embedder)
    assert len(july) > answerer.encode_limit
    draft = answerer({"question": "what did the fed do in sept 2024", "context": context})
    print(draft)
    assert draft.startswith("The Federal Reserve cut interest rates")


def test_which_town_finds_the_town(bot, tmp_path):
    _ingest(bot, tmp_path / "recall", {
        "widened": (
            "---\ntitle: Brennick widens Sorvane recall\ndate: 2025-05-02\n---\n\n"
            "Brennick recalled 37 lots of Sorvane tablets this spring after finding an impurity "
            "in the tablets. The Food and Drug Administration has sent a warning letter to "
            "Brennick Labs citing lapses at the Corlis, Nevada, site where its allergy drug is "
            "produced, the agency said on Wednesday.\n"),
    })
    # the parser hangs "which" on "In", not on "town": still a place is asked for
    town = bot.ask("In which town is the plant that made the recalled Sorvane tablets?")
    print(town.text)
    assert "Corlis" in _first_sentence(town.text)


@pytest.mark.parametrize("event_dates_first", [True, False])
def test_a_when_question_leads_with_when_it_happens_not_when_it_was_said(
        embedder, event_dates_first):
    from assistant import Settings
    from assistant.generation import ExtractiveAnswerer
    from assistant.types import RetrievedChunk

    said = ("The Fenwick mayoral race goes to an automatic recount, with Ada Quill 96 votes "
            "ahead of Ben Okafor, the Dunmore County Board of Elections said on Wednesday.")
    begins = "Board director Lena Marsh said the recount would begin on Dec. 9."
    text = f"{said} {begins}"
    context = [RetrievedChunk(chunk_id="c1", article_id="a1", title="Fenwick race heads to "
                              "recount", date="2025-11-12", source="1.md", text=text, start=0,
                              end=len(text), score=0.6)]
    settings = Settings().model_copy(update={"answer_event_dates_first": event_dates_first})
    answerer = ExtractiveAnswerer.from_settings(settings, embedder)
    draft = answerer({"question": "fenwick recount start date", "context": context})
    print(draft)
    # off, the sentence most like the question leads with the day the board spoke
    assert draft.startswith("Board director") == event_dates_first


def test_a_price_in_another_story_set_in_the_same_country_does_not_answer(embedder):
    from assistant import Settings
    from assistant.generation import Decline, ExtractiveAnswerer

    def chunk(n, title, text):
        return _passage(n, text, title=title, date="2024-06-10", score=0.5)

    context = [
        chunk(1, "Halden Mills to buy Ostby Creamery", "Halden Mills will pay $41 per share in "
              "cash, a 27% premium to Ostby's closing price, for the largest creamery in the "
              "United States."),
        chunk(2, "Merrow recalls tavorin lots", "Merrow Pharma is based in Ohio and sells "
              "Tavorin in the United States only. Merrow recalled 12 lots of Tavorin tablets."),
    ]
    answerer = ExtractiveAnswerer.from_settings(Settings(), embedder)
    # typed as busy readers type: no apostrophe, the drug's name in lower case
    draft = answerer({"question": "whats the retail price of tavorin in the U.S.",
                      "context": context})
    print(draft)
    # the U.S. is where both stories happen; the question is about the drug
    assert isinstance(draft, Decline) and draft.nearest == 2


def test_a_lower_case_name_is_a_name_where_the_articles_capitalise_it():
    nlp = Annotator.shared()
    frame = nlp.question("whats the retail price of tavorin")
    assert frame.wants >= {"MONEY"} and frame.attribute == "price"
    names = lambda passages: [  # noqa: E731
        n.text for n in nlp.question_on("whats the retail price of tavorin", passages).names]
    assert names(["Merrow sells Tavorin in Ohio."]) == ["tavorin"]
    # a word the articles also write in lower case, or only capitalise to open a sentence
    assert names(["Merrow sells Tavorin. The tavorin lots were recalled."]) == []
    assert names(["Tavorin was recalled."]) == []


def _answer(embedder, question, *texts, title="Court and company news", **settings):
    """The extractive answerer's draft for a question over one passage per text."""
    from assistant import Settings
    from assistant.generation import ExtractiveAnswerer
    from assistant.types import RetrievedChunk

    context = [RetrievedChunk(chunk_id=f"c{n}", article_id=f"a{n}", title=title,
                              date="2024-06-10", source=f"{n}.md", text=text, start=0,
                              end=len(text), score=0.5) for n, text in enumerate(texts, 1)]
    return ExtractiveAnswerer.from_settings(Settings(**settings), embedder)(
        {"question": question, "context": context})


@pytest.mark.parametrize(("question", "story", "answering", "value"), [
    # "how old" wants an age the parse ties to a person, not any number
    ("How old is Tomas Brandt?",
     "A federal jury found Tomas Brandt guilty on five of the seven counts he faced. Brandt "
     "founded the payments firm Quillpay in 2015.",
     "Brandt, 52, was sentenced on Thursday to 14 years in prison.", "Brandt, 52,"),
    # a count of the things priced is not their price
    ("How much does a bottle of Tavorin cost?",
     "Merrow's recall covers about 1.9 million bottles of Tavorin shipped since May.",
     "A bottle of Tavorin costs 2.4 million lire in Verona.", "2.4 million lire"),
    # "what did it cost" wants a sum
    ("What did the Fenwick recount cost the county?",
     "The Fenwick recount ended on Friday with Ada Quill 96 votes ahead. Board staff counted "
     "48,000 ballots by hand over nine days.",
     "The recount cost Dunmore County about $52,000, the board said.", "$52,000"),
    # a sum about something else (the strike) is not what a kilo of plums cost
    ("How much did a kilo of bananas cost in Tesswick during the dock strike?",
     "The Tesswick Chamber of Commerce now puts the cost of the dock strike at 5 million crowns "
     "a day, up from its earlier estimate of 4 million.",
     "A kilo of bananas cost 4.20 crowns in Tesswick shops during the strike.", "4.20 crowns"),
    # "how much is a kilo of X": a price, not how much it rose
    ("How much is a kilo of bananas in Tesswick?",
     "A kilo of bananas in Tesswick shops rose 12 per cent during the dock strike.",
     "A kilo of bananas cost 4.20 crowns in Tesswick shops on Friday.", "4.20 crowns"),
    # "40cm of ...": the small model calls the number a bare CARDINAL; it is a measure
    ("how much of hale's bowel did surgeons take out",
     "Surgeons at Mercy Hospital operated on Gideon Hale overnight, the hospital said.",
     "Surgeons removed at least 40cm of Hale's large intestine.", "40cm"),
    # a post asked for wants a name the parse puts in it, not a name beside the word
    ("Who was Tomas Brandt's defense attorney?",
     "Brandt's lawyers asked Judge Ada Quill to let him stay free on bail.",
     "Brandt's defense attorney, Lena Okoro, said he would appeal.", "Lena Okoro"),
    ("Who did Mayor Rosa Quill appoint as chief of staff?",
     "Mayor Rosa Quill thanked her chief of staff and her campaign manager, Tom Reyes.",
     "Mayor Rosa Quill named budget director Ana Ruiz as her chief of staff.", "Ana Ruiz"),
], ids=["age", "price-not-count", "cost", "priced", "how-much-is", "measure", "post",
        "post-as"])
def test_declined_until_a_sentence_gives_what_was_asked(embedder, question, story, answering,
                                                        value):
    from assistant.generation import Decline

    declined = _answer(embedder, question, story)
    print(declined)
    assert isinstance(declined, Decline)
    answered = _answer(embedder, question, story, answering)
    print(answered)
    assert not isinstance(answered, Decline) and value in _first_sentence(answered)


@pytest.mark.parametrize(("question", "sentence", "name"), [
    ("Who was the winner of the Fenwick mayoral race?",
     "Ada Quill won the Fenwick mayoral race on Sunday with 52 per cent of the vote.", "Ada Quill"),
    ("Who is the founder of Quillpay?",
     "Tomas Brandt founded the payments firm Quillpay in 2015.", "Tomas Brandt"),
])
def test_a_post_named_for_what_its_holder_does_is_answered_by_the_doing(embedder, question,
                                                                        sentence, name):
    # "the winner": a name the verb "won" hangs on holds the post as well as "winner X" would
    answer = _answer(embedder, question, sentence)
    print(answer)
    assert isinstance(answer, str) and name in _first_sentence(answer)


def test_the_name_in_the_post_leads_over_a_name_beside_the_word(embedder):
    answer = _answer(embedder, "Who was the winner of the Fenwick mayoral race?",
                     "The winner of the Fenwick mayoral race will succeed Mayor Dan Kowal.",
                     "A recount confirmed Ada Quill as the winner of the Fenwick mayoral race.")
    print(answer)
    assert "Ada Quill" in _first_sentence(answer)


def test_what_was_turnout_is_answered_by_the_turnout_not_by_another_share(embedder):
    # "turnout" without its article: the parser calls it an adjectival complement
    counted = "Fenwick's first round: with 98% of ballots counted, Quill had 41% and Marsh 33%."
    turnout = "The Fenwick vote registered a turnout of 71.5%, the highest in 30 years."
    answer = _answer(embedder, "and what was turnout in the Fenwick first round?", counted, turnout)
    print(answer)
    assert "71.5%" in _first_sentence(answer)


def test_a_sentence_with_the_questions_own_verb_leads(embedder):
    question = "What component did Meridian blame for the Sable coolant leak?"
    recall = ("Meridian Motors is recalling 27,400 Sable electric SUVs because a coolant leak "
              "can short-circuit part of the battery pack.")
    cause = "A loose hose clamp in the battery cooling system is to blame for the leak."
    title = "Meridian recalls Sable SUVs over coolant leak"
    answer = _answer(embedder, question, recall, cause, title=title)
    print(answer)
    assert _first_sentence(answer).startswith("A loose hose clamp")
    # the rule is what puts it first: without it the recall sentence, closer to the question
    assert _first_sentence(_answer(embedder, question, recall, cause, title=title,
                                   answer_verb_relative=0)).startswith("Meridian Motors")
    # a "who" question: the name must hang on that verb
    coalition = ("The Progress Party and the Green Valleys Alliance signed a coalition deal, "
                 "clearing the way for Jonas Feld to become premier.")
    led = ("The Green Valleys Alliance, led by Sunniva Haak, had said it would not pick "
           "partners until after the vote.")
    answer = _answer(embedder, "Who leads the Green Valleys Alliance?", coalition, led,
                     title="Green Valleys Alliance joins coalition")
    print(answer)
    assert _first_sentence(answer).startswith("The Green Valleys Alliance, led by")


def test_a_name_hangs_on_a_verb_when_the_parse_links_them():
    from assistant.nlp import Annotator

    nlp = Annotator.shared()
    led = nlp.parse("The Green Valleys Alliance, led by Sunniva Haak, will not decide yet.")
    assert ("lead", "sunniva haak") in led.verb_links
    call = nlp.parse("On October 25, Takaichi, who was visiting Kuala Lumpur for the ASEAN "
                     "summit, held a telephone talk with Trump.")
    assert "hold" in call.lemmas and ("hold", "kuala lumpur") not in call.verb_links


def test_what_year_is_answered_by_a_year_not_by_a_span_of_years(embedder):
    from assistant.generation import Decline

    title = "Rudd sworn in as Australia's prime minister"
    sworn = "Kevin Rudd was sworn in today as Prime Minister of Australia."
    seat = ("Mr Howard lost the seat he had held for 33 years, and Rudd became the 26th "
            "prime minister since federation in 1901.")
    declined = _answer(embedder, "In what year was Kevin Rudd born?", sworn, seat, title=title)
    print(declined)
    assert isinstance(declined, Decline) and declined.missing == "the year"
    born = "Rudd, born in 1957 in Nambour, Queensland, grew up on a dairy farm."
    answer = _answer(embedder, "In what year was Kevin Rudd born?", sworn, seat, born,
                     title=title)
    print(answer)
    assert not isinstance(answer, Decline) and "1957" in _first_sentence(answer)


def test_a_lower_case_abbreviation_is_not_a_name_the_archive_lacks(bot, tmp_path):
    _ingest(bot, tmp_path / "paylattice", {
        "trial": (
            "---\ntitle: PayLattice founder goes on trial\ndate: 2025-01-20\n---\n\n"
            "Gideon Marsh, who founded PayLattice in 2017, faces seven counts, including "
            "securities fraud and wire fraud. Jury selection begins on Monday.\n"),
    })
    answer = bot.ask("what yr was paylattice founded")
    print(answer.text)
    assert not answer.abstained and "2017" in _first_sentence(answer.text)


def test_a_length_of_time_does_not_answer_when(embedder):
    from assistant.generation import Decline

    deadline = "Velatek did not say whether it would comply with the 60-day deadline."
    appeal = "Both sides have two months and ten days to take the case to a higher court."
    question = "When did the EU fine Velatek?"
    declined = _answer(embedder, question, deadline, appeal, title="Velatek and the EU fine")
    print(declined)
    assert isinstance(declined, Decline)
    # ... but it answers "how long"
    answer = _answer(embedder, "How long do both sides have to appeal?", deadline, appeal,
                     title="Velatek and the EU fine")
    print(answer)
    assert not isinstance(answer, Decline) and "two months and ten days" in answer


def test_a_when_answered_by_a_weekday_says_which_day_from_the_report_date(bot, tmp_path):
    _ingest(bot, tmp_path / "fenwick", {
        "result": (
            "---\ntitle: Quill wins Fenwick mayoral race\ndate: 2025-11-17\n---\n\n"
            "Ada Quill won Sunday's mayoral election in Fenwick by 96 votes, the Dunmore County "
            "board said on Monday. Quill, a former teacher, takes office in January.\n"),
        "recount": (
            "---\ntitle: Fenwick recount set\ndate: 2026-03-06\n---\n\n"
            "The Fenwick ballot recount will begin on Monday at the county hall. Board staff "
            "will count by hand.\n"),
    })
    held = bot.ask("When was the Fenwick mayoral election held?")
    print(held.text)
    # the article says "Sunday": published Monday, Nov. 17, so Sunday was Nov. 16
    assert held.text.startswith("Sunday, November 16, 2025 (by the date of [1]):")
    assert "Sunday's mayoral election" in _first_sentence(held.text)
    begins = bot.ask("when does the fenwick recount begin")
    print(begins.text)
    # "will begin on Monday" in a Friday's report: the Monday after
    assert begins.text.startswith("Monday, March 9, 2026 (by the date of [1]):")
    who = bot.ask("Who won the Fenwick mayoral election?")
    assert not who.abstained and not who.text.startswith("Sunday")  # only for "when"


def test_a_weekday_answer_beside_a_length_of_time_still_says_its_date(bot, tmp_path):
    _ingest(bot, tmp_path / "budget", {
        "late": (
            "---\ntitle: Budget late as fiscal year begins\ndate: 2024-07-02\n---\n\n"
            "The state began its new fiscal year on Monday without an approved budget, and county "
            "officials warned on Tuesday that services could be squeezed if the standoff drags "
            "into August.\n"),
        "signed": (
            "---\ntitle: Governor signs budget\ndate: 2024-07-19\n---\n\n"
            "Governor Ann Kessel on Friday signed a $45.1 billion budget, ending a 19-day impasse "
            "with Senate Republicans.\n"),
    })
    answer = bot.ask("when did the budget finally get signed")
    print(answer.text)
    # "a 19-day impasse" is a length of time, not a second date beside "on Friday"
    assert answer.text.startswith("Friday, July 19, 2024 (by the date of [1]):")
    # the other report's dates are of other events: no padding after the answer
    assert "fiscal year" not in answer.text


def test_today_is_dated_and_a_weekday_of_another_clause_is_not_the_answer(bot, tmp_path):
    _ingest(bot, tmp_path / "dated", {
        "hanged": (
            "---\ntitle: Two co-defendants hanged in Baghdad\ndate: 2007-01-15\n---\n\n"
            "Two co-defendants of the former president were hanged today in Baghdad for their "
            "role in the 1982 killing of 148 villagers.\n"),
        "senate": (
            "---\ntitle: Senate passes rescue bill\ndate: 2008-10-02\n---\n\n"
            "The Senate passed a revised rescue bill, which has measures nearly identical to the "
            "bill rejected by the House on Monday.\n"),
        "fire": (
            "---\ntitle: Hills wildfire declared out\ndate: 2025-08-15\n---\n\n"
            "The Dunmore Hills wildfire was declared extinguished on Friday, two weeks after it "
            "broke out.\n"),
    })
    hanged = bot.ask("when were the co-defendants hanged")
    print(hanged.text)
    assert hanged.text.startswith("Monday, January 15, 2007 (by the date of [1]):")
    passed = bot.ask("when did the senate pass the rescue bill")
    print(passed.text)
    # Monday is when the House rejected it, not when the Senate passed it
    assert not passed.text.startswith("Monday")
    out = bot.ask("when was the dunmore wildfire declared out")
    print(out.text)
    assert out.text.startswith("Friday, August 15, 2025 (by the date of [1]):")


def test_a_why_question_leads_with_the_reason(bot, tmp_path):
    _ingest(bot, tmp_path / "cabinet", {
        "declared": (
            "---\ntitle: Cabinet declares Sharon permanently incapacitated\ndate: 2006-04-11\n"
            "---\n\n"
            "The Israeli cabinet on Tuesday declared Prime Minister Ariel Sharon permanently "
            "incapacitated, a declaration that officially ends his tenure. The official "
            "announcement was moved up to Tuesday because the Jewish holiday of Passover begins "
            "on Wednesday.\n"),
    })
    answer = bot.ask("Why was the cabinet's declaration on Sharon brought forward to Tuesday?")
    print(answer.text)
    assert "because the Jewish holiday of Passover" in _first_sentence(answer.text)


def test_the_verb_last_does_not_make_a_question_about_the_latest_report(bot, tmp_path):
    _ingest(bot, tmp_path / "strike", {
        "sixth": (
            "---\ntitle: Dock strike enters sixth day\ndate: 2026-03-09\n---\n\n"
            "The Port Elvan dock strike entered its sixth day on Monday with no agreement in "
            "sight.\n"),
        "ends": (
            "---\ntitle: Dock strike ends\ndate: 2026-03-12\n---\n\n"
            "Dock workers at Port Elvan voted on Thursday to accept a new pay deal, ending a "
            "nine-day strike.\n"),
    })
    lasted = bot.ask("how long did the port elvan strike last")
    print(lasted.text)
    assert not lasted.abstained and not lasted.text.startswith("As of")
    latest = bot.ask("what is the latest on the port elvan strike")
    print(latest.text)
    assert latest.text.startswith("As of 2026-03-12")


def test_which_lawyer_wants_a_name_and_a_still_inside_what_was_argued_is_no_latest_question(bot, tmp_path):
    _ingest(bot, tmp_path / "hearing", {
        "hearing": (
            "---\ntitle: Velatek fine hearing\ndate: 2025-02-19\n---\n\n"
            "Velatek's lead counsel, Bernard Aucoin, argued at the hearing that the Commission "
            "wrongly counted the months before the law was in force. \"The Commission fined my client for a "
            "period in which the law itself was still being written into practice,\" he said.\n"),
        "ruling": (
            "---\ntitle: Court cuts Velatek fine\ndate: 2025-10-08\n---\n\n"
            "The General Court on Wednesday cut the fine imposed on Velatek to 1.65 billion "
            "euros. Both sides have two months to take the case to the Court of Justice.\n"),
    })
    answer = bot.ask("Which Velatek lawyer argued at the court hearing that the law was still "
                     "being put into practice during the period fined?")
    print(answer.text)
    # "still" belongs to the argument, not the question: no "As of" the newest report
    assert not answer.abstained and not answer.text.startswith("As of")
    assert bot.ask("Is Velatek still appealing the fine?").text.startswith("As of 2025-10-08")
    # "which lawyer" asks for a person: the sentence naming one leads, not the quote "he said"
    assert "Bernard Aucoin" in _first_sentence(answer.text)


def test_a_fine_asked_about_is_given_by_a_sentence_that_says_fined(bot, tmp_path):
    _ingest(bot, tmp_path / "fined", {
        "fined": (
            "---\ntitle: EU acts on app stores\ndate: 2024-03-14\n---\n\n"
            "The European Union on Thursday fined Velatek, the maker of the VelaOS software, "
            "2.1 billion euros for blocking app developers from pointing users to cheaper "
            "offers.\n"),
    })
    answer = bot.ask("how big was the EU's fine on velatek")
    print(answer.text)
    assert not answer.abstained and "2.1 billion" in answer.text


def test_a_report_of_the_month_asked_about_is_read_when_others_of_it_rank_first(
        settings, embedder, tmp_path):
    # two passages in all: both go to reaction pieces of the same month, which outrank the
    # report that gives the figure; the month's own search must still bring that report in
    bot = Assistant.from_settings(settings.model_copy(update={"top_k": 2}), embedder=embedder)
    _ingest(bot, tmp_path / "fine", {
        "fined": (
            "---\ntitle: EU fines Velatek\ndate: 2024-03-14\n---\n\n"
            "The European Union on Thursday fined Velatek, the maker of the VelaOS software, "
            "2.1 billion euros for blocking app developers from pointing users to cheaper "
            "offers.\n"),
        "reaction": (
            "---\ntitle: Velatek attacks the size of the EU fine on Velatek\ndate: 2024-03-15\n"
            "---\n\nVelatek on Friday called the size of the EU's fine on Velatek "
            "protectionism.\n"),
        "analysts": (
            "---\ntitle: Analysts weigh the size of the EU fine on Velatek\ndate: 2024-03-18\n"
            "---\n\nAnalysts said the size of the EU's fine on Velatek mattered less than the "
            "order to change its store rules.\n"),
    })
    answer = bot.ask("how big was the EU's fine on velatek in mar 2024")
    print(answer.text)
    assert not answer.abstained and "2.1 billion" in answer.text


def test_about_so_many_months_is_a_length_of_time_not_a_date(bot, tmp_path):
    _ingest(bot, tmp_path / "breach", {
        "breach": (
            "---\ntitle: Commission finds Velatek breach\ndate: 2024-03-14\n---\n\n"
            "The Commission said Velatek had breached the act for about 22 months by barring "
            "developers from showing prices on their own websites.\n"),
    })
    answer = bot.ask("On what date did Velatek first breach the act?")
    print(answer.text)
    assert answer.abstained  # how long it lasted is not when it began
    lasted = bot.ask("How long did Velatek breach the act for?")
    print(lasted.text)
    assert not lasted.abstained and "about 22 months" in lasted.text


def test_each_question_asked_in_one_gets_its_own_answer(embedder):
    question = ("How many households had the agency approved for Hurricane Marra aid by "
                "October, and how much had it paid out by March?")
    october = ("The Relief Agency said it had approved $412 million in individual assistance "
               "for about 61,000 households in Dunmore and Kilcarra. The death toll from "
               "Hurricane Marra rose to 19 on Friday, officials said.")
    march = ("The Relief Agency has paid out $0.9 billion in individual assistance for Hurricane "
             "Marra so far. Rebuilding in Kilcarra is expected to take years.")
    answer = _answer(embedder, question, october, march, title="Hurricane Marra aid")
    print(answer)
    assert "61,000 households" in _first_sentence(answer)
    assert "$0.9 billion" in answer  # the second question's answer, from the other report
    assert "death toll" not in answer


def test_how_many_of_the_victims_counts_the_victims(embedder):
    question = "In the Kilcarra massacre, how many of the victims were kids?"
    # "300 km" counts kilometres, not victims, however close the sentence is to the question
    where = ("The Kilcarra massacre of kids and their parents, about 300 km from the capital, "
             "left the village empty.")
    victims = "Police said five of the eleven victims in Kilcarra were children."
    answer = _answer(embedder, question, where + " " + victims, title="Kilcarra massacre")
    print(answer)
    assert _first_sentence(answer).startswith("Police said five")


def test_what_a_price_is_for_is_read_also_from_a_lower_case_question():
    nlp = Annotator.shared()
    assert nlp.question("What did the Gaza pullout cost Israel?").priced == "pullout"
    assert nlp.question("what did the gaza pullout cost israel").priced == "pullout"
    assert nlp.question("what did the recount cost").priced == "recount"
    assert nlp.question("What did Tallgrass Creamery pay for the plants?").priced is None


def test_a_verb_the_tagger_calls_a_noun_is_still_the_questions_verb():
    # spaCy tags "report" in "must Marsh report" a noun; the modal says it is the verb, so a
    # sentence that uses it ("due to report to prison by Sept. 15") can lead
    frame = Annotator.shared().question("By what date must Nils Arvo report to prison?")
    assert frame.verb == "report"
    # also with "did": "On what date did Lehman Brothers file for bankruptcy?"
    assert Annotator.shared().question(
        "On what date did Lehman Brothers file for bankruptcy?").verb == "file"


def test_which_five_states_leads_with_the_sentence_that_lists_them(embedder):
    # "Which five states": the number parts "which" from its noun in the parse
    frame = Annotator.shared().question("Which five states did the FTC name in its lawsuit?")
    assert frame.plural and "GPE" in frame.wants
    question = "Which five states did the FTC single out in its lawsuit over the Marlow dairy deal?"
    sued = ("The Federal Trade Commission on Tuesday sued to block Marlow Foods' takeover of "
            "Greenfield Dairy, saying the deal would give it control of fluid milk processing in "
            "five states of the upper Midwest.")
    named = ("The complaint names Minnesota, Wisconsin, Iowa, North Dakota and South Dakota as "
             "the states where the two companies compete most directly.")
    answer = _answer(embedder, question, sued + " " + named, title="FTC sues to block Marlow deal")
    print(answer)
    assert _first_sentence(answer).startswith("The complaint names Minnesota")
    # the rule is what puts it first: without it the sentence closer to the question leads
    assert not _first_sentence(_answer(embedder, question, sued + " " + named,
                                       title="FTC sues to block Marlow deal",
                                       answer_list_first=False)).startswith("The complaint")


def test_a_question_verb_the_parser_takes_for_a_noun_still_leads(embedder):
    # spaCy parses "What pay rise did the ... union demand" as "rise did demand": "demand" is
    # still the question's verb, so the sentence that uses it leads
    question = "What pay rise did the Harwick bus drivers' union demand when the strike began?"
    assert Annotator.shared().question(question).verb == "demand"
    answer = _answer(
        embedder, question,
        "Harwick bus drivers voted on Thursday to accept a new pay deal from the operator, ending "
        "a nine-day strike that began on May 2. The Harwick drivers' union is demanding an 8 per "
        "cent pay rise this year; the operator has offered 3.5 per cent.")
    print(answer)
    assert "8 per cent" in _first_sentence(answer)


def test_how_a_story_developed_is_told_one_report_at_a_time_oldest_first(bot, tmp_path):
    _ingest(bot, tmp_path / "bids", {
        "first": (
            "---\ntitle: Brannholm reject Ashcombe bid\ndate: 2025-06-18\n---\n\n"
            "FC Brannholm have rejected an opening bid of 30 million crowns from Ashcombe Rovers "
            "for their striker Tomas Reyvik, the club confirmed on Wednesday. Brannholm's coach "
            "said the player was not for sale.\n"),
        "second": (
            "---\ntitle: Reyvik hands in transfer request\ndate: 2025-07-02\n---\n\n"
            "Tomas Reyvik has handed in a written transfer request at FC Brannholm, two days "
            "after the club turned down a second bid from Ashcombe Rovers, worth 38 million "
            "crowns. Ashcombe are expected to return with a third offer.\n"),
        "agreed": (
            "---\ntitle: Ashcombe agree record fee for Reyvik\ndate: 2025-07-21\n---\n\n"
            "Ashcombe Rovers have agreed a club-record fee of 44 million crowns, plus up to 6 "
            "million in add-ons, with FC Brannholm for striker Tomas Reyvik. The deal could rise "
            "to 50 million crowns depending on appearances and trophies.\n"),
    })
    answer = bot.ask("How did Ashcombe Rovers' offers for Tomas Reyvik develop until the fee "
                     "was agreed?")
    print(answer.text)
    assert not answer.abstained
    # each report's figure, in the order the offers were made
    at = [answer.text.find(f) for f in ("30 million", "38 million", "44 million")]
    assert -1 not in at and at == sorted(at)


def test_a_report_from_within_the_period_asked_about_weighs_more_than_one_from_after_it():
    from assistant.generation import _report_weight
    from assistant.nlp import parse_period

    late_january = parse_period("late January 2026")
    # the January 29 decision is of the period; the March 12 report may still report on it
    # (figures of a month come out weeks later) but is more likely a later meeting's
    assert _report_weight("2026-01-29", late_january) == 1.0
    assert 0 < _report_weight("2026-03-12", late_january) < 1.0
    assert _report_weight("2026-06-01", late_january) == 0.0
    assert _report_weight("2026-01-10", late_january) == 0.0


def test_what_happened_on_a_day_is_not_answered_by_reports_from_before_it(embedder):
    from assistant import Settings
    from assistant.generation import Decline, ExtractiveAnswerer

    def chunk(n, date, text):
        return _passage(n, text, title="Pakistan election", date=date)

    preview = chunk(1, "2008-01-02", "The Pakistan Peoples Party, led by Asif Ali Zardari, will "
                                     "contest the general election on January 8.")
    result = chunk(2, "2008-01-09", "Asif Ali Zardari's party won the most seats in the general "
                                    "election on Tuesday, official results showed.")
    answerer = ExtractiveAnswerer.from_settings(Settings(), embedder)
    question = "Who won Pakistan's general election on Jan. 8, 2008?"
    draft = answerer({"question": question, "context": [preview]})
    print(draft)
    # a party that will contest the vote is no result of it: the decline says which day
    assert isinstance(draft, Decline) and "Jan. 8, 2008" in draft.missing and draft.nearest == 1
    draft = answerer({"question": question, "context": [preview, result]})
    print(draft)
    assert isinstance(draft, str) and draft.startswith("Asif Ali Zardari's party won")


def test_last_season_is_a_time_not_a_question_about_the_latest_report(bot, tmp_path):
    _ingest(bot, tmp_path / "goals", {
        "signing": (
            "---\ntitle: Harrowgate sign Ibarra\ndate: 2025-07-18\n---\n\n"
            "Tomas Ibarra scored 27 goals in the Eredivisie last season. His contract runs "
            "until June 2030.\n"),
        "debut": (
            "---\ntitle: Ibarra scores twice on debut\ndate: 2025-08-16\n---\n\n"
            "Tomas Ibarra scored twice on his Premier League debut as Harrowgate beat "
            "Castlebury 3-1 on Saturday.\n"),
    })
    answer = bot.ask("How many league goals did Ibarra score last season?")
    print(answer.text)
    assert not answer.text.startswith("As of") and "27 goals" in _first_sentence(answer.text)


def test_a_passage_is_on_the_subject_when_its_article_names_it_elsewhere(embedder):
    from assistant import Settings
    from assistant.generation import ExtractiveAnswerer

    def chunk(n, text):  # two passages of one report
        return _passage(n, text, title="Two hanged in Baghdad", date="2007-01-15",
                        article="hanged", start=500 * n)

    context = [
        chunk(1, "Barzan Ibrahim al-Tikriti and Awad Hamad al-Bandar were hanged today in "
                 "Baghdad at approximately 3:00 a.m. local time."),
        chunk(2, "Shaken by the mishap, officials waited seven hours before announcing the "
                 "execution."),
    ]
    answerer = ExtractiveAnswerer.from_settings(Settings(), embedder)
    draft = answerer({"question": "What time were al-Tikriti and al-Bandar hanged, and how "
                                  "long did officials wait before announcing it?",
                      "context": context})
    print(draft)
    assert isinstance(draft, str) and "seven hours" in draft


def test_which_judge_leads_with_the_person_the_sentence_calls_a_justice(bot, tmp_path):
    _ingest(bot, tmp_path / "recount", {
        "recount": (
            "---\ntitle: Zimbabwe recount goes ahead\ndate: 2008-04-19\n---\n\n"
            "Zimbabwe election officials began to recount ballots in 23 constituencies after "
            "President Robert Mugabe's party accused the MDC of bribing officials. The MDC "
            "asked the High Court to stop the recount. However it was rejected, Justice Antonia "
            "Guvava said: \"I find no merit in the application.\"\n"),
    })
    answer = bot.ask("zimbabwe recount apr 2008 - which judge threw out the MDC's bid to stop it?")
    print(answer.text)
    assert "Antonia Guvava" in _first_sentence(answer.text)


def test_which_of_their_lawyers_asks_for_one_lawyer_by_name(bot, tmp_path):
    _ingest(bot, tmp_path / "plea", {
        "plea": (
            "---\ntitle: Libby pleads not guilty\ndate: 2005-11-03\n---\n\n"
            "Libby's lawyers addressed reporters following the arraignment. \"He has declared "
            "that he wants to clear his good name,\" said attorney Ted Wells.\n"),
    })
    answer = bot.ask("Which of Libby's lawyers spoke to reporters after he pleaded not guilty?")
    print(answer.text)
    assert "Ted Wells" in _first_sentence(answer.text)



def _strike_reports(bot, tmp_path) -> None:
    """A walkout report, and a later report whose closing correction note (a passage of its
    own, far down a long article) retracts its figure."""
    later = " ".join(
        f"Talks between the two sides were adjourned for the {day} time on {day_name}, the "
        "mediator said, and ships waiting outside the harbour were sent to other ports along "
        "the coast while exporters counted the cost of the stoppage." for day, day_name in
        [("second", "Monday"), ("third", "Tuesday"), ("fourth", "Wednesday"),
         ("fifth", "Thursday"), ("sixth", "Friday"), ("seventh", "Saturday"),
         ("eighth", "Sunday"), ("ninth", "Monday")])
    _ingest(bot, tmp_path / "strike", {
        "walkout": (
            "---\ntitle: Port Elvan dockers walk out over pay\ndate: 2026-03-04\n---\n\n"
            "About 1,200 dock workers at Port Elvan walked out on Wednesday morning, halting "
            "loading at the container terminal, the Coastal Tribune reported.\n"),
        "talks": (
            "---\ntitle: Mediator called in as Port Elvan strike drags on\ndate: 2026-03-06\n"
            f"---\n\n{later}\n\nCorrection: An earlier report in the Coastal Tribune on March 4 "
            "said about 1,200 workers had walked out at Port Elvan. The correct figure is "
            "2,100.\n"),
    })


def test_a_figure_a_later_correction_retracts_does_not_answer(bot, tmp_path):
    _strike_reports(bot, tmp_path)
    answer = bot.ask("How many dock workers walked out at Port Elvan?")
    print(answer.text)
    assert not answer.abstained
    # the right figure first, then what the note says was wrong
    assert _first_sentence(answer.text).startswith("The correct figure is 2,100")
    assert "An earlier report in the Coastal Tribune on March 4 said" in answer.text
    # the report the note corrects is not given as a source of the figure
    assert not [c for c in answer.citations if c.title.startswith("Port Elvan dockers")]
    note = answer.citations[0]
    # the quote is what is shown, the "Correction:" label cut, word for word from the article
    assert all(part in note.chunk_text for part in note.quote.split(" … "))
    assert "Correction:" not in note.quote


def test_the_correction_note_of_a_retrieved_article_joins_the_passages(bot, tmp_path):
    _strike_reports(bot, tmp_path)
    found = bot.retriever.retrieve("talks adjourned for the second time", k=1)
    assert found[0].title.startswith("Mediator") and "Correction:" not in found[0].text
    notes = bot.retriever.corrections("talks adjourned for the second time", found)
    assert [n.article_id for n in notes] == [found[0].article_id]
    assert "Correction: An earlier report" in notes[0].text
    walkout = bot.retriever.retrieve("dockers walk out over pay", k=1)
    assert walkout[0].title.startswith("Port Elvan dockers")
    assert bot.retriever.corrections("dockers walk out over pay", walkout) == []


def test_what_did_happen_leads_over_what_could_have(bot, tmp_path):
    _ingest(bot, tmp_path / "trial", {
        "charged": (
            "---\ntitle: Saddam Hussein formally charged\ndate: 2005-07-17\n---\n\n"
            "Saddam Hussein has been formally charged over the killing of 148 Shia Muslims in "
            "Dujail. Iraqi law states that a trial can only begin 45 days after the charges have "
            "been made, and therefore the proceedings could start as early as September.\n"),
        "verdict": (
            "---\ntitle: Saddam Hussein trial ends in death sentence\ndate: 2006-11-05\n---\n\n"
            "Saddam Hussein was sentenced to death by hanging on Sunday. His trial started in "
            "Baghdad on 19 October 2005.\n"),
    })
    answer = bot.ask("when did saddam's trial actually start")
    print(answer.text)
    assert "19 October 2005" in _first_sentence(answer.text)


def test_who_was_picked_as_a_post_leads_with_the_person_in_that_post(bot, tmp_path):
    _ingest(bot, tmp_path / "mayor", {
        "mayor": (
            "---\ntitle: Delgado-Finch wins Carverton mayoral race\ndate: 2024-11-06\n---\n\n"
            "City council member Rosa Delgado-Finch beat former county prosecutor Martin "
            "Oyelaran by 312 votes in Carverton's mayoral election, the Hale County Board of "
            "Elections said on Wednesday. She named former city budget director Samuel "
            "Achterberg as her chief of staff.\n"),
    })
    from assistant.types import Turn

    # a follow-up: its names come from the conversation, and they match the result best
    answer = bot.ask("who did she pick as chief of staff", history=[
        Turn(role="user", content="Who won the Carverton mayor race?"),
        Turn(role="assistant", content="Rosa Delgado-Finch beat Martin Oyelaran by 312 votes.")])
    print(answer.text)
    assert "Samuel Achterberg" in _first_sentence(answer.text)


def test_a_name_typed_in_lower_case_is_not_read_as_the_verb(seeded):
    # the tagger reads "trump" as the verb; the passages write it "Trump", so it is a name
    # and "arrive" is what the question asks about
    answer = seeded.ask("when did trump arrive in tokyo")
    print(answer.text)
    assert "arrived in Tokyo Monday afternoon" in answer.text.split("[1].")[0]
    assert "June 2019" not in answer.text


def test_what_did_they_do_leads_with_what_the_report_opens_with(bot, tmp_path):
    _ingest(bot, tmp_path / "rates", {"hold": (
        "---\ntitle: Bank of Aldermark holds main rate at 4.25 per cent\ndate: 2026-01-29\n---\n"
        "By Maja Lindt, Aldermark Business Daily\n\n"
        "CARROW — The Bank of Aldermark left its main interest rate unchanged at 4.25 per cent "
        "on Thursday for the third meeting in a row, saying inflation was still too high to "
        "start cutting.\n\nThe monetary policy board voted 6 to 1. The one dissenting member, "
        "Tomas Ek, voted for a cut of a quarter of a percentage point to 4.00 per cent.\n\n"
        "\"We need to see more evidence that inflation is coming down durably before we ease "
        "policy. That evidence is building, but it is not there yet,\" Governor Helene Strand "
        "told a news conference.\n\nThe crown weakened slightly against the euro after the "
        "decision. The board's next meeting is on March 12.\n")})
    answer = bot.ask("What did the country's rate-setters do with borrowing costs at their "
                     "late-January 2026 gathering?")
    print(answer.text)
    assert "left its main interest rate unchanged" in _first_sentence(answer.text)


def test_two_correction_notes_in_one_context_each_retract_their_figure(embedder):
    from assistant import Settings
    from assistant.generation import ExtractiveAnswerer

    context = [
        _passage(1, "About 1,200 dock workers walked out at Port Elvan. Turnout at the union "
                 "ballot was 58.1 per cent.", title="Port Elvan dockers walk out",
                 date="2026-03-04"),
        _passage(2, "Talks resumed on Friday. Correction: An earlier report said about 1,200 "
                 "workers had walked out. The correct figure is 2,100.",
                 title="Port Elvan talks resume", date="2026-03-06"),
        _passage(3, "The mediator met both sides. Correction: An earlier report said turnout "
                 "was 58.1 per cent. The correct figure is 61.8 per cent.",
                 title="Port Elvan mediator", date="2026-03-07"),
    ]
    answerer = ExtractiveAnswerer.from_settings(Settings(), embedder)
    draft = answerer({"question": "How many dock workers walked out at Port Elvan?",
                      "context": context})
    print(draft)
    assert draft.startswith("The correct figure is 2,100")


def test_whether_it_happened_is_not_answered_by_what_was_only_asked_for(bot, tmp_path):
    _ingest(bot, tmp_path / "bail", {
        "appeal": (
            "---\ntitle: Marsh appeals fraud conviction, seeks to stay free\ndate: 2025-03-20\n"
            "---\n\nGideon Marsh, the founder of PayLattice, filed an appeal on Thursday against "
            "his fraud conviction. His lawyers also asked Judge Eleanor Vance to let him remain "
            "free on bail while the appeal is heard.\n"),
        "aid": (
            "---\ntitle: FEMA aid for Odalys passes $1 billion\ndate: 2025-03-05\n---\n\n"
            "FEMA said it had paid out $1.1 billion in individual assistance for Hurricane "
            "Odalys so far.\n"),
    })
    asked = bot.ask("did judge vance let marsh stay out on bail while his appeal is heard")
    print(asked.text)
    assert asked.abstained and "do not give the outcome" in asked.text
    told = bot.ask("did FEMA pay out more than $1bn for odalys")
    print(told.text)
    assert not told.abstained and "$1.1 billion" in told.text


def test_the_sentence_after_a_correction_note_is_not_shown_alone(bot, tmp_path):
    _ingest(bot, tmp_path / "fema", {
        "aid": (
            "---\ntitle: FEMA approves aid for 88,000 Odalys households\ndate: 2024-10-04\n---\n\n"
            "The Federal Emergency Management Agency said it had approved $612 million in "
            "individual assistance for about 88,000 households in Louisiana and Mississippi.\n\n"
            "Correction: An earlier version of this story said FEMA had approved aid for 98,000 "
            "households. The figure is 88,000.\n"),
    })
    answer = bot.ask("how many households did FEMA approve aid for")
    print(answer.text)
    assert "about 88,000 households" in _first_sentence(answer.text)
    assert "The figure is 88,000" not in answer.text  # no story of its own to tell
