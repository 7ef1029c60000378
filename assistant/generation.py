"""Answerers: turn a question and numbered context passages into a draft with ``[n]`` markers.

Each answerer is a LangChain Runnable taking ``{"question": str, "context": [RetrievedChunk]}``
and returning the draft text, :data:`NO_ANSWER` when the passages do not hold the answer, or a
:class:`Decline` that says what is missing.

* :class:`ExtractiveAnswerer` — the offline default: leads with the sentence of the passages that
  holds what the question asks for (read by :mod:`assistant.nlp`), adds one only for another
  asked-for fact, within a word budget, and cites each. No generative model ships inside a PyPI
  wheel that runs usefully on 2 CPU cores, and an extractive answer can never state what its
  source does not.
* :func:`llm_answerer` — any LangChain chat model (an OpenAI-compatible endpoint such as vLLM,
  Ollama or llama.cpp, or a fake chat model in tests) with the prompts in ``prompts/``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.chunking import embedding_text, sentence_spans
from assistant.embeddings import Embedder
from assistant.prompts import load_prompt
from assistant.nlp import (
    DATE_LABELS, FIGURE_WANTS, Annotator, Period, QuestionFrame, asks_latest, missing_names,
    part_question,
)
from assistant.text import (
    STOPWORDS,
    correction_label,
    dateline_length,
    fold,
    strip_markers,
    terms,
)
from assistant.types import RetrievedChunk

NO_ANSWER = "NO_ANSWER"  # the reply prompts/answer.system.md asks for when articles lack the answer


@dataclass(frozen=True)
class Decline:
    """Word that the archive cannot answer, and why. From an answerer: the passages are on the
    story but lack what was asked; ``missing`` names it ("the retail price") and ``nearest`` is
    the context number of the passage the decline points to. Without ``nearest`` (the chain's
    own checks), ``missing`` is the whole sentence the reader sees."""

    missing: str
    nearest: int | None = None


# Sentences that open with these continue the previous one ("It mentioned that ..."), so they
# inherit part of its relevance: news writing states a topic once and then refers back to it.
_ANAPHORA = re.compile(
    r"^[\"'“‘(]*(it|its|they|their|this|these|those|that|such|both|the statement|the agreement|"
    r"the framework|the deal|he|she|his|her|also|additionally|moreover|furthermore|meanwhile)\b",
    re.IGNORECASE,
)


@dataclass
class _Candidate:
    n: int  # context number of the passage the sentence comes from
    article_id: str
    position: int  # sentence start offset within the article
    text: str  # what is shown: the sentence, its dateline cut off
    score: float = 0.0
    date: str | None = None
    values: frozenset[str] = frozenset()  # entities of the asked-for kind the question lacks
    tied: bool = True  # holds the asked-about attribute (or a close paraphrase of it)
    passage_score: float = 0.0  # its passage's retrieval similarity
    title: str = ""  # its article's
    # figures it states that a correction note in the context retracts ("said about 1,200
    # workers ... The correct figure is 2,100": "1,200"); the note's own wrong figure too
    stale: frozenset[str] = frozenset()
    corrects: bool = False  # it is that note, with the figure it gives instead

    @property
    def words(self) -> int:
        return len(self.text.split())


class ExtractiveAnswerer:
    """Lead with the sentence of the context that answers the question; add one only when it
    carries another asked-for fact; decline when none holds what the question asks for.

    1. The ``encode_limit`` likeliest sentences of the passages (by passage similarity,
       question terms and ``date_weight``; encoding is most of an answer's time) are scored:
       ``semantic_weight`` × their embedding similarity to the question (each read under its
       article's title and date, as chunks are embedded: ``sentence_header``) + the rest × the
       share of question terms they hold (each weighted by its rarity among the candidates:
       ``term_rarity``); a sentence that refers back ("It said ...") inherits ``carry`` of its
       predecessor's score; newer reports score up to ``recency_weight`` more on "latest"
       questions, reports published in a period the question names up to ``date_weight`` more
       (half as much for a report from the weeks after it).
    2. The best ``pool`` sentences within ``relative`` of the best are the ones about the
       question's subject. spaCy (:mod:`assistant.nlp`) reads what the question asks for: a kind
       of entity ("how many" → a figure, "who" → a person or organisation) and an attribute
       ("price", "fined"). A sentence answers when it carries an entity of that kind the question
       does not already give and the attribute or a word at least ``attribute_similarity`` close
       to it (embedder cosine). A figure counting another noun ("11 plants" for "how many
       employees") or from a report published before the month asked about does not answer,
       nor does any sentence of a report published before a day asked about ("Who won the
       election on Jan. 8?"), nor a figure that a later correction note retracts ("An earlier
       report ... said about 1,200 workers ... The correct figure is 2,100.": the note may
       answer instead); whether something happened is not told by sentences that only ask
       for it, plan or expect it ("asked Judge Vance to let him remain free":
       ``whether_told``). A question asking who holds a post ("Who was Marsh's attorney?")
       needs a name the parse puts in that post (``post_held``). None does: :class:`Decline`.
    3. The best answering sentence leads; before it go (each rule over those before it) for a
       person asked by role ("which judge") one naming a person under that role or a close
       word, one that uses the question's own verb and scores within ``verb_relative`` of the
       best (telling it as past, for a question on what happened), for "why" one that says
       "because" (``reason_first``), for "what did X do" / "what happened" a report's first
       sentence (``lead_first``), one whose date is not only when something was said
       (``event_dates_first``), one from the reports of the period the question is set in
       (``period_first``), and for "latest" questions the newest
       (``latest_first``). Others follow only when they add an asked-for value (for "when", a
       date on the question's verb) or question term the answer lacks, score within
       ``extra_relative`` of the lead, and fit the word budget (``max_words``;
       ``max_words_list`` for list questions, and for another report's different figure).
       A question on how a story's figures developed ("How did the offers develop?") takes the
       likeliest figure sentence of each report down to ``min_score``, oldest report first.
    """

    def __init__(
        self,
        embedder: Embedder,
        annotator: Annotator,
        *,
        max_words: int,
        max_words_list: int,
        pool: int,
        min_score: float,
        relative: float,
        extra_relative: float,
        carry: float,
        semantic_weight: float,
        attribute_similarity: float,
        verb_similarity: float = 0.0,
        period_first: bool = False,
        before_period: bool = False,
        story_budget: bool = False,
        count_similarity: float = 0.0,
        encode_limit: int = 0,
        sentence_header: bool = False,
        term_rarity: bool = False,
        latest_first: bool = False,
        skip_corrections: bool = False,
        event_dates_first: bool = False,
        verb_relative: float = 0.0,
        list_first: bool = False,
        reason_first: bool = False,
        lead_first: bool = False,
        whether_told: bool = False,
        post_held: bool = False,
        recency_weight: float = 0.0,
        date_weight: float = 0.0,
    ):
        self.embedder = embedder
        self.nlp = annotator
        self.max_words = max_words
        self.max_words_list = max_words_list
        self.pool = pool
        self.min_score = min_score
        self.relative = relative
        self.extra_relative = extra_relative
        self.carry = carry
        self.semantic_weight = semantic_weight
        self.attribute_similarity = attribute_similarity
        self.verb_similarity = verb_similarity
        self.period_first = period_first
        self.before_period = before_period
        self.story_budget = story_budget
        self.count_similarity = count_similarity
        self.encode_limit = encode_limit
        self.sentence_header = sentence_header
        self.term_rarity = term_rarity
        self.latest_first = latest_first
        self.skip_corrections = skip_corrections
        self.event_dates_first = event_dates_first
        self.verb_relative = verb_relative
        self.list_first = list_first
        self.reason_first = reason_first
        self.lead_first = lead_first
        self.whether_told = whether_told
        self.post_held = post_held
        self.recency_weight = recency_weight
        self.date_weight = date_weight
        self._word_vectors: dict[str, np.ndarray] = {}

    @classmethod
    def from_settings(cls, settings, embedder: Embedder) -> ExtractiveAnswerer:
        """Every keyword argument comes from the setting of its name, ``answer_<name>``."""
        names = [p.name for p in inspect.signature(cls).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY]
        return cls(embedder, Annotator.shared(),
                   **{name: getattr(settings, f"answer_{name}") for name in names})

    def __call__(self, inputs: dict) -> str | Decline:
        question: str = inputs["question"]
        # (not the titles: headline case capitalises every word)
        frame = self.nlp.question_on(question, [c.text for c in inputs["context"]])
        candidates = self._candidates(inputs["context"])
        # a follow-up ("And what else?") wants what the conversation has not said yet
        said = " ".join(strip_markers(t.content) for t in inputs.get("history") or []
                        if t.role == "assistant")
        if said:
            candidates = [c for c in candidates if c.text.rstrip(".") not in said]
        if not candidates:
            return NO_ANSWER
        context = inputs["context"]
        parts = frame.questions if len(frame.questions) > 1 else ()
        if not parts:
            found = self._answer(question, frame, candidates, context, {})
            if not isinstance(found, list):
                return found
            return " ".join(_with_marker(c.text, c.n) for c in found)
        # "Where was Thaksin when the military took over, and what happened to him when he
        # flew back?": each question its own lead; one sentence may answer both
        vectors: dict[int, np.ndarray] = {}
        picked: list[_Candidate] = []
        shown: set[int] = set()  # ids of the picked candidates (a sentence is shown once)
        lists: list[list[_Candidate]] = []
        first = None
        for part in parts:
            sub = self.nlp.question(part)
            # the names and setting of the whole question hold for each part ("that leader")
            sub = dataclasses.replace(sub, names=frame.names, periods=sub.periods or frame.periods,
                                      questions=(part,))
            found = self._answer(part_question(frame, part), sub, candidates, context, vectors)
            first = first or found
            if not isinstance(found, list):
                continue
            lead, *rest = found
            if id(lead) in shown and rest and rest[0].values:
                # its lead is another part's: the next sentence with a value of its own kind
                # ("by how much?" after "whom did viewers judge the winner?")
                lead = rest.pop(0)
            if id(lead) not in shown:
                picked.append(lead)
                shown.add(id(lead))
            if sub.plural:  # only a list part ("which two ...") goes past its lead
                lists.append(rest)
        if not picked:
            return first
        words = sum(c.words for c in picked)
        for c in (c for rest in lists for c in rest):
            if id(c) not in shown and words + c.words <= self.max_words_list:
                picked.append(c)
                shown.add(id(c))
                words += c.words
        return " ".join(_with_marker(c.text, c.n) for c in picked)

    def _answer(
        self, question: str, frame: QuestionFrame, candidates: list[_Candidate],
        context: list[RetrievedChunk], vectors: dict[int, np.ndarray],
    ) -> list[_Candidate] | Decline | str:
        """The sentences that answer one question, lead first; or why there are none."""
        self._score(question, frame, candidates, vectors)
        for note in (c for c in candidates if c.corrects):
            # the note answers in place of the report it corrects: it scores as well
            note.score = max([note.score, *(c.score for c in candidates
                                            if not c.corrects and c.stale & note.stale)])
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
        best = ranked[0].score
        if best < self.min_score:
            return NO_ANSWER
        # (a story's development reaches back to its first reports, which read least like the
        # question: each report on the subject with a figure may give one sentence)
        floor = self.min_score if frame.develops else max(self.min_score, self.relative * best)
        pool = [c for c in ranked[: self.pool] if c.score >= floor]
        nearest = ranked[0].n
        if frame.names and (frame.typed or frame.attribute_is_noun):
            # the asked-for value must come from a report on the question's subject: Kenya's
            # turnout is not in an article on France's, however alike the sentences
            on_subject = _passages_naming(frame, context)
            pool = [c for c in pool if c.n in on_subject]
            # a decline points to the nearest report on the subject, not on its setting
            nearest = next((c.n for c in ranked if c.n in on_subject), nearest)
        self._read_values(frame, pool)
        if frame.typed:
            answering = [c for c in pool if c.values and c.tied]
            if not frame.strict and not answering:
                answering = [c for c in pool if c.tied]
        elif frame.attribute_is_noun:
            answering = [c for c in pool if c.tied]
        else:
            answering = pool
        if frame.typed:
            # a report whose figure a later note retracts answers no figure question
            answering = [c for c in answering if c.corrects or not c.stale]
        if frame.typed and frame.wants <= FIGURE_WANTS:
            # "the June 2008 run-off": a figure from a March report is not its result
            before = [p for p in frame.periods if p.within_a_month]
        elif not frame.wants & DATE_LABELS:
            # "Who won the election on Jan. 8, 2008?": a report from before that day can only
            # say what was expected of it
            before = [p for p in frame.periods if p.start == p.end]
        else:
            before = []
        if self.before_period and before:
            previews = answering
            answering = [c for c in answering if not c.date or any(
                dt.date.fromisoformat(c.date) >= p.reported_from for p in before)]
            if previews and not answering and before[0].start == before[0].end:
                return Decline(f"what happened on {before[0].text}", nearest=previews[0].n)
        if self.whether_told and frame.whether and frame.verb and answering:
            # "Did Judge Vance let Marsh stay out on bail?": "His lawyers asked Judge Vance to
            # let him remain free" tells what was asked for, not what happened; where the verb
            # is only ever asked for, planned or expected, the outcome is not in the archive
            told = [c for c in answering if frame.verb in self.nlp.parse(c.text).lemmas]
            if told and not any(frame.verb in self.nlp.parse(c.text).past for c in told):
                return Decline("the outcome", nearest=told[0].n)
        if self.post_held and frame.post and answering:
            # "Who was Marsh's defense attorney?": a sentence with a name near the word ("His
            # lawyers asked Judge Eleanor Vance") does not give one; a name the parse puts in
            # the post ("defense lawyer Tom Reyes", "X, his attorney,") does, and leads
            held = [c for c in answering if self._in_post(frame.post, c)]
            if not held:
                return Decline(f"the name of {frame.post_phrase}", nearest=answering[0].n)
            answering = held + [c for c in answering if c not in held]
        if not answering:
            return Decline(_missing_phrase(frame), nearest=nearest)
        if self.list_first and frame.plural and frame.typed:
            # "Which five states ...?": the sentence that lists them ("names Minnesota,
            # Wisconsin, Iowa, ...") before one closer to the question that names one region
            answering.sort(key=lambda c: -len(c.values))
        if frame.role and not (self.post_held and frame.post):  # (those lead already)
            # "Which judge threw out the MDC's bid?": "Justice Antonia Guvava said ..." before a
            # sentence naming another person ("president Mugabe's Zanu-PF party")
            answering.sort(key=lambda c: not (c.values and self._holds(
                frame.role, c.text, self.attribute_similarity)))
        if self.verb_relative and frame.verb:
            # "Who leads the Green Valleys Alliance?": "..., led by Sunniva Haak," before a
            # sentence naming the premier its coalition made (the same lemma, not a paraphrase)
            bar = self.verb_relative * answering[0].score
            # and for what happened, "His trial started ... on 19 October 2005" before "The
            # trial is expected to start as early as September"
            uses = {id(c): c.score >= bar and self._uses_verb(frame, c) for c in answering}
            answering.sort(key=lambda c: (not uses[id(c)], uses[id(c)] and frame.past
                                          and frame.verb not in self.nlp.parse(c.text).past))
        if self.reason_first and frame.why:
            # "Why was the declaration brought forward?": "... moved up to Tuesday because the
            # holiday of Passover begins on Wednesday" before the declaration itself
            answering.sort(key=lambda c: "because" not in self.nlp.parse(c.text).lemmas)
        if self.event_dates_first and frame.wants & DATE_LABELS:
            # "When does the recount start?": "would begin on Dec. 2" before "..., the board
            # said on Wednesday", whose date is only when it was said
            answering.sort(key=lambda c: not (c.values - self.nlp.parse(c.text).report_dates))
        if self.lead_first and frame.happened:
            # "What did the Fed do in Dec. 2024?": nothing asked but what happened, which is
            # what a report's first sentence tells (within verb_relative of the best)
            first: dict[str, int] = {}
            for c in candidates:
                if c.position < min(_DATELINE_REACH, first.get(c.article_id, _DATELINE_REACH)):
                    first[c.article_id] = c.position
            bar = self.verb_relative * answering[0].score
            answering.sort(key=lambda c: not (c.score >= bar
                                              and first.get(c.article_id) == c.position))
        framing = [p for p in frame.periods if p.framing]
        if self.period_first and framing:
            # "In March 2024, ...": the reader wants what was reported then, not a later update
            answering.sort(key=lambda c: not (c.date and any(_reports_on(c.date, p)
                                                               for p in framing)))
        if self.latest_first and asks_latest(question):
            # "the latest toll": the newest report that gives one leads (the answer is dated by it)
            answering.sort(key=lambda c: c.date or "", reverse=True)
        lead = answering[0]
        picked = [lead]
        budget = self.max_words_list if frame.plural or frame.parts > 1 else self.max_words
        words = lead.words
        have_values = set(lead.values)
        q_terms = terms(question) - {t for n in frame.names for t in terms(n.text)}
        have_terms = terms(lead.text)
        for c in answering[1:]:
            if frame.develops:
                if any(p.article_id == c.article_id for p in picked):
                    continue  # a figure of each report, not two of one report's
            elif c.score < self.extra_relative * lead.score:
                continue
            new_values = c.values - have_values
            if new_values and frame.verb and frame.wants <= DATE_LABELS and have_values:
                # "When was the budget signed?": another sentence's dates are of other events
                # ("began its fiscal year on Monday") unless they hang on the question's verb
                links = self.nlp.parse(c.text).verb_links
                new_values = {v for v in new_values if (frame.verb, v) in links}
            if words + c.words > budget:
                # another report's different figure (a toll that rose, a fine later cut) may
                # stretch the answer to the list budget: the reader hears both
                if not (self.story_budget and new_values and c.article_id != lead.article_id
                        and words + c.words <= self.max_words_list):
                    continue
            new_terms = (q_terms & terms(c.text)) - have_terms
            # something the answer does not say yet: an asked-for value, or a question term
            adds = bool(new_values or new_terms) or (
                frame.plural and c.article_id == lead.article_id
                and abs(c.position - lead.position) < 400)
            if not adds:
                continue
            picked.append(c)
            words += c.words
            have_values |= c.values
            have_terms |= terms(c.text)
        # The lead stays first; the rest read in article order (newest report first for
        # "latest" questions).
        rank: dict[str, int] = {}
        for c in candidates:
            rank.setdefault(c.article_id, c.n)
        rest = picked[1:]
        if frame.develops:  # how the figures moved: in the order they were reported
            return sorted(picked, key=lambda c: (c.date or "", rank[c.article_id], c.position))
        if asks_latest(question):
            rest.sort(key=lambda c: (c.date or "", -rank[c.article_id], -c.position), reverse=True)
        else:
            rest.sort(key=lambda c: (rank[c.article_id], c.position))
        return [lead, *rest]

    def _candidates(self, context: list[RetrievedChunk]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        out = []
        notes = []
        for n, chunk in enumerate(context, start=1):
            spans = sentence_spans(chunk.text)
            for i, (start, end) in enumerate(spans):
                key = (chunk.article_id, chunk.start + start)
                if key in seen:  # the same sentence in an overlapping chunk
                    continue
                seen.add(key)
                text = chunk.text[start:end]
                if self.skip_corrections and (label := correction_label(text)):
                    # it repeats the figure the article retracts; after the sentence that
                    # follows it ("The correct figure is 2,100."), the fact first, it may
                    # answer, if that figure stands in an earlier report of the context
                    if i + 1 < len(spans):
                        # ("The figure is 88,000." alone says nothing: it is shown with its
                        # note or not at all)
                        seen.add((chunk.article_id, chunk.start + spans[i + 1][0]))
                        right = chunk.text[spans[i + 1][0]:spans[i + 1][1]]
                        said, corrected = self._figures([text, right])
                        notes.append(_Candidate(
                            n, chunk.article_id, chunk.start + start,
                            f"{right} {text[label:].strip()}", date=chunk.date,
                            passage_score=chunk.score, title=chunk.title,
                            stale=said - corrected, corrects=True))
                    continue
                if chunk.start + start < _DATELINE_REACH:  # wire furniture is not the answer
                    if dateline_length(text + " — x") >= len(text) or _byline(text):
                        continue  # a dateline on its own ("SAN JOSE, Calif.") or a byline
                    text = text[dateline_length(text):].lstrip("—–- ")
                if not text.strip():
                    continue
                out.append(_Candidate(n, chunk.article_id, chunk.start + start, text,
                                      date=chunk.date, passage_score=chunk.score,
                                      title=chunk.title))
        reports = list(zip(out, self._figures([c.text for c in out]), strict=True)) \
            if notes else []
        for note in notes:
            # an earlier report of another outlet that gives the retracted figure loses it;
            # without one the note stays out, as the article's own text is already right
            hit = False
            for c, held in reports:
                wrong = held & note.stale
                if wrong and c.article_id != note.article_id and (c.date or "") <= (
                        note.date or ""):
                    c.stale |= wrong
                    hit = True
            if hit:
                out.append(note)
        return out

    def _figures(self, texts: list[str]) -> list[frozenset[str]]:
        """The numbers of the figures each sentence states ("1,200" of "about 1,200"; not the
        4 of "March 4", a date)."""
        return [frozenset(w for e in entities if e.label in FIGURE_WANTS
                          for w in fold(e.text).split() if any(ch.isdigit() for ch in w))
                for entities in self.nlp.entities(texts)]

    def _score(self, question: str, frame: QuestionFrame, candidates: list[_Candidate],
               vectors: dict[int, np.ndarray]) -> None:
        """Score each candidate for the question; ``vectors`` keeps the sentence vectors
        (by candidate id) for the other questions of the same one."""
        q_terms = terms(question)
        held = {id(c): q_terms & terms(c.text) for c in candidates}
        weight = dict.fromkeys(q_terms, 1.0)
        if self.term_rarity:
            # inverse document frequency among the candidates themselves
            n = len(candidates)
            for t in q_terms:
                df = sum(t in h for h in held.values())
                weight[t] = math.log((n + 1) / (df + 0.5))
        total = sum(weight.values())
        lexical = {id(c): sum(weight[t] for t in held[id(c)]) / total if total else 0.0
                   for c in candidates}
        # reports published in a period the question names ("what did the fed do in sept
        # 2024") score up to date_weight more, in the choice of what to encode too
        # (a report from within the period more than one from the weeks after it, which may be
        # a later meeting's: "at their late-January gathering" is not the March decision)
        dated = {id(c): max((self.date_weight * _report_weight(c.date, p)
                             for p in frame.periods), default=0.0)
                 if self.date_weight and c.date else 0.0 for c in candidates}
        encode = candidates
        if self.encode_limit and len(candidates) > self.encode_limit:
            # encoding the sentences is most of an answer's time: encode the likeliest only,
            # judged by their passage's similarity, their own question terms and their date
            w = self.semantic_weight
            encode = sorted(candidates, key=lambda c: w * c.passage_score
                            + (1 - w) * lexical[id(c)] + dated[id(c)],
                            reverse=True)[: self.encode_limit]
            for c in candidates:
                c.score = -1.0
        todo = [c for c in encode if id(c) not in vectors]
        if todo:
            for c, v in zip(todo, self.embedder.embed_documents([
                    embedding_text(c.title, c.date, c.text) if self.sentence_header else c.text
                    for c in todo]), strict=True):
                vectors[id(c)] = np.asarray(v)
        q = np.asarray(self.embedder.embed_query(question))
        semantic = np.asarray([vectors[id(c)] for c in encode]) @ q
        for c, sem in zip(encode, semantic, strict=True):
            c.score = self.semantic_weight * float(sem) + (1 - self.semantic_weight) * lexical[id(c)]
        dates = sorted({c.date for c in candidates if c.date})
        if self.recency_weight and len(dates) > 1 and asks_latest(question):
            pos = {d: i / (len(dates) - 1) for i, d in enumerate(dates)}
            for c in candidates:
                c.score += self.recency_weight * pos.get(c.date, 0.0)
        for c in candidates:
            c.score += dated[id(c)]
        # A sentence that refers back ("It mentioned ...") carries on its predecessor's topic.
        ordered = sorted(candidates, key=lambda c: (c.article_id, c.position))
        for prev, cur in zip(ordered, ordered[1:]):
            if prev.article_id == cur.article_id and _ANAPHORA.match(cur.text):
                cur.score = max(cur.score, self.carry * prev.score)

    def _read_values(self, frame: QuestionFrame, pool: list[_Candidate]) -> None:
        """Set each candidate's asked-for values and whether it holds the asked attribute."""
        for c in pool:  # (read afresh for each question of several asked in one)
            c.values, c.tied = frozenset(), True
        if frame.typed:
            asked = fold(frame.text)
            for c, entities in zip(pool, self.nlp.entities([c.text for c in pool]), strict=True):
                c.values = frozenset(
                    fold(e.text) for e in entities
                    if e.label in frame.wants and fold(e.text) not in asked
                    and not c.stale.intersection(fold(e.text).split())
                )
                if frame.year:
                    # "In what year was Rudd born?": not "for 33 years", nor the year of
                    # another event ("the 26th prime minister since federation in 1901"):
                    # a year that hangs on the question's verb
                    parsed = self.nlp.parse(c.text)
                    c.values = frozenset(v for v in c.values & parsed.years
                                         if not frame.verb or (frame.verb, v) in parsed.verb_links)
                if "AGE" in frame.wants:  # only the parse tells an age from a count
                    c.values |= self.nlp.parse(c.text).ages
                amounts = {fold(e.text) for e in entities if e.label == "AMOUNT"} & c.values
                if amounts:
                    # "How much does a bottle cost?": "1.9 million bottles" counts the bottles
                    counts = self.nlp.parse(c.text).counts
                    c.values -= {v for v in amounts if any(
                        number in v.split() and _says(noun, frame.text)
                        for number, noun in counts.items())}
                if frame.counted and self.count_similarity and c.values:
                    # "How many employees?": "11 milk processing plants" counts something else
                    counts = self.nlp.parse(c.text).counts
                    c.values = frozenset(v for v in c.values if not any(
                        number in v.split()
                        and not self._holds(frame.counted, noun, self.count_similarity)
                        for number, noun in counts.items()))
        # Only a noun attribute must be stated ("the turnout", "the price"): verbs and counted
        # nouns are reworded too often ("wanted" → "seeking", "MPs" → "deputies").
        if frame.attribute and frame.attribute_is_noun:
            for c in pool:
                c.tied = self._holds(frame.attribute, c.text, self.attribute_similarity)
        elif frame.attribute and frame.strict and self.verb_similarity:
            # "In what year was Rudd born?": a date in a sentence about his swearing-in is no
            # answer; verbs are reworded more freely than nouns, hence a lower bar
            for c in pool:
                c.tied = self._holds(frame.attribute, c.text, self.verb_similarity)
        if frame.priced:
            # "What did the Gaza pullout cost Israel?": a sum in a sentence about the pullout
            for c in pool:
                c.tied = c.tied and self._holds(frame.priced, c.text, self.attribute_similarity)

    def _in_post(self, post: str, c: _Candidate) -> bool:
        """Does the sentence name someone, not named in the question, in the post asked for
        (the word, a form of it or a word ``attribute_similarity`` close: "lawyer"), or as
        doing what the post is named for ("Feld won" for the winner, "founded" for the
        founder)?"""
        parsed = self.nlp.parse(c.text)
        words = [word for name, word in parsed.posts if name in c.values]
        words += [verb for verb, name in parsed.verb_links if name in c.values]
        return bool(words) and self._holds(post, " ".join(words), self.attribute_similarity)

    def _uses_verb(self, frame: QuestionFrame, c: _Candidate) -> bool:
        """Does the sentence use the question's verb, for a typed question with the asked-for
        value in its reach ("led by Sunniva Haak", not "visiting Kuala Lumpur, held a call")?"""
        parsed = self.nlp.parse(c.text)
        if frame.typed and c.values:
            return any((frame.verb, v) in parsed.verb_links for v in c.values)
        return frame.verb in parsed.lemmas

    def _holds(self, attribute: str, sentence: str, bar: float) -> bool:
        """Does the sentence use the attribute word, a form of it ("fine"/"fined"), or a word
        the embedder places close to it ("price"/"cost")?"""
        if _says(attribute, sentence):
            return True
        words = [w for w in _WORD.findall(fold(sentence)) if w not in STOPWORDS]
        a = fold(attribute)
        vectors = self._vectors([a, *words])
        target = vectors[a]
        return any(float(vectors[w] @ target) >= bar for w in words)

    def _vectors(self, words: list[str]) -> dict[str, np.ndarray]:
        todo = [w for w in dict.fromkeys(words) if w not in self._word_vectors]
        if todo:
            if len(self._word_vectors) > 50_000:  # bounded: words are few, but never unbounded
                self._word_vectors.clear()
            for w, v in zip(todo, self.embedder.embed_documents(todo), strict=True):
                self._word_vectors[w] = np.asarray(v, dtype=np.float32)
        return {w: self._word_vectors[w] for w in words}

    def as_runnable(self) -> Runnable:
        return RunnableLambda(self, name="extractive_answerer")


_WORD = re.compile(r"[a-z][a-z'-]+")
_DATELINE_REACH = 400  # a dateline opens the article (after a byline at most)


def _says(attribute: str, sentence: str) -> bool:
    """Does the sentence use the attribute word or a form of it ("fine"/"fined")?"""
    a = fold(attribute)
    # (the first five letters alike, or a four-letter word's four: "fine" is in "fined")
    return any(w == a or (len(a) >= 4 and len(w) >= 4 and w[:5][:len(a)] == a[:5])
               for w in _WORD.findall(fold(sentence)) if w not in STOPWORDS)


def _byline(sentence: str) -> bool:
    """ "By Nils Arvo, Harbour Gazette": who wrote it, not what happened."""
    words = sentence.split()
    return len(words) <= 10 and words[0] == "By" and not sentence.rstrip().endswith((".", "?"))


def _passages_naming(frame: QuestionFrame, context: list[RetrievedChunk]) -> set[int]:
    """Context numbers of the passages of articles that mention a name the question is about
    (in a passage or the title): a U.S. dairy deal is no report on a U.S. drug's price, but a
    report that names Barzan al-Tikriti in one passage is still on him in the next one."""
    about = dataclasses.replace(frame, names=frame.subject)
    naming = {chunk.article_id for chunk in context
              if not missing_names(about, [chunk.title + " " + chunk.text], every=True)}
    return {n for n, chunk in enumerate(context, start=1) if chunk.article_id in naming}


def _report_weight(date: str, period: Period) -> float:
    """1 for a report published during the period (or the day after), 0.5 for one of the weeks
    after it that may still report on it, 0 otherwise."""
    published = dt.date.fromisoformat(date)
    if period.start <= published <= period.end + dt.timedelta(days=1):
        return 1.0
    return 0.5 if _reports_on(date, period) else 0.0


def _reports_on(date: str, period: Period) -> bool:
    """Was an article of this publication date written during the period or soon after it?"""
    published = dt.date.fromisoformat(date)
    return period.start <= published <= period.reported_until


def _missing_phrase(frame: QuestionFrame) -> str:
    """What a decline says is missing: "the retail price", "a figure for that"."""
    if frame.priced:
        return f"the cost of the {frame.priced}"
    if frame.attribute_is_noun and frame.attribute:
        return f"the {frame.attribute_phrase or frame.attribute}"
    if frame.year:
        return "the year"
    for labels, phrase in _MISSING:
        if frame.wants & labels:
            return phrase
    return "the answer"


_MISSING = [
    ({"AGE"}, "an age"), ({"PERSON", "ORG"}, "that name"), ({"MONEY", "CARDINAL", "PERCENT", "QUANTITY"}, "that figure"),
    ({"DATE", "TIME"}, "that date"), ({"GPE", "LOC", "FAC"}, "that place"),
]


def _with_marker(sentence: str, n: int) -> str:
    """Put ``[n]`` before the closing full stop ("... Japan [1].", also inside a closing quote:
    "... protection [1]."), or after other endings. A marker after a closing quote hid the
    sentence end from the splitter, which then judged two sentences as one."""
    if m := re.search(r"[^.](\.[\"'”’]?)$", sentence):
        if not sentence.endswith(("..", "…")):
            end = len(m[1])
            return f"{sentence[:-end]} [{n}]{sentence[-end:]}"
    return f"{sentence} [{n}]"


def format_context(context: list[RetrievedChunk], prompts_dir: Path) -> str:
    """Numbered, delimited passages. Angle brackets in article text are neutralised so an
    article cannot close the block it sits in and pose as instructions."""
    template = load_prompt(prompts_dir, "context_item.txt")
    return "\n\n".join(
        template.format(
            n=n, title=_defang(chunk.title).replace('"', "'"), date=chunk.date or "undated",
            text=_defang(chunk.text),
        )
        for n, chunk in enumerate(context, start=1)
    )


def _defang(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


def pack_context(
    chunks: list[RetrievedChunk], budget: int, count_tokens: Callable[[list[str]], list[int]]
) -> list[RetrievedChunk]:
    """Keep chunks in rank order while their text fits the token budget (always at least one)."""
    sizes = count_tokens([c.text for c in chunks])
    kept, used = [], 0
    for chunk, size in zip(chunks, sizes, strict=True):
        if kept and used + size + 20 > budget:  # ~20 tokens of tags and title per passage
            break
        kept.append(chunk)
        used += size + 20
    return kept


def llm_answerer(llm: BaseChatModel, prompts_dir: Path) -> Runnable:
    """prompt | chat model | text, over the numbered context."""
    prompt = ChatPromptTemplate.from_messages([
        ("system", load_prompt(prompts_dir, "answer.system.md")),
        ("human", load_prompt(prompts_dir, "answer.human.md")),
    ])
    to_prompt_input = RunnableLambda(
        lambda x: {"question": x["question"], "context": format_context(x["context"], prompts_dir)}
    )
    return (to_prompt_input | prompt | llm | StrOutputParser()).with_config(run_name="llm_answerer")


def chat_model_from_settings(settings) -> BaseChatModel:
    """The chat model the settings name (``openai`` endpoint or any LangChain class)."""
    if settings.answer_backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.llm_base_url, model=settings.llm_model,
            api_key=settings.llm_api_key, temperature=settings.llm_temperature,
            timeout=settings.llm_timeout, max_tokens=settings.llm_max_tokens, max_retries=2,
        )
    if settings.answer_backend == "chat_model":
        if not settings.chat_model_class or ":" not in settings.chat_model_class:
            raise ValueError(
                "answer_backend 'chat_model' needs ASSISTANT_CHAT_MODEL_CLASS='package.module:Class'"
            )
        module, _, name = settings.chat_model_class.partition(":")
        return getattr(importlib.import_module(module), name)(**settings.chat_model_kwargs)
    if settings.answer_backend == "llamacpp":
        from assistant.llamacpp import chat_llamacpp_from_settings

        return chat_llamacpp_from_settings(settings)
    raise ValueError(f"answer backend {settings.answer_backend!r} is not a chat model")
